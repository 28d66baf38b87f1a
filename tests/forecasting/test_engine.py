from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

import forecasting as fc
from attribution import ModelError, SchemaError, ValidationError
from tests.forecasting._series import SETTINGS, frame, simulate


@pytest.mark.slow
def test_auto_beats_seasonal_naive_is_near_the_true_mean_and_covers():
    """Held-out accuracy over 560 simulated series (36-60 months, h = 12)."""
    rng = np.random.default_rng(20261123)
    h, series, future = 12, {}, {}
    for rep in range(80):
        for k, setting in enumerate(SETTINGS):
            n = int(rng.choice([36, 48, 60]))
            y, yf, mu = simulate(rng, n, h, **setting)
            series[f"s{k}-{rep}"] = y
            future[f"s{k}-{rep}"] = (yf, mu)
    out = fc.forecast(frame(series), h=h, models=["auto", "seasonal_naive"], freq="1mo")
    err = {"auto": 0.0, "seasonal_naive": 0.0}
    truth, inside80, inside95, count = 0.0, 0, 0, 0
    for (sid, model), g in out.group_by("series_id", "model", maintain_order=True):
        yf, mu = future[sid]
        err[model] += np.abs(g["mean"].to_numpy() - yf).sum()
        if model == "auto":
            truth += np.abs(mu - yf).sum()
            inside80 += ((yf >= g["lo-80"].to_numpy()) & (yf <= g["hi-80"].to_numpy())).sum()
            inside95 += ((yf >= g["lo-95"].to_numpy()) & (yf <= g["hi-95"].to_numpy())).sum()
            count += len(yf)
    assert err["auto"] / err["seasonal_naive"] < 1.0
    assert err["auto"] / truth <= 1.25
    assert 0.75 <= inside80 / count <= 0.85
    assert 0.92 <= inside95 / count <= 0.97


def test_threads_give_the_same_answer():
    rng = np.random.default_rng(3)
    series = {f"s{i}": 100 + rng.normal(0, 1, 40).cumsum() for i in range(150)}
    kw = dict(h=6, models=["ets", "arima", "auto"], season_length=1)
    one = fc.forecast(frame(series), n_jobs=1, **kw)
    two = fc.forecast(frame(series), n_jobs=2, **kw)
    assert one.equals(two)


SCRIPT = """
import numpy as np, polars as pl, forecasting as fc
from datetime import date
print("top level ran")
v = 100 + np.cumsum(np.random.default_rng(1).normal(0, 1, (300, 36)), axis=1)
d = pl.date_range(date(2020, 1, 1), date(2022, 12, 1), "1mo", eager=True)
s = pl.DataFrame({"series_id": np.repeat(np.arange(300), 36), "date": pl.concat([d] * 300),
                  "value": v.ravel()})
out = fc.forecast(s, h=3, n_jobs=-1)
print("rows", out.height)
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["script", "-c"])
def test_default_runs_in_a_plain_script_without_main_guard(tmp_path, how):
    """Workers never run the user's script again (no spawned processes)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "plain.py"
    path.write_text(SCRIPT)
    cmd = [sys.executable, str(path)] if how == "script" else [sys.executable, "-c", SCRIPT]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("top level ran") == 1
    assert "rows 900" in proc.stdout
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# units never matter, odd inputs never sink a batch


@pytest.mark.parametrize("c", [1e-9, 0.37, 1e6, 1e300])
def test_forecast_scales_with_the_data(c):
    rng = np.random.default_rng(11)
    series = {}
    for k, setting in enumerate(SETTINGS[:4]):
        y, _, _ = simulate(rng, 48, 12, **setting)
        series[f"s{k}"] = y
    series["zeros"] = np.where(rng.random(48) < 0.2, 0.0, rng.gamma(2.0, 50.0, 48))
    series["signed"] = rng.normal(0, 10, 48).cumsum()
    base = frame(series)
    scaled = base.with_columns(pl.col("value") * c)
    kw = dict(h=12, models=["auto", "ets", "arima", "theta", "harmonic", "drift"])
    one, other = fc.forecast(base, **kw), fc.forecast(scaled, **kw)
    for col in ("mean", "lo-80", "hi-80", "lo-95", "hi-95"):
        np.testing.assert_allclose(other[col].to_numpy(), c * one[col].to_numpy(), rtol=1e-9)


def test_overflow_raises_the_package_error():
    y = 1.7e308 * np.exp(0.4 * (np.arange(36.0) - 35))  # grows past the largest float
    with pytest.raises(ModelError, match=r"not finite numbers for 1 series \(a\).*overflow"):
        fc.forecast(frame({"a": y}), h=24, models="drift")
    near = fc.forecast(frame({"a": 1e302 * (1 + 0.1 * np.sin(np.arange(48.0)))}), h=6)
    assert np.isfinite(near.select(pl.exclude("series_id", "date", "model")).to_numpy()).all()


def test_level_fractions_are_read_as_fractions():
    s = frame({"a": 100 + np.arange(24.0)})
    out = fc.forecast(s, h=2, models="naive", level=0.9)
    ref = fc.forecast(s, h=2, models="naive", level=90)
    assert out.columns[-2:] == ["lo-90", "hi-90"] and out.equals(ref)
    both = fc.forecast(s, h=2, models="naive", level=[0.8, 95])
    assert both.columns[-4:] == ["lo-80", "hi-80", "lo-95", "hi-95"]
    for bad in (0, 100, -0.5, 150, True):
        with pytest.raises(ValidationError, match="level must be percentages"):
            fc.forecast(s, h=2, level=bad)


def test_too_short_series_fall_back_with_a_warning_and_neighbours_are_unchanged():
    rng = np.random.default_rng(4)
    long = {f"s{i}": 100 + rng.normal(0, 1, 40).cumsum() for i in range(3)}
    alone = fc.forecast(frame(long), h=3, models=["auto", "ets"])
    with pytest.warns(UserWarning) as caught:
        out = fc.forecast(
            frame({**long, "b": np.array([5.0, 7.0]), "c": np.array([3.0])}),
            h=3,
            models=["auto", "ets"],
        )
    messages = [str(w.message) for w in caught]
    for name in ("auto", "ets"):
        wanted = f"2 series are too short for '{name}' and are forecast by 'naive' instead"
        assert any(m.startswith(wanted) and "b (2 points), c (1 point)" in m for m in messages)
    short = out.filter(pl.col("series_id").is_in(["b", "c"]))
    assert short["model"].unique().to_list() == ["naive"] and short.height == 6
    np.testing.assert_allclose(short.filter(pl.col("series_id") == "b")["mean"], 7.0)
    # naive on the log scale: one difference, log(7 / 5), is the spread of each step
    z = 1.2815515655446004
    b = short.filter(pl.col("series_id") == "b")
    expected = 7 * np.exp(z * np.log(7 / 5) * np.sqrt([1, 2, 3]))
    np.testing.assert_allclose(b["hi-80"], expected, rtol=1e-9)
    assert out.filter(pl.col("series_id").is_in(list(long))).equals(alone)


# --------------------------------------------------------------------------------------------
# shape of the output and input rules


def test_output_columns_dates_and_non_negative_intervals(rng):
    y = np.abs(rng.normal(0, 1, 40))  # small non-negative values with zeros nearby
    y[::7] = 0.0
    out = fc.forecast(
        frame({"b": y, "a": y[:30] + 1}),
        h=3,
        level=[50, 99.5],
        models=["theta", "harmonic", "drift", "auto"],
    )
    assert out.columns == [
        "series_id",
        "date",
        "model",
        "mean",
        "lo-50",
        "hi-50",
        "lo-99.5",
        "hi-99.5",
    ]
    a = out.filter((pl.col("series_id") == "a") & (pl.col("model") == "drift"))
    assert a["date"].to_list() == [date(2022, 7, 1), date(2022, 8, 1), date(2022, 9, 1)]
    assert out.select(pl.col("lo-99.5").min()).item() >= 0.0
    assert (out["lo-99.5"] <= out["lo-50"]).all() and (out["hi-50"] <= out["hi-99.5"]).all()


def test_freq_is_inferred_and_month_ends_stay_month_ends():
    d = [date(2023, 1, 31), date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]
    s = pl.DataFrame({"series_id": "a", "date": d, "value": [1.0, 2.0, 3.0, 4.0]})
    out = fc.forecast(s, h=2, models="naive")
    assert out["date"].to_list() == [date(2023, 5, 31), date(2023, 6, 30)]


def test_bad_input_raises_named_errors():
    s = frame({"a": np.arange(1.0, 13.0)})
    with pytest.raises(
        ValidationError, match=r"1 series are not regular at freq '1mo' \(first break: a"
    ):
        fc.forecast(s.filter(pl.col("date") != date(2020, 5, 1)), h=2, freq="1mo")
    with pytest.raises(ValidationError, match="1 duplicated rows"):
        fc.forecast(pl.concat([s, s.head(1)]), h=2)
    with pytest.raises(ModelError, match="Unknown forecasting model 'prophet'"):
        fc.forecast(s, h=2, models="prophet")
    with pytest.raises(ValidationError, match="level must be percentages"):
        fc.forecast(s, h=2, level=[95, 120])
    with pytest.raises(ValidationError, match=r"h \(the number of periods ahead\)"):
        fc.forecast(s, h=0)
    with pytest.raises(SchemaError, match="Column 'y' is missing"):
        fc.forecast(s, h=2, value_col="y")
    with pytest.raises(ValidationError, match=r"Column 'value' has 1 null.*row 3 \(series_id a\)"):
        fc.forecast(
            s.with_columns(
                pl.when(pl.int_range(12) == 3).then(None).otherwise(pl.col("value")).alias("value")
            ),
            h=2,
        )
    with pytest.raises(ValidationError, match="combine must be one of"):
        fc.forecast(s, h=2, combine="weighted-mse")


def test_levels_given_as_numpy_numbers_or_text():
    s = frame({"a": 100 + np.arange(24.0)})
    ref = fc.forecast(s, h=2, models="naive", level=[80, 95])
    for given in (np.array([80, 95]), [np.int64(80), np.float32(0.95)], (np.float64(0.8), 95)):
        assert fc.forecast(s, h=2, models="naive", level=given).equals(ref)
    for bad in ("80", ["80", 95], object()):
        with pytest.raises(ValidationError, match=r"level must be percentages.*got \[") as info:
            fc.forecast(s, h=2, level=bad)
        assert "'8', '0'" not in str(info.value)  # text is one value, not its characters


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ({"id_col": "model"}, "id_col='model' is also the name of an output column"),
        ({"id_col": "mean"}, "id_col='mean' is also the name of an output column"),
        ({"time_col": "lo-80"}, "time_col='lo-80' is also the name of an output column"),
        ({"id_col": "date", "time_col": "date"}, "id_col and time_col are both 'date'"),
    ],
)
def test_column_names_that_the_output_would_overwrite_are_refused(names, match):
    s = frame({"a": np.arange(1.0, 13.0), "b": np.arange(2.0, 14.0)})
    renamed = s.rename({"date": names.get("time_col", "date")})
    if names.get("id_col", "date") != "date":
        renamed = renamed.rename({"series_id": names["id_col"]})
    with pytest.raises(ValidationError, match=match):
        fc.forecast(renamed, h=2, models="naive", **names)
    with pytest.raises(ValidationError, match=match):
        fc.backtest(renamed, h=2, models="naive", n_windows=1, **names)


def test_values_written_as_text_are_read_and_words_are_named():
    s = frame({"a": np.arange(1.0, 13.0)})
    as_text = s.with_columns(pl.col("value").cast(pl.String))
    assert fc.forecast(as_text, h=2, models="naive").equals(fc.forecast(s, h=2, models="naive"))
    words = as_text.with_columns(
        pl.when(pl.int_range(12) == 4).then(pl.lit("n/a")).otherwise(pl.col("value")).alias("value")
    )
    with pytest.raises(ValidationError, match=r"1 values that are not numbers \('n/a' at row 4\)"):
        fc.forecast(words, h=2)


@pytest.mark.parametrize("model", fc.MODEL_NAMES)
def test_a_series_of_zeros_is_forecast_zero_so_scaling_it_changes_nothing(model):
    # zeros times any c are the same zeros, so units invariance leaves only 0 as their forecast
    rng = np.random.default_rng(2)
    s = frame({"z": np.zeros(30), "y": 50 + rng.normal(0, 5, 30)})
    out = fc.forecast(s, h=4, models=model)
    zero = out.filter(pl.col("series_id") == "z").select("mean", "lo-80", "hi-80", "lo-95", "hi-95")
    assert (zero.to_numpy() == 0.0).all()


def test_options_of_the_wrong_kind_are_refused_by_name():
    s = frame({"a": 100 + np.arange(24.0)})
    for bad in ("2", 1.5, True):
        with pytest.raises(ValidationError, match=r"n_jobs must be a whole number"):
            fc.forecast(s, h=2, models="naive", n_jobs=bad)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="candidates of 'auto' is empty"):
        fc.forecast(s, h=2, candidates=[])
    one = fc.forecast(s, h=2, candidates="theta")  # one name, not its letters
    assert one.equals(fc.forecast(s, h=2, candidates=["theta"]))


def test_every_level_gets_its_own_columns_named_by_all_its_digits():
    # levels that agree to six digits were written as one pair ("lo-100" for 99.9999999 %)
    s = frame({"a": 100 + np.arange(24.0)})
    out = fc.forecast(s, h=2, models="naive", level=[80, 80.0000001, 99.9999999])
    names = ["lo-80", "hi-80", "lo-80.0000001", "hi-80.0000001", "lo-99.9999999", "hi-99.9999999"]
    assert out.columns[4:] == names
    assert (out["lo-99.9999999"] < out["lo-80"]).all()  # the wider level, not a copy
