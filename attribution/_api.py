"""The user-facing entry points: :func:`attribute` and :func:`attribute_all`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import polars as pl

from attribution._base.errors import ModelError, SkippedModelWarning
from attribution._base.frames import FrameLike, to_lazy
from attribution.journeys import (
    JourneyOptions,
    Journeys,
    PathTable,
    Sequences,
    build_journeys,
    read_paths,
    split_journey_params,
)
from attribution.models import MODELS, Attribution, get_model
from attribution.models.base import check_params
from attribution.spark import is_spark_frame

__all__ = ["as_sequences", "attribute", "attribute_all", "choose_order", "model_warning"]

_PEER_COLUMNS = {"path", "total_conversions"}


def as_sequences(
    data: Journeys | PathTable | FrameLike,
    options: JourneyOptions | None = None,
    **journey_params: Any,
) -> tuple[Sequences, str]:
    """Kernel input from journeys, a path table, a peer-format path frame or an event log.

    An event log is built into journeys with ``options`` and ``journey_params`` (fields of
    :class:`~attribution.JourneyOptions`); a PySpark DataFrame event log is built into a path
    table on the cluster (:func:`attribution.spark.build_paths_spark`; pyspark is imported
    only then). Journeys and path tables are built already: options are refused for them.
    """
    if is_spark_frame(data):
        from attribution.spark import build_paths_spark

        return build_paths_spark(data, options, **journey_params).sequences(), "paths"
    built = isinstance(data, Journeys | PathTable)
    peer = False
    if not built and isinstance(data, pl.DataFrame | pl.LazyFrame):
        peer = _PEER_COLUMNS <= set(to_lazy(data).collect_schema().names())
    if (built or peer) and (options is not None or journey_params):
        given = sorted(journey_params) or ["options"]
        what = "a path table" if peer or isinstance(data, PathTable) else "journeys"
        raise ModelError(
            f"Journey options ({', '.join(given)}) apply when journeys are built from an event "
            f"log; the input is {what}, built already (pass them to build_journeys)."
        )
    if isinstance(data, Journeys):
        return data.sequences(), "journeys"
    if isinstance(data, PathTable):
        return data.sequences(), "paths"
    if peer:
        return read_paths(data).sequences(), "paths"
    return build_journeys(data, options, **journey_params).sequences(), "journeys"


def attribute(
    data: Journeys | PathTable | FrameLike,
    model: str = "linear",
    options: JourneyOptions | None = None,
    **params: Any,
) -> Attribution:
    """Assign conversions and revenue to channels (and touches) with one model.

    Parameters
    ----------
    data
        :class:`Journeys`, a :class:`PathTable`, a peer-format path frame (``path``,
        ``total_conversions``, ...), an event log (built into journeys with ``options``) or a
        PySpark DataFrame event log (paths built on the cluster).
    model : str
        One of :data:`attribution.MODELS`: ``first_touch``, ``last_touch``,
        ``last_non_direct``, ``linear``, ``time_decay``, ``position_based`` (more as they are
        added).
    options : JourneyOptions, optional
        How an event log becomes journeys (lookback, columns...); see
        :class:`~attribution.JourneyOptions`.
    **params
        The model's own parameters, e.g. ``half_life_days=3`` for ``time_decay``, and, for an
        event log, any field of :class:`~attribution.JourneyOptions` (``lookback_days=30``).

    Returns
    -------
    Attribution
        ``.channels`` (channel, conversions, revenue, share) and, for per-touch models,
        ``.touchpoints`` (journey_id, position, channel, credit).

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b", "b"], "total_conversions": [2, 1],
    ...                                  "total_conversion_value": [10.0, 4.0]}))
    >>> at.attribute(pt, "linear").channels.rows()
    [('a', 1.0, 5.0, 0.3333333333333333), ('b', 2.0, 9.0, 0.6666666666666666)]
    """
    if is_spark_frame(data):  # paths built on the cluster; time_decay by days summed there
        from attribution.spark import attribute_spark

        return attribute_spark(data, model, options, **params)
    journey_params, params = split_journey_params(params)
    spec = get_model(model)
    check_params(spec, params)
    seq, source = as_sequences(data, options, **journey_params)
    out = spec.kernel(seq, **params)
    return Attribution(model, dict(params), seq, out, source=source)


def attribute_all(
    data: Journeys | PathTable | FrameLike,
    models: Sequence[str] | None = None,
    options: JourneyOptions | None = None,
    *,
    skip_refused: bool = False,
    with_warnings: bool = False,
    **params: Any,
) -> pl.DataFrame:
    """Run several models side by side: one row per (model, channel).

    Parameters
    ----------
    data
        As for :func:`attribute`; it is prepared once and shared by every model.
    models : str or sequence of str, optional
        Models to run (a model named twice runs once); by default every registered model that
        the input supports
        (models that need touch times skip a path table, ``time_decay`` unless
        ``half_life_steps`` is given; ``data_driven`` also needs non-converting journeys).
        The ``"(baseline)"`` row of ``data_driven``, like ``"(no touch)"``, keeps each model's
        rows summing to the total.
    options : JourneyOptions, optional
        As for :func:`attribute`.
    skip_refused : bool
        Leave out a model that refuses the input (raises :class:`~attribution.ModelError`,
        e.g. Shapley over more than ``max_channels`` channels), with a
        :class:`~attribution.SkippedModelWarning` that names it and gives its reason, instead
        of failing. If every model refuses, the first refusal is raised.
    with_warnings : bool
        Add a ``warning`` column: a model's :class:`~attribution.IdentificationWarning`
        (``data_driven`` when the log does not identify its credit) on each of its rows, null
        otherwise. The warning is issued either way, naming the model.
    **params
        Parameters, each passed to the models that take it (one no model takes is an error),
        and any field of :class:`~attribution.JourneyOptions`.

    Returns
    -------
    DataFrame
        ``model, channel, conversions, revenue, share`` (and ``warning``).
    """
    journey_params, params = split_journey_params(params)
    if isinstance(models, str):
        models = [models]
    names = list(dict.fromkeys(models)) if models is not None else list(MODELS)
    if not names:
        raise ModelError(
            f"models names no model; pass None for every model or some of: {', '.join(MODELS)}."
        )
    for name in names:
        get_model(name)  # an unknown name is refused before the journeys are built
    seq, source = as_sequences(data, options, **journey_params)
    taken: set[str] = set()
    frames = []
    refused: list[ModelError] = []
    for name in names:
        spec = get_model(name)
        own = {k: v for k, v in params.items() if k in spec.parameters()}
        taken |= set(own)
        if (
            models is None
            and spec.needs_times
            and seq.delta_days is None
            and own.get("half_life_steps") is None
        ):
            continue
        if models is None and spec.needs_nulls and not seq.nulls.any():
            continue
        try:
            out = spec.kernel(seq, **own)
        except ModelError as exc:
            if not skip_refused:
                raise
            refused.append(exc)
            warnings.warn(f"model {name!r} skipped: {exc}", SkippedModelWarning, stacklevel=2)
            continue
        res = Attribution(name, own, seq, out, source=source)
        frame = res.channels.select(pl.lit(name).alias("model"), pl.all())
        if with_warnings:
            frame = frame.with_columns(warning=pl.lit(model_warning(res), dtype=pl.String))
        frames.append(frame)
    unknown = sorted(set(params) - taken)
    if unknown:
        raise ModelError(f"No model among {', '.join(names)} takes the parameter {unknown[0]!r}.")
    if not frames and refused:
        raise refused[0]
    return pl.concat(frames)


def model_warning(result: Attribution) -> str | None:
    """Return the identification warning a result was given (``diagnostics``), or ``None``."""
    diag = result.tables.get("diagnostics")
    if diag is None or "warning" not in diag.columns:
        return None
    found = [w for w in diag["warning"].to_list() if w]
    return "; ".join(found) if found else None


def choose_order(
    data: Journeys | PathTable | FrameLike,
    max_order: int = 4,
    folds: int = 5,
    seed: int = 0,
    smoothing: float = 1.0,
) -> pl.DataFrame:
    """Recommend a Markov order by cross-validated prediction of conversions.

    See :func:`attribution.models.markov.choose_order` for the criterion. Returns a frame with
    ``order, log_loss, auc, n_states, recommended``.
    """
    from attribution.models.markov import choose_order as _choose

    seq, _ = as_sequences(data)
    return _choose(seq, max_order=max_order, folds=folds, seed=seed, smoothing=smoothing)
