"""Generated bad input: the package's error or a result that keeps the contract, never a crash.

Hypothesis writes event logs (CSV, NDJSON, Parquet and frames) from rows with wrong types,
bad values (negative, NaN, overflowing revenue; flags other than 0/1; blank, padded channels
and channels holding the path separator; unknown events; unreadable times) and then damages
the bytes of the file (cut short, bytes that are not UTF-8, extra fields). Whatever comes in:

- ``read_events`` and ``build_journeys`` either give events that keep the contract or raise
  an :class:`attribution.AttributionError` (never polars', pyarrow's or Python's own error);
- ``attribution run`` exits 0 with a whole new set of outputs, or exits 2 with ``error: ...``
  on stderr and the earlier outputs byte for byte as they were; nothing is half-written and no
  staging folder is left.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.cli import main
from attribution.schema import bad_channel_names

SAMPLE = Path(at.__file__).parent / "datasets" / "data" / "sample_events.csv"
COLUMNS = ["user_id", "timestamp", "channel", "event", "revenue"]

# values a user's file may hold, per column (as text: CSV and NDJSON cells): good ones, and
# bad ones that a few cells of a log are replaced with
GOOD = [
    st.integers(1, 6).map(str),
    st.integers(1, 28).map(lambda d: f"2024-03-{d:02d}T{d % 24:02d}:00:00Z"),
    st.sampled_from(["email", "seo", "ads", "Paid Search", "google / cpc", "é"]),
    st.sampled_from(["touch", "touch", "conversion"]),
    st.sampled_from(["0", "", "12.5", "100"]),
]
BAD = [
    st.sampled_from(["u1", "007", "", "-3", "1.5", "18446744073709551615"]),
    st.sampled_from(["", "yesterday", "2024-13-45", "1709251200", "31/02/2024", "nan"]),
    st.sampled_from(["", " ", "Paid > Search", "seo ", ">", "a,b", 'q"uote', "\n"]),
    st.sampled_from(["", "purchase", "lead", "TOUCH"]),
    st.sampled_from(["-1", "nan", "inf", "1e308", "1e309", "abc", "1,5", "7"]),
]


@st.composite
def rows(draw: st.DrawFn) -> list[tuple[str, ...]]:
    """A few rows of good values, some cells (none, often) replaced with bad ones."""
    out = [
        [draw(GOOD[c]) for c in range(5)]
        for _ in range(draw(st.integers(min_value=0, max_value=12)))
    ]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        if out:
            r, c = draw(st.integers(0, len(out) - 1)), draw(st.integers(0, 4))
            out[r][c] = draw(BAD[c])
    return [tuple(r) for r in out]


ROWS = rows()


def _csv_bytes(rows: list[tuple[str, ...]], header: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short, with bytes that are not UTF-8, or with an extra field on a line."""
    kind = draw(st.sampled_from(["none", "none", "cut", "bytes", "field", "nul"]))
    if kind == "none" or not data:
        return data
    at_ = draw(st.integers(0, len(data) - 1))
    if kind == "cut":
        return data[:at_]
    if kind == "bytes":
        return (
            data[:at_]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9", b"\x80\x80"]))
            + data[at_:]
        )
    if kind == "nul":
        return data[:at_] + b"\x00" + data[at_:]
    lines = data.split(b"\n")
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] += b",extra"
    return b"\n".join(lines)


@st.composite
def csv_logs(draw: st.DrawFn) -> bytes:
    rows = draw(ROWS)
    header = list(COLUMNS)
    if draw(st.booleans()) and rows:  # a column missing, or renamed
        header[draw(st.integers(0, 4))] = draw(st.sampled_from(["uid", "", "revenue"]))
    return draw(damaged(_csv_bytes(rows, header)))


def _frame(rows: list[tuple[str, ...]]) -> pl.DataFrame:
    """The rows as a frame, ids and revenue as numbers where every value reads as one."""
    df = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    with contextlib.suppress(pl.exceptions.PolarsError):
        df = df.with_columns(pl.col("user_id").cast(pl.Int64))
    with contextlib.suppress(pl.exceptions.PolarsError):
        df = df.with_columns(pl.col("revenue").cast(pl.Float64))
    return df


@st.composite
def parquet_logs(draw: st.DrawFn) -> bytes:
    buf = io.BytesIO()
    _frame(draw(ROWS)).write_parquet(buf)
    data = buf.getvalue()
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _check_contract(events: pl.DataFrame) -> None:
    """What a validated event log promises."""
    assert events.columns[:5] == COLUMNS
    assert events["user_id"].null_count() == 0
    assert events["timestamp"].null_count() == 0
    assert events["revenue"].is_finite().all() and (events["revenue"] >= 0).all()
    assert math.isfinite(events["revenue"].sum())
    touches = events.filter(pl.col("event") == "touch")
    assert touches["channel"].null_count() == 0
    assert bad_channel_names(touches["channel"].unique().to_list()) == []
    assert (touches["revenue"] == 0).all()


def _read_or_refuse(source: object) -> None:
    try:
        events = at.read_events(source).collect()
    except at.AttributionError as exc:
        event(type(exc).__name__)
    else:
        event("read")
        _check_contract(events)
    try:
        journeys = at.build_journeys(source)
    except at.AttributionError:
        return
    assert bad_channel_names(list(journeys.channels)) == []


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=csv_logs(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_read_events_on_generated_csv(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"log{suffix}"
        path.write_bytes(data.replace(b",", b"\t") if suffix == ".tsv" else data)
        _read_or_refuse(path)


@FUZZ
@given(data=parquet_logs())
def test_read_events_on_generated_parquet(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.parquet"
        path.write_bytes(data)
        _read_or_refuse(path)


@FUZZ
@given(rows=ROWS, damage=st.data())
def test_read_events_on_generated_ndjson(
    rows: list[tuple[str, ...]], damage: st.DataObject
) -> None:
    buf = io.BytesIO()
    _frame(rows).write_ndjson(buf)
    data = damage.draw(damaged(buf.getvalue()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.ndjson"
        path.write_bytes(data)
        _read_or_refuse(path)


@FUZZ
@given(rows=ROWS)
def test_read_events_on_generated_frames(rows: list[tuple[str, ...]]) -> None:
    df = _frame(rows)
    _read_or_refuse(df)
    _read_or_refuse(df.lazy())


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("earlier") / "out"
    assert main(["run", str(SAMPLE), "--model", "last_touch", "--out", str(out), "--quiet"]) == 0
    return {p.name: p.read_bytes() for p in out.iterdir()}


@settings(FUZZ, max_examples=40)
@given(data=st.one_of(csv_logs(), parquet_logs()), model=st.sampled_from(["all", "linear"]))
def test_the_command_line_on_generated_input(
    earlier: dict[str, bytes], data: bytes, model: str
) -> None:
    suffix = ".parquet" if data[:4] == b"PAR1" else ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / f"log{suffix}"
        log.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        for name, content in earlier.items():
            (out / name).write_bytes(content)
        out_text, err_text = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
            code = main(["run", str(log), "--model", model, "--out", str(out), "--quiet"])
        stdout, stderr = out_text.getvalue(), err_text.getvalue()
        event(f"exit {code}")
        assert code in (0, 2), stderr
        assert sorted(p.name for p in Path(tmp).iterdir()) == sorted(["out", log.name])
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        if code == 2:
            assert stderr.startswith("error: ") and "Traceback" not in stderr
            assert stdout == ""
            assert files == earlier
        else:
            assert sorted(files) == [
                "channels.csv",
                "channels.parquet",
                "paths.csv",
                "paths.parquet",
            ]
            channels = pl.read_parquet(out / "channels.parquet")
            for col in ("conversions", "revenue", "share"):
                assert channels[col].is_finite().all(), col
            written = pl.read_parquet(out / "paths.parquet")
            if written.height:  # the tool's own paths read back as the same table
                back = at.read_paths(out / "paths.csv")
                assert back.total_conversions == pytest.approx(written["total_conversions"].sum())
                assert back.n_paths == written.height
