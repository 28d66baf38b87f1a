"""Interval calibration of ``auto``: per-side conformal factors, coverage, volatility changes."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats

import forecasting as fc
from forecasting.auto import interval_factors, widen
from forecasting.kernels.scale import Scale
from tests.forecasting._series import frame


def _normal_intervals(n: int, levels: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Median 0 and the standard normal's intervals: what a model with sd 1 would give."""
    z = stats.norm.ppf([(1 + lv) / 2 for lv in levels])
    q = np.stack([b for zi in z for b in (-zi, zi)])
    return np.zeros((n, 1)), np.tile(q, (n, 1, 1))


def test_factors_move_each_bound_to_the_quantile_of_its_side():
    """Actuals N(mu, sigma²) against a model saying N(0, 1): closed-form factors per side."""
    rng = np.random.default_rng(11)
    n, mu, sigma, levels = 40_000, 0.7, 1.8, [0.8, 0.95]
    a = mu + sigma * rng.standard_normal((n, 1))
    sc = Scale(np.zeros(n, dtype=bool), np.zeros(n))
    f = interval_factors(list(a), _normal_intervals(n, levels), np.ones(n), sc, levels)
    z = stats.norm.ppf([(1 + lv) / 2 for lv in levels])
    # the upper bound must sit at mu + sigma z, the lower one at mu - sigma z
    expected = np.column_stack([(sigma * z - mu) / z, (sigma * z + mu) / z])
    # sampling error of a normal quantile: sqrt(p (1 - p) / n) / pdf, in sigma units
    p = (1 + np.array(levels)) / 2
    tol = 4 * sigma * np.sqrt(p * (1 - p) / n) / stats.norm.pdf(z) / z
    assert (np.abs(f - expected) < tol[:, None]).all()
    # one symmetric factor would put both bounds at the same distance: far off here
    assert (f[:, 1] - f[:, 0] > 0.5).all()


def test_few_series_shrink_the_factors_toward_one():
    rng = np.random.default_rng(5)
    n = 2_000
    a = 3.0 * rng.standard_normal((n, 1))
    sc = Scale(np.zeros(n, dtype=bool), np.zeros(n))
    val = _normal_intervals(n, [0.8])
    many = interval_factors(list(a), val, np.ones(n), sc, [0.8])
    # weights S / (S + 20): 2,000 series, then the same points as one series' windows
    raw = 1 + (many - 1) * (n + 20) / n
    one = interval_factors(list(a), val, np.ones(n), sc, [0.8], series=np.zeros(n, int))
    np.testing.assert_allclose(one, 1 + (raw - 1) / 21, rtol=1e-12)
    # and the raw factor is the normal's: 3 times the model's spread
    np.testing.assert_allclose(raw, 3.0, rtol=0.05)


def test_widen_keeps_the_levels_nested():
    mid = np.zeros((1, 1))
    q = np.array([[[-1.0, 1.0, -2.0, 2.0]]])
    sc = Scale(np.zeros(1, dtype=bool), np.zeros(1))
    # the 80 % bounds pushed beyond the 95 % ones: the 95 % interval grows to contain them
    _, out = widen((mid, q), np.array([[3.0, 2.5], [1.0, 1.0]]), np.ones(1), sc)
    assert out[0, 0].tolist() == [-3.0, 2.5, -3.0, 2.5]


def _seasonal(rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.arange(n)
    return 0.2 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi))


def test_auto_intervals_cover_heavy_tailed_series_within_binomial_tolerance():
    """300 seasonal series with Student-t (3 df) noise, whose normal intervals are off."""
    rng = np.random.default_rng(7)
    s, n, h = 300, 60, 12
    series, future = {}, []
    for i in range(s):
        y = 100 * np.exp(_seasonal(rng, n + h) + 0.05 * rng.standard_t(3, n + h))
        series[f"s{i:03d}"] = y[:n]
        future.append(y[n:])
    out = fc.forecast(frame(series), h=h, models="auto").sort("series_id", "date")
    y = np.concatenate(future)
    # binomial tolerance, counting each series once (its h points are not independent)
    for lv, nominal in (("80", 0.80), ("95", 0.95)):
        lo, hi = out[f"lo-{lv}"].to_numpy(), out[f"hi-{lv}"].to_numpy()
        tol = 3 * np.sqrt(nominal * (1 - nominal) / s)
        assert abs(np.mean((y >= lo) & (y <= hi)) - nominal) < tol
        # each tail holds about half of the misses
        tail = (1 - nominal) / 2
        for miss in (np.mean(y < lo), np.mean(y > hi)):
            assert abs(miss - tail) < 3 * np.sqrt(tail * (1 - tail) / s)


def test_a_recent_change_of_volatility_counts_as_its_share_of_the_history():
    """Documented: a series' width follows its models' error variance over its whole fit.

    Among 240 calm series (noise sd 0.05 on the log scale), 20 series get 4 times the noise
    in their last 24 of 72 months and 20 throughout; the calibration is one pair of factors
    for the batch, so the recent change widens those series' intervals by its share of the
    variance (about sqrt((48 * 0.05² + 24 * 0.2²) / 72) / 0.05 = 2.4 times), not to the
    width of series that were always that noisy.
    """
    rng = np.random.default_rng(3)
    n, h = 72, 12
    series, kind = {}, {}
    for i in range(240):
        k = "recent" if i < 20 else "always" if i < 40 else "calm"
        sd = np.full(n, 0.05)
        if k == "recent":
            sd[-24:] = 0.2
        elif k == "always":
            sd[:] = 0.2
        series[f"s{i:03d}"] = 100 * np.exp(_seasonal(rng, n) + sd * rng.standard_normal(n))
        kind[f"s{i:03d}"] = k
    out = fc.forecast(frame(series), h=h, models="auto")
    width = {k: [] for k in ("calm", "recent", "always")}
    for (sid,), g in out.group_by("series_id"):
        w = np.log(g["hi-80"].to_numpy() / g["lo-80"].to_numpy())
        width[kind[str(sid)]].append(np.median(w))
    calm, recent, always = (np.median(width[k]) for k in ("calm", "recent", "always"))
    assert 1.5 < recent / calm < 3.5
    assert recent / always < 0.85


@pytest.mark.parametrize("h", [1, 2, 7])
def test_calibration_holdouts_add_a_later_origin(h):
    opt = fc.engine.build_options(h, 12, [80.0], "auto", ("theta",), "select", 2, 3)
    assert opt.holdouts() == (h + 3, h)
    assert opt.calibration_holdouts() == ((h + 3, h, h // 2) if h // 2 else (h + 3, h))


def test_the_later_origin_updates_the_models_of_the_validation_origin(monkeypatch):
    """Every kernel forecasts the later origin (h // 2), but only the final fit and the
    validation window choose their models (``refit``); for ets and arima that makes the later
    origin's forecasts differ from a refit's (the kernel tests check them against the models'
    recursions)."""
    calls = []
    real = fc.engine.run_kernel

    def spy(name, ys, h, m, probs, transform, holdouts=(0,), refit=None):
        calls.append((name, tuple(holdouts), None if refit is None else tuple(refit)))
        return real(name, ys, h, m, probs, transform, holdouts, refit)

    monkeypatch.setattr(fc.engine, "run_kernel", spy)
    rng = np.random.default_rng(5)
    series = {
        f"s{i}": 100 * np.exp(_seasonal(rng, 48) + 0.05 * rng.standard_normal(48)) for i in range(6)
    }
    fc.forecast(frame(series), h=6, models="auto", n_jobs=1)
    assert {c[0] for c in calls} == {"theta", "ets", "arima", "seasonal_naive"}
    for _, holdouts, refit in calls:
        assert holdouts == (0, 3, 6) and refit == (0, 6)
    ys = list(series.values())
    probs = np.array([0.1, 0.9])
    for name in ("ets", "arima"):
        _, later, _ = real(name, ys, 6, 12, probs, "auto", (0, 3, 6), (0, 6))
        _, refitted, _ = real(name, ys, 6, 12, probs, "auto", (0, 3, 6))
        # the refresh is a different forecast from a refit (else this test tells nothing)
        assert not np.allclose(later[0], refitted[0])


@pytest.mark.parametrize("transform", ["auto", "none"])
def test_widened_intervals_of_non_negative_series_stay_non_negative(transform):
    # intermittent counts: the calibration widens lower bounds that sit at or near 0
    rng = np.random.default_rng(1)
    counts = {f"s{i}": (rng.random(24) < 0.5) * rng.integers(1, 9, 24) * 1.0 for i in range(30)}
    out = fc.forecast(frame(counts), h=6, transform=transform)
    assert out.select(pl.min_horizontal("mean", "lo-80", "lo-95").min()).item() >= 0.0
    assert (out["lo-95"] <= out["lo-80"]).all() and (out["lo-80"] <= out["mean"]).all()


def test_a_candidate_left_out_takes_no_part_even_where_it_overflowed():
    from forecasting.auto import combine_forecasts

    sc = Scale(np.array([True, False]), np.zeros(2))
    scale = np.array([2.0, 3.0])
    good = (np.array([[4.0], [-1.0]]), np.array([[[2.0, 8.0]], [[-5.0, 3.0]]]))
    blown = (np.array([[np.inf], [np.inf]]), np.full((2, 1, 2), np.inf))
    weights = np.array([[1.0, 0.0], [1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning on the way
        mean, q = combine_forecasts([good, blown], weights, scale, sc)
    np.testing.assert_allclose(mean, good[0], rtol=1e-12)
    np.testing.assert_allclose(q, good[1], rtol=1e-12)


@pytest.mark.parametrize("c", [1e-3, 7.3e4])
def test_series_fitted_exactly_do_not_make_auto_depend_on_the_units(c):
    # a constant and a series of zeros are forecast exactly by every candidate: their
    # validation errors and interval widths are rounding, which must not choose the
    # candidates or the interval factors (the ties fell differently in other units)
    rng = np.random.default_rng(108)
    batch = {
        "short": rng.lognormal(-9, 3, 6),
        "constant": np.full(23, 1e-11),
        "zeros": np.zeros(60),
        "noisy": rng.lognormal(0, 1, 24),
    }
    s = frame(batch)
    one = fc.forecast(s, h=6, level=[50, 80, 95], transform="none")
    other = fc.forecast(
        s.with_columns(pl.col("value") * c), h=6, level=[50, 80, 95], transform="none"
    )
    for col in ("mean", "lo-50", "hi-50", "lo-80", "hi-80", "lo-95", "hi-95"):
        np.testing.assert_allclose(other[col].to_numpy(), c * one[col].to_numpy(), rtol=1e-9)


def test_a_candidate_equal_to_another_on_a_window_does_not_make_the_choice_turn_on_rounding():
    # two series with validation windows; on the first, candidate b forecasts as a does, so
    # {a} and {a, b} differ there by 0, which puts the one-standard-error rule on its edge:
    # the subset chosen must not depend on the units (it did, by the sign of the rounding)
    from forecasting.auto import validation_weights

    names = ["a", "b", "seasonal_naive"]
    actual = [np.array([1.0, 2.0, 0.5]), np.array([3.0, -1.0, 2.0])]
    a = np.array([[0.9, 1.6, 0.9], [2.5, -0.2, 1.5]])
    b = np.array([[0.9, 1.6, 0.9], [2.9, 0.3, 1.1]])
    snaive = np.array([[0.2, 1.2, 1.1], [2.0, 0.5, 1.0]])
    sc = Scale(np.zeros(2, bool), np.zeros(2))
    chosen = set()
    for c in np.geomspace(1e-6, 1e6, 61):
        val = {"a": c * a, "b": c * b, "seasonal_naive": c * snaive}
        w = validation_weights(names, [c * x for x in actual], val, c * np.ones(2), sc, "select")
        chosen.add(tuple(w[0] > 0))
    assert chosen == {(True, True, False)}  # within one standard error: the broader subset


def test_one_series_with_a_spike_in_its_last_periods_leaves_its_neighbours_intervals():
    # five seasonal series and one whose third-last month is 1,000 times its level: in so
    # small a batch the spike held the whole tail of the pooled scores and widened every
    # neighbour's 95 % interval about 13 times; with the spike's series set aside for the
    # tail, the neighbours keep (within 10 %) the intervals they get without it
    rng = np.random.default_rng(0)
    t = np.arange(48)
    season = 100 * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    base = {f"s{i}": np.roll(season, i) * rng.lognormal(0, 0.1, 48) for i in range(5)}
    spike = 100 * rng.lognormal(0, 0.1, 48)
    spike[-3] *= 1e3
    alone = fc.forecast(frame(base), h=12)
    out = fc.forecast(frame({**base, "spike": spike}), h=12)
    out = out.filter(pl.col("series_id") != "spike")
    for lv in ("80", "95"):
        ratio = (out[f"hi-{lv}"] - out[f"lo-{lv}"]) / (alone[f"hi-{lv}"] - alone[f"lo-{lv}"])
        assert ratio.min() > 0.9 and ratio.max() < 1.1, (lv, ratio.min(), ratio.max())
