"""How well predicted conversion probabilities fit: log loss, weighted AUC, cross-validation.

Rows are weighted by both outcomes, as everywhere in the models: ``pos`` conversions and
``neg`` non-conversions per row (a journey has one of them equal to 1, a unique path has its
totals). One log loss and one AUC serve every model that predicts conversions
(:class:`~attribution.models.data_driven.DataDrivenModel` and
:func:`~attribution.models.markov.choose_order`); folds are drawn over rows
(:func:`cv_predict`) or, for whole-number counts, by splitting every row's counts
(:func:`split_counts`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

__all__ = [
    "Predictor",
    "cv_log_loss",
    "cv_predict",
    "log_loss",
    "row_log_loss",
    "split_counts",
    "weighted_auc",
]

_EPS = 1e-12  # probabilities are clipped to [eps, 1 - eps] before taking logs


class Predictor(Protocol):
    """A fitted model: conversion probabilities of feature rows."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Conversion probability of each row of ``x``."""
        ...


def row_log_loss(prob: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Per row: its weighted negative log-likelihood (0 where ``prob`` is nan).

    ``−(pos · log p + neg · log(1 − p))`` with ``p`` clipped to ``[1e-12, 1 − 1e-12]``.
    """
    p = np.clip(np.nan_to_num(prob, nan=0.5), _EPS, 1 - _EPS)
    return np.where(np.isnan(prob), 0.0, -(pos * np.log(p) + neg * np.log1p(-p)))


def log_loss(prob: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Weighted log loss per unit weight (rows where ``prob`` is nan count 0).

    Examples
    --------
    >>> import numpy as np
    >>> round(log_loss(np.array([0.5, 0.5]), np.array([1.0, 0.0]), np.array([0.0, 3.0])), 6)
    0.693147
    """
    return float(row_log_loss(prob, pos, neg).sum() / max(pos.sum() + neg.sum(), 1e-12))


def weighted_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC with case weights; tied scores count one half.

    The probability that a conversion scores above a non-conversion (each pair weighted by
    the product of the rows' weights). ``nan`` without weight on both outcomes.

    Examples
    --------
    >>> import numpy as np
    >>> auc = weighted_auc(np.array([0.1, 0.4, 0.4, 0.8]), np.array([0.0, 1.0, 0.0, 2.0]),
    ...                    np.array([1.0, 0.0, 1.0, 0.0]))
    >>> auc == (1 + 0.5 + 2 * 2) / (3 * 2)  # won pairs, one tie, over all pairs
    True
    """
    if pos.sum() <= 0 or neg.sum() <= 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    s, wp, wn = score[order], pos[order], neg[order]
    # group ties
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    gp = np.add.reduceat(wp, starts)
    gn = np.add.reduceat(wn, starts)
    neg_below = np.cumsum(gn) - gn
    return float((gp * (neg_below + 0.5 * gn)).sum() / (gp.sum() * gn.sum()))


def cv_predict(
    x: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    fold: np.ndarray,
    folds: int,
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray], Predictor],
) -> np.ndarray:
    """Out-of-fold probabilities: ``fit`` on the other folds, predict each fold (nan if not).

    Parameters
    ----------
    x, pos, neg : ndarray
        Features and outcome weights of the rows.
    fold : ndarray of int
        Fold of each row, in ``0..folds-1``.
    folds : int
        Number of folds.
    fit : callable
        ``fit(x, pos, neg)`` returns a :class:`Predictor`. A fold whose other folds lack
        either outcome is not predicted (nan).
    """
    prob = np.full(x.shape[0], np.nan)
    for f in range(folds):
        train, test = fold != f, fold == f
        if pos[train].sum() <= 0 or neg[train].sum() <= 0 or not test.any():
            continue
        prob[test] = fit(x[train], pos[train], neg[train]).predict(x[test])
    return prob


def cv_log_loss(
    x: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    fold: np.ndarray,
    folds: int,
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray], Predictor],
) -> float:
    """Out-of-fold log loss per unit weight: :func:`log_loss` of :func:`cv_predict`."""
    return log_loss(cv_predict(x, pos, neg, fold, folds, fit), pos, neg)


def split_counts(counts: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Split integer counts into ``folds`` parts uniformly at random (multinomial).

    Each of a row's ``counts`` units falls in one fold with probability ``1 / folds``, so a
    path table's rows are split as the journeys they count would be.

    Returns
    -------
    ndarray of int64, shape (folds, n_rows)
        Summing over the folds gives ``counts``.

    Examples
    --------
    >>> import numpy as np
    >>> split_counts(np.array([5, 0, 7]), 3, np.random.default_rng(0)).sum(axis=0).tolist()
    [5, 0, 7]
    """
    out = np.zeros((folds, len(counts)), dtype=np.int64)
    left = counts.astype(np.int64)
    for f in range(folds - 1):
        out[f] = rng.binomial(left, 1.0 / (folds - f))
        left = left - out[f]
    out[folds - 1] = left
    return out
