"""Rule-based (heuristic) attribution models.

Each kernel turns :class:`~attribution.journeys.Sequences` into a share of credit per touch
(summing to 1 within each row that has touches), vectorised over all touches at once. First,
last and linear touch match ChannelAttribution's ``heuristic_models`` (checked to 1e-9 on its
sample path table in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from attribution._base.errors import ModelError
from attribution.journeys import Sequences
from attribution.models.base import (
    KernelOutput,
    credit_from_touches,
    positive_number,
    register_model,
    row_sums,
)

__all__ = [
    "DIRECT_CHANNELS",
    "POSITION_WEIGHTS",
    "first_touch",
    "last_non_direct",
    "last_touch",
    "linear",
    "position_based",
    "time_decay",
]

#: Channel names treated as direct by :func:`last_non_direct` (compared case-insensitively).
DIRECT_CHANNELS: tuple[str, ...] = ("direct", "(direct)", "direct / (none)", "(direct) / (none)")

#: Named first / middle / last weight triples for :func:`position_based`.
POSITION_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "u": (0.4, 0.2, 0.4),
    "j": (0.2, 0.2, 0.6),
    "inverse_j": (0.6, 0.2, 0.2),
}


def _first_mask(seq: Sequences) -> np.ndarray:
    mask = np.zeros(len(seq.codes), dtype=np.float64)
    starts = seq.indptr[:-1][seq.lengths > 0]
    mask[starts] = 1.0
    return mask


def _last_mask(seq: Sequences) -> np.ndarray:
    mask = np.zeros(len(seq.codes), dtype=np.float64)
    ends = seq.indptr[1:][seq.lengths > 0] - 1
    mask[ends] = 1.0
    return mask


@register_model("first_touch", counts_linear=True)
def first_touch(seq: Sequences) -> KernelOutput:
    """First touch: all credit to the first touch of each journey.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b"], "total_conversions": [1]}))
    >>> at.attribute(pt, "first_touch").channels["conversions"].to_list()
    [1.0, 0.0]
    """
    seq = seq.converting
    return credit_from_touches(seq, _first_mask(seq))


@register_model("last_touch", counts_linear=True)
def last_touch(seq: Sequences) -> KernelOutput:
    """Last touch: all credit to the last touch before the conversion.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b"], "total_conversions": [1]}))
    >>> at.attribute(pt, "last_touch").channels["conversions"].to_list()
    [0.0, 1.0]
    """
    seq = seq.converting
    return credit_from_touches(seq, _last_mask(seq))


@register_model("last_non_direct", counts_linear=True)
def last_non_direct(
    seq: Sequences, direct_channels: Sequence[str] = DIRECT_CHANNELS
) -> KernelOutput:
    """Last non-direct touch: credit to the last touch whose channel is not direct.

    A journey made only of direct touches credits its last (direct) touch, as Google
    Analytics does. ``direct_channels`` are compared case-insensitively.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["seo > Direct", "Direct"],
    ...                                  "total_conversions": [1, 1]}))
    >>> at.attribute(pt, "last_non_direct").channels.select("channel", "conversions").rows()
    [('Direct', 1.0), ('seo', 1.0)]
    """
    seq = seq.converting
    if isinstance(direct_channels, str):
        direct_channels = (direct_channels,)
    if direct_channels is None or not all(isinstance(c, str) for c in direct_channels):
        raise ModelError(
            f"direct_channels must be channel names (text); got {direct_channels!r}. Pass () "
            "to treat no channel as direct."
        )
    direct = {c.lower() for c in direct_channels}
    is_direct = np.array([c.lower() in direct for c in seq.channels], dtype=bool)
    touch_direct = is_direct[seq.codes] if len(seq.codes) else np.zeros(0, dtype=bool)
    idx = np.where(touch_direct, -1, np.arange(len(seq.codes), dtype=np.int64))
    nonempty = seq.lengths > 0
    best = np.full(seq.n_rows, -1, dtype=np.int64)
    if nonempty.any():
        best[nonempty] = np.maximum.reduceat(idx, seq.indptr[:-1][nonempty])
    fallback = seq.indptr[1:] - 1
    chosen = np.where(best >= 0, best, fallback)[nonempty]
    credit = np.zeros(len(seq.codes), dtype=np.float64)
    credit[chosen] = 1.0
    return credit_from_touches(seq, credit)


@register_model("linear", counts_linear=True)
def linear(seq: Sequences) -> KernelOutput:
    """Linear: equal credit to every touch of the journey (repeats count).

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b > a"], "total_conversions": [3]}))
    >>> at.attribute(pt, "linear").channels["conversions"].to_list()
    [2.0, 1.0]
    """
    seq = seq.converting
    lengths = seq.lengths.astype(np.float64)
    row = seq.row_of_touch
    return credit_from_touches(seq, 1.0 / lengths[row])


@register_model("time_decay", needs_times=True, counts_linear=True)
def time_decay(
    seq: Sequences, half_life_days: float = 7.0, half_life_steps: float | None = None
) -> KernelOutput:
    """Time decay: weight ``2 ** (-Δt / half_life)``, normalised within each journey.

    ``Δt`` is the time from the touch to the conversion, in days. On a path table (which has no
    times) pass ``half_life_steps`` to decay by position instead: ``Δt`` is then the number of
    touches between the touch and the conversion (0 for the last touch).

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b"], "total_conversions": [3]}))
    >>> at.attribute(pt, "time_decay", half_life_steps=1).channels["conversions"].to_list()
    [1.0, 2.0]
    """
    seq = seq.converting
    if half_life_steps is not None:
        half = positive_number(half_life_steps, "half_life_steps")
        row = seq.row_of_touch
        age = (seq.lengths[row] - 1 - seq.position).astype(np.float64)
    else:
        if seq.delta_days is None:
            raise ModelError(
                "time_decay needs touch timestamps, and a path table has none: build journeys "
                "from events, or pass half_life_steps= to decay by position."
            )
        half = positive_number(half_life_days, "half_life_days")
        age = seq.delta_days
    # subtract each row's smallest age before exponentiating: same shares, no underflow
    nonempty = seq.lengths > 0
    row_min = np.zeros(seq.n_rows)
    if nonempty.any():
        row_min[nonempty] = np.minimum.reduceat(age, seq.indptr[:-1][nonempty])
    w = np.exp2(-(age - row_min[seq.row_of_touch]) / half)
    totals = row_sums(w, seq.indptr)
    return credit_from_touches(seq, w / totals[seq.row_of_touch])


@register_model("position_based", counts_linear=True)
def position_based(seq: Sequences, weights: str | Sequence[float] = "u") -> KernelOutput:
    """Position-based (U-shaped by default): first / middle / last weights 40 / 20 / 40.

    ``weights`` is a triple (first, middle, last) or a name: ``"u"`` (0.4, 0.2, 0.4),
    ``"j"`` (0.2, 0.2, 0.6) or ``"inverse_j"`` (0.6, 0.2, 0.2). A one-touch journey gives its
    touch 100%; a two-touch journey splits first : last in proportion (50/50 for U); with three
    or more touches the middle weight is shared equally by the middle touches. Weights are
    normalised to sum to 1; they must be finite and ≥ 0, not all 0.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b > c > d"], "total_conversions": [10]}))
    >>> at.attribute(pt, "position_based").channels["conversions"].to_list()
    [4.0, 1.0, 1.0, 4.0]
    """
    seq = seq.converting
    if isinstance(weights, str):
        if weights not in POSITION_WEIGHTS:
            raise ModelError(
                f"Unknown position weights {weights!r}; expected one of "
                f"{sorted(POSITION_WEIGHTS)} or a (first, middle, last) triple."
            )
        f, m, last = POSITION_WEIGHTS[weights]
    else:
        try:
            # text is refused, not read: float("0.4") would pass a spreadsheet's strings
            triple = [
                float(w) if not isinstance(w, str | bytes | bool) else math.nan for w in weights
            ]
        except (TypeError, ValueError):
            triple = []
        if len(triple) != 3 or not all(0 <= w < math.inf for w in triple) or max(triple) <= 0:
            raise ModelError(
                "position_based weights must be a name or three finite numbers ≥ 0 (int or "
                f"float, not text) with a positive sum; got {weights!r}."
            )
        # divided by the largest first, so that huge weights do not overflow their sum
        f, m, last = (w / max(triple) for w in triple)
    row = seq.row_of_touch
    n = seq.lengths[row]
    pos = seq.position
    is_first = pos == 0
    is_last = pos == n - 1
    two = f + last
    if two <= 0 and np.any(seq.lengths == 2):
        raise ModelError("position weights with first = last = 0 cannot credit two-touch paths.")
    total3 = f + m + last
    middle = np.where(n > 2, m / total3 / np.maximum(n - 2, 1), 0.0)
    credit = np.where(
        n == 1,
        1.0,
        np.where(
            n == 2,
            np.where(is_first, f / two if two > 0 else 0.5, last / two if two > 0 else 0.5),
            np.where(is_first, f / total3, np.where(is_last, last / total3, middle)),
        ),
    )
    return credit_from_touches(seq, credit.astype(np.float64))
