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

import numpy as np
import scipy.sparse as sp

from attribution.models.features import Features
from attribution.models.glm import link_derivatives, stack_outcomes

__all__ = ["NO_PAIRS", "pair_exposure", "screen_pairs"]

#: No synergy pairs: an empty ``(0, 2)`` array of channel codes.
NO_PAIRS = np.zeros((0, 2), dtype=np.int64)
_PAIR_Z = 3.0  # score statistic a synergy pair needs to become a candidate
_PAIR_LEAST = 20.0  # conversions and non-conversions a pair's channels need together
_PAIR_CANDIDATES = 300  # pairs scored at most (a column each over the rows)


def pair_exposure(x: Features, features: Sequence[str], n_channels: int) -> Features:
    """Per row and channel, the exposure a synergy term multiplies: shape ``(n, n_channels)``.

    Read from the first feature block: ``1 − e^(−decay)`` (saturated exposure) for ``decay``,
    else presence (``1`` when the channel touched the row). A synergy term of channels
    ``a, b`` is ``g[:, a] * g[:, b]`` of this ``g``, 0 when either is absent.

    Examples
    --------
    >>> import numpy as np
    >>> pair_exposure(np.array([[2.0, 0.0, 1.0, 0.0]]), ["count", "log_count"], 2).tolist()
    [[1.0, 0.0]]
    """
    first = x[:, :n_channels]
    if sp.issparse(first):  # the same values on the stored entries (0 stays 0)
        g = sp.csr_matrix(first, copy=True)
        g.data = -np.expm1(-g.data) if features[0] == "decay" else (g.data > 0) * 1.0
        g.eliminate_zeros()
        return g
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

    Parameters
    ----------
    x : ndarray, shape (n_rows, len(features) * n_channels)
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
    k = len(coef) // len(features)
    acts = coef.reshape(len(features), k).max(axis=0) > 0
    g = pair_exposure(x, features, k)
    if sp.issparse(g):  # pairs that occur together only: a sparse k x k product
        seen = sp.csr_matrix(g, copy=True)
        seen.data[:] = 1.0
        together = sp.triu(seen.T @ sp.diags(pos) @ seen, k=1).tocsr()
        together.sort_indices()
        a = np.repeat(np.arange(k), np.diff(together.indptr))
        b = together.indices.astype(np.int64)
        both_pos_ab = together.data
        both_neg_ab = np.asarray((seen.T @ sp.diags(neg) @ seen).tocsr()[a, b]).ravel()
    else:
        both_pos = (g > 0).T.astype(np.float64) @ ((g > 0) * pos[:, None])
        both_neg = (g > 0).T.astype(np.float64) @ ((g > 0) * neg[:, None])
        a, b = np.triu_indices(k, 1)
        both_pos_ab, both_neg_ab = both_pos[a, b], both_neg[a, b]
    ok = (both_pos_ab >= least) & (both_neg_ab >= least) & acts[a] & acts[b]
    if max_pairs < 1 or not ok.any():
        return NO_PAIRS
    cand = np.column_stack([a[ok], b[ok]])
    if len(cand) > _PAIR_CANDIDATES:  # many channels: the pairs with most conversions together
        top = np.argsort(-both_pos_ab[ok], kind="stable")[:_PAIR_CANDIDATES]
        cand = cand[np.sort(top)]
    xs, y, w = stack_outcomes(x, pos, neg)
    gs = stack_outcomes(g, pos, neg)[0]  # the exposures of the same stacked rows
    if sp.issparse(gs):
        gs = sp.csc_matrix(gs)
        z = gs[:, cand[:, 0]].multiply(gs[:, cand[:, 1]]).toarray()
    else:
        z = gs[:, cand[:, 0]] * gs[:, cand[:, 1]]
    eta = intercept + xs @ coef
    d1, d2 = link_derivatives(eta, y, link)
    score = -(z.T @ (w * d1))
    active = np.flatnonzero(coef > 0)
    wd2 = w * d2
    i_zz = (z * z * wd2[:, None]).sum(axis=0)
    if sp.issparse(xs):
        base_s = sp.hstack([np.ones((xs.shape[0], 1)), xs[:, active]], format="csr")
        i_bb = (base_s.T @ sp.diags(wd2) @ base_s).toarray()
        i_zb = np.asarray(base_s.T @ (z * wd2[:, None])).T
        try:
            solved = np.linalg.solve(i_bb + 1e-12 * np.eye(len(i_bb)), i_zb.T)
        except np.linalg.LinAlgError:  # pragma: no cover - singular
            solved = np.linalg.lstsq(i_bb, i_zb.T, rcond=None)[0]
    else:
        base = np.hstack([np.ones((len(xs), 1)), xs[:, active]])
        i_bb = (base * wd2[:, None]).T @ base
        i_zb = (z * wd2[:, None]).T @ base
        solved = np.linalg.lstsq(i_bb, i_zb.T, rcond=None)[0]
    explained = np.einsum("ij,ij->i", i_zb, solved.T)
    var = np.maximum(i_zz - explained, 0.0)
    stat = np.divide(score, np.sqrt(var), out=np.zeros_like(score), where=var > 1e-12)
    # z_min, or a Bonferroni bound when many pairs are scored (5 % chance of any by noise)
    from scipy.special import ndtri

    bound = max(z_min, float(ndtri(1.0 - 0.05 / len(cand))))
    order = np.argsort(-stat, kind="stable")
    keep = order[stat[order] > bound][:max_pairs]
    return cand[np.sort(keep)]
