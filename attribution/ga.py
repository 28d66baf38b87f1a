"""Google Analytics exports: GA4 BigQuery events and GA360 (Universal Analytics) sessions.

Both readers return canonical events, as :func:`attribution.read_events` does (columns
``user_id, timestamp, channel, event, revenue, campaign``), with one **touch per session**:
GA's sessions are the touches of a journey, and purchases its conversions.

:func:`read_ga4` reads the GA4 export (``analytics_<property>.events_YYYYMMDD``; Google's
schema: https://support.google.com/analytics/answer/7029846). :func:`read_ga360` reads the
GA360 / Universal Analytics export (``ga_sessions_YYYYMMDD``; schema:
https://support.google.com/analytics/answer/3437719) and the flattened CSV extracts made from
it. Both take Parquet or newline-delimited JSON files, folders of them, glob patterns
(``"export/events_*.parquet"``), lists of paths, or frames; :func:`read_ga360` also takes CSV.

How a GA4 session becomes a touch
---------------------------------
- **Sessions.** A session is a ``user_pseudo_id`` and the ``ga_session_id`` event parameter
  (which is unique only per device). Its touch is at its first event. Sessions that cross
  midnight, and so two daily tables, are one session.
- **Its channel** comes from the session's own source, medium and campaign: the first event of
  the session that carries ``collected_traffic_source`` (``manual_source``, ``manual_medium``,
  ``manual_campaign_name``, ``gclid``); if no event does, the first that carries the
  ``source`` / ``medium`` / ``campaign`` / ``gclid`` event parameters; if none does, the
  session-scoped ``session_traffic_source_last_click`` of newer exports (its
  ``manual_campaign``, else ``google_ads_campaign`` as ``google`` / ``cpc``, else
  ``cross_channel_campaign``). A ``gclid`` (Google Ads
  auto-tagging) means ``google`` / ``cpc``, as GA4 reads it when auto-tagging is on. A session
  with no source at all is ``(direct)`` / ``(none)``. An explicit ``(direct)`` carries no
  source. The channel is :func:`attribution.channel_group` of the three, by ``channel_rules``.
- **traffic_source** is *user*-scoped (the source that first acquired the user; it never
  changes), so it is not a session's source. With ``first_session_fallback=True`` it fills in
  the source of the session that holds the user's ``first_visit`` / ``first_open`` event when
  that session carries none of its own.
- **Conversions** are the events named in ``conversion_events`` (``purchase``), at their own
  time, worth ``ecommerce.purchase_revenue`` (or the ``revenue`` field you name; missing is
  0). A purchase without a ``ga_session_id`` still converts; it just brings no touch. Repeated
  purchases with the same ``ecommerce.transaction_id`` of the same user count once (GA4 drops
  such duplicates in its reports, the export keeps them), unless ``dedupe_transactions=False``.
- **Several purchases in one session.** A conversion closes a journey, so the session's touch
  belongs to its first purchase; each later purchase in the same session gets the session's
  touch again, at the purchase's time, so that the session in which someone buys counts toward
  every purchase made in it.
- **Users.** ``user="user_pseudo_id"`` (the default): the device or cookie. ``"user_id"``: the
  id the site sets on signed-in users; a session takes the first ``user_id`` seen in it, and
  sessions without one are left out. ``"stitched"``: a session's ``user_id`` if it has one,
  else the first ``user_id`` its device ever shows, else the device's ``user_pseudo_id``.
  Events without a ``user_pseudo_id`` (consent-mode cookieless pings) are left out.

How this differs from GA4's own attribution
-------------------------------------------
GA4's *session default channel group* credits a session to its last non-direct click: a direct
session inherits the previous non-direct source of the same user within a lookback (90 days by
default). Its *default channel group* on key events uses the property's attribution model
(data-driven by default) over all of a user's touches, with cross-device identity. Here a
session's channel is its own source (a direct session is Direct), and credit across sessions is
the model's business: ``at.attribute(events, "last_non_direct")`` is GA4's last non-direct
click, with the lookback you choose. GA4 also reads Google Ads traffic by its campaign type
(Performance Max is Cross-network, YouTube is Paid Video), which the export does not hold:
here auto-tagged traffic is Paid Search. ``dclid`` and ``srsltid`` are not read.

GA360 sessions
--------------
One row per session (or per hit or product: flattened extracts repeat the session's fields on
every hit row; those rows are collapsed to their session). ``fullVisitorId`` is read as text,
so 19- and 20-digit ids stay exact and leading zeros count; ids that a spreadsheet turned into
scientific notation (``2.81772E+18``) no longer tell visitors apart: they are read with a
:class:`~attribution.DataQualityWarning` that counts them (``rounded_ids="raise"`` refuses them).
The touch is at ``visitStartTime`` (epoch seconds); its channel is ``channelGrouping`` (UA's
default channel grouping) or, with ``channel_rules=``, the channel group of
``trafficSource.source`` / ``medium`` / ``campaign``. A session with ``totals.transactions``
of 1 or more converts (null means none; negative counts are refused), worth
``totals.totalTransactionRevenue`` divided by ``revenue_scale`` (GA stores micro-units); a
session that buys is one conversion whatever its number of transactions. Columns are found in
the nested form (``totals`` a struct), as JSON text (Kaggle's extract), flattened with a dot
or an underscore (``totals.transactions``, ``totals_transactions``) or bare
(``transactions``, as in the widely copied ``all_sessions.csv``); every one can also be named.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from attribution._base.errors import (
    DataQualityWarning,
    EmptyInputError,
    ReadError,
    SchemaError,
    ValidationError,
    describe_rows,
)
from attribution._base.frames import (
    ROW,
    FrameLike,
    Rule,
    bad_rows,
    check_rules,
    diagnose,
    is_text,
    numeric_expr,
    reading_all,
    scan_csv,
    scan_ndjson,
    to_lazy,
)
from attribution._base.time import parse_times
from attribution.channels import Rules, channel_group
from attribution.io import read_events

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

__all__ = ["GA4User", "read_ga4", "read_ga360"]

#: Who a GA4 user is: the device, the signed-in id, or the signed-in id where known.
GA4User = Literal["user_pseudo_id", "user_id", "stitched"]
GASource = FrameLike | Sequence["str | os.PathLike[str]"]

_PARQUET = (".parquet", ".pq")
_NDJSON = (".ndjson", ".jsonl", ".json")
_CSV = (".csv",)
_FIRST_EVENTS = ("first_visit", "first_open")
_REVENUE = "ecommerce.purchase_revenue"
#: Microseconds of the year 9999 (about): the largest time a Datetime holds.
_MAX_MICROS = 250_000_000_000_000_000
# text a spreadsheet program writes for a long number: 2.81772E+18
_SCIENTIFIC = r"^\s*[+-]?\d+(\.\d*)?[eE][+-]?\d+\s*$"


# --------------------------------------------------------------------------------------------
# files


@dataclass(frozen=True)
class _Part:
    """One input of an export: a lazy frame, the name used for it in messages, its file."""

    lf: pl.LazyFrame
    what: str
    path: Path | None = None
    kind: str = "export"


@contextmanager
def _reading(parts: list[_Part], what: str) -> Iterator[None]:
    """Turn errors of reading the export's files into a :class:`ReadError` naming the file.

    The file, row, line and column are found where they can be (see
    :func:`attribution._base.frames.diagnose`).
    """
    with reading_all([(p.path, what) for p in parts if p.path is not None]):
        yield


def _schema(part: _Part) -> pl.Schema:
    """Return the schema of one input; a file that cannot be read is refused by name."""
    try:
        return part.lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        found = None if part.path is None else diagnose(part.path, part.kind, exc)
        if found is not None:
            raise ReadError(found) from None
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SchemaError(
            f"Cannot read the {part.what}: {first}. Expected Parquet, newline-delimited JSON "
            "(one record per line, as BigQuery exports it) or CSV."
        ) from None


def _parts(source: GASource, *, what: str, kinds: tuple[str, ...]) -> list[_Part]:
    """Scan every file of an export (a file, folder, glob or list) or take a frame."""
    if isinstance(source, pl.LazyFrame | pl.DataFrame):
        return [_Part(source.lazy(), what)]
    if type(source).__module__.startswith("pandas"):
        return [_Part(to_lazy(source, what=what), what)]
    paths: list[Path] = []
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    for item in items:
        text = os.fspath(item)
        if any(ch in text for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True))
            found = [p for p in found if p.is_file() and p.suffix.lower() in kinds]
            if not found:
                raise EmptyInputError(
                    f"No {what} files match {text!r}; expected files ending in {', '.join(kinds)}."
                )
            paths += found
            continue
        path = Path(text)
        if not path.exists():
            raise FileNotFoundError(f"The {what} file {text!r} does not exist.")
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in kinds
                # hidden and underscore names are not data (macOS' ._ copies, _temporary)
                and not any(q.startswith((".", "_")) for q in p.relative_to(path).parts)
            )
            if not found:
                raise EmptyInputError(
                    f"The {what} folder {text!r} has no files ending in {', '.join(kinds)}."
                )
            paths += found
        else:
            if path.suffix.lower() not in kinds:
                raise SchemaError(
                    f"Cannot read {text!r} as the {what}: unknown file type "
                    f"{path.suffix!r}; expected one of {', '.join(kinds)}."
                )
            paths.append(path)
    parts = []
    for path in paths:
        label = f"{what} file {str(path)!r}"
        if path.stat().st_size == 0:
            continue
        suffix = path.suffix.lower()
        if suffix in _PARQUET:
            lf = pl.scan_parquet(path)
        elif suffix in _NDJSON:
            # nested records: infer the schema from the whole file, not from its first rows
            lf = scan_ndjson(path)
        else:
            # every column as text: long ids stay exact, numbers are read where they are used
            lf = scan_csv(path, infer_schema=False)
        parts.append(_Part(lf, label, path, what))
    if not parts:
        raise EmptyInputError(f"Every {what} file is empty (0 bytes).")
    return parts


def _field(schema: pl.Schema, path: str) -> tuple[pl.Expr, pl.DataType] | None:
    """Find ``a.b`` as a column of that name, ``a_b``, a struct field, or a field of JSON text."""
    if path in schema:
        return pl.col(path), schema[path]
    flat = path.replace(".", "_")
    if flat in schema:
        return pl.col(flat), schema[flat]
    head, *rest = path.split(".")
    if not rest or head not in schema:
        return None
    expr, dtype = pl.col(head), schema[head]
    if is_text(dtype):  # a record written as JSON text (e.g. Kaggle's GA360 extract)
        return expr.cast(pl.String).str.json_path_match("$." + ".".join(rest)), pl.String()
    for name in rest:
        if not isinstance(dtype, pl.Struct):
            return None
        fields = {f.name: f.dtype for f in dtype.fields}
        if name not in fields:
            return None
        expr, dtype = expr.struct.field(name), _dtype(fields[name])
    return expr, dtype


def _dtype(dtype: PolarsDataType) -> pl.DataType:
    """Return a data type as an instance (struct fields may hold the class)."""
    return dtype() if isinstance(dtype, type) else dtype


def _text(expr: pl.Expr) -> pl.Expr:
    """Text with blanks as null."""
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text)


def _whole_decimal(dtype: pl.DataType) -> bool:
    """Whether a type is a decimal without a fractional part (BigQuery's NUMERIC of ids)."""
    return isinstance(dtype, pl.Decimal) and dtype.scale == 0


def _digits(lf: pl.LazyFrame, name: str, what: str, rule: str) -> pl.Expr:
    """Read a column of whole numbers, which may arrive as text, as an Int64 expression."""
    dtype = lf.collect_schema()[name]
    if dtype.is_integer() or _whole_decimal(dtype):
        return pl.col(name).cast(pl.Int64)
    if dtype == pl.Null:
        return pl.lit(None, pl.Int64)
    if dtype.is_float():
        return pl.col(name).round(0).cast(pl.Int64)
    if not is_text(dtype):
        raise SchemaError(f"Column {name!r} of the {what} has type {dtype}; expected {rule}.")
    text = _text(pl.col(name))
    value = text.cast(pl.Int64, strict=False)
    bad = text.is_not_null() & value.is_null()
    sample = bad_rows(lf, bad, text)
    if sample.height:
        raise ValidationError(
            f"Column {name!r} of the {what} has {sample['n'][0]} values that are not whole "
            f"numbers ({describe_rows(sample[ROW].to_list(), values=sample['v'].to_list())}); "
            f"expected {rule}."
        )
    return value


def _ids(expr: pl.Expr, dtype: pl.DataType, name: str, what: str) -> pl.Expr:
    """User ids as text; floating-point ids have lost digits and are refused."""
    if is_text(dtype) or dtype == pl.Null:
        return _text(expr)
    if dtype.is_integer() or _whole_decimal(dtype):
        return expr.cast(pl.String)
    raise SchemaError(
        f"Column {name!r} of the {what} has type {dtype}; expected ids as text (numbers this "
        "long lose digits as floating point: read the column as text)."
    )


# --------------------------------------------------------------------------------------------
# GA4


_SESSION = ["__pseudo", "__sid"]
_TRAFFIC = ("src", "med", "camp", "gclid")
# event parameters read, and their columns
_PARAMS = {
    "ga_session_id": "__sid",
    "source": "__p_src",
    "medium": "__p_med",
    "campaign": "__p_camp",
    "gclid": "__p_gclid",
}


def _converts(lf: pl.LazyFrame, conversions: Sequence[str]) -> bool:
    """Whether any event of one input is a conversion (reads ``event_name`` once)."""
    found = lf.select(pl.col("event_name").cast(pl.String).is_in(list(conversions)).any())
    return bool(found.collect().item())


def _number_text(lf: pl.LazyFrame, expr: pl.Expr, name: str, what: str) -> pl.Expr:
    """Numbers written as text, as Float64; text that is not a number is refused by row."""
    text = _text(expr)
    value = text.cast(pl.Float64, strict=False)
    bad = text.is_not_null() & value.is_null()
    sample = bad_rows(lf, bad, text)
    if sample.height:
        raise ValidationError(
            f"Field {name!r} of the {what} has {sample['n'][0]} values that are not numbers "
            f"({describe_rows(sample[ROW].to_list(), values=sample['v'].to_list())}); "
            "expected a conversion's value (null: 0)."
        )
    return value


def _ga4_flat(
    part: _Part,
    index: int,
    revenue: str | None,
    conversions: Sequence[str],
    *,
    pseudo_optional: bool = False,
) -> pl.LazyFrame:
    """One file of the GA4 export as one row per event with the fields the reader uses."""
    lf, what = part.lf, part.what
    schema = _schema(part)
    needed = ("event_timestamp", "event_name", *(() if pseudo_optional else ("user_pseudo_id",)))
    missing = [c for c in needed if c not in schema]
    if missing:
        found = ", ".join(repr(c) for c in schema.names())
        raise SchemaError(
            f"Column {missing[0]!r} is missing from the {what}; found columns: {found}. "
            "Expected the GA4 BigQuery export schema (event_timestamp, event_name, "
            "user_pseudo_id, event_params, ...)."
        )

    ts_t = schema["event_timestamp"]
    if isinstance(ts_t, pl.Datetime):
        ts = pl.col("event_timestamp").dt.epoch("us")
    else:
        ts = _digits(lf, "event_timestamp", what, "microseconds since 1970 (GA4's unit)")

    def text_field(path: str) -> pl.Expr:
        found = _field(schema, path)
        return pl.lit(None, pl.String) if found is None else _text(found[0])

    pseudo_t = schema.get("user_pseudo_id", pl.Null())
    user_t = schema.get("user_id", pl.Null())
    exprs = [
        pl.lit(index, pl.Int32).alias("__file"),
        pl.col(ROW).cast(pl.Int64).alias("__order"),
        (
            _ids(pl.col("user_pseudo_id"), pseudo_t, "user_pseudo_id", what)
            if "user_pseudo_id" in schema
            else pl.lit(None, pl.String)
        ).alias("__pseudo"),
        (
            _ids(pl.col("user_id"), user_t, "user_id", what)
            if "user_id" in schema
            else pl.lit(None, pl.String)
        ).alias("__uid"),
        ts.alias("__ts"),
        _text(pl.col("event_name")).alias("__name"),
        text_field("collected_traffic_source.manual_source").alias("__c_src"),
        text_field("collected_traffic_source.manual_medium").alias("__c_med"),
        text_field("collected_traffic_source.manual_campaign_name").alias("__c_camp"),
        text_field("collected_traffic_source.gclid").alias("__c_gclid"),
        *_last_click(text_field),
        # traffic_source is the user's and repeats on every event: kept where it may be used
        *(
            pl.when(pl.col("event_name").is_in(list(_FIRST_EVENTS)))
            .then(text_field(f"traffic_source.{field}"))
            .alias(name)
            for field, name in (("source", "__t_src"), ("medium", "__t_med"), ("name", "__t_camp"))
        ),
        pl.lit(None, pl.String).alias("__t_gclid"),
        text_field("ecommerce.transaction_id").alias("__txn"),
    ]
    params = dict(_PARAMS)
    if revenue is None:
        exprs.append(pl.lit(0.0).alias("__rev"))
    elif revenue.startswith("event_params."):
        params[revenue.split(".", 1)[1]] = "__rev"
    else:
        field = _field(schema, revenue)
        if field is None:
            # older or intraday tables may lack the record, and newline-delimited JSON has
            # only the fields its rows hold (a record that is null in every row has none):
            # then no event carries revenue. A file with conversions must have the field.
            head = revenue.split(".")[0]
            if head in schema and schema[head] == pl.Null:
                pass
            elif (head in schema or revenue != _REVENUE) and _converts(lf, conversions):
                raise SchemaError(
                    f"The revenue field {revenue!r} is not in the {what}; name another with "
                    "revenue= (e.g. 'ecommerce.purchase_revenue_in_usd', "
                    "'event_value_in_usd', 'event_params.value') or pass revenue=None."
                )
            exprs.append(pl.lit(None, pl.Float64).alias("__rev"))
        else:
            expr, dtype = field
            if not (dtype.is_numeric() or is_text(dtype) or dtype == pl.Null):
                raise SchemaError(
                    f"The revenue field {revenue!r} of the {what} has type {dtype}; expected "
                    "a number."
                )
            if is_text(dtype):
                expr = _number_text(lf, expr, revenue, what)
            exprs.append(expr.cast(pl.Float64, strict=False).alias("__rev"))
    events = lf.with_row_index(ROW).select(pl.col(ROW), *exprs)
    return _with_params(events, lf, schema, params, what)


#: GA4's session-scoped last click (exports from mid-2024): its records, by preference.
_LAST_CLICK = "session_traffic_source_last_click"


def _last_click(text_field: Callable[[str], pl.Expr]) -> list[pl.Expr]:
    """Return the session's source, medium and campaign from GA4's session last click.

    Its ``manual_campaign`` (the utm tags) if it has a source or medium; else its
    ``google_ads_campaign`` (a campaign there is Google Ads traffic: ``google`` / ``cpc``);
    else its ``cross_channel_campaign``. Columns ``__l_src, __l_med, __l_camp, __l_gclid``.
    """
    manual = [text_field(f"{_LAST_CLICK}.manual_campaign.{f}") for f in _UTM]
    ads_campaign = text_field(f"{_LAST_CLICK}.google_ads_campaign.campaign_name")
    ads_id = text_field(f"{_LAST_CLICK}.google_ads_campaign.campaign_id")
    cross = [text_field(f"{_LAST_CLICK}.cross_channel_campaign.{f}") for f in _UTM]
    has_manual = manual[0].is_not_null() | manual[1].is_not_null()
    has_ads = ads_campaign.is_not_null() | ads_id.is_not_null()
    ads = [pl.lit("google"), pl.lit("cpc"), ads_campaign]
    out = []
    for k, name in enumerate(("src", "med", "camp")):
        out.append(
            pl.when(has_manual)
            .then(manual[k])
            .when(has_ads)
            .then(ads[k])
            .otherwise(cross[k])
            .cast(pl.String)
            .alias(f"__l_{name}")
        )
    return [*out, pl.lit(None, pl.String).alias("__l_gclid")]


#: The fields of a manual or cross-channel campaign record, as source, medium, campaign.
_UTM = ("source", "medium", "campaign_name")


def _with_params(
    events: pl.LazyFrame,
    lf: pl.LazyFrame,
    schema: pl.Schema,
    params: dict[str, str],
    what: str,
) -> pl.LazyFrame:
    """Join the wanted event parameters to the events, one column each (``params``: key->name).

    The parameters are read in long form (one row per event and wanted key), which is much
    faster than searching every event's list once per key.
    """
    params_t = schema.get("event_params")
    value_fields: dict[str, pl.DataType] = {}  # the typed slots of event_params' value
    if params_t is not None and params_t != pl.Null:
        inner = params_t.inner if isinstance(params_t, pl.List) else None
        fields = {f.name: f.dtype for f in inner.fields} if isinstance(inner, pl.Struct) else {}
        value_t = fields.get("value")
        # newline-delimited JSON whose lists are all empty, or whose values are all null
        no_values = inner == pl.Null or ("key" in fields and value_t == pl.Null)
        if not no_values and ("key" not in fields or not isinstance(value_t, pl.Struct)):
            raise SchemaError(
                f"Column 'event_params' of the {what} has type {params_t}; expected GA4's list "
                "of {key, value: {string_value, int_value, float_value, double_value}} records."
            )
        if isinstance(value_t, pl.Struct):
            value_fields = {f.name: _dtype(f.dtype) for f in value_t.fields}
    number_keys = [k for k, name in params.items() if name == "__rev"]
    if not value_fields:
        return events.with_columns(
            *(
                pl.lit(None, pl.Float64 if name == "__rev" else pl.String).alias(name)
                for name in params.values()
            ),
            *(pl.lit(None, pl.String).alias("__rev_text") for _ in number_keys),
        ).drop(ROW)

    value = pl.col("__value")

    def slot(name: str) -> pl.Expr | None:
        return value.struct.field(name) if name in value_fields else None

    s, i, f, d = (slot(n) for n in ("string_value", "int_value", "float_value", "double_value"))
    texts = [_text(x) for x in (s, i) if x is not None]
    # ga_session_id: int_value, sometimes text or a double
    ids = [_text(x) for x in (i, s) if x is not None] + [
        x.cast(pl.Float64, strict=False).round(0).cast(pl.Int64).cast(pl.String)
        for x in (d, f)
        if x is not None
    ]
    numbers = [x.cast(pl.Float64, strict=False) for x in (d, f, i) if x is not None]
    if s is not None:
        # a number sent as text ("12.50"); other text is no number, and is refused below
        numbers.append(_text(s).cast(pl.Float64, strict=False))
    not_number = (
        pl.when(pl.coalesce(numbers).is_null()).then(_text(s)) if s is not None else pl.lit(None)
    )

    def first(exprs: list[pl.Expr], dtype: pl.DataType) -> pl.Expr:
        return pl.coalesce(exprs) if exprs else pl.lit(None, dtype)

    long = (
        lf.with_row_index(ROW)
        .select(ROW, "event_params")
        .explode("event_params")
        .select(
            ROW,
            pl.col("event_params").struct.field("key").alias("__key"),
            pl.col("event_params").struct.field("value").alias("__value"),
        )
        .filter(pl.col("__key").is_in(list(params)))
        .select(
            ROW,
            "__key",
            first(texts, pl.String()).alias("__text"),
            first(ids, pl.String()).alias("__id"),
            first(numbers, pl.Float64()).alias("__number"),
            not_number.cast(pl.String).alias("__not_number"),
        )
    )
    wide = long.group_by(ROW).agg(
        *(
            pl.col(
                "__id" if key == "ga_session_id" else "__number" if key in number_keys else "__text"
            )
            .filter(pl.col("__key") == key)
            .first()
            .alias(name)
            for key, name in params.items()
        ),
        *(
            pl.col("__not_number").filter(pl.col("__key") == key).first().alias("__rev_text")
            for key in number_keys
        ),
    )
    out = events.join(wide, on=ROW, how="left", maintain_order="left")
    return out.drop(ROW)


def _carries(prefix: str) -> pl.Expr:
    """Whether an event carries a traffic source (an explicit ``(direct)`` does not)."""
    src, med, camp, gclid = (pl.col(f"__{prefix}_{k}") for k in _TRAFFIC)
    direct = (
        (src.str.to_lowercase() == "(direct)")
        & (med.is_null() | med.str.to_lowercase().is_in(["(none)", "(not set)"]))
        & (camp.is_null() | camp.str.to_lowercase().is_in(["(direct)", "(not set)"]))
    ).fill_null(False)
    return (src.is_not_null() | med.is_not_null() | camp.is_not_null() | gclid.is_not_null()) & ~(
        direct & gclid.is_null()
    )


def _check_ga4(
    events: pl.DataFrame, parts: list[_Part], wanted: Sequence[str], revenue: str | None
) -> None:
    """Refuse events without a time, and conversions of negative or non-finite value.

    The message names the file, the field and the file's own rows.
    """
    value = pl.col("__rev")
    ts = pl.col("__ts")
    rules = [
        ("event_timestamp", "Column", ts.is_null(), "nulls", "every event needs one"),
        (
            "event_timestamp",
            "Column",
            (ts.abs() < 100_000_000_000_000) | (ts.abs() >= 100_000_000_000_000_000),
            "values outside 1973-5138 when read as microseconds (GA4's unit)",
            "seconds, milliseconds or nanoseconds must be converted to microseconds first",
        ),
        (
            revenue or "revenue",
            "Field",
            pl.col("__name").is_in(list(wanted)) & (~value.is_finite() | (value < 0)),
            "negative or non-finite values on conversion events",
            "a conversion's value must be a number ≥ 0 (null: 0)",
        ),
    ]
    for name, kind, broken, noun, rule in rules:
        bad = events.filter(broken.fill_null(False))
        if bad.height == 0:
            continue
        first = bad["__file"][0]
        rows = bad.filter(pl.col("__file") == first)
        values = (
            None if noun == "nulls" else rows["__ts" if kind == "Column" else "__rev"].to_list()
        )
        shown = describe_rows(rows["__order"].to_list(), values=values)
        raise ValidationError(
            f"{kind} {name!r} of the {parts[first].what} has {rows.height} {noun} ({shown}); "
            f"{rule}."
        )


def _refuse_text_revenue(events: pl.DataFrame, parts: list[_Part], revenue: str | None) -> None:
    """Refuse an event parameter of revenue sent as text that is not a number (``"abc"``).

    Such a value would otherwise be read as no value, 0, without a word.
    """
    bad = events.filter(pl.col("__rev_text").is_not_null())
    if bad.height == 0:
        return
    first = bad["__file"][0]
    rows = bad.filter(pl.col("__file") == first)
    shown = describe_rows(rows["__order"].to_list(), values=rows["__rev_text"].to_list())
    raise ValidationError(
        f"Field {revenue!r} of the {parts[first].what} has {rows.height} values that are not "
        f"numbers ({shown}); expected a conversion's value as a number (string_value text "
        "such as '12.50' is read, other text is not a value)."
    )


def read_ga4(
    source: GASource,
    *,
    user: GA4User = "user_pseudo_id",
    conversion_events: str | Sequence[str] = ("purchase",),
    revenue: str | None = "ecommerce.purchase_revenue",
    channel_rules: Rules = "ga4",
    first_session_fallback: bool = False,
    dedupe_transactions: bool = True,
    validate: bool = True,
) -> pl.LazyFrame:
    """Read a GA4 BigQuery export as events: one touch per session, purchases as conversions.

    Parameters
    ----------
    source
        The export's ``events_*`` tables as Parquet or newline-delimited JSON (BigQuery's
        ``NEWLINE_DELIMITED_JSON``, whose 64-bit integers arrive as text): a file, a folder, a
        glob pattern, or a list of them; or a Polars/pandas frame with the export's columns.
        Needed: ``event_timestamp`` (µs since 1970, UTC), ``event_name``, ``user_pseudo_id``
        and ``event_params``; read when present: ``user_id``, ``collected_traffic_source``,
        ``session_traffic_source_last_click``, ``traffic_source``, ``ecommerce``.
    user : {"user_pseudo_id", "user_id", "stitched"}
        Who a user is: the device or cookie (default); the site's signed-in ``user_id``
        (sessions without one are left out); or the ``user_id`` where known and the device
        otherwise (see the module notes).
    conversion_events : str or sequence of str
        Event names that are conversions (``"purchase"``; GA4's key events such as
        ``"generate_lead"`` too if you like).
    revenue : str or None
        The value of a conversion: a field of the export, dotted
        (``"ecommerce.purchase_revenue"``, ``"ecommerce.purchase_revenue_in_usd"``,
        ``"event_value_in_usd"``), or ``"event_params.<key>"`` for an event parameter such as
        ``value``. Missing values are 0; ``None`` makes every conversion worth 0.
    channel_rules : "ga4" or rule table
        How a session's source, medium and campaign become its channel (see
        :func:`attribution.channel_group`).
    first_session_fallback : bool
        Give the session that holds the user's ``first_visit`` / ``first_open`` event the
        user-scoped ``traffic_source`` when it carries no source of its own (otherwise Direct).
    dedupe_transactions : bool
        Count conversions of one user with the same ``ecommerce.transaction_id`` once.
    validate : bool
        Check the contract's value rules, as :func:`attribution.read_events` does.

    Returns
    -------
    LazyFrame
        Canonical events (``user_id`` as text, ``timestamp``, ``channel``, ``event``,
        ``revenue``, ``campaign``): a touch per session at its first event, with the session's
        campaign; a conversion per conversion event. Computed once; the frame is in memory.

    Raises
    ------
    SchemaError
        A required column is missing, or a column has a type the export never has.
    ValidationError
        ``event_timestamp`` holds text that is not a number, nulls or values outside 1973-5138
        as microseconds (seconds or milliseconds), a conversion's revenue is negative or not a
        number, ... (the message names the file, column and rows).
    EmptyInputError
        No event has a ``user_pseudo_id`` (or, with ``user="user_id"``, a ``user_id``).

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> def params(sid, **kv):
    ...     out = [{"key": "ga_session_id", "value": {"int_value": sid, "string_value": None}}]
    ...     return out + [{"key": k, "value": {"int_value": None, "string_value": v}}
    ...                   for k, v in kv.items()]
    >>> export = pl.DataFrame({
    ...     "event_timestamp": [1_700_000_000_000_000, 1_700_000_060_000_000,
    ...                         1_700_090_000_000_000, 1_700_090_300_000_000],
    ...     "event_name": ["session_start", "page_view", "session_start", "purchase"],
    ...     "user_pseudo_id": ["123.456"] * 4,
    ...     "event_params": [params(1, source="google", medium="organic"), params(1),
    ...                      params(2, source="newsletter", medium="email"), params(2)],
    ...     "ecommerce": [None, None, None, {"purchase_revenue": 40.0}]})
    >>> ev = at.read_ga4(export).collect()
    >>> ev.select("channel", "event", "revenue").rows()
    [('Organic Search', 'touch', 0.0), ('Email', 'touch', 0.0), (None, 'conversion', 40.0)]
    """
    if user not in ("user_pseudo_id", "user_id", "stitched"):
        raise ValidationError(
            f"user={user!r} is not a GA4 user choice; expected 'user_pseudo_id', 'user_id' or "
            "'stitched'."
        )
    wanted = (conversion_events,) if isinstance(conversion_events, str) else conversion_events
    parts = _parts(source, what="GA4 export", kinds=_PARQUET + _NDJSON)
    with _reading(parts, "GA4 export"):
        # BigQuery's JSON leaves null fields out: a day on which nobody signed in has no
        # user_id column, and its events have no user_id
        if user != "user_pseudo_id" and not any("user_id" in _schema(p) for p in parts):
            missing = parts[0].what if len(parts) == 1 else f"{parts[0].what} (or any other file)"
            raise SchemaError(
                f"Column 'user_id' is missing from the {missing}; user={user!r} needs it "
                "(or pass user='user_pseudo_id')."
            )
        # a day of cookieless pings only has no user_pseudo_id column in BigQuery's JSON
        some_pseudo = len(parts) > 1 and any("user_pseudo_id" in _schema(p) for p in parts)
        flat = [
            _ga4_flat(p, i, revenue, wanted, pseudo_optional=some_pseudo)
            for i, p in enumerate(parts)
        ]
        # read once: every step below starts from these events
        events = pl.concat(flat, how="vertical").filter(pl.col("__pseudo").is_not_null()).collect()
        if "__rev_text" in events.columns:
            _refuse_text_revenue(events, parts, revenue)
            events = events.drop("__rev_text")
        if validate:
            _check_ga4(events, parts, wanted, revenue)
        ev = events.lazy()
        in_session = ev.filter(pl.col("__sid").is_not_null())
        order = ["__ts", "__file", "__order"]

        # sessions: their first event, and the first event that carries a source gives it
        # (collected_traffic_source, else the event parameters, else GA4's session last click,
        # else traffic_source if asked)
        sessions = in_session.group_by(_SESSION).agg(pl.col("__ts").min().alias("__start"))
        signed_in = (
            in_session.filter(pl.col("__uid").is_not_null())
            .group_by(_SESSION)
            .agg(pl.col("__uid").sort_by(order).first().alias("__s_uid"))
        )
        sessions = sessions.join(signed_in, on=_SESSION, how="left")
        levels = {"c": _carries("c"), "p": _carries("p"), "l": _carries("l")}
        if first_session_fallback:
            levels["t"] = pl.col("__name").is_in(list(_FIRST_EVENTS)) & _carries("t")
        for level, carries in levels.items():
            cols = [f"__{level}_{k}" for k in _TRAFFIC]
            found = (
                in_session.filter(carries)
                .group_by(_SESSION)
                .agg(*(pl.col(c).sort_by(order).first() for c in cols), pl.lit(True).alias("__any"))
                .rename({"__any": f"__{level}_any"})
            )
            sessions = sessions.join(found, on=_SESSION, how="left")

        def pick(k: str) -> pl.Expr:
            chosen: pl.Expr = pl.lit(None, pl.String)
            for level in reversed(list(levels)):
                chosen = (
                    pl.when(pl.col(f"__{level}_any").fill_null(False))
                    .then(pl.col(f"__{level}_{k}"))
                    .otherwise(chosen)
                )
            return chosen

        gclid = pick("gclid").is_not_null()
        sessions = sessions.with_columns(
            pl.when(gclid).then(pl.lit("google")).otherwise(pick("src")).alias("__src"),
            pl.when(gclid).then(pl.lit("cpc")).otherwise(pick("med")).alias("__med"),
            pick("camp").alias("__camp"),
        ).with_columns(
            channel_group("__src", "__med", "__camp", rules=channel_rules).alias("channel")
        )

        # who each session and each conversion belongs to
        device_uid = (
            ev.filter(pl.col("__uid").is_not_null())
            .group_by("__pseudo")
            .agg(pl.col("__uid").sort_by(order).first().alias("__d_uid"))
        )
        sessions = sessions.join(device_uid, on="__pseudo", how="left")
        conv = (
            ev.filter(pl.col("__name").is_in(list(wanted)))
            .join(
                sessions.select(*_SESSION, "__s_uid", "__d_uid", "channel", "__camp"),
                on=_SESSION,
                how="left",
                maintain_order="left",
            )
            .join(
                device_uid.rename({"__d_uid": "__dev_uid"}),
                on="__pseudo",
                how="left",
                maintain_order="left",
            )
        )
        if user == "user_pseudo_id":
            session_user = pl.col("__pseudo")
            conv_user = pl.col("__pseudo")
        elif user == "user_id":
            session_user = pl.col("__s_uid")
            conv_user = pl.coalesce("__uid", "__s_uid")
        else:
            session_user = pl.coalesce("__s_uid", "__d_uid", "__pseudo")
            conv_user = pl.coalesce("__uid", "__s_uid", "__dev_uid", "__pseudo")
        conv = (
            conv.with_columns(conv_user.alias("user_id"))
            .filter(pl.col("user_id").is_not_null())
            .sort(["user_id", "__ts", "__file", "__order"])
        )
        if dedupe_transactions:
            txn = pl.col("__txn")
            keyed = txn.is_not_null() & ~txn.str.to_lowercase().is_in(["(not set)", "(none)"])
            first = pl.int_range(pl.len()).over(["user_id", "__txn"]) == 0
            conv = conv.filter(~keyed | first)
        # the session's touch again before each later conversion made in the same session
        later = pl.struct("__ts", "__file", "__order").rank("ordinal").over(_SESSION) > 1
        again = conv.filter(pl.col("__sid").is_not_null() & pl.col("channel").is_not_null() & later)
        columns = ["user_id", "timestamp", "channel", "event", "revenue", "campaign"]
        touches = sessions.select(
            session_user.alias("user_id"),
            pl.col("__start").alias("timestamp"),
            pl.col("channel"),
            pl.lit("touch").alias("event"),
            pl.lit(0.0).alias("revenue"),
            pl.col("__camp").alias("campaign"),
        ).filter(pl.col("user_id").is_not_null())
        repeats = again.select(
            "user_id",
            pl.col("__ts").alias("timestamp"),
            "channel",
            pl.lit("touch").alias("event"),
            pl.lit(0.0).alias("revenue"),
            pl.col("__camp").alias("campaign"),
        )
        conversions = conv.select(
            "user_id",
            pl.col("__ts").alias("timestamp"),
            pl.lit(None, pl.String).alias("channel"),
            pl.lit("conversion").alias("event"),
            pl.col("__rev").fill_null(0.0).alias("revenue"),
            pl.lit(None, pl.String).alias("campaign"),
        )
        frame = (
            pl.concat([touches, repeats, conversions], how="vertical")
            .select(columns)
            .sort("user_id", "timestamp", "event", "channel", nulls_last=True)
            .collect()
        )
        if frame.height == 0:
            who = "a user_pseudo_id" if user == "user_pseudo_id" else "a user_id"
            raise EmptyInputError(
                f"The GA4 export has no sessions or conversions with {who}; nothing to attribute."
            )
        return read_events(
            frame,
            epoch_unit="us",
            revenue_col="revenue",
            validate=validate,
        )


# --------------------------------------------------------------------------------------------
# GA360


_GA360_FIELDS: dict[str, tuple[str, ...]] = {
    "user": ("fullVisitorId", "full_visitor_id"),
    "session": ("visitId", "visit_id"),
    "time": ("visitStartTime", "visit_start_time", "visitId", "visit_id"),
    "channel": ("channelGrouping", "channel_grouping"),
    "source": ("trafficSource.source", "source"),
    "medium": ("trafficSource.medium", "medium"),
    "campaign": ("trafficSource.campaign", "campaign"),
    "transactions": ("totals.transactions", "transactions"),
    "revenue": (
        "totals.totalTransactionRevenue",
        "totalTransactionRevenue",
        "totals.transactionRevenue",
        "transactionRevenue",
    ),
}
_OPTION = {
    "user": "user_col",
    "session": "session_col",
    "time": "time_col",
    "channel": "channel_col",
    "source": "source_col",
    "medium": "medium_col",
    "campaign": "campaign_col",
    "transactions": "transactions_col",
    "revenue": "revenue_col",
}


def _ga360_columns(
    schema: pl.Schema, given: dict[str, str | None], what: str
) -> dict[str, tuple[str, pl.Expr, pl.DataType]]:
    """Find each GA360 field: the column named by its option, else the first candidate."""
    out: dict[str, tuple[str, pl.Expr, pl.DataType]] = {}
    for key, candidates in _GA360_FIELDS.items():
        name = given.get(key)
        if name is not None:
            found = _field(schema, name)
            if found is None:
                cols = ", ".join(repr(c) for c in schema.names())
                raise SchemaError(
                    f"Column {name!r} ({_OPTION[key]}=) is missing from the {what}; found "
                    f"columns: {cols}."
                )
            out[key] = (name, *found)
            continue
        for candidate in candidates:
            found = _field(schema, candidate)
            if found is not None:
                out[key] = (candidate, *found)
                break
        else:
            # BigQuery's JSON leaves null fields out: a day without a transaction has a totals
            # record without transactions; the field is null there, not missing
            head = candidates[0].split(".")[0]
            totals = key in ("transactions", "revenue") and head == "totals"
            if totals and isinstance(schema.get(head), pl.Struct | pl.Null):
                out[key] = (candidates[0], pl.lit(None, pl.String), pl.String())
    return out


def _check_json_records(lf: pl.LazyFrame, schema: pl.Schema, names: list[str], what: str) -> None:
    """Refuse records written as JSON text (``totals``) that are not JSON: one pass for all.

    A field of such text reads as null, so a broken record would quietly mean "no
    transaction".
    """
    heads = sorted(
        {
            name.split(".")[0]
            for name in names
            if "." in name
            and name not in schema
            and name.replace(".", "_") not in schema
            and is_text(schema[name.split(".")[0]])
        }
    )
    if not heads:
        return

    def broken(head: str) -> pl.Expr:
        text = _text(pl.col(head))
        return text.is_not_null() & text.str.json_path_match("$").is_null()

    counts = lf.select(broken(h).sum().alias(h) for h in heads).collect().row(0, named=True)
    for head in heads:
        if counts[head]:
            sample = (
                lf.with_row_index(ROW)
                .filter(broken(head))
                .select(ROW, pl.col(head).str.slice(0, 60).alias("v"))
                .head(5)
                .collect()
            )
            rows = describe_rows(
                sample[ROW].to_list(), values=sample["v"].to_list(), total=counts[head]
            )
            raise ValidationError(
                f"Column {head!r} of the {what} has {counts[head]} values that are not JSON "
                f"records ({rows}); its fields are read from JSON text such as "
                '\'{"transactions": "1"}\'.'
            )


#: A day of the years 1900-2199 as YYYYMMDD: as epoch seconds, these would all fall between
#: 1970-08-09 and 1970-09-12, before Google Analytics existed.
_YYYYMMDD = r"^\s*(19|20|21)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s*$"


def _dates_or_text_times(lf: pl.LazyFrame, name: str, dtype: pl.DataType) -> bool:
    """Whether a GA360 time column holds days (``date``) or text times rather than epochs."""
    if not (dtype.is_integer() or is_text(dtype)):
        return False
    text = _text(pl.col(name))
    day = text.str.contains(_YYYYMMDD)
    iso = text.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}")
    found = lf.select(n=text.is_not_null().sum(), days=day.sum(), iso=iso.sum()).collect()
    n, days, isos = found.row(0)
    return bool(n and (days == n or (is_text(dtype) and isos == n)))


def _warn_rounded(bad: pl.DataFrame, height: int, name: str, what: str) -> None:
    """Warn that ids were rounded by a spreadsheet: users sharing a rounded value are merged."""
    if bad.height == 0:
        return
    shown = describe_rows(
        bad.get_column(ROW).to_list(),
        values=bad.get_column("__user_raw").to_list(),
        total=bad.height,
    )
    distinct = bad.get_column("__user_raw").n_unique()
    warnings.warn(
        f"Column {name!r} of the {what} has {bad.height} of {height} ids in scientific notation "
        f"({shown}): a spreadsheet program rounded them to {distinct} distinct values, so "
        "visitors who share a rounded value are read as one user and their sessions form one "
        "journey. Export the column as text, name another id with user_col=, or pass "
        "rounded_ids='raise' to refuse such a file.",
        DataQualityWarning,
        stacklevel=4,
    )


def _ga360_flat(
    part: _Part,
    index: int,
    given: dict[str, str | None],
    *,
    rounded_ids: str,
    use_rules: bool,
    revenue_scale: float,
    epoch_unit: str,
) -> pl.DataFrame | None:
    """One GA360 input as one row per input row, checked, with the fields the reader uses."""
    lf, what = part.lf, part.what
    schema = _schema(part)
    cols = _ga360_columns(schema, given, what)
    need = ["user", "time", *(("source", "medium") if use_rules else ("channel",))]
    for key in need:
        if key not in cols:
            found = ", ".join(repr(c) for c in schema.names())
            hint = ""
            if key == "channel":
                hint = " Or pass channel_rules='ga4' to group trafficSource source/medium."
            raise SchemaError(
                f"The {what} has no {key} column (looked for "
                f"{', '.join(repr(c) for c in _GA360_FIELDS[key])}); found columns: {found}. "
                f"Name it with {_OPTION[key]}=.{hint}"
            )
    if "transactions" not in cols and "revenue" not in cols:
        raise SchemaError(
            f"The {what} has neither a transactions nor a revenue column (looked for "
            f"{', '.join(repr(c) for c in _GA360_FIELDS['transactions'])}); name one with "
            "transactions_col= or revenue_col=."
        )
    _check_json_records(lf, schema, [name for name, _, _ in cols.values()], what)
    # every field in a column of its own, named as the user knows it (for messages)
    named = {key: name for key, (name, _, _) in cols.items()}
    exprs = {name: expr.alias(name) for name, expr, _ in cols.values()}
    base = lf.select(list(exprs.values()))
    base_schema = base.collect_schema()

    def number(key: str) -> pl.Expr:
        if key not in named:
            return pl.lit(None, pl.Float64)
        name = named[key]
        return numeric_expr(base, name, base_schema[name], "a number ≥ 0 (null: none)")

    user_name = named["user"]
    user = _ids(pl.col(user_name), base_schema[user_name], user_name, what)
    time_name = named["time"]
    time_t = base_schema[time_name]
    far_off: pl.Expr = pl.lit(False)
    if isinstance(time_t, pl.Datetime):
        micros = pl.col(time_name).dt.epoch("us")
    elif time_t == pl.Date or _dates_or_text_times(base, time_name, time_t):
        # GA's date (YYYYMMDD, a day's first instant in UTC) or ISO text, not epoch numbers
        if time_t.is_integer():
            base = base.with_columns(pl.col(time_name).cast(pl.String))
        micros = parse_times(base, time_name, what=what).dt.epoch("us")
    else:
        unit = {"s": 1_000_000, "ms": 1_000, "us": 1}.get(epoch_unit)
        if unit is None:
            raise ValidationError(f"epoch_unit must be 's', 'ms' or 'us'; got {epoch_unit!r}.")
        raw = _digits(base, time_name, what, f"epoch {epoch_unit} (visitStartTime)")
        # beyond the year 9999 (checked before Int64 could overflow): a smaller unit
        far_off = raw.abs() >= _MAX_MICROS // unit
        micros = pl.when(far_off).then(None).otherwise(raw * unit)
    session = (
        _text(pl.col(named["session"]).cast(pl.String)) if "session" in named else pl.lit(None)
    )
    flat = base.with_row_index(ROW).select(
        pl.col(ROW),
        pl.lit(index, pl.Int32).alias("__file"),
        user.alias("__user"),
        pl.col(user_name).cast(pl.String).alias("__user_raw"),
        session.cast(pl.String).alias("__sid"),
        micros.alias("__ts"),
        far_off.fill_null(False).alias("__far"),
        pl.col(time_name).cast(pl.String).alias("__ts_raw"),
        (_text(pl.col(named["channel"])) if "channel" in named else pl.lit(None, pl.String))
        .cast(pl.String)
        .alias("__chan"),
        *(
            (_text(pl.col(named[k])) if k in named else pl.lit(None, pl.String))
            .cast(pl.String)
            .alias(f"__{k}")
            for k in ("source", "medium", "campaign")
        ),
        number("transactions").alias("__tx"),
        (number("revenue") / revenue_scale).alias("__rev"),
    )
    rules = [
        Rule(
            "__user",
            pl.col("__user").is_null(),
            "nulls",
            f"every session needs a {user_name}",
            show_values=False,
        ),
        Rule(
            "__ts_raw",
            pl.col("__far"),
            "times beyond the year 9999 when read as epoch " + epoch_unit,
            f"{time_name} is read in epoch_unit={epoch_unit!r}; pass the unit of these values",
        ),
        Rule(
            "__ts",
            pl.col("__ts").is_null(),
            "nulls",
            f"every session needs a {time_name}",
            show_values=False,
        ),
        Rule(
            "__tx",
            (pl.col("__tx") < 0).fill_null(False),
            "negative values",
            "transactions count a session's purchases (null or 0: none)",
        ),
        Rule(
            "__tx",
            (~pl.col("__tx").is_finite()).fill_null(False),
            "NaN or infinite values",
            "transactions count a session's purchases (null or 0: none)",
        ),
        Rule(
            "__rev",
            (~pl.col("__rev").is_finite() | (pl.col("__rev") < 0)).fill_null(False),
            "negative or non-finite values",
            "revenue must be ≥ 0 (null: none)",
        ),
    ]
    rounded = pl.col("__user_raw").str.contains(_SCIENTIFIC).fill_null(False)
    if rounded_ids == "raise":
        rules.append(
            Rule(
                "__user_raw",
                rounded,
                "ids in scientific notation",
                "a spreadsheet program rounded these ids, which no longer tell visitors apart; "
                "export the column as text (or name another id with user_col=)",
            )
        )
    df = flat.collect()
    names = {
        "__user": user_name,
        "__user_raw": user_name,
        "__ts": time_name,
        "__ts_raw": time_name,
        "__tx": named.get("transactions", "transactions"),
        "__rev": named.get("revenue", "revenue"),
        "__chan": named.get("channel", "channelGrouping"),
    }
    if df.height == 0:
        return None
    try:
        check_rules(df.lazy(), rules, what)
    except ValidationError as exc:
        text = str(exc)
        for internal, shown in names.items():
            text = text.replace(f"Column {internal!r}", f"Column {shown!r}")
        raise ValidationError(text) from None
    if rounded_ids == "warn":
        _warn_rounded(df.filter(rounded), df.height, user_name, what)
    converted = (pl.col("__tx") > 0 if "transactions" in named else pl.col("__rev") > 0).fill_null(
        False
    )
    return df.with_columns(converted.alias("__conv")).drop("__user_raw", "__far", "__ts_raw")


def _check_session_channels(sessions: pl.DataFrame, parts: list[_Part], name: str) -> None:
    """Refuse sessions without a channel grouping, or whose hits disagree on it.

    Hit-level rows repeat their session's ``channelGrouping``; a row where it is null takes
    the session's from its other rows.
    """
    n_chans = pl.col("__chans").list.len()
    for broken, noun, rule in (
        (
            n_chans == 0,
            "sessions without a channel grouping on any row",
            "every session needs one (or pass channel_rules='ga4' to group trafficSource "
            "source/medium)",
        ),
        (
            n_chans > 1,
            "sessions whose rows disagree on the channel grouping",
            "the rows of a session repeat its channel grouping, so these rows are not one "
            "session's (or the file was edited)",
        ),
    ):
        bad = sessions.filter(broken)
        if bad.height == 0:
            continue
        first = bad["__file0"][0]
        rows = bad.filter(pl.col("__file0") == first).head(5)
        shown = "; ".join(
            f"row {r['__row0']}: fullVisitorId {r['__user']!r}"
            + (f", visitId {r['__sid0']!r}" if r["__sid0"] is not None else "")
            + (f": {', '.join(repr(c) for c in r['__chans'])}" if r["__chans"] else "")
            for r in rows.iter_rows(named=True)
        )
        raise ValidationError(
            f"Column {name!r} of the {parts[first].what} has {bad.height} {noun} ({shown}); {rule}."
        )


def read_ga360(
    source: GASource,
    *,
    user_col: str | None = None,
    session_col: str | None = None,
    time_col: str | None = None,
    channel_col: str | None = None,
    source_col: str | None = None,
    medium_col: str | None = None,
    campaign_col: str | None = None,
    transactions_col: str | None = None,
    revenue_col: str | None = None,
    channel_rules: Rules | None = None,
    revenue_scale: float = 1e6,
    epoch_unit: Literal["s", "ms", "us"] = "s",
    rounded_ids: Literal["warn", "raise"] = "warn",
    validate: bool = True,
) -> pl.LazyFrame:
    """Read a GA360 / Universal Analytics export as events: a touch per session.

    Parameters
    ----------
    source
        ``ga_sessions_*`` tables as Parquet, newline-delimited JSON or CSV (a file, folder,
        glob or list), or a frame. One row per session, or one per hit or product (those rows
        are collapsed to their session).
    user_col, session_col, time_col, channel_col, source_col, medium_col, campaign_col, \
transactions_col, revenue_col : str, optional
        Where each field is; by default the first of these that exists: ``fullVisitorId``;
        ``visitId``; ``visitStartTime`` (else ``visitId``, which GA sets to the start time in
        nearly every session); ``channelGrouping``; ``trafficSource.source`` / ``.medium`` /
        ``.campaign`` (else ``source`` ...); ``totals.transactions`` (else ``transactions``);
        ``totals.totalTransactionRevenue`` (else ``totalTransactionRevenue``, then the
        deprecated ``transactionRevenue``). A dotted name is a column of that name, the same
        with ``_`` for ``.``, a field of a struct column, or a field of a JSON text column.
        Snake-case names (``full_visitor_id``) are found too.
    channel_rules : "ga4" or rule table, optional
        ``None`` (default): the channel is ``channelGrouping``, UA's own default channel
        grouping. Otherwise the channel group of the session's traffic source, medium and
        campaign by these rules (``"ga4"``: GA4's default channel groups).
    revenue_scale : float
        Divide revenue by this: GA360 stores it in micro-units (10⁶ per currency unit). Pass 1
        for extracts already in currency units.
    epoch_unit : {"s", "ms", "us"}
        Unit of a numeric session start time (``visitStartTime`` is in seconds). A time
        column of days (GA's ``date``, ``YYYYMMDD`` of the years 1900-2199, or a Date) or of
        ISO-8601 text is read as such: a day is its first instant in UTC.
    rounded_ids : {"warn", "raise"}
        What to do with ids a spreadsheet turned into scientific notation (``2.81772E+18``):
        ``"warn"`` (default) reads them as they are with a
        :class:`~attribution.DataQualityWarning` saying how many there are and how few
        distinct values are left (visitors sharing a value become one user); ``"raise"``
        refuses the file.
    validate : bool
        Check the contract's value rules, as :func:`attribution.read_events` does.

    Returns
    -------
    LazyFrame
        Canonical events: ``user_id`` (text), ``timestamp``, ``channel``, ``event``,
        ``revenue``, and ``campaign`` when there is a campaign column. A touch per session at
        its start; a session with a transaction (``transactions`` ≥ 1; without a transactions
        column: revenue > 0) is also a conversion at the same time, worth its revenue.

    Raises
    ------
    SchemaError
        A needed column is missing or has an unusable type (ids as floating point).
    ValidationError
        Null ids (or, with ``rounded_ids="raise"``, spreadsheet-mangled ones), negative
        transactions or revenue, text that is not a number; the message names the file, the
        column and the rows.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> sessions = pl.DataFrame({
    ...     "fullVisitorId": ["0253103469973976997", "9816661942946332582",
    ...                       "9816661942946332582"],
    ...     "visitId": [1501583974, 1501590000, 1501600000],
    ...     "visitStartTime": [1501583974, 1501590000, 1501600000],
    ...     "channelGrouping": ["Organic Search", "Referral", "Direct"],
    ...     "totals": [{"transactions": None, "totalTransactionRevenue": None},
    ...                {"transactions": None, "totalTransactionRevenue": None},
    ...                {"transactions": 1, "totalTransactionRevenue": 30_500_000}]})
    >>> ev = at.read_ga360(sessions).collect()
    >>> ev.select("user_id", "channel", "event", "revenue").rows()[-2:]
    [('9816661942946332582', 'Direct', 'touch', 0.0), \
('9816661942946332582', 'Direct', 'conversion', 30.5)]
    """
    if not revenue_scale > 0:
        raise ValidationError(f"revenue_scale must be > 0; got {revenue_scale!r}.")
    if rounded_ids not in ("warn", "raise"):
        raise ValidationError(f"rounded_ids must be 'warn' or 'raise'; got {rounded_ids!r}.")
    given = {
        "user": user_col,
        "session": session_col,
        "time": time_col,
        "channel": channel_col,
        "source": source_col,
        "medium": medium_col,
        "campaign": campaign_col,
        "transactions": transactions_col,
        "revenue": revenue_col,
    }
    parts = _parts(source, what="GA360 export", kinds=_PARQUET + _NDJSON + _CSV)
    with _reading(parts, "GA360 export"):
        frames = []
        for i, part in enumerate(parts):
            df = _ga360_flat(
                part,
                i,
                given,
                rounded_ids=rounded_ids,
                use_rules=channel_rules is not None,
                revenue_scale=revenue_scale,
                epoch_unit=epoch_unit,
            )
            if df is not None:
                frames.append(df)
        if not frames:
            raise EmptyInputError("The GA360 export is empty (0 rows).")
        rows = pl.concat(frames, how="vertical_relaxed")
        # hit-level rows repeat the session's fields: one row per session, totals taken once
        key = ["__user", pl.coalesce("__sid", pl.col("__ts").cast(pl.String)).alias("__key")]
        has_traffic = pl.any_horizontal(
            pl.col(f"__{k}").is_not_null() for k in ("source", "medium", "campaign")
        )
        sessions = (
            rows.sort(["__file", ROW])
            .group_by(key, maintain_order=True)
            .agg(
                pl.col("__ts").min(),
                pl.col("__chan").drop_nulls().first(),
                pl.col("__chan").drop_nulls().unique(maintain_order=True).alias("__chans"),
                pl.col("__file").first().alias("__file0"),
                pl.col(ROW).first().alias("__row0"),
                pl.col("__sid").first().alias("__sid0"),
                *(
                    pl.col(f"__{k}").filter(has_traffic).first()
                    for k in ("source", "medium", "campaign")
                ),
                pl.col("__conv").any(),
                pl.col("__rev").max().fill_null(0.0),
            )
        )
        if channel_rules is not None:
            channel = channel_group("__source", "__medium", "__campaign", rules=channel_rules)
        else:
            _check_session_channels(sessions, parts, channel_col or "channelGrouping")
            channel = pl.col("__chan")
        has_campaign = rows["__campaign"].is_not_null().any()
        out = sessions.select(
            pl.col("__user").alias("user_id"),
            pl.col("__ts").alias("timestamp"),
            channel.alias("channel"),
            pl.col("__conv").cast(pl.Int8).alias("converted"),
            pl.when(pl.col("__conv")).then(pl.col("__rev")).otherwise(0.0).alias("revenue"),
            *([pl.col("__campaign").alias("campaign")] if has_campaign else []),
        )
        return read_events(
            out,
            conversion_flag_col="converted",
            revenue_col="revenue",
            epoch_unit="us",
            validate=validate,
        )
