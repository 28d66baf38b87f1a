"""Synergy terms of channel pairs: the exposure they multiply and the score-test screen.

Two channels may work better together than apart (search after a video ad). A linear
conversion model then gets a term ``γ_ab · e_a · e_b`` for such a pair, ``e`` the channel's
exposure (:func:`pair_exposure`), with ``γ ≥ 0``. :func:`screen_pairs` proposes the pairs the
data ask for by a Rao score test against the fitted model without synergies; the caller keeps
them only when they also improve the out-of-fold log loss
(:class:`~attribution.models.data_driven.DataDrivenModel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from attribution.models.features import Features, is_sparse
from attribution.models.glm import link_derivatives, stack_outcomes

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["NO_PAIRS", "pair_exposure", "screen_pairs"]

#: No synergy pairs: an empty ``(0, 2)`` array of channel codes.
NO_PAIRS = np.zeros((0, 2), dtype=np.int64)
_PAIR_Z = 3.0  # score statistic a synergy pair needs to become a candidate
_PAIR_LEAST = 20.0  # conversions and non-conversions a pair's channels need together
_PAIR_CANDIDATES = 300  # pairs scored at most (a column each over the rows)
_PROJECT_COLUMNS = 2_000  # sparse features: main effects a score is adjusted for, at most


def pair_exposure(x: Features, features: Sequence[str], n_channels: int) -> Features:
    """Per row and channel, the exposure a synergy term multiplies: shape ``(n, n_channels)``.

    Read from the first feature block: ``1 − e^(−decay)`` (saturated exposure) for ``decay``,
    else presence (``1`` when the channel touched the row). A synergy term of channels
    ``a, b`` is ``g[:, a] * g[:, b]`` of this ``g``, 0 when either is absent. A CSR ``x``
    gives a CSR ``g``.

    Examples
    --------
    >>> import numpy as np
    >>> pair_exposure(np.array([[2.0, 0.0, 1.0, 0.0]]), ["count", "log_count"], 2).tolist()
    [[1.0, 0.0]]
    """
    if is_sparse(x):
        import scipy.sparse as sp

        g = sp.csr_matrix(x[:, :n_channels], copy=True)
        g.data = -np.expm1(-g.data) if features[0] == "decay" else (g.data > 0).astype(np.float64)
        return g
    first = x[:, :n_channels]
    if features[0] == "decay":
        return np.asarray(-np.expm1(-first))
    return (first > 0).astype(np.float64)


def screen_pairs(
    x: Features,
    pos: np.ndarray,
    neg: np.ndarray,
    *,
    link: str,
    intercept: float,
    coef: np.ndarray,
    features: Sequence[str],
    max_pairs: int,
    z_min: float = _PAIR_Z,
    least: float = _PAIR_LEAST,
) -> np.ndarray:
    """Channel pairs whose synergy term the data ask for, in code order: ``(n, 2)`` codes.

    A Rao score test of each candidate pair's coefficient at ``0``, against the fitted
    model without synergies: the score ``U = Σ w (y − p) ∂η`` (the log-likelihood's slope in
    the pair's coefficient) over its efficient information (the pair column's information
    less what the fitted intercept and coefficients explain). Pairs with ``U / √V`` above
    ``z_min`` and above the Bonferroni bound for the number of pairs scored (one in twenty
    screens of pairs without synergy proposes any) are kept, at most ``max_pairs``
    (synergy, not substitution: coefficients are non-negative). Candidates are pairs of
    channels that each have an effect of their own (a positive coefficient: a synergy
    amplifies effects, and a channel without one is not given credit through a partner) and
    that touch rows with at least ``least`` conversions and ``least`` non-conversions
    together; with many channels, the 300 pairs with the most conversions together.

    Sparse (CSR) features give the same statistics; with more than 2,000 active coefficients,
    the information a pair's score is adjusted for is that of the intercept and of the
    channels of the candidate pairs only (a larger variance, so a smaller statistic: the
    screen proposes fewer pairs, never more).

    Parameters
    ----------
    x : ndarray or csr_matrix, shape (n_rows, len(features) * n_channels)
        Per-channel features of the rows (:func:`~attribution.models.features.journey_features`).
    pos, neg : ndarray, shape (n_rows,)
        Conversion and non-conversion weights of the rows.
    link : {"logistic", "noisy_or"}
        Link of the fitted model (:mod:`attribution.models.glm`).
    intercept : float
        Its intercept.
    coef : ndarray, shape (len(features) * n_channels,)
        Its coefficients (no synergy terms).
    features : sequence of str
        The per-channel features of ``x``, in block order.
    max_pairs : int
        At most this many pairs are returned.
    z_min, least : float
        Smallest score statistic, and conversions and non-conversions a pair needs together.
    """
    scores = _sparse_scores if is_sparse(x) else _dense_scores
    found = scores(x, pos, neg, link, intercept, coef, features, max_pairs, least)
    if found is None:
        return NO_PAIRS
    cand, stat = found
    # z_min, or a Bonferroni bound when many pairs are scored (5 % chance of any by noise)
    from scipy.special import ndtri

    bound = max(z_min, float(ndtri(1.0 - 0.05 / len(cand))))
    order = np.argsort(-stat, kind="stable")
    keep = order[stat[order] > bound][:max_pairs]
    return cand[np.sort(keep)]


def _dense_scores(
    x: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    link: str,
    intercept: float,
    coef: np.ndarray,
    features: Sequence[str],
    max_pairs: int,
    least: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Candidate pairs and their score statistics, dense features (None: no candidate)."""
    k = len(coef) // len(features)
    acts = coef.reshape(len(features), k).max(axis=0) > 0
    g = pair_exposure(x, features, k)
    both_pos = (g > 0).T.astype(np.float64) @ ((g > 0) * pos[:, None])
    both_neg = (g > 0).T.astype(np.float64) @ ((g > 0) * neg[:, None])
    a, b = np.triu_indices(k, 1)
    ok = (both_pos[a, b] >= least) & (both_neg[a, b] >= least) & acts[a] & acts[b]
    if max_pairs < 1 or not ok.any():
        return None
    cand = np.column_stack([a[ok], b[ok]])
    if len(cand) > _PAIR_CANDIDATES:  # many channels: the pairs with most conversions together
        top = np.argsort(-both_pos[cand[:, 0], cand[:, 1]], kind="stable")[:_PAIR_CANDIDATES]
        cand = cand[np.sort(top)]
    xs, y, w = stack_outcomes(x, pos, neg)
    gs = stack_outcomes(g, pos, neg)[0]  # the exposures of the same stacked rows
    z = gs[:, cand[:, 0]] * gs[:, cand[:, 1]]
    eta = intercept + xs @ coef
    d1, d2 = link_derivatives(eta, y, link)
    score = -(z.T @ (w * d1))
    active = np.flatnonzero(coef > 0)
    base = np.hstack([np.ones((len(xs), 1)), xs[:, active]])
    wd2 = w * d2
    i_bb = (base * wd2[:, None]).T @ base
    i_zb = (z * wd2[:, None]).T @ base
    i_zz = (z * z * wd2[:, None]).sum(axis=0)
    explained = np.einsum("ij,ij->i", i_zb, np.linalg.lstsq(i_bb, i_zb.T, rcond=None)[0].T)
    var = np.maximum(i_zz - explained, 0.0)
    stat = np.divide(score, np.sqrt(var), out=np.zeros_like(score), where=var > 1e-12)
    return cand, stat


def _sparse_scores(
    x: sp.csr_matrix,
    pos: np.ndarray,
    neg: np.ndarray,
    link: str,
    intercept: float,
    coef: np.ndarray,
    features: Sequence[str],
    max_pairs: int,
    least: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_dense_scores` of CSR features: no ``rows × channels`` or ``channels²`` array."""
    import scipy.sparse as sp

    x = sp.csr_matrix(x)
    k = len(coef) // len(features)
    acts = coef.reshape(len(features), k).max(axis=0) > 0
    g = sp.csr_matrix(pair_exposure(x, features, k))
    seen = g.copy()
    seen.data = (seen.data > 0).astype(np.float64)
    both_pos = sp.triu(seen.T @ sp.diags(pos) @ seen, 1).tocoo()
    both_neg = sp.csr_matrix(seen.T @ sp.diags(neg) @ seen)
    a, b = both_pos.row.astype(np.int64), both_pos.col.astype(np.int64)
    joint_pos = both_pos.data
    joint_neg = np.asarray(both_neg[a, b]).ravel() if len(a) else np.zeros(0)
    ok = (joint_pos >= least) & (joint_neg >= least) & acts[a] & acts[b]
    if max_pairs < 1 or not ok.any():
        return None
    order = np.lexsort((b[ok], a[ok]))
    cand = np.column_stack([a[ok], b[ok]])[order]
    joint = joint_pos[ok][order]
    if len(cand) > _PAIR_CANDIDATES:  # many channels: the pairs with most conversions together
        top = np.argsort(-joint, kind="stable")[:_PAIR_CANDIDATES]
        cand = cand[np.sort(top)]
    xs, y, w = stack_outcomes(x, pos, neg)
    xs = sp.csr_matrix(xs)
    gs = sp.csc_matrix(stack_outcomes(g, pos, neg)[0])
    z = sp.csc_matrix(gs[:, cand[:, 0]].multiply(gs[:, cand[:, 1]]))
    eta = intercept + xs @ coef
    d1, d2 = link_derivatives(eta, y, link)
    score = -(z.T @ (w * d1))
    active = np.flatnonzero(coef > 0)
    if len(active) > _PROJECT_COLUMNS:  # the channels of the candidates only (docstring)
        mine = np.isin(active % k, cand)
        active = active[mine]
    n = xs.shape[0]
    base = sp.hstack([sp.csr_matrix(np.ones((n, 1))), xs[:, active]], format="csc")
    wd2 = w * d2
    weighted = sp.diags(wd2) @ base
    i_bb = (base.T @ weighted).toarray()
    i_zb = (z.T @ weighted).toarray()
    i_zz = np.asarray(z.multiply(z).T @ wd2).ravel()
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        ridge = 1e-12 * max(float(np.abs(np.diag(i_bb)).max()), 1e-300)
        factor = cho_factor(i_bb + ridge * np.eye(len(i_bb)), check_finite=False)
        solved = cho_solve(factor, i_zb.T, check_finite=False)
    except LinAlgError:  # pragma: no cover - a singular information matrix
        solved = np.linalg.lstsq(i_bb, i_zb.T, rcond=None)[0]
    explained = np.einsum("ij,ji->i", i_zb, solved)
    var = np.maximum(i_zz - explained, 0.0)
    stat = np.divide(score, np.sqrt(var), out=np.zeros_like(score), where=var > 1e-12)
    return cand, stat
