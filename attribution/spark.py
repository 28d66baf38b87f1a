"""Journeys and path tables on a Spark cluster (``pip install "attribution-engine[spark]"``).

The event log stays on the cluster: journeys are numbered with window functions over each
user's events, touches are filtered (lookback, collapsing, the last ``max_touches``) with more
windows, and journeys are grouped into unique paths with their counts, all with Spark SQL
DataFrame operations (no Python UDF). Only the compact path table comes back to the driver, as
a :class:`attribution.PathTable` on which every model runs. ``time_decay`` by days, which needs
touch times, is computed on the cluster too (:func:`attribute_spark`).

The journey rules are those of :func:`attribution.build_journeys`: a conversion closes a
journey; touches at the same instant as a conversion belong to it; simultaneous touches are
ordered by channel name and simultaneous conversions by revenue; lookback, collapsing, the cap
on touches and the three ``non_converting`` choices mean the same. The path table equals
``build_journeys(...).to_paths()`` on the same events: same channels, paths, order and counts
(values up to floating-point summation order).

pyspark is imported only when one of these functions is called.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import polars as pl

from attribution._base.errors import ModelError, SchemaError, ValidationError
from attribution._base.time import EPOCH_UNITS, TZ_SUFFIX, detect_epoch_unit
from attribution.journeys import (
    RESERVED_CHANNELS,
    JourneyOptions,
    JourneyParams,
    PathTable,
    Sequences,
    compress,
    lookback_window,
    reserved_channel_error,
    split_journey_params,
)
from attribution.models import Attribution, KernelOutput, get_model
from attribution.models.base import check_params, positive_number
from attribution.schema import CRM_STAGES, PATH_SEPARATOR, EventColumns, bad_channel_names

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column
    from pyspark.sql import DataFrame as SparkDataFrame
    from typing_extensions import Unpack

__all__ = ["attribute_spark", "build_paths_spark", "is_spark_frame"]

_US_PER_DAY = 86_400_000_000
_KIND_TOUCH, _KIND_CONV, _KIND_OTHER, _KIND_BAD = 0, 1, 2, 3


def is_spark_frame(obj: Any) -> TypeGuard[SparkDataFrame]:
    """Whether ``obj`` is a PySpark DataFrame (classic or Spark Connect), without importing it.

    Examples
    --------
    >>> import polars as pl
    >>> is_spark_frame(pl.DataFrame({"a": [1]}))
    False
    """
    cls = type(obj)
    return cls.__module__.startswith("pyspark.") and cls.__name__ == "DataFrame"


def _import_spark() -> tuple[Any, Any, Any]:
    try:
        from pyspark.sql import Window
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise ModelError(
            'Spark input needs pyspark: pip install "attribution-engine[spark]".'
        ) from exc
    return F, T, Window


def _try_cast(col: Column, to: str) -> Column:
    """Cast giving null on failure (Spark's ANSI mode raises on a plain cast)."""
    return col.try_cast(to) if hasattr(col, "try_cast") else col.cast(to)


def _time_micros(sdf: SparkDataFrame, name: str, time_zone: str, epoch_unit: str | None) -> Column:
    """Microseconds since the epoch (UTC) for any accepted timestamp column type."""
    F, T, _ = _import_spark()
    dtype = sdf.schema[name].dataType
    col = F.col(name)

    def local(ntz: Column) -> Column:
        # zone-free wall-clock parts, read as a time in ``time_zone``
        parts = [F.year(ntz), F.month(ntz), F.dayofmonth(ntz), F.hour(ntz), F.minute(ntz)]
        sec = F.date_part(F.lit("SECOND"), ntz)
        return F.unix_micros(F.make_timestamp(*parts, sec, F.lit(time_zone)))

    if isinstance(dtype, T.TimestampType):
        return F.unix_micros(col)
    if isinstance(dtype, T.TimestampNTZType | T.DateType):
        return local(col.cast("timestamp_ntz"))
    if isinstance(dtype, T.NumericType):
        if epoch_unit is None:  # detected from the largest magnitude, as in memory
            row = sdf.select(F.max(F.abs(col.cast("double")))).first()
            epoch_unit = detect_epoch_unit(float((row[0] if row is not None else None) or 0.0))
        if epoch_unit not in EPOCH_UNITS:
            raise SchemaError(
                f"epoch_unit must be one of {', '.join(EPOCH_UNITS)}; got {epoch_unit!r}."
            )
        return F.round(col.cast("double") * EPOCH_UNITS[epoch_unit]).cast("long")
    if isinstance(dtype, T.StringType):
        text = F.trim(col)
        aware = F.unix_micros(_try_cast(text, "timestamp"))
        naive = local(_try_cast(text, "timestamp_ntz"))
        return F.when(text.rlike(TZ_SUFFIX), aware).otherwise(naive)
    raise SchemaError(
        f"Column {name!r} has type {dtype.simpleString()}; expected a timestamp, a date, an "
        f"ISO-8601 string or epoch {epoch_unit} (a number)."
    )


def _canonical(sdf: SparkDataFrame, cols: EventColumns) -> tuple[SparkDataFrame, list[str]]:
    """Columns ``u, t, k, c, r`` (user, µs, kind, channel of touches, revenue) and channels."""
    F, T, _ = _import_spark()
    user_col, time_col, channel_col = cols.user, cols.time, cols.channel
    event_col, revenue_col, conversion_flag_col = cols.event, cols.revenue, cols.conversion_flag
    names = sdf.columns
    needed = [user_col, time_col, channel_col]
    needed.append(conversion_flag_col if conversion_flag_col is not None else str(event_col))
    for name in needed:
        if name not in names:
            raise SchemaError(
                f"Column {name!r} is missing from the event log; found columns: "
                f"{', '.join(repr(c) for c in names)}."
            )
    user_t = sdf.schema[user_col].dataType
    if not isinstance(user_t, T.IntegralType | T.StringType):
        raise SchemaError(
            f"Column {user_col!r} has type {user_t.simpleString()}; expected user ids as "
            "integers or strings."
        )
    has_rev = revenue_col is not None and revenue_col in names
    if has_rev and not isinstance(sdf.schema[str(revenue_col)].dataType, T.NumericType):
        raise SchemaError(f"Column {revenue_col!r} must be numeric (revenue ≥ 0).")
    if cols.time_format is not None:
        raise SchemaError(
            "time_format is read in memory only; on Spark, turn the column into timestamps "
            "first (pyspark.sql.functions.to_timestamp with a Spark datetime pattern)."
        )
    t = _time_micros(sdf, time_col, cols.time_zone, cols.epoch_unit)
    u = F.col(user_col).cast("long" if isinstance(user_t, T.IntegralType) else "string")
    chan = F.col(channel_col).cast("string")
    rev = F.col(str(revenue_col)).cast("double") if has_rev else F.lit(0.0)
    if conversion_flag_col is not None:
        _check_flags(sdf, conversion_flag_col)
        flag = F.coalesce(F.col(conversion_flag_col).cast("int"), F.lit(0)).alias("flag")
        base = sdf.select(u.alias("u"), t.alias("t"), chan.alias("ch"), rev.alias("r0"), flag)
        # a flagged row's revenue goes to its conversion; on other rows it stays on the touch
        touch_rev = F.when(F.col("flag") > 0, F.lit(0.0)).otherwise(F.col("r0")).alias("r0")
        touches = base.select("u", "t", F.lit(_KIND_TOUCH).alias("k"), "ch", touch_rev)
        convs = base.where(F.col("flag") > 0).select(
            "u", "t", F.lit(_KIND_CONV).alias("k"), "ch", F.coalesce("r0", F.lit(0.0)).alias("r0")
        )
        ev = touches.unionByName(convs)
    else:
        e = F.col(str(event_col)).cast("string")
        touch_set, conv_set = cols.touch_events, cols.conversion_events
        if touch_set != ("touch",) or conv_set != ("conversion",):
            e = (
                F.when(e.isin(*touch_set), F.lit("touch"))
                .when(e.isin(*conv_set), F.lit("conversion"))
                .otherwise(e)
            )
        kind = (
            F.when(e == "touch", _KIND_TOUCH)
            .when(e == "conversion", _KIND_CONV)
            .when(e.isin(*CRM_STAGES), _KIND_OTHER)
            .otherwise(_KIND_BAD)
        )
        ev = sdf.select(
            u.alias("u"), t.alias("t"), kind.alias("k"), chan.alias("ch"), rev.alias("r0")
        )
    ev = ev.select(
        "u",
        "t",
        "k",
        F.when(F.col("k") == _KIND_TOUCH, F.col("ch")).alias("c"),
        F.when(F.col("k") == _KIND_CONV, F.coalesce("r0", F.lit(0.0))).alias("r"),
        "r0",
    )
    channels = _validate(ev, user_col, time_col, channel_col, event_col, revenue_col)
    return ev.where(F.col("k") <= _KIND_CONV).drop("r0"), channels


def _check_flags(sdf: SparkDataFrame, name: str) -> None:
    """Conversion flags are 0/1, true/false or null (no conversion); others are refused."""
    F, T, _ = _import_spark()
    dtype = sdf.schema[name].dataType
    if isinstance(dtype, T.BooleanType):
        return
    if not isinstance(dtype, T.NumericType):
        raise SchemaError(
            f"Column {name!r} has type {dtype.simpleString()}; expected 0/1 or true/false "
            "marking converting rows (null: no conversion)."
        )
    flag = F.col(name).cast("double")
    bad = sdf.where(flag.isNotNull() & ~flag.isin(0.0, 1.0))
    sample = bad.select(F.col(name).alias("v")).limit(5).collect()
    if sample:
        values = ", ".join(str(r["v"]) for r in sample)
        raise ValidationError(
            f"Column {name!r} has values that are not conversion flags ({values}); expected 0 "
            "or 1, true or false, or null (no conversion)."
        )


def _validate(
    ev: SparkDataFrame,
    user_col: str,
    time_col: str,
    channel_col: str,
    event_col: str | None,
    revenue_col: str | None,
) -> list[str]:
    """One aggregate: count each rule's violations, raise naming the first broken rule."""
    F, _, _ = _import_spark()
    k, r0 = F.col("k"), F.col("r0")
    # an empty text id is a missing one (as warehouses write it), not a user
    empty = (F.col("u") == F.lit(""), user_col, "empty ids", "user ids must be non-empty")
    empty_ids = [empty] if dict(ev.dtypes)["u"] == "string" else []
    rules = [
        (F.col("u").isNull(), user_col, "nulls", "user ids must be non-null"),
        *empty_ids,
        (F.col("t").isNull(), time_col, "null or unparseable values", "timestamps must be valid"),
        (
            k == _KIND_BAD,
            str(event_col),
            "unknown event types",
            "expected 'touch', 'conversion' or a CRM stage",
        ),
        (
            (k == _KIND_TOUCH) & F.col("c").isNull(),
            channel_col,
            "touches without a channel",
            "every touch needs a channel",
        ),
        (
            r0.isNotNull() & (F.isnan(r0) | (r0 < 0) | (F.abs(r0) == float("inf"))),
            str(revenue_col),
            "negative or non-finite values",
            "revenue must be finite and ≥ 0",
        ),
        (
            (k == _KIND_TOUCH) & r0.isNotNull() & (r0 != 0),
            str(revenue_col),
            "non-zero values on touch rows",
            "revenue belongs on conversion rows (0 or null elsewhere)",
        ),
    ]
    aggs = [F.sum(cond.cast("int")).alias(f"n{i}") for i, (cond, *_) in enumerate(rules)]
    aggs.append(F.count(F.lit(1)).alias("rows"))
    aggs.append(F.sort_array(F.collect_set(F.col("c"))).alias("channels"))
    aggs.append(F.sum(F.col("r")).alias("revenue"))
    row = ev.agg(*aggs).collect()[0]
    if row["rows"] == 0:
        from attribution._base.errors import EmptyInputError

        raise EmptyInputError("The event log is empty (0 rows).")
    for i, (cond, col, what, rule) in enumerate(rules):
        n = row[f"n{i}"] or 0
        if n:
            sample = ev.where(cond).select("u", "r0").limit(5).collect()
            ids = ", ".join(repr(s["u"]) if s["u"] == "" else str(s["u"]) for s in sample)
            raise ValidationError(
                f"Column {col!r} has {n} {what} (user_id {ids}{', ...' if n > 5 else ''}); {rule}."
            )
    if not math.isfinite(row["revenue"] or 0.0):
        raise ValidationError(
            f"Column {revenue_col!r} sums to more than the largest 64-bit float (about 1.8e308), "
            "so totals and shares cannot be computed; scale the values down (e.g. to thousands)."
        )
    channels = [str(c) for c in row["channels"]]
    bad = bad_channel_names(channels)
    if bad:
        raise ValidationError(
            f"Column {channel_col!r} has channel names that could not be read back from a path "
            f"({', '.join(repr(c) for c in bad[:5])}); a channel name needs a visible character, "
            f"no spaces around it and no {PATH_SEPARATOR!r} (which separates the channels of a "
            "path)."
        )
    reserved = [n for n in RESERVED_CHANNELS if n in channels]
    if reserved:
        raise reserved_channel_error(reserved[0], f" in column {channel_col!r}")
    return channels


def _journey_touches(
    ev: SparkDataFrame,
    *,
    lookback_days: float | None,
    max_touches: int | None,
    collapse_repeats: bool,
    non_converting: str,
) -> tuple[SparkDataFrame, SparkDataFrame]:
    """Journeys ``(u, j, conv, ref, rev)`` and their kept touches ``(u, j, t, c, ref)``."""
    F, _, Window = _import_spark()
    by_user = Window.partitionBy("u").orderBy("t", "k", "c", "r")
    before = by_user.rowsBetween(Window.unboundedPreceding, -1)
    ev = ev.withColumn("j", F.coalesce(F.sum(F.col("k")).over(before), F.lit(0)))
    is_conv = F.col("k") == _KIND_CONV
    journeys = ev.groupBy("u", "j").agg(
        F.max("k").alias("conv"),
        F.coalesce(F.max(F.when(is_conv, F.col("t"))), F.max("t")).alias("ref"),
        F.coalesce(F.sum("r"), F.lit(0.0)).alias("rev"),
    )
    if non_converting == "drop":
        journeys = journeys.where(F.col("conv") == 1)
    elif non_converting == "never_converted":
        journeys = journeys.where((F.col("conv") == 1) | (F.col("j") == 0))
    touches = ev.where(F.col("k") == _KIND_TOUCH).select("u", "j", "t", "c")
    touches = touches.join(journeys.select("u", "j", "ref"), on=["u", "j"], how="inner")
    if lookback_days is not None:
        window = lookback_window(lookback_days)
        touches = touches.where(F.col("ref") - F.col("t") <= window)
    in_journey = Window.partitionBy("u", "j").orderBy("t", "c")
    if collapse_repeats:
        touches = touches.withColumn("prev", F.lag("c").over(in_journey))
        prev = F.col("prev")
        touches = touches.where(prev.isNull() | (prev != F.col("c"))).drop("prev")
    if max_touches is not None:
        from_end = Window.partitionBy("u", "j").orderBy(F.desc("t"), F.desc("c"))
        touches = touches.withColumn("rank", F.row_number().over(from_end))
        touches = touches.where(F.col("rank") <= int(max_touches)).drop("rank")
    return journeys, touches


def _paths_frame(journeys: SparkDataFrame, touches: SparkDataFrame) -> SparkDataFrame:
    """Group journeys into unique paths (arrays of channel names) with their counts."""
    F, _, _ = _import_spark()
    per_journey = touches.groupBy("u", "j").agg(
        F.sort_array(F.collect_list(F.struct("t", "c"))).alias("tc")
    )
    per_journey = per_journey.select("u", "j", F.col("tc.c").alias("path"))
    full = journeys.join(per_journey, on=["u", "j"], how="left").select(
        F.coalesce(F.col("path"), F.array().cast("array<string>")).alias("path"),
        F.col("conv").cast("double").alias("conv"),
        F.col("rev"),
    )
    full = full.where((F.col("conv") > 0) | (F.size("path") > 0))
    return full.groupBy("path").agg(
        F.sum("conv").alias("conversions"),
        F.sum(F.when(F.col("conv") > 0, F.col("rev")).otherwise(0.0)).alias("value"),
        F.sum(1.0 - F.col("conv")).alias("nulls"),
    )


def _collect(sdf: SparkDataFrame) -> pl.DataFrame:
    if hasattr(sdf, "toArrow"):
        with warnings.catch_warnings():
            # pyspark 4 checks the pandas version even on this pandas-free path
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
            table = sdf.toArrow()
        return pl.DataFrame(pl.from_arrow(table))
    rows = sdf.collect()  # pragma: no cover - pyspark < 4
    return pl.DataFrame(  # pragma: no cover
        [r.asDict() for r in rows],
        schema={
            "path": pl.List(pl.String),
            "conversions": pl.Float64,
            "value": pl.Float64,
            "nulls": pl.Float64,
        },
    )


def _to_path_table(frame: pl.DataFrame, channels: list[str]) -> PathTable:
    lengths = frame["path"].list.len().to_numpy().astype(np.int64)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    flat = frame["path"].explode().drop_nulls()
    codes = flat.cast(pl.Enum(channels)).to_physical().cast(pl.Int32).to_numpy()
    seq = Sequences(
        tuple(channels),
        indptr,
        codes,
        frame["conversions"].cast(pl.Float64).to_numpy(),
        frame["value"].cast(pl.Float64).to_numpy(),
        frame["nulls"].cast(pl.Float64).to_numpy(),
    )
    return compress(seq)


def _prepare(
    sdf: SparkDataFrame, opts: JourneyOptions
) -> tuple[SparkDataFrame, SparkDataFrame, list[str]]:
    if not is_spark_frame(sdf):
        raise SchemaError(f"Expected a PySpark DataFrame; got a {type(sdf).__name__}.")
    ev, channels = _canonical(sdf, opts.columns)
    journeys, touches = _journey_touches(ev, **opts.journey_args())
    return journeys, touches, channels


def build_paths_spark(
    sdf: SparkDataFrame,
    options: JourneyOptions | None = None,
    **params: Unpack[JourneyParams],
) -> PathTable:
    """Build the path table of a Spark event log on the cluster; only the paths come back.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        Event log with the columns named below (types: integer or string user ids; timestamp,
        timestamp_ntz, date, ISO string or epoch number times; string channels; numeric
        revenue, null meaning 0).
    options : JourneyOptions, optional
        Journey rules and column names, as for :func:`attribution.build_journeys`. Naive
        times are read in ``time_zone``.
    **params
        Any field of :class:`attribution.JourneyOptions`, replacing the one in ``options``.

    Returns
    -------
    PathTable
        Equal to ``build_journeys(events, ...).to_paths()`` on the same events.

    Raises
    ------
    SchemaError
        A missing column or a column of the wrong type.
    ValidationError
        Null user ids or timestamps, unknown event types, touches without a channel, negative
        or non-finite revenue (message: column, rule, count and a few user ids); bad options.
    EmptyInputError
        No rows.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> from attribution.spark import build_paths_spark
    >>> build_paths_spark(pl.DataFrame({"a": [1]}))
    Traceback (most recent call last):
    ...
    attribution.SchemaError: Expected a PySpark DataFrame; got a DataFrame.
    """
    journeys, touches, channels = _prepare(sdf, JourneyOptions.of(options, **params))
    return _to_path_table(_collect(_paths_frame(journeys, touches)), channels)


def _time_decay_sums(
    journeys: SparkDataFrame, touches: SparkDataFrame, half_life_days: float
) -> pl.DataFrame:
    """Per-channel time-decay credit of converting journeys, summed on the cluster."""
    F, _, Window = _import_spark()
    conv = journeys.where(F.col("conv") == 1).select("u", "j", "rev")
    t = touches.join(conv, on=["u", "j"], how="inner")
    age = (F.col("ref") - F.col("t")) / float(_US_PER_DAY)
    per_journey = Window.partitionBy("u", "j")
    t = t.withColumn("age", age).withColumn("age0", F.min("age").over(per_journey))
    t = t.withColumn("w", F.pow(F.lit(2.0), -(F.col("age") - F.col("age0")) / half_life_days))
    t = t.withColumn("share", F.col("w") / F.sum("w").over(per_journey))
    out = t.groupBy("c").agg(
        F.sum("share").alias("conversions"), F.sum(F.col("share") * F.col("rev")).alias("revenue")
    )
    return _collect(out)


def attribute_spark(
    sdf: SparkDataFrame,
    model: str = "linear",
    options: JourneyOptions | None = None,
    **params: Any,
) -> Attribution:
    """Attribute a Spark event log: paths built on the cluster, the model run on the driver.

    Every model runs on the path table of :func:`build_paths_spark` (``.touchpoints`` then
    refer to its paths), except ``time_decay`` by days (``half_life_days``), whose
    per-journey weights ``2 ** (-Δt / half_life)`` need touch times: its per-channel credit is
    summed on the cluster (no ``.touchpoints``). ``attribution.attribute(sdf, model)`` calls
    this with default journey options.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        Event log.
    model : str
        A name in :data:`attribution.MODELS`.
    options : JourneyOptions, optional
        As for :func:`build_paths_spark`.
    **params
        The model's own parameters, and any field of :class:`attribution.JourneyOptions`.

    Returns
    -------
    Attribution

    Raises
    ------
    ModelError
        Unknown model or parameter, or a bad ``half_life_days``.

    Examples
    --------
    >>> import polars as pl
    >>> attribute_spark(pl.DataFrame({"a": [1]}), "no_such_model")
    Traceback (most recent call last):
    ...
    attribution.ModelError: Unknown model 'no_such_model'; expected one of: ...
    """
    journey_params, params = split_journey_params(params)
    opts = JourneyOptions.of(options, **journey_params)
    spec = get_model(model)
    check_params(spec, params)
    by_days = model == "time_decay" and params.get("half_life_steps") is None
    half_life = positive_number(params.get("half_life_days", 7.0), "half_life_days")
    journeys, touches, channels = _prepare(sdf, opts)
    table = _to_path_table(_collect(_paths_frame(journeys, touches)), channels)
    seq = table.sequences()
    if not by_days:
        return Attribution(model, dict(params), seq, spec.kernel(seq, **params), source="paths")
    sums = _time_decay_sums(journeys, touches, half_life)
    k = len(channels)
    conversions, revenue = np.zeros(k), np.zeros(k)
    if sums.height:
        idx = sums["c"].cast(pl.Enum(channels)).to_physical().to_numpy()
        conversions[idx] = sums["conversions"].to_numpy()
        revenue[idx] = sums["revenue"].to_numpy()
    out = KernelOutput(conversions, revenue)
    return Attribution(model, dict(params), seq, out, source="journeys")
