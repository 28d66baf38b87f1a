"""Event logs of shapes real users bring (Segment, Snowplow, odd clocks and ids), read by the
in-memory and the bucketed path alike; references are brute forces written here."""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import attribution as at
from attribution._base.errors import ReadError, SchemaError, ValidationError
from attribution.bucketed import attribute_bucketed, build_paths_bucketed

HEADER = "user_id,timestamp,channel,event,revenue\n"


def _write(path: Path, rows: list[tuple[object, ...]]) -> Path:
    path.write_text(HEADER + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def _paths(table: at.PathTable) -> dict[str, tuple[float, float, float]]:
    frame = table.to_frame()
    return {r[0]: (r[1], r[2], r[3]) for r in frame.rows()}


def test_bucketed_reads_day_first_dates_as_the_whole_log_decides(tmp_path):
    """Two users' dates (13th, 14th) make the column day-first; the buckets without them
    held only dates that read both ways, and were refused."""
    rows: list[tuple[object, ...]] = []
    for u in range(40):
        day = 13 + u if u < 2 else 1 + u % 12
        rows.append((u, f"{day:02d}/01/2024 10:00", "abc"[u % 3], "touch", 0))
        rows.append((u, f"{day:02d}/01/2024 11:00", "", "conversion", 2.5))
    path = _write(tmp_path / "day_first.csv", rows)
    # brute force: one touch and one conversion per user, so one path per channel
    want = Counter("abc"[u % 3] for u in range(40))
    for n_buckets in (1, 4, 8):
        got = _paths(build_paths_bucketed(path, n_buckets=n_buckets))
        assert got == {c: (float(n), 2.5 * n, 0.0) for c, n in want.items()}
        credit = attribute_bucketed(path, "linear", n_buckets=n_buckets).channels
        assert dict(credit.select("channel", "conversions").rows()) == {
            c: float(n) for c, n in want.items()
        }


@pytest.mark.parametrize("n_buckets", [2, 4, 8])
def test_bucketed_refuses_dates_of_both_orders_as_in_memory(tmp_path, n_buckets):
    """'13/01' (day-first) beside '01/13' (month-first): the log reads neither way; split in
    two buckets each part read its own way and the log was accepted."""
    rows: list[tuple[object, ...]] = [
        (0, "13/01/2024 10:00", "a", "touch", 0),
        (0, "13/01/2024 11:00", "", "conversion", 1),
        (1, "01/13/2024 10:00", "b", "touch", 0),
        (1, "01/14/2024 11:00", "", "conversion", 1),
    ]
    rows += [(u, "01/01/2024 10:00", "c", "touch", 0) for u in range(2, 30)]
    path = _write(tmp_path / "both_orders.csv", rows)
    with pytest.raises(ValidationError, match="unknown order"):
        at.build_journeys(path)
    with pytest.raises(ValidationError, match="unknown order"):
        build_paths_bucketed(path, n_buckets=n_buckets)


def test_bucketed_reads_a_late_fractional_revenue_of_a_csv(tmp_path):
    """Revenue is 0 on the first 10,000 rows (typed as whole numbers) and 12.5 later: the
    in-memory reader reads it, the bucketed one failed with a raw polars error."""
    n_users, n_buyers = 10_050, 50
    rows: list[tuple[object, ...]] = [(u, "2024-01-01", "a", "touch", 0) for u in range(n_users)]
    rows += [(u, "2024-01-02", "", "conversion", 12.5) for u in range(n_buyers)]
    path = _write(tmp_path / "late_float.csv", rows)
    want = {"a": (float(n_buyers), 12.5 * n_buyers, float(n_users - n_buyers))}
    assert _paths(at.build_journeys(path).to_paths()) == want
    assert _paths(build_paths_bucketed(path, n_buckets=3)) == want
    got = attribute_bucketed(path, "linear", n_buckets=3).channels
    assert got.select("conversions", "revenue").row(0) == (n_buyers, 12.5 * n_buyers)


def test_frames_in_and_lazy_canonical_events_in_bucketed_agree(tmp_path):
    """A read_events frame (canonical, its own column names read) buckets as its source."""
    raw = pl.DataFrame(
        {
            "anonymous_id": ["x", "x", "y", "y", "z"],
            "ts": [
                "2024-03-01T10:00:00.123Z",
                "2024-03-01T10:05:00.456+00:00",
                "2024-03-02T09:00:00.001Z",
                "2024-03-02T09:00:00.001Z",
                "2024-03-03T09:00:00Z",
            ],
            "src": ["email", None, "seo", None, "seo"],
            "kind": ["Page Viewed", "Order Completed"] * 2 + ["Page Viewed"],
            "properties_revenue": [None, "19.99", None, "5", None],
        }
    )
    kw = {
        "user_col": "anonymous_id",
        "time_col": "ts",
        "channel_col": "src",
        "event_col": "kind",
        "revenue_col": "properties_revenue",
        "touch_events": "Page Viewed",
        "conversion_events": "Order Completed",
    }
    want = {"email": (1.0, 19.99, 0.0), "seo": (1.0, 5.0, 1.0)}
    assert _paths(build_paths_bucketed(raw, n_buckets=3, **kw)) == want  # type: ignore[arg-type]
    events = at.read_events(raw, **kw)  # type: ignore[arg-type]
    assert _paths(build_paths_bucketed(events, n_buckets=3)) == want


SEGMENT = pl.DataFrame(
    {
        "anonymous_id": ["a1", "a1", "a2", "a2", "a3"],
        "ts": [
            "2024-03-01T10:00:00.123Z",
            "2024-03-01T10:06:00.000+00:00",
            "2024-03-02T09:00:00.001Z",
            "2024-03-02T09:00:00.001Z",
            "2024-03-02T09:00:00Z",
        ],
        "ch": ["email", None, "seo", None, "email"],
        "ev": ["Page Viewed", "Order Completed", "Page Viewed", "Order Completed", "Page Viewed"],
        "rev": [None, "19.99", None, "5", None],
    }
)
SEGMENT_COLUMNS = {
    "user_col": "anonymous_id",
    "time_col": "ts",
    "channel_col": "ch",
    "event_col": "ev",
    "revenue_col": "rev",
    "touch_events": "Page Viewed",
    "conversion_events": "Order Completed",
}


def test_bootstrap_reads_an_event_log_with_its_column_names():
    """``bootstrap`` takes what ``attribute`` takes: the column names went to the model,
    which refused 'channel_col' as a parameter of its own."""
    events = at.read_events(SEGMENT, **SEGMENT_COLUMNS)  # type: ignore[arg-type]
    want = at.bootstrap(events, "linear", n_boot=30, seed=3).channels
    got = at.bootstrap(SEGMENT, "linear", n_boot=30, seed=3, **SEGMENT_COLUMNS)  # type: ignore[arg-type]
    options = at.JourneyOptions(**SEGMENT_COLUMNS)  # type: ignore[arg-type]
    by_options = at.bootstrap(SEGMENT, "linear", options, n_boot=30, seed=3).channels
    # brute force: a1 email -> 19.99, a2 seo -> 5 (the touch at the purchase's instant)
    assert got.channels.select("channel", "conversions", "revenue").rows() == [
        ("email", 1.0, 19.99),
        ("seo", 1.0, 5.0),
    ]
    assert got.channels.equals(want)
    assert by_options.equals(want)


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01t10:00:00.5z",
        "2024-03-01t10:00:00.5Z",
        "2024-03-01T10:00:00.5z",
        "20240301t100000.5z",
    ],
)
def test_lower_case_t_and_z_of_rfc_3339_are_read(text):
    """RFC 3339 (section 5.6) allows 't' and 'z' in lower case; a log of them was refused
    as 'not dates or times' (only 'z' after an upper-case 'T' was read)."""
    log = pl.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": [text, "2024-03-01T11:00:00Z"],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
            "revenue": [0.0, 1.0],
        }
    )
    got = at.read_events(log).collect()["timestamp"][0]
    assert got == datetime(2024, 3, 1, 10, 0, 0, 500_000, tzinfo=timezone.utc)


def test_fields_of_nested_ndjson_records_are_named_as_such(tmp_path):
    """Segment's NDJSON nests the campaign ({"context": {"campaign": {...}}}); asking for
    'context.campaign.source' said only that the column is missing, listing 'context'."""
    lines = [
        {
            "anonymousId": "a1",
            "timestamp": "2024-03-01T10:00:00.123Z",
            "event": "Page Viewed",
            "context": {"campaign": {"source": "google", "medium": "cpc"}},
        },
        {
            "anonymousId": "a1",
            "timestamp": "2024-03-01T10:06:00Z",
            "event": "Order Completed",
            "context": {"campaign": None},
        },
    ]
    path = tmp_path / "segment.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    kw = {
        "user_col": "anonymousId",
        "touch_events": "Page Viewed",
        "conversion_events": "Order Completed",
        "revenue_col": None,
    }
    with pytest.raises(
        SchemaError,
        match=r"'context\.campaign\.source', 'context\.campaign\.medium' are missing .*"
        r"'context' is a nested record, whose fields are not columns: flatten the records "
        r"first \(pandas\.json_normalize names their fields 'context\.<field>\.<field>'",
    ):
        at.read_events(
            path,
            source_col="context.campaign.source",
            medium_col="context.campaign.medium",
            **kw,  # type: ignore[arg-type]
        )
    # the advice, followed, reads the log
    flat = pd.json_normalize(lines)
    events = at.read_events(
        flat,
        source_col="context.campaign.source",
        medium_col="context.campaign.medium",
        **kw,  # type: ignore[arg-type]
    ).collect()
    assert events["channel"].to_list() == ["Paid Search", "Direct"]
    assert events["event"].to_list() == ["touch", "conversion"]


def test_empty_text_ids_are_refused_as_missing_ones(tmp_path):
    """Snowplow and warehouse exports write a missing id as ''; every such row was taken for
    one user '', whose journey joined strangers' touches to strangers' purchases."""
    log = pl.DataFrame(
        {
            "domain_userid": ["", "d1", "", "d1", ""],
            "derived_tstamp": [f"2024-03-01 10:0{i}:00.000001" for i in range(5)],
            "refr_medium": ["search", "social", "email", None, None],
            "event": ["touch", "touch", "touch", "conversion", "conversion"],
            "revenue": [0.0, 0.0, 0.0, 1.0, 2.0],
        }
    )
    kw = {"user_col": "domain_userid", "time_col": "derived_tstamp", "channel_col": "refr_medium"}
    message = (
        r"Column 'domain_userid' has 3 empty ids \(row 0, row 2, row 4\); user ids must be "
        r"non-empty: an empty id names no one"
    )
    with pytest.raises(ValidationError, match=message):
        at.read_events(log, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=message):
        at.build_journeys(log, **kw)  # type: ignore[arg-type]
    log.write_parquet(tmp_path / "events.parquet")
    with pytest.raises(ValidationError, match=message):
        attribute_bucketed(tmp_path / "events.parquet", "linear", n_buckets=2, **kw)
    # ids of spaces, or that differ by case or a trailing space, are ids as written
    kept = log.with_columns(pl.Series("domain_userid", ["D1", "d1", "d1 ", "d1", "d1 "]))
    got = at.build_journeys(kept, **kw).frame.select("user_id", "path", "revenue").rows()
    assert got == [("D1", ["search"], 0.0), ("d1", ["social"], 1.0), ("d1 ", ["email"], 2.0)]


def test_data_driven_says_why_no_journey_with_touches_converts():
    """Each event its own user (anonymous ids never stitched): every conversion has no touch.
    The refusal advised keeping non-converting journeys, which were there, and wrote a
    million as 1e+06."""
    n = 1_200_000
    buys = np.arange(n) % 6 == 0  # 200,000 conversions, 1,000,000 touches
    log = pl.DataFrame(
        {
            "user_id": np.arange(n),
            "timestamp": np.full(n, 1_704_067_200),
            "channel": pl.Series([None if b else "a" for b in buys], dtype=pl.String),
            "event": np.where(buys, "conversion", "touch"),
            "revenue": buys.astype(float),
        }
    )
    with pytest.raises(
        at.ModelError,
        match=r"there are no converting ones \(0 conversions, 1,000,000 non-conversions\)\. "
        r"200,000 conversions have no touch before them",
    ):
        at.attribute(log, "data_driven")


def test_bootstrap_names_a_refused_resample_as_such():
    """One converting journey with touches: the point estimate fits (with a warning), but a
    resample without it was refused as if the log had no conversion at all."""
    log = pl.DataFrame(
        {
            "user_id": [1, 2, 2, 3],
            "timestamp": ["2024-01-01T00:00:00Z"] * 4,
            "channel": [None, "a", None, "b"],
            "event": ["conversion", "touch", "conversion", "touch"],
            "revenue": [5.0, 0.0, 7.0, 0.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        point = at.attribute(log, "data_driven").channels
        assert point["conversions"].sum() == pytest.approx(2.0)
        with pytest.raises(
            at.ModelError,
            match=r"A bootstrap resample of the journeys \(drawn with replacement\) was "
            r"refused by data_driven, although the log itself fits: data_driven fits",
        ):
            at.bootstrap(log, "data_driven", n_boot=50, seed=0)


def test_a_tsv_field_opening_with_a_quote_is_named(tmp_path):
    """Snowplow's tab-separated exports do not quote: a page title with a quote made the
    reader fail with polars' 'CSV malformed: expected 0 rows, actual 4 rows', naming no row."""
    header = ["domain_userid", "page_title", "event", "refr_medium", "tr_total", "derived_tstamp"]
    rows = [
        ["d1", "Home", "touch", "search", "", "2024-03-01 10:00:00.123456"],
        ["d1", 'Shoes, "cheap" 5" tall', "touch", "social", "", "2024-03-01 10:01:00.000000"],
        ["d1", '"Best" shoes, 5" tall', "touch", "email", "", "2024-03-01 10:01:30.000000"],
        ["d1", "Checkout", "conversion", "", "49.90", "2024-03-01 10:02:00.000001"],
        ["d2", "x", "touch", "social", "", "2024-03-02 10:00:00.000000"],
    ]
    path = tmp_path / "atomic_events.tsv"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    kw = {
        "user_col": "domain_userid",
        "time_col": "derived_tstamp",
        "channel_col": "refr_medium",
        "revenue_col": "tr_total",
    }
    for row, value in [(1, 'Shoes, "cheap" 5" tall'), (2, '"Best" shoes, 5" tall')]:
        with pytest.raises(
            ReadError,
            match=rf"has a quote in a field that is not written in quotes: row {row} "
            rf"\(line {row + 2}\), column 'page_title' holds '{re.escape(value)}'\.",
        ):
            at.build_journeys(path, **kw)  # type: ignore[arg-type]
        rows[row][1] = '"' + value.replace('"', '""') + '"'  # as the message says
        path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    got = at.build_journeys(path, **kw).frame.select("user_id", "path", "revenue").rows()  # type: ignore[arg-type]
    assert got == [("d1", ["search", "social", "email"], 49.9), ("d2", ["social"], 0.0)]


def test_a_text_column_read_with_a_field_opening_with_a_quote_is_named(tmp_path):
    """'"Best" shoes' in a channel column read: polars said it could not parse the text as
    a string, and the message blamed the column's type guessed from the first rows."""
    path = tmp_path / "events.tsv"
    lines = ["user_id\ttimestamp\tchannel\tevent", '1\t2024-01-01\t"Best" shoes\ttouch']
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        ReadError,
        match=r"has a quote in a field that is not written in quotes: row 0 \(line 2\), "
        r"column 'channel' holds '\"Best\" shoes'\.",
    ):
        at.build_journeys(path, revenue_col=None)
