"""A straightforward Polars implementation, measured beside ours in the same run.

It is what an analyst would write with window expressions: sort, number journeys with a
cumulative sum over each user, group into lists, then credit touches. Same journey rules as the
engine's defaults (no lookback, touches before conversions at equal times, non-converting
tails kept), so its linear-touch answer must equal ours.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


def window_journeys(path: Path) -> pl.DataFrame:
    log = pl.scan_parquet(path)
    if log.collect_schema()["timestamp"] == pl.String:  # ISO text: parsed first
        ts = pl.col("timestamp").str.to_datetime(time_unit="us", time_zone="UTC")
        log = log.with_columns(ts)
    ev = (
        log.with_columns((pl.col("event") == "conversion").alias("is_conv"))
        .sort(["user_id", "timestamp", "is_conv", "channel"])
        .with_columns(
            pl.col("is_conv")
            .cast(pl.Int32)
            .cum_sum()
            .shift(1, fill_value=0)
            .over("user_id")
            .alias("jid")
        )
    )
    return (
        ev.group_by("user_id", "jid")
        .agg(
            pl.col("channel").filter(~pl.col("is_conv")).alias("path"),
            pl.col("is_conv").any().alias("converted"),
            pl.col("revenue").filter(pl.col("is_conv")).sum().alias("revenue"),
        )
        .collect()
    )


def window_linear(journeys: pl.DataFrame) -> pl.DataFrame:
    conv = journeys.filter(pl.col("converted") & (pl.col("path").list.len() > 0))
    return (
        conv.with_columns((1.0 / pl.col("path").list.len()).alias("w"))
        .explode("path")
        .group_by(pl.col("path").alias("channel"))
        .agg(pl.col("w").sum().alias("conversions"), (pl.col("w") * pl.col("revenue")).sum())
        .sort("channel")
    )
