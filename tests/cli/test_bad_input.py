"""Bad input through the command line: exit 2, the error on stderr, nothing written.

Every case runs into a folder that holds an earlier run's outputs, which must stay byte for
byte as they were, with no staging folder left beside it. The message must name what is
wrong (file, row, column, value) and suggest only options the command has. The readers' own
cases, through the API, are in tests/test_io.py; generated bad inputs in tests/test_fuzz.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests.cli.conftest import SAMPLE, SPEND, leftovers, run_main, run_process, snapshot

GOOD = {
    "user_id": [1, 1, 1, 2, 2],
    "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01", "2024-01-04"],
    "channel": ["email", "seo", None, "ads", None],
    "event": ["touch", "touch", "conversion", "touch", "conversion"],
    "revenue": [0.0, 0.0, 30.0, 0.0, 12.0],
}
HEADER = "user_id,timestamp,channel,event,revenue\n"


def _log(tmp: Path, name: str, **changes: list[object]) -> Path:
    """The small good log with some columns replaced, written as ``name`` (by its suffix)."""
    df = pl.DataFrame({**GOOD, **changes})
    path = tmp / name
    {".csv": df.write_csv, ".parquet": df.write_parquet, ".ndjson": df.write_ndjson}[path.suffix](
        path
    )
    return path


def _text(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _non_utf8(tmp: Path) -> list[str]:
    data = HEADER.encode() + b"1,2024-01-01,caf\xe9,touch,0\n1,2024-01-02,,conversion,5\n"
    return [str(_text(tmp, "latin1.csv", data))]


def _ragged(tmp: Path) -> list[str]:
    data = (
        HEADER + "1,2024-01-01,a,touch,0\n1,2024-01-02,,conversion,5,99\n2,2024-01-02,b,touch,0\n"
    )
    return [str(_text(tmp, "ragged.csv", data.encode()))]


def _truncated(tmp: Path) -> list[str]:
    full = _log(tmp, "full.parquet").read_bytes()
    return [str(_text(tmp, "cut.parquet", full[: len(full) // 2]))]


def _fake(tmp: Path) -> list[str]:
    return [str(_text(tmp, "fake.parquet", (HEADER + "1,2024-01-01,a,touch,0\n").encode()))]


def _folder(tmp: Path, **changes: list[object]) -> list[str]:
    folder = tmp / "events"
    folder.mkdir()
    _log(folder, "part-0.parquet")
    df = pl.DataFrame({**GOOD, **changes})
    if "revenue" not in changes:
        df = df.with_columns(pl.col("user_id").cast(pl.String))
    else:
        df = df.drop("revenue")
    df.write_parquet(folder / "part-1.parquet")
    return [str(folder)]


def _late_text(tmp: Path) -> list[str]:
    rows = "".join(f"{i},2024-01-01,a,touch,0\n" for i in range(10_500))
    data = HEADER + rows + "1,2024-01-02,,conversion,ten\n"
    return [str(_text(tmp, "late.csv", data.encode()))]


def _bad_ndjson(tmp: Path) -> list[str]:
    good = _log(tmp, "ok.ndjson").read_text().splitlines()
    good[2] = good[2][:-5]
    return [str(_text(tmp, "cut.ndjson", ("\n".join(good) + "\n").encode()))]


def _flags(value: object) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = _log(
            tmp,
            "sessions.csv",
            channel=["email", "seo", "seo", "ads", "ads"],
            event=["s"] * 5,
            is_conversion=[0, 0, value, 0, 1],
            revenue=[0.0, 0.0, 30.0, 0.0, 12.0],
        )
        return [str(path), "--conversion-flag-col", "is_conversion"]

    return build


def _flag_revenue(tmp: Path) -> list[str]:
    path = _log(
        tmp,
        "sessions.csv",
        channel=["email", "seo", "seo", "ads", "ads"],
        event=["s"] * 5,
        is_conversion=[0, 0, 1, 0, 1],
        revenue=[9.0, 0.0, 30.0, 0.0, 12.0],
    )
    return [str(path), "--conversion-flag-col", "is_conversion"]


def _roi_beyond_floats(tmp: Path) -> list[str]:
    log = _log(tmp, "e.csv", revenue=[0.0, 0.0, 1e300, 0.0, 1e300])
    spend = pl.DataFrame({"date": ["2024-01-01"] * 2, "channel": ["email", "ads"]})
    spend.with_columns(spend=pl.lit(1e-300)).write_csv(tmp / "spend.csv")
    return [str(log), "--spend", str(tmp / "spend.csv")]


def _huge_spend(tmp: Path) -> list[str]:
    spend = pl.DataFrame({"date": ["2024-01-01"] * 2, "channel": ["a", "b"], "spend": [1e308] * 2})
    spend.write_csv(tmp / "spend.csv")
    return [str(SAMPLE), "--spend", str(tmp / "spend.csv")]


CASES: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    # files that cannot be read
    "non-UTF-8 CSV": (
        _non_utf8,
        ["latin1.csv", "not UTF-8", "byte 0xe9 at line 2 (row 0), column 'channel'"],
    ),
    "ragged CSV row": (
        _ragged,
        ["ragged.csv", "more fields than its header: row 1 (line 3) has 6 fields"],
    ),
    "truncated Parquet": (_truncated, ["cut.parquet", "truncated or damaged"]),
    "fake Parquet": (_fake, ["fake.parquet", "not a Parquet file"]),
    "Parquet folder disagreeing on the id type": (
        _folder,
        ["disagree on the type of column 'user_id'", "Int64", "String", "part-1.parquet"],
    ),
    "Parquet folder with a file lacking a column": (
        lambda tmp: _folder(tmp, revenue=[0.0] * 5),
        ["disagree: column 'revenue'", "part-1.parquet"],
    ),
    "text after 10,000 numbers in a CSV column": (
        _late_text,
        ["late.csv", "Column 'revenue'", "'ten' at row 10500"],
    ),
    "NDJSON line cut short": (_bad_ndjson, ["cut.ndjson", "line 3 (row 2)"]),
    "empty file": (lambda tmp: [str(_text(tmp, "empty.csv", b""))], ["empty (0 bytes)"]),
    "header only": (lambda tmp: [str(_text(tmp, "h.csv", HEADER.encode()))], ["empty (0 rows)"]),
    "nonexistent file": (lambda tmp: [str(tmp / "no-such-log.csv")], ["no-such-log.csv"]),
    "nonexistent spend file": (
        lambda tmp: [str(SAMPLE), "--spend", str(tmp / "no-spend.csv")],
        ["no-spend.csv", "does not exist"],
    ),
    # channel names that would not round-trip
    "channel holding the path separator": (
        lambda tmp: [str(_log(tmp, "e.csv", channel=["Paid > Search", "seo", None, "ads", None]))],
        ["'Paid > Search' at row 0 (user_id 1)", "'>'"],
    ),
    "empty channel in Parquet": (
        lambda tmp: [str(_log(tmp, "e.parquet", channel=["", "seo", None, "ads", None]))],
        ["1 empty or blank channel names on touch rows ('' at row 0 (user_id 1))"],
    ),
    "empty channel in CSV, quoted": (
        lambda tmp: [str(_log(tmp, "e.csv", channel=["", "seo", None, "ads", None]))],
        ["1 empty or blank channel names on touch rows ('' at row 0 (user_id 1))"],
    ),
    "empty channel in CSV, unquoted (null)": (
        lambda tmp: [str(_text(tmp, "e.csv", (HEADER + "1,2024-01-01,,touch,0\n").encode()))],
        ["nulls on touch rows (row 0 (user_id 1))"],
    ),
    "blank channel in NDJSON": (
        lambda tmp: [str(_log(tmp, "e.ndjson", channel=["email", "  ", None, "ads", None]))],
        ["blank channel names on touch rows ('  ' at row 1 (user_id 1))"],
    ),
    "channel with spaces around": (
        lambda tmp: [str(_log(tmp, "e.csv", channel=["email", "seo ", None, "ads", None]))],
        ["spaces around them", "'seo ' at row 1"],
    ),
    # the contract's rules
    "revenue on a touch row": (
        lambda tmp: [str(_log(tmp, "e.csv", revenue=[5.0, 0.0, 30.0, 0.0, 12.0]))],
        ["non-zero values on touch rows (5 at row 0 (user_id 1))"],
    ),
    "conversion flag -1": (_flags(-1), ["not conversion flags (-1 at row 2)"]),
    "conversion flag 2": (_flags(2), ["not conversion flags (2 at row 2)"]),
    "revenue on a row not flagged": (
        _flag_revenue,
        ["non-zero values on rows whose flag 'is_conversion' is 0 or null (9 at row 0"],
    ),
    "negative revenue": (
        lambda tmp: [str(_log(tmp, "e.csv", revenue=[0.0, 0.0, -30.0, 0.0, 12.0]))],
        ["Column 'revenue' has 1 negative values (-30 at row 2"],
    ),
    "two revenues of 1e308": (
        lambda tmp: [str(_log(tmp, "e.csv", revenue=[0.0, 0.0, 1e308, 0.0, 1e308]))],
        ["sums to more than the largest 64-bit float"],
    ),
    "two spends of 1e308": (_huge_spend, ["Column 'spend' sums to more than the largest"]),
    "a ROI beyond floats": (
        _roi_beyond_floats,
        ["The roi table has", "NaN or infinite values in column 'roi'", "Nothing was written"],
    ),
    "unknown event values": (
        lambda tmp: [str(_log(tmp, "e.csv", event=["visit", "visit", "buy", "visit", "buy"]))],
        ["unknown event values", "--touch-events or --conversion-events"],
    ),
    # times
    "epoch times with NaN": (
        lambda tmp: [str(_log(tmp, "e.parquet", timestamp=[1.7e9, 1.7e9, math.nan, 1.7e9, 2e9]))],
        ["Column 'timestamp'", "1 NaN or infinite values (nan at row 2)"],
    ),
    "naive time in a daylight-saving gap": (
        lambda tmp: [
            str(
                _log(
                    tmp,
                    "e.csv",
                    timestamp=["2024-03-30 12:00:00", "2024-03-31 02:30:00"] * 2
                    + ["2024-04-01 00:00:00"],
                )
            ),
            *("--time-zone", "Europe/Paris"),
        ],
        [
            "do not exist in 'Europe/Paris' (a daylight-saving gap)",
            "'2024-03-31 02:30:00' at row 1",
        ],
    ),
    # options
    "missing column": (
        lambda tmp: [str(SAMPLE), "--user-col", "visitor"],
        ["'visitor'", "--*-col option"],
    ),
    "lookback of inf days": (
        lambda tmp: [str(SAMPLE), "--lookback-days", "inf"],
        ["--lookback-days must be a finite number > 0", "got inf"],
    ),
    "negative lookback": (lambda tmp: [str(SAMPLE), "--lookback-days", "-1"], ["--lookback-days"]),
    "unknown model": (lambda tmp: [str(SAMPLE), "--model", "magic"], ["Unknown model 'magic'"]),
    "parameter no model takes": (
        lambda tmp: [str(SAMPLE), "--model", "linear", "--half-life-days", "3"],
        ["'half_life_days'"],
    ),
    "unknown time zone": (lambda tmp: [str(SAMPLE), "--time-zone", "Mars/Olympus"], ["Mars"]),
    "position weights that are not numbers": (
        lambda tmp: [str(SAMPLE), "--model", "position_based", "--position-weights", "a,b"],
        ["--position-weights 'a,b'"],
    ),
}

# a Python keyword suggested to a command-line user (``touch_events=``)
PYTHON_KEYWORD = re.compile(r"(?<![\w'-])[a-z][a-z_]*=")


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of a good run, to copy into each case's output folder."""
    from attribution.cli import main

    out = tmp_path_factory.mktemp("earlier") / "out"
    assert main(["run", str(SAMPLE), "--model", "last_touch", "--out", str(out), "--quiet"]) == 0
    return snapshot(out)


def _prepare(tmp_path: Path, earlier: dict[str, bytes]) -> tuple[Path, Path]:
    out = tmp_path / "out"
    out.mkdir()
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    return out, inputs


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_names_it_and_leaves_the_earlier_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], earlier: dict[str, bytes], case: str
) -> None:
    build, needles = CASES[case]
    out, inputs = _prepare(tmp_path, earlier)
    code, stdout, stderr = run_main(capsys, "run", *build(inputs), "--out", str(out))
    assert code == 2, stderr
    assert stdout == ""
    message = stderr.split("error: ", 1)[1]
    for needle in needles:
        assert needle in message
    assert not PYTHON_KEYWORD.search(message), message
    assert snapshot(out) == earlier
    assert leftovers(out) == []


@pytest.mark.parametrize("case", list(CASES)[:8])
def test_unreadable_files_in_a_fresh_process(
    tmp_path: Path, earlier: dict[str, bytes], case: str
) -> None:
    build, needles = CASES[case]
    out, inputs = _prepare(tmp_path, earlier)
    proc = run_process("run", *build(inputs), "--out", str(out), "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    for needle in needles:
        assert needle in proc.stderr
    assert snapshot(out) == earlier
    assert leftovers(out) == []


def test_a_new_folder_is_not_made_for_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "out"
    code, _, _ = run_main(capsys, "run", *_non_utf8(tmp_path), "--out", str(out))
    assert code == 2
    assert not (tmp_path / "new").exists()


# ----------------------------------------------------------------------------------------------
# report and forecast


SPEND_TEXT = b"date,channel,spend\n2024-01-01,Email,10\n2024-01-01,Soci\xe9t\xe9,5\n"
CRM_TEXT = b"user_id,timestamp,stage\n1,2024-01-01,lead\n1,2024-01-05,mql,extra\n"
TARGETS_TEXT = b"period,metric,target\n2024-01-01,revenue,100\n"


@pytest.mark.parametrize(
    ("option", "name", "data", "needles"),
    [
        ("--spend", "spend.csv", SPEND_TEXT, ["spend.csv", "line 3 (row 1), column 'channel'"]),
        ("--crm", "crm.csv", CRM_TEXT, ["crm.csv", "row 1 (line 3) has 4 fields"]),
        ("--targets", "targets.parquet", TARGETS_TEXT, ["targets.parquet", "not a Parquet"]),
    ],
)
def test_report_names_the_unreadable_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    earlier: dict[str, bytes],
    option: str,
    name: str,
    data: bytes,
    needles: list[str],
) -> None:
    out, inputs = _prepare(tmp_path, earlier)
    path = _text(inputs, name, data)
    argv = ["report", str(SAMPLE), "--model", "linear", option, str(path), "--out", str(out)]
    code, _, stderr = run_main(capsys, *argv, "--quiet")
    assert code == 2, stderr
    for needle in needles:
        assert needle in stderr
    assert snapshot(out) == earlier
    assert leftovers(out) == []


def test_report_rewords_the_crm_stage_map_and_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = tmp_path / "crm.csv"
    pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "timestamp": ["2024-01-02", "2024-01-20", "2024-01-05"],
            "stage": ["MarketingQualifiedLead", "customer", "lead"],
        }
    ).write_csv(crm)
    out = tmp_path / "out"
    argv = ["report", str(SAMPLE), "--model", "linear", "--crm", str(crm), "--out", str(out)]
    code, _, stderr = run_main(capsys, *argv, "--quiet")
    assert code == 2
    assert "Rename others with --stage-map." in stderr
    assert not PYTHON_KEYWORD.search(stderr)
    code, _, stderr = run_main(
        capsys, *argv, "--quiet", "--stage-map", "marketingqualifiedlead=mql"
    )
    assert code == 0, stderr
    funnel = pl.read_parquet(out / "funnel.parquet")
    assert "mql" in set(funnel["stage"])
    code, _, stderr = run_main(capsys, *argv, "--stage-map", "mql")
    assert code == 2 and "LABEL=STAGE" in stderr


def test_forecast_names_the_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _text(
        tmp_path, "series.csv", b"series_id,date,value\na,2024-01-01,1\nb\xff,2024-02-01,2\n"
    )
    code, _, stderr = run_main(capsys, "forecast", str(src), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "series.csv" in stderr and "not UTF-8" in stderr and "line 3 (row 1)" in stderr
    assert not (tmp_path / "o").exists()


def test_forecast_reads_dates_ending_in_z(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    months = [f"2022-{m:02d}-01T00:00:00Z" for m in range(1, 13)] + [
        f"2023-{m:02d}-01T00:00:00Z" for m in range(1, 13)
    ]
    src = tmp_path / "z.csv"
    pl.DataFrame({"series_id": "a", "date": months, "value": range(24)}).write_csv(src)
    argv = ["forecast", str(src), "--h", "2", "--models", "naive", "--no-plot", "--quiet"]
    code, _, stderr = run_main(capsys, *argv, "--out", str(tmp_path / "o"))
    assert code == 0, stderr
    got = pl.read_parquet(tmp_path / "o" / "forecast.parquet")
    assert got["mean"].to_list() == pytest.approx([23.0, 23.0])  # naive: the last value
    assert got["date"].cast(pl.String).to_list() == ["2024-01-01", "2024-02-01"]


def test_spend_file_is_checked_before_the_slow_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import attribution.cli.options as options

    called: list[int] = []
    monkeypatch.setattr(options, "build_journeys", lambda *a, **k: called.append(1))
    code, _, stderr = run_main(
        capsys, "run", str(SAMPLE), "--spend", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "x.csv" in stderr
    assert called == []
    assert SPEND.exists()


def test_argument_errors_exit_2_with_the_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from attribution.cli import main

    out = tmp_path / "out"
    for argv in (
        ["run", str(SAMPLE), "--out", str(out), "--non-converting", "sometimes"],
        ["run", str(SAMPLE)],  # --out is required
        ["run", str(SAMPLE), "--out", str(out), "--max-channels", "many"],
        ["frobnicate"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "usage:" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "text"),
    [
        ("--spend", "date,channel,spend\n01/02/2024,Email,1\n03/04/2024,Email,1\n"),
        ("--crm", "user_id,timestamp,stage\n1,01/02/2024,lead\n1,03/04/2024,mql\n"),
        ("--targets", "period,metric,target\n01/02/2024,revenue,1\n03/04/2024,revenue,1\n"),
    ],
)
def test_dates_in_an_unknown_order_suggest_no_python_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, text: str
) -> None:
    table = _text(tmp_path, "table.csv", text.encode())
    command = "run" if option == "--spend" else "report"
    argv = [command, str(SAMPLE), "--model", "linear", option, str(table)]
    code, _, stderr = run_main(capsys, *argv, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2
    assert "'01/02/2024' at row 0, '03/04/2024' at row 1" in stderr
    assert "write them as ISO 8601 dates (YYYY-MM-DD) in the file" in stderr
    assert not PYTHON_KEYWORD.search(stderr), stderr


def test_the_event_log_s_dates_suggest_time_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dates = ["01/02/2024", "03/04/2024", "05/06/2024", "07/08/2024", "09/10/2024"]
    log = _log(tmp_path, "e.csv", timestamp=dates)
    code, _, stderr = run_main(capsys, "run", str(log), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "pass --time-format (e.g. '%d/%m/%Y' or '%m/%d/%Y')" in stderr
