"""Tests of the synergy screen (score test of channel pairs) and the exposure it multiplies."""

from __future__ import annotations

import numpy as np

from attribution.models.glm import fit_linear
from attribution.models.synergy import pair_exposure, screen_pairs


def _screen(x: np.ndarray, y: np.ndarray, k: int) -> list[list[int]]:
    b0, coef = fit_linear(x, y, 1 - y, 1e-4, "logistic")
    pairs = screen_pairs(
        x, y, 1 - y, link="logistic", intercept=b0, coef=coef, features=("count",), max_pairs=10
    )
    assert pairs.shape[1] == 2 and len(coef) == k
    return pairs.tolist()


def test_screen_finds_one_planted_pair_among_many_channels(rng) -> None:
    # 40 channels (780 pairs, 300 scored): only channels 3 and 17 work better together
    k, n = 40, 20_000
    x = (rng.random((n, k)) < 0.15).astype(float)
    eta = -3.0 + x @ np.full(k, 0.3) + 1.0 * x[:, 3] * x[:, 17]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    assert _screen(x, y, k) == [[3, 17]]
    y0 = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + x @ np.full(k, 0.3))))).astype(float)
    assert _screen(x, y0, k) == []


def test_pair_exposure_is_presence_or_saturated_decay() -> None:
    x = np.array([[0.0, 2.0, 0.0, 1.1], [3.0, 0.0, 1.4, 0.0]])
    assert pair_exposure(x, ("count", "log_count"), 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    np.testing.assert_allclose(pair_exposure(x, ("decay",), 4), 1 - np.exp(-x), rtol=1e-15)
