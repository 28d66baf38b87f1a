"""Tests of the data-driven model's discrete-time hazard (logs cut at conversion)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.datasets.scenarios import scenario
from attribution.journeys import Sequences
from attribution.models.data_driven import DataDrivenModel
from attribution.models.hazard import hazard_features, interval_samples, journey_spans

_DAY = 86_400_000_000  # µs


def _random_seq(rng: np.random.Generator, n: int = 40, k: int = 3) -> Sequences:
    lengths = rng.integers(0, 6, size=n)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    conv = (rng.random(n) < 0.4).astype(np.float64)
    ref = rng.integers(20, 40, size=n) * _DAY + rng.integers(0, _DAY, size=n)
    times = []
    for r in range(n):  # touches before the end, in time order
        times.append(np.sort(ref[r] - rng.integers(0, 15 * _DAY, size=lengths[r]))[::1])
    return Sequences(
        tuple("abc"[:k]),
        indptr,
        rng.integers(0, k, size=int(lengths.sum())).astype(np.int32),
        conv,
        conv * 10,
        1.0 - conv,
        touch_time=np.concatenate(times).astype(np.int64),
        ref_time=ref.astype(np.int64),
    )


def test_features_match_brute_force(rng) -> None:
    seq = _random_seq(rng)
    row = rng.integers(0, seq.n_rows, size=300)
    tau = rng.integers(0, 16, size=300)
    got = hazard_features(seq, row, tau, 3.0)
    want = np.zeros_like(got)
    for s in range(len(row)):
        r = row[s]
        for j in range(seq.indptr[r], seq.indptr[r + 1]):
            end = seq.ref_time[r] if seq.conversions[r] > 0 else seq.ref_time.max()
            gap = (end - seq.touch_time[j]) / _DAY - tau[s]
            if gap >= 0:
                want[s, seq.codes[j]] += 2.0 ** (-gap / 3.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_samples_weigh_up_to_every_interval(rng) -> None:
    seq = _random_seq(rng)
    rows = np.flatnonzero(seq.lengths > 0)
    row, tau, pos, neg = interval_samples(seq, rows, 3, rng)
    for r in rows:
        end = seq.ref_time[r] if seq.conversions[r] > 0 else seq.ref_time.max()
        gaps = (end - seq.touch_time[seq.indptr[r] : seq.indptr[r + 1]]) / _DAY
        d = int(np.floor(gaps.max())) + 1  # intervals 0 .. d-1
        mine = row == r
        converted = seq.conversions[r] > 0
        # one event sample at interval 0 for a converter, none otherwise
        assert pos[mine].sum() == seq.conversions[r]
        if converted:
            assert ((tau[mine] == 0) == (pos[mine] > 0)).all()
        # the non-event weights add up to the number of non-event intervals, exactly
        assert neg[mine].sum() == pytest.approx(d - 1 if converted else d)
        lo = 1 if converted else 0
        assert ((tau[mine][pos[mine] == 0] >= lo) & (tau[mine][pos[mine] == 0] < d)).all()


def test_spans_match_brute_force(rng) -> None:
    seq = _random_seq(rng)
    spans = {True: [], False: []}
    for r in range(seq.n_rows):
        if seq.lengths[r] == 0:
            continue
        first = seq.touch_time[seq.indptr[r] : seq.indptr[r + 1]].min()
        spans[bool(seq.conversions[r] > 0)].append((seq.ref_time[r] - first) / _DAY)
    assert journey_spans(seq) == (
        pytest.approx(np.median(spans[True])),
        pytest.approx(np.median(spans[False])),
    )


def _hazard_log(n_users: int, seed: int, beta: tuple[float, ...]) -> pl.DataFrame:
    """A logistic daily hazard on decayed exposure (half-life 7 d); users stop at conversion.

    Touches of day ``d`` come at ``d + 0``, the conversion check at ``d + 0.5``, so the
    exposure at the check is ``Σ 2 ** (-(d + 0.5 - t_j) / 7)`` over touches up to day ``d``.
    """
    rng = np.random.default_rng(seed)
    days, rates = 40, np.array([0.3, 0.2, 0.25])
    touches = rng.poisson(rates[None, None, :], size=(n_users, days, 3))
    decay = 2.0 ** (-np.arange(days)[:, None] / 7.0)  # lag 0.. days-1
    expo = np.zeros((n_users, days, 3))
    for d in range(days):  # exposure at d + 0.5 from touches at days <= d
        expo[:, d] = np.einsum("udc,d->uc", touches[:, : d + 1], decay[: d + 1, 0][::-1])
    expo *= 2.0 ** (-0.5 / 7.0)
    hazard = 1.0 / (1.0 + np.exp(-(-6.0 + expo @ np.asarray(beta))))
    fires = rng.random((n_users, days)) < hazard
    conv_day = np.where(fires.any(axis=1), fires.argmax(axis=1), days)
    u, d, c = np.nonzero(touches)
    keep = d <= np.minimum(conv_day[u], days - 1)
    u, d, c = np.repeat(u[keep], touches[u[keep], d[keep], c[keep]]), None, None
    uu, dd, cc = np.nonzero(touches)
    mask = dd <= np.minimum(conv_day[uu], days - 1)
    counts = touches[uu[mask], dd[mask], cc[mask]]
    t_user = np.repeat(uu[mask], counts)
    t_day = np.repeat(dd[mask], counts)
    t_chan = np.repeat(cc[mask], counts)
    start = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp() * 1e6)
    buyers = np.flatnonzero(conv_day < days)
    return pl.DataFrame(
        {
            "user_id": np.concatenate([t_user, buyers]),
            "timestamp": np.concatenate(
                [start + t_day * _DAY, start + conv_day[buyers] * _DAY + _DAY // 2]
            ),
            "channel": [["a", "b", "z"][i] for i in t_chan] + [None] * len(buyers),
            "event": ["touch"] * len(t_user) + ["conversion"] * len(buyers),
            "revenue": np.concatenate([np.zeros(len(t_user)), np.full(len(buyers), 50.0)]),
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


@pytest.mark.slow
def test_hazard_recovers_effects_where_the_journey_model_cannot() -> None:
    beta = (0.3, 0.15, 0.0)
    journeys = at.build_journeys(_hazard_log(20_000, 3, beta))
    seq = journeys.sequences()
    model = DataDrivenModel(alphas=[1e-7]).fit(journeys)
    assert model.time_model_ == "hazard"  # converters' journeys are the shorter ones
    coef = dict(zip(model.coef_["channel"], model.coef_["coefficient"], strict=True))
    assert coef["a"] == pytest.approx(0.3, abs=0.05)
    assert coef["b"] == pytest.approx(0.15, abs=0.05)
    assert coef["z"] < 0.03
    assert model.intercept_ == pytest.approx(-6.0, abs=0.25)
    # the journey-level model misreads the cut: converters have fewer touches, so it finds
    # (much) smaller effects and leaves more to the baseline
    journey = DataDrivenModel(time_model="journey").fit(journeys)
    res_h, res_j = model.credit(seq), journey.credit(seq)
    assert res_h.extra_rows[0][1] < res_j.extra_rows[0][1]
    z = list(seq.channels).index("z")
    assert res_h.conversions[z] <= 0.05 * journeys.n_conversions


def test_auto_keeps_the_journey_model_on_journey_level_logs() -> None:
    sim = scenario("no_confounding", 3_000, seed=4)
    model = DataDrivenModel().fit(at.build_journeys(sim.events))
    diag = model.diagnostics_.row(0, named=True)
    assert model.time_model_ == "journey"
    assert diag["span_converting_days"] >= diag["span_non_converting_days"]


def test_hazard_credit_is_complete_and_errors_are_clear() -> None:
    journeys = at.build_journeys(_hazard_log(3_000, 1, (0.3, 0.1, 0.0)))
    res = at.attribute(journeys, "data_driven", time_model="hazard")
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)
    assert res.tables["diagnostics"]["time_model"][0] == "hazard"
    assert res.tables["model_selection"]["estimator"].unique().to_list() == ["hazard"]
    with pytest.raises(at.ModelError, match="time_model must be"):
        at.attribute(journeys, "data_driven", time_model="cox")
    with pytest.raises(at.ModelError, match="time_model='hazard' needs touch times"):
        at.attribute(journeys.to_paths(), "data_driven", time_model="hazard")
