"""Money per channel: attributed conversions and revenue joined with spend."""

from __future__ import annotations

import os
import warnings
from datetime import date

import polars as pl

from attribution._base.errors import DataQualityWarning, SchemaError, ValidationError
from attribution._base.frames import FrameLike, ratio, to_lazy
from attribution._base.time import parse_date
from attribution.io import read_spend
from attribution.models import Attribution

__all__ = ["roi"]


def roi(
    result: Attribution | pl.DataFrame,
    spend: FrameLike,
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    date_col: str = "date",
    channel_col: str = "channel",
    spend_col: str = "spend",
) -> pl.DataFrame:
    """Return on investment per channel (and per model) from attribution and spend.

    Parameters
    ----------
    result : Attribution or DataFrame
        One model's result, or the side-by-side table of :func:`attribution.attribute_all`
        (then every model gets its own rows).
    spend
        Spend table (path or frame): one row per period and channel; see
        :func:`attribution.read_spend`. Spend is summed per channel over ``[start, end]``.
    start, end : date or ISO text, optional
        Inclusive date window of the spend (rows without a date are always kept); read like
        any date (``"2024-01-31"``, ``"2024-01"`` is the first of January); a start after the
        end raises a :class:`~attribution.ValidationError`.
    date_col, channel_col, spend_col : str
        Column names in ``spend``.

    Returns
    -------
    DataFrame
        ``[model,] channel, conversions, revenue, spend, roi, roas, cpa`` where
        ``roi = (revenue − spend) / spend`` (4.0 is 400 %), ``roas = revenue / spend`` and
        ``cpa = spend / conversions``. A channel on one side only appears with 0 on the other
        (credited but never paid for, or paid for and never credited). Where the ratio is
        undefined (zero spend, or zero conversions for CPA) the value is null, never inf.
        A file's channel names are read as written (``01`` is not ``1``); spaces around the
        spend table's channel names are ignored (journeys' names have none);
        a spend channel whose name differs from a credited one only in case (``email`` and
        ``Email``) stays apart, with a :class:`~attribution.DataQualityWarning` naming both.

    Examples
    --------
    The seed examples: 1,000 € bringing 5,000 € is ROI 400 %; 2,000 € bringing 6,000 € is
    200 % (ROAS 3:1).

    >>> import polars as pl
    >>> credit = pl.DataFrame({"channel": ["a", "b"], "conversions": [10.0, 12.0],
    ...                        "revenue": [5000.0, 6000.0], "share": [0.45, 0.55]})
    >>> spend = pl.DataFrame({"channel": ["a", "b"], "spend": [1000.0, 2000.0]})
    >>> roi(credit, spend).select("channel", "roi", "roas", "cpa").rows()
    [('a', 4.0, 5.0, 100.0), ('b', 2.0, 3.0, 166.66666666666666)]
    """
    credit = result.channels if isinstance(result, Attribution) else result
    needed = {"channel", "conversions", "revenue"}
    if not needed <= set(credit.columns):
        raise SchemaError(
            "roi needs an attribution result (channel, conversions, revenue); got columns "
            f"{', '.join(repr(c) for c in credit.columns)}."
        )
    if isinstance(spend, str | os.PathLike):
        # a file's channel names are text as written: '01' and '1.0' are not the number 1
        spend = to_lazy(
            spend, what="spend table", id_columns=[channel_col], value_columns=[spend_col]
        )
    table = read_spend(spend, date_col=date_col, channel_col=channel_col, spend_col=spend_col)
    first = parse_date(start, name="start") if start is not None else None
    last = parse_date(end, name="end") if end is not None else None
    if first is not None and last is not None and first > last:
        raise ValidationError(
            f"start {first} is after end {last}; the spend window [start, end] would be empty "
            "and every channel's spend 0."
        )
    if first is not None:
        table = table.filter(pl.col("date").is_null() | (pl.col("date") >= first))
    if last is not None:
        table = table.filter(pl.col("date").is_null() | (pl.col("date") <= last))
    # channel names never have spaces around them in journeys: a spend table's 'email ' is email
    per_channel = table.group_by(pl.col("channel").str.strip_chars()).agg(pl.col("spend").sum())
    _warn_near_names(credit, per_channel)
    keys = ["model", "channel"] if "model" in credit.columns else ["channel"]
    credit = credit.select(*keys, "conversions", "revenue")
    if "model" in credit.columns:
        models = credit.select("model").unique(maintain_order=True)
        per_channel = models.join(per_channel, how="cross")
    joined = credit.join(per_channel, on=keys, how="full", coalesce=True).with_columns(
        pl.col("conversions").fill_null(0.0),
        pl.col("revenue").fill_null(0.0),
        pl.col("spend").fill_null(0.0),
    )
    return joined.select(
        *keys,
        "conversions",
        "revenue",
        "spend",
        ratio(pl.col("revenue") - pl.col("spend"), "spend").alias("roi"),
        ratio("revenue", "spend").alias("roas"),
        ratio("spend", "conversions").alias("cpa"),
    ).sort(keys)


def _warn_near_names(credit: pl.DataFrame, spend: pl.DataFrame) -> None:
    """Warn when a spend channel and a credited channel differ only in letter case."""
    credited = set(credit["channel"].drop_nulls().to_list())
    paid = set(spend["channel"].drop_nulls().to_list())
    folded: dict[str, list[str]] = {}
    for name in credited:
        folded.setdefault(name.casefold(), []).append(name)
    pairs = [
        f"{name!r} (spend) and {', '.join(repr(c) for c in sorted(folded[name.casefold()]))}"
        for name in sorted(paid - credited)
        if name.casefold() in folded
    ]
    if pairs:
        warnings.warn(
            f"{len(pairs)} spend channels differ from credited channels only in letter case "
            f"({'; '.join(pairs[:5])}{' ...' if len(pairs) > 5 else ''}): their spend is joined "
            "to no revenue (ROI -100 %); rename one side so "
            "that the names match.",
            DataQualityWarning,
            stacklevel=3,
        )
