"""The attribution result, the model registry and helpers shared by model kernels."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from attribution._base.errors import ModelError, ValidationError
from attribution._base.frames import check_columns
from attribution._base.memory import memory_text, physical_memory
from attribution.journeys import BASELINE, NO_TOUCH, Sequences

__all__ = [
    "BASELINE",
    "MODELS",
    "Attribution",
    "KernelOutput",
    "ModelSpec",
    "channel_frame",
    "check_params",
    "credit_frame",
    "credit_from_touches",
    "get_model",
    "memory_text",
    "physical_memory",
    "positive_number",
    "positive_numbers",
    "register_model",
    "row_sums",
    "whole_number",
]

#: Columns of :attr:`Attribution.channels`, in order.
CHANNEL_COLUMNS = ("channel", "conversions", "revenue", "share")
#: Columns of :attr:`Attribution.touchpoints`, in order.
TOUCHPOINT_COLUMNS = ("journey_id", "position", "channel", "credit")


@dataclass(frozen=True)
class KernelOutput:
    """What a model kernel returns.

    Attributes
    ----------
    conversions, revenue : ndarray of float64, shape (n_channels,)
        Credited conversions and revenue per channel code.
    touch_credit : ndarray of float64 or None
        Share of its row's conversion given to each touch of ``touch_seq`` (sums to 1 per row
        with touches); ``None`` when the model credits channels, not touches.
    touch_seq : Sequences or None
        The rows ``touch_credit`` refers to (usually the converting rows only).
    tables : dict of DataFrame
        Extra outputs (e.g. removal effects, transition matrix).
    extra_rows : tuple of (name, conversions, revenue)
        Conversions the model credits to no channel, reported as extra rows of
        :attr:`Attribution.channels` after the channels (e.g. ``"(baseline)"`` of
        ``data_driven``), so that the rows always sum to the total.
    """

    conversions: np.ndarray
    revenue: np.ndarray
    touch_credit: np.ndarray | None = None
    touch_seq: Sequences | None = None
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    extra_rows: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its kernel and what it needs."""

    name: str
    kernel: Callable[..., KernelOutput]
    needs_times: bool = False
    description: str = ""
    #: Each row's shares of credit do not depend on the counts (bootstrap fast path).
    counts_linear: bool = False
    #: The model is fitted on non-converting journeys too (it cannot run without them).
    needs_nulls: bool = False

    def parameters(self) -> list[str]:
        """Keyword parameters of the kernel (besides the sequences)."""
        sig = inspect.signature(self.kernel)
        return [p for p in list(sig.parameters)[1:]]


#: Registry of models by name.
MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str, *, needs_times: bool = False, counts_linear: bool = False, needs_nulls: bool = False
) -> Callable[[Callable[..., KernelOutput]], Callable[..., KernelOutput]]:
    """Register a kernel ``f(seq: Sequences, **params) -> KernelOutput`` under ``name``.

    ``counts_linear`` declares that each row's shares of credit depend only on the row's
    touches, not on any counts, so channel totals are linear in the counts; ``needs_nulls``
    that the model cannot run without non-converting journeys.
    """

    def deco(fn: Callable[..., KernelOutput]) -> Callable[..., KernelOutput]:
        doc = (fn.__doc__ or "").strip().splitlines()
        MODELS[name] = ModelSpec(
            name, fn, needs_times, doc[0] if doc else "", counts_linear, needs_nulls
        )
        return fn

    return deco


def get_model(name: str) -> ModelSpec:
    """Look a model up by name, with a clear error listing the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ModelError(f"Unknown model {name!r}; expected one of: {known}.") from None


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int when it is a whole number in ``low..high``, else refuse it.

    Integers and integral floats pass; bools, ``nan``, ``inf``, fractions, text and numbers
    out of range raise :class:`~attribution.ModelError` naming ``name`` and the range.

    Examples
    --------
    >>> whole_number(3.0, "folds", 2, 100)
    3
    >>> whole_number(1e9, "order", 1, 20)
    Traceback (most recent call last):
    ...
    attribution.ModelError: order must be a whole number in 1..20; got 1000000000.0.
    """
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value):
        whole = True
    if not whole or not low <= value <= high:  # type: ignore[operator]
        raise ModelError(f"{name} must be a whole number in {low}..{high:_}; got {_got(value)}.")
    return int(value)  # type: ignore[call-overload]


def _got(value: object) -> str:
    """``value`` as an error shows it, saying so when it is text (numbers are not read from it)."""
    if isinstance(value, str):
        return f"{value!r}, which is text (pass a number, not a string)"
    return repr(value)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def positive_number(value: object, name: str) -> float:
    """Return ``value`` as a float when it is a finite number > 0, else refuse it.

    Integers and floats (NumPy's too) pass; text, bools, ``None``, ``nan``, ``inf``, zero and
    negatives raise :class:`~attribution.ModelError` naming ``name``, the value and what is
    expected. Text is refused rather than read, as a number is expected.

    Examples
    --------
    >>> positive_number(7, "half_life_days")
    7.0
    >>> positive_number("7", "half_life_days")
    Traceback (most recent call last):
    ...
    attribution.ModelError: half_life_days must be > 0, a finite number (int or float); got '7', ...
    """
    if not _is_real(value) or not 0 < value < math.inf:  # type: ignore[operator]
        raise ModelError(f"{name} must be > 0, a finite number (int or float); got {_got(value)}.")
    return float(value)  # type: ignore[arg-type]


def positive_numbers(values: object, name: str) -> list[float]:
    """Return ``values`` as floats when it is a non-empty sequence of finite numbers > 0.

    A single number, text, an empty sequence or any item that is not a number > 0 raises
    :class:`~attribution.ModelError` naming ``name``, the offending item and what is expected.

    Examples
    --------
    >>> positive_numbers((3, 7.5), "hazard_half_lives")
    [3.0, 7.5]
    """
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise ModelError(
            f"{name} must be a sequence of numbers > 0, e.g. (3, 7); got {_got(values)}."
        )
    items = list(values)
    if not items:
        raise ModelError(f"{name} must be a non-empty sequence of numbers > 0; got {values!r}.")
    for i, item in enumerate(items):
        if not _is_real(item) or not 0 < item < math.inf:
            raise ModelError(
                f"{name} must be numbers > 0 (int or float); item {i} of {values!r} is "
                f"{_got(item)}."
            )
    return [float(v) for v in items]


def row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Sum ``values`` within each row given by ``indptr`` (empty rows sum to 0)."""
    n = len(indptr) - 1
    out = np.zeros(n, dtype=np.float64)
    nonempty = indptr[1:] > indptr[:-1]
    if nonempty.any():
        out[nonempty] = np.add.reduceat(values, indptr[:-1][nonempty])
    return out


def credit_from_touches(seq: Sequences, touch_credit: np.ndarray) -> KernelOutput:
    """Channel totals from per-touch credit shares (each row's shares sum to 1).

    ``seq`` is the set of rows the shares refer to, normally ``Sequences.converting``.
    """
    row = seq.row_of_touch
    k = len(seq.channels)
    conv = np.bincount(seq.codes, weights=touch_credit * seq.conversions[row], minlength=k)
    rev = np.bincount(seq.codes, weights=touch_credit * seq.value[row], minlength=k)
    return KernelOutput(conv, rev, touch_credit, seq)


def channel_frame(
    seq: Sequences,
    conversions: np.ndarray,
    revenue: np.ndarray,
    extra_rows: tuple[tuple[str, float, float], ...] = (),
) -> pl.DataFrame:
    """Per-channel frame ``channel, conversions, revenue, share`` sorted by channel.

    Conversions of rows without any touch are reported under ``"(no touch)"``, and a model's
    ``extra_rows`` (such as ``"(baseline)"``) after it, so that credited conversions always
    equal the total.
    """
    empty = seq.lengths == 0
    names = list(seq.channels)
    conv = np.asarray(conversions, dtype=np.float64)
    rev = np.asarray(revenue, dtype=np.float64)
    none_conv = float(seq.conversions[empty].sum())
    if none_conv > 0:
        names.append(NO_TOUCH)
        conv = np.append(conv, none_conv)
        rev = np.append(rev, float(seq.value[empty].sum()))
    for name, c, r in extra_rows:
        names.append(name)
        conv = np.append(conv, float(c))
        rev = np.append(rev, float(r))
    total = float(seq.conversions.sum())
    share = conv / total if total > 0 else np.zeros_like(conv)
    types = (pl.String, pl.Float64, pl.Float64, pl.Float64)
    return pl.DataFrame(
        dict(zip(CHANNEL_COLUMNS, (names, conv, rev, share), strict=True)),
        schema=dict(zip(CHANNEL_COLUMNS, types, strict=True)),
    )


class Attribution:
    """The result of one attribution model.

    Attributes
    ----------
    model : str
        Model name.
    params : dict
        Parameters the model ran with.
    channels : DataFrame
        ``channel`` (str), ``conversions`` (credited conversions), ``revenue`` (credited
        revenue), ``share`` (conversions / total conversions). One row per channel that occurs,
        sorted by name, plus ``"(no touch)"`` for conversions without touches and, for
        ``data_driven``, ``"(baseline)"`` for the conversions expected without marketing.
    tables : dict of DataFrame
        Model-specific outputs (e.g. Markov removal effects).
    """

    def __init__(
        self,
        model: str,
        params: dict[str, Any],
        seq: Sequences,
        out: KernelOutput,
        *,
        source: str,
    ) -> None:
        self.model = model
        self.params = params
        self.source = source
        self.channels = channel_frame(seq, out.conversions, out.revenue, out.extra_rows)
        self.tables = dict(out.tables)
        self._touch_seq = out.touch_seq
        self._touch_credit = out.touch_credit

    @property
    def touchpoints(self) -> pl.DataFrame:
        """Per-touch credit of converting rows.

        Columns: ``journey_id`` (the journey, or the path index for a path table),
        ``position`` (1 = first touch), ``channel``, ``credit`` (share of that row's conversion;
        each converting row's credits sum to 1).

        Raises
        ------
        ModelError
            The model credits channels as a whole, not touches.
        """
        if self._touch_credit is None or self._touch_seq is None:
            raise ModelError(
                f"Model {self.model!r} assigns credit to channels, not to single touches; "
                "use .channels."
            )
        seq = self._touch_seq
        row = seq.row_of_touch
        keep = seq.conversions[row] > 0
        names = pl.Series("channel", list(seq.channels), dtype=pl.String)
        values = (
            seq.ids[row[keep]],
            seq.position[keep] + 1,
            names.gather(seq.codes[keep]),
            self._touch_credit[keep],
        )
        return pl.DataFrame(dict(zip(TOUCHPOINT_COLUMNS, values, strict=True)))

    def __repr__(self) -> str:
        total = float(self.channels["conversions"].sum())
        return (
            f"Attribution(model={self.model!r}, {self.channels.height} channels, "
            f"{total:g} conversions)"
        )


def credit_frame(result: Attribution | pl.DataFrame) -> pl.DataFrame:
    """Credit per channel with one ``"(baseline)"`` row: no-touch conversions plus the model's.

    Parameters
    ----------
    result : Attribution or DataFrame
        A model's result, or its ``channels`` frame (``channel, conversions`` and optionally
        ``revenue``).

    Returns
    -------
    DataFrame
        ``channel, conversions, revenue`` (Float64): the channels in their order, then
        ``"(baseline)"`` with the ``"(no touch)"`` and ``"(baseline)"`` rows summed (0 when
        there are none).

    Raises
    ------
    ValidationError
        A frame with a channel on more than one row (such as :func:`attribution.attribute_all`'s
        frame of several models).

    Examples
    --------
    >>> import polars as pl
    >>> ch = pl.DataFrame({"channel": ["a", "(no touch)", "(baseline)"],
    ...                    "conversions": [3.0, 1.0, 2.0]})
    >>> credit_frame(ch).rows()
    [('a', 3.0, 0.0), ('(baseline)', 3.0, 0.0)]
    """
    if isinstance(result, Attribution):
        ch = result.channels.select("channel", "conversions", "revenue")
    else:
        check_columns(result.collect_schema(), ["channel", "conversions"], "attribution")
        ch = result.select(
            "channel",
            "conversions",
            pl.col("revenue") if "revenue" in result.columns else pl.lit(0.0).alias("revenue"),
        )
        repeated = ch.filter(pl.col("channel").is_duplicated())["channel"]
        if repeated.len():
            hint = (
                "it has a 'model' column: keep one model's rows, e.g. "
                "frame.filter(pl.col('model') == 'markov')"
                if "model" in result.columns
                else "sum each channel's rows first"
            )
            names = ", ".join(repr(c) for c in repeated.unique(maintain_order=True).head(5))
            raise ValidationError(
                f"The attribution frame has {repeated.n_unique()} channels on more than one row "
                f"({names}); one row per channel is expected ({hint})."
            )
    is_base = pl.col("channel").is_in([NO_TOUCH, BASELINE])
    base = ch.filter(is_base).select(
        pl.lit(BASELINE).alias("channel"),
        pl.col("conversions").sum().cast(pl.Float64),
        pl.col("revenue").sum().cast(pl.Float64),
    )
    return pl.concat(
        [ch.filter(~is_base).with_columns(pl.col("conversions", "revenue").cast(pl.Float64)), base]
    )


def check_params(spec: ModelSpec, params: dict[str, Any]) -> None:
    """Refuse parameters a model does not take, naming the ones it does."""
    allowed = set(spec.parameters())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ModelError(
            f"Model {spec.name!r} takes no parameter {unknown[0]!r}; its parameters are: "
            f"{', '.join(sorted(allowed)) or 'none'}."
        )
