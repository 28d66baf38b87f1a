"""``attribution run EVENTS --model NAME|all --out DIR``: what it writes, options passed through.

Most tests call :func:`attribution.cli.main` in-process; some run ``python -m attribution.cli``.
Expected values come from the library's Python API or are counted from the input with Polars.
Bad input, output sets, signals and models that refuse: test_bad_input.py, test_outputs.py,
test_models.py.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from attribution.cli import main

SAMPLE = Path(at.__file__).parent / "datasets" / "data" / "sample_events.csv"
DATA = Path(__file__).parents[1] / "data"
PEER_PATHS = DATA / "channelattribution_paths" / "paths.csv"
DP6 = DATA / "dp6_sessions" / "test_dataset.csv"
OUTPUTS = ["channels.csv", "channels.parquet", "paths.csv", "paths.parquet"]
CHANNEL_COLUMNS = ["channel", "conversions", "revenue", "share"]
PEER_COLUMNS = ["path", "total_conversions", "total_conversion_value", "total_null"]


def _names(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden ones included, sorted."""
    return sorted(p.name for p in folder.iterdir())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _raw_sample() -> pl.DataFrame:
    return pl.read_csv(SAMPLE)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sample_journeys() -> at.Journeys:
    return at.build_journeys(SAMPLE)


# ----------------------------------------------------------------------------------------------
# success


def test_run_all_models_writes_channels_and_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(capsys, str(SAMPLE), "--model", "all", "--out", str(out))
    assert code == 0
    assert _names(out) == OUTPUTS  # and no stray temporary file or staging folder
    assert "conversions credited per channel and model" in stdout
    assert "wrote" in stderr

    channels = pl.read_parquet(out / "channels.parquet")
    assert channels.columns == ["model", *CHANNEL_COLUMNS]
    assert_frame_equal(pl.read_csv(out / "channels.csv"), channels)
    assert set(channels["model"]) == set(at.MODELS)

    raw = _raw_sample()
    conversions = raw.filter(pl.col("event") == "conversion")
    n_conv, revenue = conversions.height, conversions["revenue"].sum()
    assert n_conv > 0
    per_model = channels.group_by("model").agg(pl.col("conversions", "revenue", "share").sum())
    for model, conv, rev, share in per_model.iter_rows():
        assert math.isclose(conv, n_conv, rel_tol=1e-9), model
        assert math.isclose(rev, revenue, rel_tol=1e-9), model
        assert math.isclose(share, 1.0, rel_tol=1e-9), model
    assert (channels["conversions"] >= -1e-12).all()


def test_run_writes_the_paths_of_the_journeys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(capsys, str(SAMPLE), "--out", str(out))[0] == 0
    paths = pl.read_parquet(out / "paths.parquet")
    assert paths.columns == PEER_COLUMNS
    assert_frame_equal(pl.read_csv(out / "paths.csv"), paths)
    assert paths["path"].is_unique().all()

    # counted from the raw log: one converting journey per conversion row, and one
    # non-converting journey per user with a touch after their last conversion (or none)
    raw = _raw_sample().with_columns(pl.col("timestamp").str.to_datetime(time_zone="UTC"))
    last_conv = (
        raw.filter(pl.col("event") == "conversion")
        .group_by("user_id")
        .agg(pl.col("timestamp").max().alias("last"))
    )
    tails = (
        raw.filter(pl.col("event") == "touch")
        .join(last_conv, on="user_id", how="left")
        .filter(pl.col("last").is_null() | (pl.col("timestamp") > pl.col("last")))
        .select(pl.col("user_id").n_unique())
        .item()
    )
    n_conv = raw.filter(pl.col("event") == "conversion").height
    assert paths["total_conversions"].sum() == n_conv
    assert paths["total_null"].sum() == tails
    assert math.isclose(
        paths["total_conversion_value"].sum(),
        raw.filter(pl.col("event") == "conversion")["revenue"].sum(),
        rel_tol=1e-9,
    )


def test_one_model_matches_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample_journeys: at.Journeys
) -> None:
    out = tmp_path / "out"
    code, _, _ = _run(capsys, str(SAMPLE), "--model", "linear", "--out", str(out), "--quiet")
    assert code == 0
    assert _names(out) == OUTPUTS
    channels = pl.read_parquet(out / "channels.parquet")
    assert channels.columns == CHANNEL_COLUMNS  # no model column
    assert_frame_equal(channels, at.attribute(sample_journeys, "linear").channels)
    assert_frame_equal(pl.read_csv(out / "channels.csv"), channels)
    paths = pl.read_parquet(out / "paths.parquet")
    assert_frame_equal(paths, sample_journeys.to_paths().to_frame(peer_names=True))


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = _run(capsys, str(SAMPLE), "--out", str(tmp_path / "o"), "--quiet")
    assert (code, stdout) == (0, "")
    # warnings (here data_driven's on this small sample) are still printed, one line each
    assert all(line.startswith("attribution: warning: ") for line in stderr.splitlines())


def test_subprocess_run(tmp_path: Path, sample_journeys: at.Journeys) -> None:
    out = tmp_path / "cli out"
    proc = subprocess.run(
        [sys.executable, "-m", "attribution.cli", "run", str(SAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _names(out) == OUTPUTS
    expected = at.attribute_all(sample_journeys)
    assert_frame_equal(pl.read_parquet(out / "channels.parquet"), expected)


def test_subprocess_bad_input_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "attribution.cli",
            "run",
            str(SAMPLE),
            "--channel-col",
            "medium",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "Column 'medium' is missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_second_run_replaces_the_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(capsys, str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert "model" in pl.read_parquet(out / "channels.parquet").columns
    assert _run(capsys, str(SAMPLE), "--model", "first_touch", "--out", str(out), "--quiet")[0] == 0
    assert _names(out) == OUTPUTS
    assert pl.read_parquet(out / "channels.parquet").columns == CHANNEL_COLUMNS
    assert pl.read_csv(out / "channels.csv").columns == CHANNEL_COLUMNS


def test_other_files_in_the_out_directory_are_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _run(capsys, str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert _names(out) == sorted([*OUTPUTS, "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------------------------
# options are passed through


JOURNEY_OPTIONS = [
    (["--lookback-days", "1"], {"lookback_days": 1.0}),
    (["--max-touches", "2"], {"max_touches": 2}),
    (["--collapse-repeats"], {"collapse_repeats": True}),
    (["--non-converting", "never_converted"], {"non_converting": "never_converted"}),
    (["--non-converting", "drop"], {"non_converting": "drop"}),
]


@pytest.mark.parametrize(("flags", "kwargs"), JOURNEY_OPTIONS)
def test_journey_options_are_passed_through(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sample_journeys: at.Journeys,
    flags: list[str],
    kwargs: dict[str, object],
) -> None:
    out = tmp_path / "out"
    code, _, _ = _run(capsys, str(SAMPLE), "--model", "linear", "--out", str(out), *flags)
    assert code == 0
    journeys = at.build_journeys(SAMPLE, **kwargs)  # type: ignore[arg-type]
    channels = pl.read_parquet(out / "channels.parquet")
    paths = pl.read_parquet(out / "paths.parquet")
    assert_frame_equal(channels, at.attribute(journeys, "linear").channels)
    assert_frame_equal(paths, journeys.to_paths().to_frame(peer_names=True))
    # and the option made a difference compared with the defaults
    default_channels = at.attribute(sample_journeys, "linear").channels
    default_paths = sample_journeys.to_paths().to_frame(peer_names=True)
    assert not (channels.equals(default_channels) and paths.equals(default_paths))


def test_lookback_changes_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample_journeys: at.Journeys
) -> None:
    short, full = tmp_path / "short", tmp_path / "full"
    assert _run(capsys, str(SAMPLE), "--lookback-days", "1", "--out", str(short))[0] == 0
    assert _run(capsys, str(SAMPLE), "--out", str(full))[0] == 0
    a = pl.read_parquet(short / "channels.parquet")
    b = pl.read_parquet(full / "channels.parquet")
    assert not a.equals(b)
    # a one-day window leaves more conversions with no touch at all
    no_touch = (pl.col("channel") == at.NO_TOUCH) & (pl.col("model") == "linear")
    assert a.filter(no_touch)["conversions"].item() > b.filter(no_touch)["conversions"].item()
    expected = at.attribute_all(at.build_journeys(SAMPLE, lookback_days=1))
    assert_frame_equal(a, expected)


@pytest.mark.parametrize(
    ("model", "flags", "params"),
    [
        ("time_decay", ["--half-life-days", "1.5"], {"half_life_days": 1.5}),
        (
            "last_non_direct",
            ["--direct-channels", "Direct, Email"],
            {"direct_channels": ("Direct", "Email")},
        ),
        ("position_based", ["--position-weights", "0.3,0.4,0.3"], {"weights": (0.3, 0.4, 0.3)}),
        ("position_based", ["--position-weights", "j"], {"weights": "j"}),
    ],
)
def test_model_options_are_passed_through(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sample_journeys: at.Journeys,
    model: str,
    flags: list[str],
    params: dict[str, object],
) -> None:
    out = tmp_path / "out"
    assert _run(capsys, str(SAMPLE), "--model", model, "--out", str(out), *flags)[0] == 0
    channels = pl.read_parquet(out / "channels.parquet")
    assert_frame_equal(channels, at.attribute(sample_journeys, model, **params).channels)
    assert not channels.equals(at.attribute(sample_journeys, model).channels)


def test_column_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    renamed = _raw_sample().rename(
        {"user_id": "uid", "timestamp": "ts", "channel": "src", "event": "kind", "revenue": "value"}
    )
    renamed.write_parquet(tmp_path / "renamed.parquet")
    out, ref = tmp_path / "out", tmp_path / "ref"
    flags = ["--user-col", "uid", "--time-col", "ts", "--channel-col", "src"]
    flags += ["--event-col", "kind", "--revenue-col", "value"]
    assert _run(capsys, str(tmp_path / "renamed.parquet"), "--out", str(out), *flags)[0] == 0
    assert _run(capsys, str(SAMPLE), "--out", str(ref))[0] == 0
    for name in ("channels.parquet", "paths.parquet"):
        assert_frame_equal(pl.read_parquet(out / name), pl.read_parquet(ref / name))


def test_time_zone_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the touch carries an offset, the purchase is naive: read in UTC the purchase is 90
    # minutes after the touch; read in Tokyo (UTC+9) it is 7.5 hours before it
    log = tmp_path / "mixed.csv"
    log.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        "1,2024-04-01T00:00:00Z,email,touch,0\n"
        "1,2024-04-01 01:30:00,,conversion,10\n"
    )
    utc, tokyo = tmp_path / "utc", tmp_path / "tokyo"
    assert _run(capsys, str(log), "--model", "linear", "--out", str(utc))[0] == 0
    flags = ["--model", "linear", "--time-zone", "Asia/Tokyo"]
    assert _run(capsys, str(log), *flags, "--out", str(tokyo))[0] == 0
    rows = pl.read_parquet(utc / "channels.parquet").select("channel", "conversions").rows()
    assert rows == [("email", 1.0)]
    rows = pl.read_parquet(tokyo / "channels.parquet").select("channel", "conversions").rows()
    assert dict(rows)[at.NO_TOUCH] == 1.0
    assert dict(rows).get("email", 0.0) == 0.0
    expected = at.attribute(at.build_journeys(log, time_zone="Asia/Tokyo"), "linear").channels
    assert_frame_equal(pl.read_parquet(tokyo / "channels.parquet"), expected)


def test_epoch_microseconds_give_the_outputs_of_the_same_times_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GA4's event_timestamp unit: read by magnitude, no option needed
    raw = _raw_sample().with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC").dt.epoch("us").alias("timestamp")
    )
    assert raw["timestamp"].min() > 10**15  # microseconds of this century
    log = tmp_path / "us.parquet"
    raw.write_parquet(log)
    text, us = tmp_path / "text", tmp_path / "us"
    assert _run(capsys, str(SAMPLE), "--model", "time_decay", "--out", str(text))[0] == 0
    assert _run(capsys, str(log), "--model", "time_decay", "--out", str(us))[0] == 0
    assert _snapshot(us) == _snapshot(text)


def test_a_semicolon_csv_with_crlf_and_trailing_empty_lines_gives_the_same_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sample with semicolons between fields, CRLF line ends and empty lines at the end
    lines = SAMPLE.read_text().splitlines()
    assert not any(";" in line or '"' in line for line in lines)
    log = tmp_path / "excel.csv"
    log.write_text("\r\n".join(line.replace(",", ";") for line in lines) + "\r\n\r\n", newline="")
    comma, semi = tmp_path / "comma", tmp_path / "semi"
    assert _run(capsys, str(SAMPLE), "--model", "linear", "--out", str(comma))[0] == 0
    code, _, err = _run(capsys, str(log), "--model", "linear", "--out", str(semi))
    assert code == 0, err
    assert _snapshot(semi) == _snapshot(comma)


def test_conversion_flag_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    flags = ["--user-col", "user_pseudo_id", "--time-col", "event_time"]
    flags += ["--channel-col", "source_medium", "--conversion-flag-col", "is_conversion"]
    assert _run(capsys, str(DP6), "--model", "last_touch", "--out", str(out), *flags)[0] == 0
    channels = pl.read_parquet(out / "channels.parquet")
    n_flagged = int(pl.read_csv(DP6)["is_conversion"].sum())
    assert math.isclose(channels["conversions"].sum(), n_flagged)
    expected = at.build_journeys(
        DP6,
        user_col="user_pseudo_id",
        time_col="event_time",
        channel_col="source_medium",
        conversion_flag_col="is_conversion",
    )
    assert_frame_equal(channels, at.attribute(expected, "last_touch").channels)


# ----------------------------------------------------------------------------------------------
# a peer path table


@pytest.mark.parametrize("as_parquet", [False, True])
def test_a_peer_path_table_is_detected_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_parquet: bool
) -> None:
    source = PEER_PATHS
    if as_parquet:
        source = tmp_path / "paths.parquet"
        pl.read_csv(PEER_PATHS).write_parquet(source)
    out = tmp_path / "out"
    assert _run(capsys, str(source), "--out", str(out), "--quiet")[0] == 0
    assert _names(out) == OUTPUTS
    raw = pl.read_csv(PEER_PATHS)
    channels = pl.read_parquet(out / "channels.parquet")
    assert "time_decay" not in set(channels["model"])  # it needs touch times
    for model, conv in channels.group_by("model").agg(pl.col("conversions").sum()).iter_rows():
        assert math.isclose(conv, raw["total_conversions"].sum(), rel_tol=1e-9), model
    table = at.read_paths(PEER_PATHS)
    assert_frame_equal(channels, at.attribute_all(table))
    assert_frame_equal(pl.read_parquet(out / "paths.parquet"), table.to_frame(peer_names=True))
    # the channel names come from the paths, split on '>'
    names = set(raw["path"].str.split(">").explode().str.strip_chars())
    assert set(channels["channel"]) == names


def test_peer_path_table_with_one_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _run(capsys, str(PEER_PATHS), "--model", "first_touch", "--out", str(out))[0] == 0
    expected = at.attribute(at.read_paths(PEER_PATHS), "first_touch").channels
    assert_frame_equal(pl.read_parquet(out / "channels.parquet"), expected)
    # first touch by hand: each path's conversions go to its first channel
    raw = pl.read_csv(PEER_PATHS)
    by_hand = (
        raw.group_by(pl.col("path").str.split(">").list.first().str.strip_chars().alias("channel"))
        .agg(pl.col("total_conversions").sum().cast(pl.Float64))
        .sort("channel")
    )
    got = expected.select("channel", pl.col("conversions").alias("total_conversions"))
    assert_frame_equal(got.sort("channel"), by_hand)


def test_spend_writes_roi_equal_to_the_library(tmp_path: Path) -> None:
    spend = SAMPLE.parent / "sample_spend.csv"
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(SAMPLE),
                "--model",
                "linear",
                "--out",
                str(out),
                "--spend",
                str(spend),
                "--quiet",
            ]
        )
        == 0
    )
    got = pl.read_parquet(out / "roi.parquet")
    expected = at.roi(at.attribute(at.build_journeys(SAMPLE), "linear"), spend)
    assert_frame_equal(got, expected)
    # spend per channel is the sum of the spend table, read independently
    raw = pl.read_csv(spend).group_by("channel").agg(pl.col("spend").sum())
    joined = got.join(raw, on="channel", suffix="_raw")
    np.testing.assert_allclose(joined["spend"], joined["spend_raw"])


def test_the_written_paths_read_back_as_the_same_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a one-day lookback some conversions have no touch: their path is '(no touch)'."""
    out = tmp_path / "out"
    assert _run(capsys, str(SAMPLE), "--lookback-days", "1", "--out", str(out), "--quiet")[0] == 0
    written = pl.read_csv(out / "paths.csv")
    assert written.filter(pl.col("path") == at.NO_TOUCH)["total_conversions"].item() > 0
    expected = at.build_journeys(SAMPLE, lookback_days=1).to_paths()
    for name in ("paths.csv", "paths.parquet"):
        back = at.read_paths(out / name)
        assert_frame_equal(back.to_frame(), expected.to_frame())
        assert_frame_equal(at.attribute_all(back), at.attribute_all(expected))


def test_touch_and_conversion_events_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = _raw_sample().with_columns(
        pl.col("event").replace({"touch": "visit", "conversion": "purchase"})
    )
    renamed.write_csv(tmp_path / "renamed.csv")
    out, ref = tmp_path / "out", tmp_path / "ref"
    flags = ["--touch-events", "visit,page_view", "--conversion-events", "purchase"]
    assert _run(capsys, str(tmp_path / "renamed.csv"), "--out", str(out), *flags)[0] == 0
    assert _run(capsys, str(SAMPLE), "--out", str(ref))[0] == 0
    for name in ("channels.parquet", "paths.parquet"):
        assert_frame_equal(pl.read_parquet(out / name), pl.read_parquet(ref / name))


def test_a_decimal_revenue_after_the_rows_that_type_a_csv_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10,001 touches with revenue "0" (the rows whose values type the column), then a sale
    rows = [f"{i},2024-01-01T00:00:00Z,email,touch,0" for i in range(10_001)]
    rows.append("10000,2024-01-02T00:00:00Z,,conversion,12.5")
    log = tmp_path / "late.csv"
    log.write_text("user_id,timestamp,channel,event,revenue\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    code, _, err = _run(capsys, str(log), "--model", "last_touch", "--out", str(out))
    assert code == 0, err
    channels = pl.read_parquet(out / "channels.parquet")
    assert channels.select("channel", "conversions", "revenue").rows() == [("email", 1.0, 12.5)]


def test_a_ga_path_export_with_repeats_is_refused_naming_the_option_then_expanded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = tmp_path / "ga_paths.csv"
    paths.write_text(
        "path,total_conversions,total_conversion_value,total_null\n"
        "Direct × 2 > Email,3,30,1\nEmail,1,5,2\n"
    )
    out = tmp_path / "out"
    code, _, err = _run(capsys, str(paths), "--model", "linear", "--out", str(out))
    assert code == 2
    assert "pass --repeats expand to read 'X × n'" in err
    assert "repeats=" not in err
    assert not out.exists()
    code, _, err = _run(
        capsys, str(paths), "--model", "linear", "--repeats", "expand", "--out", str(out)
    )
    assert code == 0, err
    # by hand, linear: Direct > Direct > Email gives each touch a third of 3 conversions
    # (30): Direct 2 (20), Email 1 (10); the Email path adds 1 (5) to Email
    got = pl.read_parquet(out / "channels.parquet").select("channel", "conversions", "revenue")
    assert got.sort("channel").rows() == [("Direct", 2.0, 20.0), ("Email", 2.0, 15.0)]
