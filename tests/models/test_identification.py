"""When the log does not identify data-driven credit: the IdentificationWarning and its figures."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.datasets import DEFAULT_CHANNELS, simulate
from attribution.datasets.scenarios import scenario


def _fit(journeys, **params) -> tuple[at.Attribution, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = at.attribute(journeys, "data_driven", **params)
    return res, [w for w in caught if issubclass(w.category, at.IdentificationWarning)]


def test_warning_class_is_public_and_a_user_warning() -> None:
    assert issubclass(at.IdentificationWarning, UserWarning)
    assert repr(at.IdentificationWarning) == "<class 'attribution.IdentificationWarning'>"
    assert "IdentificationWarning" in at.__all__


def test_a_small_log_warns_and_still_returns_credit_with_intervals() -> None:
    # about 80 conversions, as the public GA360 sample
    sim = simulate(700, seed=4)
    journeys = at.build_journeys(sim.events)
    res, caught = _fit(journeys)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "the log is small" in text and "between folds" in text
    assert caught[0].filename == __file__  # points at the caller, not the package
    diag = res.tables["diagnostics"].row(0, named=True)
    assert diag["identified"] is False and diag["warning"] in text
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions, rel=1e-9)
    iv = res.tables["intervals"]
    assert iv["channel"].to_list()[-1] == "(baseline)"
    assert (iv["lower"] <= iv["conversions"] + 1e-9).all()
    assert (iv["conversions"] <= iv["upper"] + 1e-9).all()
    assert (iv["sd"] > 0).any()


def test_channels_without_effect_are_not_better_than_no_channel() -> None:
    chans = tuple(replace(c, effect=0.0, intent_targeting=0.0) for c in DEFAULT_CHANNELS)
    sim = simulate(12_000, seed=2, channels=chans)
    journeys = at.build_journeys(sim.events)
    res, caught = _fit(journeys)
    diag = res.tables["diagnostics"].row(0, named=True)
    assert diag["cv_gain"] < 2 * diag["cv_gain_se"]
    assert len(caught) == 1 and "better (log loss) than no channel" in str(caught[0].message)


def test_a_large_unconfounded_log_is_identified() -> None:
    sim = scenario("no_confounding", 20_000, seed=1)
    journeys = at.build_journeys(sim.events)
    res, caught = _fit(journeys)
    assert caught == []
    diag = res.tables["diagnostics"].row(0, named=True)
    assert diag["identified"] is True and diag["warning"] is None
    assert diag["cv_gain"] > 5 * diag["cv_gain_se"]
    assert 0 <= diag["fold_instability"] < 0.25
    assert diag["lookback_days"] > 0 and 0 <= diag["lookback_instability"] < 0.5
    st = res.tables["stability"]
    assert st.columns == [
        "channel",
        "share",
        "fold_min",
        "fold_max",
        "recent_share",
        "lookback_share",
    ]
    assert st["share"].sum() == pytest.approx(1.0, abs=1e-9)
    assert (st["fold_min"] <= st["fold_max"] + 1e-12).all()
    assert "intervals" not in res.tables


def test_fold_instability_is_the_largest_total_move_of_a_fold_model() -> None:
    sim = scenario("short_journeys", 5_000, seed=3)
    journeys = at.build_journeys(sim.events)
    res, _ = _fit(journeys)
    st = res.tables["stability"]
    diag = res.tables["diagnostics"].row(0, named=True)
    # each fold's total move is at least its largest single move, at most the sum of them
    largest = float(
        np.maximum(
            (st["fold_max"] - st["share"]).abs().to_numpy(),
            (st["fold_min"] - st["share"]).abs().to_numpy(),
        ).max()
    )
    spread = float((st["fold_max"] - st["fold_min"]).sum()) + float(
        (st["share"] - st["fold_min"]).abs().sum()
    )
    assert largest - 1e-12 <= diag["fold_instability"] <= spread + 1e-12


def test_diagnose_false_skips_it_and_intervals_true_forces_them() -> None:
    sim = simulate(700, seed=4)
    journeys = at.build_journeys(sim.events)
    res, caught = _fit(journeys, diagnose=False)
    assert caught == [] and "stability" not in res.tables
    assert "identified" not in res.tables["diagnostics"].columns
    big = at.build_journeys(scenario("no_confounding", 6_000, seed=2).events)
    res, caught = _fit(big, intervals=True, interval_replicates=5)
    assert "intervals" in res.tables and res.tables["intervals"].height == len(
        res.channels.filter(pl.col("channel") != at.NO_TOUCH)
    )
    with pytest.raises(at.ModelError, match="interval_replicates must be an integer ≥ 2"):
        at.attribute(journeys, "data_driven", interval_replicates=1)
    with pytest.raises(at.ModelError, match="instability must be > 0"):
        at.attribute(journeys, "data_driven", instability=0.0)


@pytest.mark.slow
def test_bootstrap_spread_matches_the_spread_over_fresh_logs() -> None:
    """The intervals' standard deviation is that of credit over independent logs (± a lot)."""
    shares, sds = [], []
    for seed in range(6):
        sim = scenario("short_journeys", 4_000, seed=10 + seed)
        journeys = at.build_journeys(sim.events)
        res, _ = _fit(journeys, intervals=True, interval_replicates=20, interactions="none")
        total = journeys.n_conversions
        ch = res.tables["intervals"]
        shares.append(ch["conversions"].to_numpy() / total)
        sds.append(ch["sd"].to_numpy() / total)
    across = np.std(np.array(shares), axis=0, ddof=1)
    boot = np.mean(np.array(sds), axis=0)
    big = across > 0.005
    ratio = boot[big] / across[big]
    assert 0.4 < float(np.median(ratio)) < 2.5


def test_attribute_all_and_the_report_show_the_warning_beside_the_model() -> None:
    from attribution.reporting.build import build_report

    sim = simulate(700, seed=4)
    journeys = at.build_journeys(sim.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        table = at.attribute_all(journeys, models=["linear", "data_driven"], with_warnings=True)
        plain = at.attribute_all(journeys, models=["linear", "data_driven"])
        report = build_report(journeys, models=["linear", "data_driven"])
    assert plain.columns == ["model", "channel", "conversions", "revenue", "share"]
    assert table.drop("warning").equals(plain)
    by_model = table.group_by("model").agg(pl.col("warning").drop_nulls().n_unique())
    assert dict(by_model.iter_rows()) == {"linear": 0, "data_driven": 1}
    assert table.filter(pl.col("model") == "data_driven")["warning"][0].startswith(
        "the log is small"
    )
    assert report.tables["model_warnings"]["model"].to_list() == ["data_driven"]
    assert "data_driven (not identified)" in report.meta["models"]
    html = report.to_html()
    assert "data_driven (not identified)" in html and "data_driven warning" in html
    assert report.tables["credit"].columns == plain.columns
