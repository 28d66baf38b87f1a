"""Small Google Analytics exports built from the documented BigQuery schemas, for the tests.

GA4: "[GA4] BigQuery Export schema" (https://support.google.com/analytics/answer/7029846), one
row per event. GA360: "BigQuery Export schema" (https://support.google.com/analytics/answer/3437719)
and the ``ga_sessions_*`` column types of the public sample
(``bigquery-public-data.google_analytics_sample``), one row per session. Only types and field
names come from there; every value is made up.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

S, I64, F64, B = pl.String, pl.Int64, pl.Float64, pl.Boolean

PARAM_VALUE = pl.Struct(
    {"string_value": S, "int_value": I64, "float_value": F64, "double_value": F64}
)
GA4_SCHEMA: dict[str, Any] = {
    "event_date": S,
    "event_timestamp": I64,
    "event_name": S,
    "event_params": pl.List(pl.Struct({"key": S, "value": PARAM_VALUE})),
    "event_previous_timestamp": I64,
    "event_value_in_usd": F64,
    "event_bundle_sequence_id": I64,
    "event_server_timestamp_offset": I64,
    "user_id": S,
    "user_pseudo_id": S,
    "privacy_info": pl.Struct(
        {"analytics_storage": S, "ads_storage": S, "uses_transient_token": S}
    ),
    "user_properties": pl.List(
        pl.Struct(
            {
                "key": S,
                "value": pl.Struct(
                    {
                        "string_value": S,
                        "int_value": I64,
                        "float_value": F64,
                        "double_value": F64,
                        "set_timestamp_micros": I64,
                    }
                ),
            }
        )
    ),
    "user_first_touch_timestamp": I64,
    "user_ltv": pl.Struct({"revenue": F64, "currency": S}),
    "device": pl.Struct(
        {
            "category": S,
            "mobile_brand_name": S,
            "operating_system": S,
            "language": S,
            "web_info": pl.Struct({"browser": S, "browser_version": S, "hostname": S}),
        }
    ),
    "geo": pl.Struct({"continent": S, "country": S, "region": S, "city": S}),
    "app_info": pl.Struct({"id": S, "version": S, "install_store": S}),
    "traffic_source": pl.Struct({"name": S, "medium": S, "source": S}),
    "stream_id": S,
    "platform": S,
    "event_dimensions": pl.Struct({"hostname": S}),
    "ecommerce": pl.Struct(
        {
            "total_item_quantity": I64,
            "purchase_revenue_in_usd": F64,
            "purchase_revenue": F64,
            "refund_value_in_usd": F64,
            "refund_value": F64,
            "shipping_value_in_usd": F64,
            "shipping_value": F64,
            "tax_value_in_usd": F64,
            "tax_value": F64,
            "unique_items": I64,
            "transaction_id": S,
        }
    ),
    "items": pl.List(
        pl.Struct(
            {"item_id": S, "item_name": S, "price": F64, "quantity": I64, "item_revenue": F64}
        )
    ),
    "collected_traffic_source": pl.Struct(
        {
            "manual_campaign_id": S,
            "manual_campaign_name": S,
            "manual_source": S,
            "manual_medium": S,
            "manual_term": S,
            "manual_content": S,
            "manual_source_platform": S,
            "manual_creative_format": S,
            "manual_marketing_tactic": S,
            "gclid": S,
            "dclid": S,
            "srsltid": S,
        }
    ),
    "is_active_user": B,
}

UTC = dt.timezone.utc


def micros(when: dt.datetime) -> int:
    """GA4's event_timestamp: microseconds since 1970, UTC."""
    return int(when.replace(tzinfo=UTC).timestamp()) * 1_000_000 + when.microsecond


def ga4_event(
    when: dt.datetime,
    name: str,
    pseudo: str | None,
    session: int | None,
    *,
    user_id: str | None = None,
    params: Mapping[str, str | int | float] | None = None,
    collected: Mapping[str, str] | None = None,
    traffic_source: Mapping[str, str] | None = None,
    revenue: float | None = None,
    transaction_id: str | None = None,
) -> dict[str, Any]:
    """One GA4 export row. ``params`` values go to string_value, int_value or double_value."""
    entries = []
    if session is not None:
        entries.append({"key": "ga_session_id", "value": {"int_value": session}})
        entries.append({"key": "ga_session_number", "value": {"int_value": 1}})
    entries.append({"key": "page_location", "value": {"string_value": "https://shop.example/"}})
    for key, value in (params or {}).items():
        slot = (
            "string_value"
            if isinstance(value, str)
            else "int_value"
            if isinstance(value, int)
            else "double_value"
        )
        entries.append({"key": key, "value": {slot: value}})
    for entry in entries:
        entry["value"] = {k: entry["value"].get(k) for k in PARAM_VALUE.to_schema()}
    ecommerce = None
    if revenue is not None or transaction_id is not None:
        ecommerce = {
            "total_item_quantity": 1,
            "purchase_revenue": revenue,
            "purchase_revenue_in_usd": None if revenue is None else revenue * 1.1,
            "unique_items": 1,
            "transaction_id": transaction_id,
        }
    return {
        "event_date": when.strftime("%Y%m%d"),
        "event_timestamp": micros(when),
        "event_name": name,
        "event_params": entries,
        "user_id": user_id,
        "user_pseudo_id": pseudo,
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "Yes"},
        "device": {"category": "desktop", "web_info": {"browser": "Firefox"}},
        "geo": {"country": "France"},
        "traffic_source": dict(traffic_source) if traffic_source else None,
        "stream_id": "1234567890",
        "platform": "WEB",
        "ecommerce": ecommerce,
        "collected_traffic_source": dict(collected) if collected else None,
        "is_active_user": True,
    }


def ga4_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with the export's schema (missing fields are null)."""
    return pl.DataFrame([dict(r) for r in rows], schema=GA4_SCHEMA)


def write_daily_parquet(rows: Iterable[Mapping[str, Any]], folder: Path) -> list[Path]:
    """One ``events_YYYYMMDD.parquet`` per event_date, as a BigQuery export does."""
    frame = ga4_frame(rows)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (day,), part in frame.group_by("event_date", maintain_order=True):
        path = folder / f"events_{day}.parquet"
        part.write_parquet(path)
        paths.append(path)
    return paths


def _bigquery_json(value: Any) -> Any:
    """BigQuery's JSON export: INT64 as text, null fields left out."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _bigquery_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_bigquery_json(v) for v in value]
    return value


def write_daily_ndjson(rows: Iterable[Mapping[str, Any]], folder: Path) -> list[Path]:
    """One ``events_YYYYMMDD.json`` (newline-delimited) per event_date."""
    folder.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[str]] = {}
    for row in ga4_frame(rows).to_dicts():
        by_day.setdefault(row["event_date"], []).append(json.dumps(_bigquery_json(row)))
    paths = []
    for day, lines in by_day.items():
        path = folder / f"events_{day}.json"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# GA360

GA360_SCHEMA: dict[str, Any] = {
    "visitorId": I64,
    "visitNumber": I64,
    "visitId": I64,
    "visitStartTime": I64,
    "date": S,
    "totals": pl.Struct(
        {
            "visits": I64,
            "hits": I64,
            "pageviews": I64,
            "timeOnSite": I64,
            "bounces": I64,
            "transactions": I64,
            "transactionRevenue": I64,
            "newVisits": I64,
            "totalTransactionRevenue": I64,
            "sessionQualityDim": I64,
        }
    ),
    "trafficSource": pl.Struct(
        {
            "referralPath": S,
            "campaign": S,
            "source": S,
            "medium": S,
            "keyword": S,
            "adContent": S,
            "isTrueDirect": B,
            "campaignCode": S,
        }
    ),
    "hits": pl.List(
        pl.Struct(
            {
                "hitNumber": I64,
                "time": I64,
                "type": S,
                "page": pl.Struct({"pagePath": S, "hostname": S}),
                "transaction": pl.Struct({"transactionId": S, "transactionRevenue": I64}),
            }
        )
    ),
    "fullVisitorId": S,
    "userId": S,
    "clientId": S,
    "channelGrouping": S,
    "socialEngagementType": S,
}


def ga360_session(
    visitor: str,
    start: int,
    channel: str,
    *,
    source: str = "(direct)",
    medium: str = "(none)",
    campaign: str = "(not set)",
    transactions: int | None = None,
    revenue_micros: int | None = None,
    hits: int = 2,
) -> dict[str, Any]:
    """One ``ga_sessions_*`` row (nested), with ``hits`` hits."""
    return {
        "visitorId": None,
        "visitNumber": 1,
        "visitId": start,
        "visitStartTime": start,
        "date": dt.datetime.fromtimestamp(start, UTC).strftime("%Y%m%d"),
        "totals": {
            "visits": 1,
            "hits": hits,
            "pageviews": hits,
            "transactions": transactions,
            "totalTransactionRevenue": revenue_micros,
            "newVisits": None,
        },
        "trafficSource": {"source": source, "medium": medium, "campaign": campaign},
        "hits": [
            {
                "hitNumber": h + 1,
                "time": 1000 * h,
                "type": "PAGE",
                "page": {"pagePath": "/", "hostname": "shop.example"},
                "transaction": None,
            }
            for h in range(hits)
        ],
        "fullVisitorId": visitor,
        "userId": None,
        "clientId": None,
        "channelGrouping": channel,
        "socialEngagementType": "Not Socially Engaged",
    }


def ga360_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([dict(r) for r in rows], schema=GA360_SCHEMA)


def ga360_hit_rows(rows: Iterable[Mapping[str, Any]], *, style: str = "bare") -> pl.DataFrame:
    """Flatten sessions to one row per hit, as CSV extracts do (session fields repeated).

    ``style``: ``"bare"`` (``transactions``, as in all_sessions.csv), ``"dot"``
    (``totals.transactions``) or ``"underscore"`` (``totals_transactions``).
    """
    nested = ga360_frame(rows)
    flat = nested.explode("hits").select(
        "fullVisitorId",
        "visitId",
        "visitStartTime",
        "channelGrouping",
        "date",
        pl.col("hits").struct.field("time").alias("time"),
        pl.col("hits").struct.field("type").alias("type"),
        pl.col("totals").struct.field("transactions").alias("totals.transactions"),
        pl.col("totals")
        .struct.field("totalTransactionRevenue")
        .alias("totals.totalTransactionRevenue"),
        pl.col("trafficSource").struct.field("source").alias("trafficSource.source"),
        pl.col("trafficSource").struct.field("medium").alias("trafficSource.medium"),
        pl.col("trafficSource").struct.field("campaign").alias("trafficSource.campaign"),
    )
    if style == "bare":
        return flat.rename(lambda c: c.split(".")[-1])
    if style == "underscore":
        return flat.rename(lambda c: c.replace(".", "_"))
    return flat
