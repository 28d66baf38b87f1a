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
    assert err["auto"] / truth <= 1.2
    assert 0.75 <= inside80 / count <= 0.85
    assert 0.92 <= inside95 / count <= 0.97


@pytest.mark.slow
def test_process_pool_gives_the_same_answer():
    rng = np.random.default_rng(3)
    series = {f"s{i}": 100 + rng.normal(0, 1, 24).cumsum() for i in range(8)}
    kw = dict(h=6, models="ets", season_length=1)
    one = fc.forecast(frame(series), n_jobs=1, **kw)
    two = fc.forecast(frame(series), n_jobs=2, **kw)
    assert one.equals(two)


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
    with pytest.raises(ValidationError, match=r"1 series are too short: b \(3 points\)"):
        fc.forecast(frame({"a": np.ones(10), "b": np.ones(3)}), h=2)
