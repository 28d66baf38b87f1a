"""Tests of the shared scores: weighted AUC against brute force over pairs, log loss, folds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.models.scoring import (
    cv_predict,
    log_loss,
    row_log_loss,
    split_counts,
    weighted_auc,
)


def _pairwise_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Every (conversion, non-conversion) pair, weighted; a tie counts one half."""
    above = (score[:, None] > score[None, :]) + 0.5 * (score[:, None] == score[None, :])
    return float((pos[:, None] * neg[None, :] * above).sum() / (pos.sum() * neg.sum()))


@pytest.mark.parametrize("seed", range(6))
def test_weighted_auc_equals_brute_force_over_pairs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    score = rng.integers(0, 12, n) / 12.0  # many ties
    pos = rng.integers(0, 4, n) * rng.random(n)
    neg = rng.integers(0, 4, n) * rng.random(n)
    assert weighted_auc(score, pos, neg) == pytest.approx(
        _pairwise_auc(score, pos, neg), rel=1e-12, abs=1e-12
    )
    # journeys (one outcome each) give the textbook AUC
    y = rng.random(n) < 0.4
    from sklearn.metrics import roc_auc_score

    assert weighted_auc(score, y * 1.0, ~y * 1.0) == pytest.approx(
        roc_auc_score(y, score), rel=1e-12
    )


def test_weighted_auc_without_both_outcomes_is_nan() -> None:
    score = np.array([0.2, 0.4])
    assert np.isnan(weighted_auc(score, np.zeros(2), np.ones(2)))
    assert np.isnan(weighted_auc(score, np.ones(2), np.zeros(2)))


def test_log_loss_is_the_weighted_mean_negative_log_likelihood() -> None:
    prob = np.array([0.2, 0.7, np.nan, 1.0])
    pos = np.array([1.0, 3.0, 5.0, 2.0])
    neg = np.array([4.0, 1.0, 5.0, 0.0])
    rows = row_log_loss(prob, pos, neg)
    expected = [-(np.log(0.2) + 4 * np.log(0.8)), -(3 * np.log(0.7) + np.log(0.3)), 0.0]
    np.testing.assert_allclose(rows[:3], expected, rtol=1e-12)
    assert rows[3] == pytest.approx(-2 * np.log1p(-1e-12))  # clipped, finite
    assert log_loss(prob, pos, neg) == pytest.approx(rows.sum() / (pos + neg).sum(), rel=1e-15)


def test_cv_predict_leaves_out_each_fold() -> None:
    class Mean:
        def __init__(self, pos: np.ndarray, neg: np.ndarray) -> None:
            self.p = pos.sum() / (pos.sum() + neg.sum())

        def predict(self, x: np.ndarray) -> np.ndarray:
            return np.full(len(x), self.p)

    x = np.zeros((4, 1))
    pos, neg = np.array([1.0, 0.0, 3.0, 1.0]), np.array([1.0, 2.0, 1.0, 0.0])
    fold = np.array([0, 0, 1, 1])
    prob = cv_predict(x, pos, neg, fold, 2, lambda x, p, n: Mean(p, n))
    np.testing.assert_allclose(prob, [4 / 5, 4 / 5, 1 / 4, 1 / 4])
    # a fold whose training rows lack an outcome is not predicted
    prob = cv_predict(x, pos, np.array([1.0, 2.0, 0.0, 0.0]), fold, 2, lambda x, p, n: Mean(p, n))
    assert np.isnan(prob[:2]).all() and np.isfinite(prob[2:]).all()


def test_split_counts_partitions_every_row(rng) -> None:
    counts = rng.integers(0, 50, 200)
    parts = split_counts(counts, 5, rng)
    assert parts.shape == (5, 200) and (parts >= 0).all()
    np.testing.assert_array_equal(parts.sum(axis=0), counts)
    assert abs(parts.sum(axis=1) / counts.sum() - 0.2).max() < 0.02


def test_choose_order_scores_with_the_shared_auc_and_log_loss() -> None:
    # order 1 by hand: the held-out journeys of each fold scored by their last channel's rate
    rng = np.random.default_rng(3)
    paths = [" > ".join(rng.choice(list("abcd"), rng.integers(1, 4))) for _ in range(300)]
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": paths,
                "total_conversions": rng.integers(0, 4, 300),
                "total_null": rng.integers(0, 9, 300),
            }
        )
    )
    seq = pt.sequences()
    got = at.choose_order(pt, max_order=1, folds=3, seed=7).row(0, named=True)
    rng = np.random.default_rng(7)
    touched = seq.lengths > 0
    conv_f = split_counts(np.round(seq.conversions).astype(np.int64) * touched, 3, rng)
    null_f = split_counts(np.round(seq.nulls).astype(np.int64) * touched, 3, rng)
    last = seq.codes[seq.indptr[1:] - 1]
    losses, aucs = [], []
    for f in range(3):
        c_train, n_train = conv_f.sum(0) - conv_f[f], null_f.sum(0) - null_f[f]
        rate = c_train.sum() / (c_train.sum() + n_train.sum())
        c = np.bincount(last, weights=c_train)[last]
        n = np.bincount(last, weights=n_train)[last]
        p = np.clip((c + rate) / (c + n + 1.0), 1e-12, 1 - 1e-12)
        losses.append(log_loss(p, conv_f[f], null_f[f]))
        aucs.append(_pairwise_auc(p, conv_f[f] * 1.0, null_f[f] * 1.0))
    assert got["log_loss"] == pytest.approx(np.mean(losses), rel=1e-12)
    assert got["auc"] == pytest.approx(np.mean(aucs), rel=1e-9)
