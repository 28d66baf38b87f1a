"""Data-driven attribution: a fitted conversion model and counterfactual credit.

A conversion model is fitted on **all** journeys, converting and not: one row per journey (or
per unique path, weighted by its conversions and non-conversions), features built per channel
from the journey's touches, and a weighted logistic (or noisy-OR) regression with non-negative
coefficients (:mod:`attribution.models.glm`) or, on request, monotone gradient boosting
(scikit-learn). Feature set and regularisation are chosen by cross-validated log
loss over journeys. Each converting journey is then credited by the counterfactual contribution
of its channels under the fitted model:

- the worth of a set ``T`` of the journey's distinct channels is ``p(T)``, the predicted
  conversion probability with only the touches of the channels in ``T`` kept (the other
  channels' features set to zero, i.e. their touches removed);
- ``method="shapley"`` (default) gives channel ``c`` its exact Shapley value ``φ_c`` in that
  game, over all subsets of the journey's channels; ``method="removal"`` gives it
  ``p(all) − p(all without c)``, rescaled so that the channels share ``p(all) − p(∅)``;
- each conversion is split into ``φ_c / p(all)`` per channel and ``p(∅) / p(all)`` of
  **baseline**: the chance that the conversion would have happened without any marketing. If
  every journey's conversion is decided by one uniform draw compared with its probability (the
  simulator of :mod:`attribution.datasets`), ``p(∅) / p(all)`` is exactly the probability that
  the conversion survives removing all its touches, and ``(p(all) − p(all without c)) / p(all)``
  the probability that it is lost without ``c``.

So channel credits and the baseline sum to the conversions. ``Attribution.channels`` holds the
channels' credit, ``"(no touch)"`` for conversions without any touch (baseline by definition)
and a ``"(baseline)"`` row for the baseline of journeys with touches, so its rows sum to the
total as for every model; ``Attribution.tables["baseline"]`` repeats the ``"(baseline)"`` row.
Each touch of a channel gets an equal part of its channel's credit in the journey, so a
journey's touch credits sum to ``1 − baseline share`` (not to 1 as for path-based models).

Features (per channel ``c`` and journey; a channel's features are all 0 when it is absent):

- ``count``: number of touches; ``log_count``: ``log1p`` of it;
- ``decay``: ``Σ 2 ** (-Δt / half_life_days)`` over its touches, ``Δt`` the days from the touch
  to the conversion (to the last touch for a non-converting journey);
- ``recency``: ``2 ** (-Δt / half_life_days)`` of its most recent touch.

Feature sets (``features=``): ``"counts"``, ``"log_counts"``, ``"counts+log_counts"`` and, when
touch times are known, ``"decay"`` and ``"log_counts+recency"``; ``"auto"`` tries them all.

Synergies (``interactions="auto"``): two channels may work better together than apart (search
after a video ad). The linear models then get a term ``γ_ab · e_a · e_b`` for such a pair, ``e``
the channel's exposure (presence of its touches; ``1 − e^(−decay)`` for ``decay``), with
``γ ≥ 0``. Pairs are proposed by a score test against the model without synergies (statistic
above 3 and above the Bonferroni bound for the pairs scored, at most ``max_pairs``) and kept
only when they improve the out-of-fold log loss by more than two standard errors. Removing a
channel removes its synergies, so the Shapley values split each synergy between its two
channels and the removal effects (what a lift test measures) include it whole.

Time model (``time_model=``): the above is the *journey* model. When touches stop at the
conversion (converting journeys are the shorter ones, so a journey-level fit would see buyers
with fewer touches), ``"auto"`` fits a discrete-time *hazard* instead: one row per day a journey
was at risk (sampled), the ``decay`` exposure collected by that day as features, and each
conversion credited by the Shapley values of its channels on the hazard at the conversion
(:mod:`attribution.models.hazard`).

The pieces live beside this module: the features in :mod:`attribution.models.features`, the
Newton solver in :mod:`attribution.models.glm`, log loss, AUC and cross-validation in
:mod:`attribution.models.scoring`, the synergy screen in :mod:`attribution.models.synergy`, the
hazard's rows in :mod:`attribution.models.hazard` and the Shapley weights in
:func:`attribution.models.shapley.shapley_weights`; this module holds the model and its credit.

Assumptions, stated because the credit depends on them:

- *No unobserved confounding.* The model learns what predicts conversion. A channel that
  reaches people who were about to buy anyway (retargeting, brand search) looks effective, and
  no observational model can tell that apart from an effect. Lift tests can
  (:mod:`attribution.calibration`).
- *Touches do not lower the chance to convert*: coefficients are constrained to be ``≥ 0``
  (a channel whose fitted coefficient is negative is refitted at zero), and boosting is fitted
  with increasing monotone constraints, so every credit is ``≥ 0``.
- *Journeys without touches are not modelled*: a log only shows non-buyers who were touched, so
  rows without touches (all of them conversions) are left out of the fit and credited to
  ``"(no touch)"``; ``p(∅)`` is the fitted model's value with every feature at zero.
- *Exact Shapley up to* ``max_shapley_channels`` (12) distinct channels in a journey; longer
  journeys (rare) are credited by the removal rule.

References: Shao & Li (2011), "Data-driven multi-touch attribution models", KDD; Dalessandro,
Perlich, Hook, Stitelman, Raeder & Provost (2012), "Causally motivated attribution for online
advertising", ADKDD (Shapley credit over a fitted conversion model).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from attribution._base.errors import ModelError
from attribution.journeys import Journeys, PathTable, Sequences
from attribution.models.base import BASELINE, KernelOutput, credit_from_touches, register_model
from attribution.models.features import FEATURE_SETS, Features, group_rows, journey_features
from attribution.models.glm import LINKS, fit_linear, link_probability, stack_outcomes
from attribution.models.hazard import (
    at_risk_delta,
    hazard_features,
    interval_samples,
    journey_spans,
)
from attribution.models.scoring import (
    cv_log_loss,
    cv_predict,
    log_loss,
    row_log_loss,
    weighted_auc,
)
from attribution.models.shapley import shapley_weights
from attribution.models.synergy import NO_PAIRS, pair_exposure, screen_pairs

# BASELINE, FEATURE_SETS, journey_features and shapley_weights were defined here; they are
# still importable from this module, and live in base, features and shapley.
__all__ = ["DataDrivenModel", "data_driven"]

Estimator = Literal["logistic", "noisy_or", "boosting", "auto"]
TimeModel = Literal["auto", "journey", "hazard"]
Method = Literal["shapley", "removal"]
Returning = Literal["separate", "pool"]
Interactions = Literal["auto", "none"]

_DEFAULT_ALPHAS = (1e-6, 1e-4, 1e-2)
_PAIR_SE = 2.0  # standard errors by which synergies must improve the out-of-fold log loss
_CHUNK_CELLS = 4_000_000  # rows x subsets (x features) per block of counterfactuals
_SPARSE_CHANNELS = 200  # with more channels, features are sparse matrices (rows x channels)
_DENSE_CELLS = 50_000_000  # largest feature matrix made dense (boosting): 400 MB


# ----------------------------------------------------------------------------------------------
# counterfactual credit


def _one_blas_thread() -> Any:
    """Run BLAS on one thread.

    The matrices here are thin (few columns), and threads only contend (a 40k x 17 Gram matrix
    is 25x slower with threads on a busy 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _present_channels(counts: Features) -> tuple[np.ndarray, np.ndarray]:
    """Per row: number of distinct channels, and their codes left-aligned (padded with -1)."""
    if sp.issparse(counts):
        c = sp.csr_matrix(counts)
        c.eliminate_zeros()
        c.sort_indices()
        m = np.diff(c.indptr)
        width = int(m.max()) if len(m) else 0
        codes = np.full((len(m), width), -1, dtype=np.int64)
        slot = np.arange(len(c.indices)) - np.repeat(c.indptr[:-1], m)
        codes[np.repeat(np.arange(len(m)), m), slot] = c.indices
        return m, codes
    present = counts > 0
    m = present.sum(axis=1)
    width = int(m.max()) if len(m) else 0
    # stable sort puts present channels first, in code order
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]
    codes = np.where(np.arange(width)[None, :] < m[:, None], order, -1)
    return m, codes


def _values_at(x: Features, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``x[rows, cols]`` elementwise (index arrays of one shape), for arrays and CSR matrices."""
    if not sp.issparse(x):
        return np.asarray(x[rows, cols])
    x = sp.csr_matrix(x)
    x.sort_indices()
    width = x.shape[1]
    keys = np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(x.indptr)) * width
    keys += x.indices
    want = rows.astype(np.int64).ravel() * width + cols.ravel()
    pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    found = keys[pos] == want if len(keys) else np.zeros(len(want), dtype=bool)
    return np.where(found, x.data[pos] if len(keys) else 0.0, 0.0).reshape(rows.shape)


def _sparse(n_channels: int) -> bool:
    """Whether features are held sparse (many channels; see ``_SPARSE_CHANNELS``)."""
    return n_channels > _SPARSE_CHANNELS


def _dense_cells(x: Features, what: str) -> np.ndarray:
    """``x`` as an array, refusing one larger than ``_DENSE_CELLS`` before allocating it."""
    if not sp.issparse(x):
        return np.asarray(x)
    cells = x.shape[0] * x.shape[1]
    if cells > _DENSE_CELLS:
        raise ModelError(
            f"{what} needs a dense matrix of {x.shape[0]:,} rows × {x.shape[1]:,} features "
            f"({cells * 8 / 2**30:,.1f} GiB); the limit is {_DENSE_CELLS:,} cells. Use "
            "estimator='logistic' or 'noisy_or' (sparse), or group rare channels."
        )
    return np.asarray(sp.csr_matrix(x).toarray())


@dataclass(frozen=True)
class _Fitted:
    """A fitted conversion model: predicts from features, exposes per-channel blocks.

    Linear models may carry synergy terms: ``pairs`` (channel index pairs) with coefficients
    ``pair_coef`` on ``g_a * g_b`` (:func:`~attribution.models.synergy.pair_exposure`). They
    are computed from the per-channel features, so zeroing a channel's features removes its
    synergies too.
    """

    kind: str
    features: tuple[str, ...]
    n_channels: int
    intercept: float = 0.0
    coef: np.ndarray | None = None
    booster: Any = None
    pairs: np.ndarray = field(default_factory=lambda: NO_PAIRS)
    pair_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def probability(self, eta: np.ndarray) -> np.ndarray:
        """Conversion probability at linear predictor ``eta`` (linear models)."""
        return link_probability(eta, self.kind)

    def pair_terms(self, x: Features) -> Features:
        """Return the synergy columns of rows with per-channel features ``x``: ``(n, n_pairs)``."""
        g = pair_exposure(x, self.features, self.n_channels)
        if sp.issparse(g):
            g = sp.csc_matrix(g)
            return sp.csr_matrix(g[:, self.pairs[:, 0]].multiply(g[:, self.pairs[:, 1]]))
        return g[:, self.pairs[:, 0]] * g[:, self.pairs[:, 1]]

    def predict(self, x: Features) -> np.ndarray:
        if self.kind in LINKS:
            assert self.coef is not None
            eta = self.intercept + np.asarray(x @ self.coef)
            if len(self.pairs):
                eta = eta + np.asarray(self.pair_terms(x) @ self.pair_coef)
            return self.probability(eta)
        dense = _dense_cells(x, "Boosting")
        return np.asarray(self.booster.predict_proba(dense)[:, 1], dtype=np.float64)

    def pair_matrix(self) -> np.ndarray:
        """Symmetric ``(n_channels, n_channels)`` matrix of synergy coefficients."""
        k = self.n_channels
        g = np.zeros((k, k))
        g[self.pairs[:, 0], self.pairs[:, 1]] = self.pair_coef
        return g + g.T

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per row and channel: its part of the linear predictor (linear models only)."""
        assert self.coef is not None
        k = self.n_channels
        f = len(self.features)
        return (x * self.coef[None, :]).reshape(len(x), f, k).sum(axis=1)

    def channel_parts(self, x: Features, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions and synergy exposures of the channels ``codes`` (``(n, m)``) of rows.

        The same numbers as :meth:`contributions` and
        :func:`~attribution.models.synergy.pair_exposure` at those channels, read from the
        features directly (no ``(n, n_channels)`` array).
        """
        assert self.coef is not None
        k = self.n_channels
        rows = np.broadcast_to(np.arange(codes.shape[0])[:, None], codes.shape)
        if not sp.issparse(x):
            contrib = np.take_along_axis(self.contributions(x), codes, axis=1)
            g: np.ndarray = np.zeros(codes.shape)
            if len(self.pairs):
                g = np.take_along_axis(pair_exposure(x, self.features, k), codes, axis=1)
            return contrib, g
        blocks = [
            _values_at(x, rows, codes + f * k) * self.coef[codes + f * k]
            for f in range(len(self.features))
        ]
        contrib = np.sum(blocks, axis=0) if blocks else np.zeros(codes.shape)
        first = _values_at(x, rows, codes)
        g = -np.expm1(-first) if self.features[0] == "decay" else (first > 0) * 1.0
        return contrib, g

    def pair_values(self, codes: np.ndarray) -> np.ndarray:
        """Synergy coefficients of every pair of the channels ``codes`` (``(n, m, m)``)."""
        k = self.n_channels
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        table = sp.csr_matrix(
            (np.r_[self.pair_coef, self.pair_coef], (np.r_[a, b], np.r_[b, a])), shape=(k, k)
        )
        return _values_at(
            table,
            np.broadcast_to(codes[:, :, None], codes.shape + codes.shape[1:]),
            np.broadcast_to(codes[:, None, :], codes.shape + codes.shape[1:]),
        )


def _row_games(model: _Fitted, x: Features, codes: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """``p(T)`` for each row and each subset ``T`` of its channels ``codes`` (``(n, m)``).

    Row ``s`` of ``bits`` (``(n_subsets, m)``, 0/1) marks the channels of subset ``s``.
    """
    k = model.n_channels
    n, m = codes.shape
    if model.kind in LINKS:
        a, g = model.channel_parts(x, codes)  # (n, m) each
        eta = model.intercept + a @ bits.T
        if len(model.pairs) and m > 1:
            # synergy of the row's channels i, j: g_i g_j γ_ij; a subset gets ½ bᵀ G b
            gm = model.pair_values(codes) * g[:, :, None] * g[:, None, :]
            eta = eta + 0.5 * ((gm @ bits.T) * bits.T[None, :, :]).sum(axis=1)
        return model.probability(eta)
    # generic: zero the columns of the channels left out, predict every (row, subset)
    x = _dense_cells(x, "Boosting")
    p = x.shape[1]
    f = len(model.features)
    pos_of = np.full((n, k), m, dtype=np.int64)  # channel -> its place in the row (m = absent)
    np.put_along_axis(pos_of, codes, np.broadcast_to(np.arange(m), (n, m)), axis=1)
    col_bit = np.tile(pos_of, (1, f))  # (n, p)
    inside = np.hstack([bits, np.zeros((len(bits), 1))])  # an absent channel is never kept
    keep = np.moveaxis(inside[:, col_bit], 0, 1)  # (n, S, p)
    xs = (x[:, None, :] * keep).reshape(-1, p)
    return model.predict(xs).reshape(n, len(bits))


def _subset_bits(m: int, exact: bool) -> np.ndarray:
    """Return subsets of ``m`` channels as 0/1 rows.

    All ``2**m`` of them (bit ``j`` of the row number marks channel ``j``) when ``exact``, else
    the empty set, each "all but one" and all.
    """
    if exact:
        return ((np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
    return np.vstack([np.zeros(m), 1.0 - np.eye(m), np.ones(m)])


def _row_chunks(rows: np.ndarray, per_row: int) -> list[np.ndarray]:
    """``rows`` in blocks of about ``_CHUNK_CELLS / per_row`` rows."""
    step = max(1, _CHUNK_CELLS // max(per_row, 1))
    return [rows[lo : lo + step] for lo in range(0, len(rows), step)]


def _credit_rows(
    model: _Fitted,
    x: Features,
    counts: Features,
    method: Method,
    max_channels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per converting row: its channels, their credit shares, the baseline share and p(all).

    Returns ``codes`` (``(n, width)``, the row's distinct channels left-aligned, padded with
    -1), ``share`` (aligned with ``codes``), ``baseline`` and ``p_all``. Shares of a row
    (channels + baseline) sum to 1.
    """
    m_row, codes = _present_channels(counts)
    n = len(m_row)
    share = np.zeros(codes.shape)
    baseline = np.ones(n)
    p_all = np.zeros(n)
    p_feat = max(x.shape[1], 1)
    for m in np.unique(m_row):
        m = int(m)
        rows = np.flatnonzero(m_row == m)
        if m == 0:
            p_all[rows] = model.predict(x[rows])
            continue
        exact = method == "shapley" and m <= max_channels
        bits = _subset_bits(m, exact)
        weights = shapley_weights(m) if exact else None
        if model.kind in LINKS:
            per_row = len(bits) * (m if len(model.pairs) else 1)
        else:
            per_row = len(bits) * p_feat
        for r in _row_chunks(rows, per_row):
            c = codes[r, :m]
            v = _row_games(model, x[r], c, bits)
            p0, p1 = v[:, 0], v[:, -1]
            if weights is not None:
                phi = v @ weights
            else:
                phi = p1[:, None] - v[:, 1:-1]
                total = phi.sum(axis=1, keepdims=True)
                gap = (p1 - p0)[:, None]
                phi = np.divide(
                    phi * gap, total, out=np.zeros_like(phi), where=total > 0
                ) + np.where(total > 0, 0.0, gap / m)
            phi = np.maximum(phi, 0.0)  # monotone models give >= 0; clear rounding noise
            denom = np.maximum(p1, 1e-300)
            s = phi / denom[:, None]
            share[r, :m] = s
            baseline[r] = np.clip(1.0 - s.sum(axis=1), 0.0, 1.0)
            p_all[r] = p1
    return codes, share, baseline, p_all


def _touched_outcomes(seq: Sequences) -> tuple[float, float]:
    """Conversions and non-conversions of the rows with touches (the rows a model fits)."""
    touched = seq.lengths > 0
    return float(seq.conversions[touched].sum()), float(seq.nulls[touched].sum())


def _fittable(seq: Sequences, least: int) -> bool:
    """Whether the rows with touches hold ``least`` conversions and non-conversions."""
    return min(_touched_outcomes(seq)) >= least


# ----------------------------------------------------------------------------------------------
# the estimator


class DataDrivenModel:
    """Fitted conversion model with counterfactual (Shapley or removal) credit.

    Parameters
    ----------
    features : str or sequence of str
        A name of :data:`FEATURE_SETS`, several of them, or ``"auto"`` (every set the input
        supports); the set with the best cross-validated log loss is used.
    estimator : {"logistic", "boosting", "auto"}
        Weighted L2 logistic regression with non-negative coefficients, scikit-learn's
        ``HistGradientBoostingClassifier`` with increasing monotone constraints, or whichever
        of the two predicts better out of fold.
    alphas : sequence of float
        L2 penalties tried for the logistic regression (per journey: the objective is mean log
        loss plus ``alpha / 2 * ||coef||²``).
    folds : int
        Cross-validation folds, over journeys (rows).
    cv_rows : int
        At most this many rows (randomly drawn) are used for cross-validation; the chosen model
        is then refitted on every row.
    half_life_days : float
        Half-life of the ``decay`` and ``recency`` features (journey model).
    time_model : {"auto", "journey", "hazard"}
        ``"journey"``: one row per journey (above). ``"hazard"``: a discrete-time hazard, one
        row per day a journey was at risk (sampled), features the ``decay`` exposure collected
        by that day (half-life ``half_life_days``), penalty from ``alphas`` by cross-validated
        log loss; each conversion is credited by the Shapley value of its
        channels on the hazard at the conversion (:mod:`attribution.models.hazard`).
        ``"auto"`` (default) uses the hazard when converting journeys are *shorter* (median
        days from first touch to end) than non-converting ones: the sign that touches stop at
        the conversion rather than the conversion waiting for the journey's touches, which a
        journey-level model would misread. Needs touch times; a path table is journey-level.
    hazard_half_lives : sequence of float, optional
        Half-lives (days) for the hazard model to choose from by cross-validated log loss
        (default: ``half_life_days`` only). Measured on simulated logs, the best-predicting
        half-life is often a short one that credits channels without effect (6 % of
        conversions at 1 day against 0 % at 7 days), so a list is opt-in.
    hazard_samples : int
        Non-event days sampled per journey by the hazard model.
    method : {"shapley", "removal"}
        Counterfactual credit rule (module docstring).
    max_shapley_channels : int
        Journeys with more distinct channels are credited by the removal rule.
    returning : {"separate", "pool"}
        Journeys that follow an earlier conversion of the same user (returning customers,
        and the non-converting tail after a user's last purchase; :attr:`Journeys.returning`).
        ``"separate"`` (default) keeps them out of the model of first journeys: a tail after
        a purchase is not a failed attempt to win a customer, and returning customers buy at
        another base rate. They get their own model (chosen the same way) when they have at
        least ``min_returning`` conversions and as many non-conversions; otherwise their
        conversions are credited with the first-journey model. ``"pool"`` fits one model
        on every journey. Path tables do not know users, so they are always pooled.
    min_returning : int
        Conversions (and non-conversions) returning journeys need for a model of their own.
    interactions : {"auto", "none"}
        ``"auto"`` (default) adds synergy terms for channel pairs the data ask for (module
        docstring), linear models only; ``"none"`` keeps every channel's effect separate.
    max_pairs : int
        At most this many synergy pairs.
    seed : int
        Seed of the fold assignment and subsampling.

    Attributes
    ----------
    feature_set_ : str
        The feature set chosen.
    time_model_ : str
        ``"journey"`` or ``"hazard"``.
    half_life_ : float
        Half-life of the decayed features used (``half_life_days``, or the hazard's choice).
    estimator_ : str
        ``"logistic"``, ``"noisy_or"``, ``"boosting"`` or ``"hazard"`` (a logistic hazard).
    alpha_ : float or None
        Chosen penalty (logistic).
    intercept_ : float
        Logistic intercept (``nan`` for boosting).
    coef_ : DataFrame
        ``population, feature, channel, coefficient`` (logistic; empty for boosting); a
        synergy has ``feature="synergy"`` and ``channel="A × B"``.
    pairs_ : list of (str, str)
        The synergy pairs of the model.
    cv_results_ : DataFrame
        ``population, estimator, feature_set, half_life_days, alpha, pairs, cv_log_loss,
        selected``: every candidate tried (``pairs``: number of synergy terms).
    population_ : str
        The journeys this model was fitted on: ``"all"`` (pooled), ``"first"`` (journeys
        that are not a returning customer's) or ``"returning"``.
    returning_model_ : DataDrivenModel or None
        The returning customers' own model (``returning="separate"`` with enough of them).
    diagnostics_ : DataFrame
        One row: ``population``, ``n_rows`` fitted, ``n_unique_rows``, ``conversions``,
        ``non_conversions``, ``log_loss``, ``auc`` (in sample), ``cv_log_loss`` of the chosen model,
        ``null_log_loss`` (a constant rate), ``baseline_probability`` (``p(∅)``; per day for
        the hazard), ``time_model``, and the median spans (days from first touch to end) of
        converting and non-converting journeys (``span_converting_days``,
        ``span_non_converting_days``; null without times).

    Examples
    --------
    >>> from attribution.datasets import simulate
    >>> import attribution as at
    >>> journeys = at.build_journeys(simulate(3_000, seed=2).events)
    >>> model = DataDrivenModel(features="log_counts").fit(journeys)
    >>> model.coef_.columns
    ['population', 'feature', 'channel', 'coefficient']
    >>> bool((model.coef_["coefficient"] >= 0).all())
    True
    """

    def __init__(
        self,
        features: str | Sequence[str] = "auto",
        estimator: Estimator = "auto",
        *,
        alphas: Sequence[float] = _DEFAULT_ALPHAS,
        folds: int = 3,
        cv_rows: int = 50_000,
        half_life_days: float = 7.0,
        time_model: TimeModel = "auto",
        hazard_half_lives: Sequence[float] | None = None,
        hazard_samples: int = 4,
        method: Method = "shapley",
        max_shapley_channels: int = 12,
        returning: Returning = "separate",
        min_returning: int = 100,
        interactions: Interactions = "auto",
        max_pairs: int = 10,
        seed: int = 0,
    ) -> None:
        self.features = features
        self.estimator = estimator
        self.alphas = alphas
        self.folds = folds
        self.cv_rows = cv_rows
        self.half_life_days = half_life_days
        self.time_model = time_model
        self.hazard_half_lives = hazard_half_lives
        self.hazard_samples = hazard_samples
        self.method = method
        self.max_shapley_channels = max_shapley_channels
        self.returning = returning
        self.min_returning = min_returning
        self.interactions = interactions
        self.max_pairs = max_pairs
        self.seed = seed

    # -- fitting -------------------------------------------------------------------------------

    def _check(self, seq: Sequences) -> list[str]:
        if self.estimator not in ("logistic", "noisy_or", "boosting", "auto"):
            raise ModelError(
                "estimator must be 'logistic', 'noisy_or', 'boosting' or 'auto'; got "
                f"{self.estimator!r}."
            )
        if self.method not in ("shapley", "removal"):
            raise ModelError(f"method must be 'shapley' or 'removal'; got {self.method!r}.")
        if self.returning not in ("separate", "pool"):
            raise ModelError(f"returning must be 'separate' or 'pool'; got {self.returning!r}.")
        if self.interactions not in ("auto", "none"):
            raise ModelError(f"interactions must be 'auto' or 'none'; got {self.interactions!r}.")
        if not (isinstance(self.max_pairs, int) and self.max_pairs >= 0):
            raise ModelError(f"max_pairs must be an integer ≥ 0; got {self.max_pairs!r}.")
        if not (isinstance(self.min_returning, int) and self.min_returning >= 1):
            raise ModelError(f"min_returning must be an integer ≥ 1; got {self.min_returning!r}.")
        if not self.half_life_days > 0:
            raise ModelError(f"half_life_days must be > 0; got {self.half_life_days!r}.")
        if self.time_model not in ("auto", "journey", "hazard"):
            raise ModelError(
                f"time_model must be 'auto', 'journey' or 'hazard'; got {self.time_model!r}."
            )
        halves = self.hazard_half_lives
        if halves is not None and (not halves or any(not h > 0 for h in halves)):
            raise ModelError(f"hazard_half_lives must be positive numbers; got {halves!r}.")
        if not (isinstance(self.hazard_samples, int) and self.hazard_samples >= 1):
            raise ModelError(f"hazard_samples must be an integer ≥ 1; got {self.hazard_samples!r}.")
        if self.time_model == "hazard" and seq.delta_days is None:
            raise ModelError(
                "time_model='hazard' needs touch times, and a path table has none; build "
                "journeys from events or use time_model='journey'."
            )
        if self.folds < 2:
            raise ModelError(f"folds must be at least 2; got {self.folds!r}.")
        if not 1 <= self.max_shapley_channels <= 20:
            raise ModelError(
                f"max_shapley_channels must be in 1..20; got {self.max_shapley_channels!r}."
            )
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ModelError(f"alphas must be positive numbers; got {list(self.alphas)!r}.")
        has_times = seq.delta_days is not None
        if isinstance(self.features, str):
            names = (
                [n for n, (_, t) in FEATURE_SETS.items() if has_times or not t]
                if self.features == "auto"
                else [self.features]
            )
        else:
            names = list(self.features)
        for name in names:
            if name not in FEATURE_SETS:
                raise ModelError(
                    f"Unknown feature set {name!r}; expected 'auto' or one of "
                    f"{', '.join(FEATURE_SETS)}."
                )
            if FEATURE_SETS[name][1] and not has_times:
                raise ModelError(
                    f"Feature set {name!r} needs touch times, and a path table has none; "
                    "build journeys from events or use 'counts', 'log_counts' or "
                    "'counts+log_counts'."
                )
        pos, neg = _touched_outcomes(seq)
        if pos <= 0 or neg <= 0:
            which = "converting" if pos <= 0 else "non-converting"
            raise ModelError(
                f"data_driven fits a conversion model and needs both converting and "
                f"non-converting journeys with touches; there are no {which} ones "
                f"({pos:g} conversions, {neg:g} non-conversions). Keep non-converting "
                "journeys (build_journeys(non_converting='after_last'))."
            )
        return names

    def fit(self, data: Journeys | PathTable | Sequences) -> DataDrivenModel:
        """Fit the conversion model (feature set and penalty by cross-validation).

        Parameters
        ----------
        data : Journeys, PathTable or Sequences
            Journeys (with touch times), or a path table (time-free features only).

        Returns
        -------
        DataDrivenModel
            ``self``.
        """
        with _one_blas_thread():
            return self._fit(data)

    def _fit(self, data: Journeys | PathTable | Sequences) -> DataDrivenModel:
        seq = data if isinstance(data, Sequences) else data.sequences()
        self.population_ = "all"
        self.returning_model_ = None
        flag = seq.returning
        if self.returning == "separate" and flag is not None and flag.any():
            first, again = seq.subset(~flag), seq.subset(flag)
            if _fittable(first, 1):  # then the pooled rows pass every check first passes
                self.population_ = "first"
                self._fit_one(first)
                if _fittable(again, self.min_returning):
                    sub = DataDrivenModel(**{**self._params(), "returning": "pool"})
                    sub.population_ = "returning"
                    self.returning_model_ = sub._fit_one(again)
                return self
        return self._fit_one(seq)

    def _params(self) -> dict[str, Any]:
        """Return the constructor's arguments as set on this object."""
        names = inspect.signature(DataDrivenModel.__init__).parameters
        return {k: getattr(self, k) for k in names if k != "self"}

    def _fit_one(self, seq: Sequences) -> DataDrivenModel:
        names = self._check(seq)
        self._warm = {}
        self.channels_ = seq.channels
        self.spans_ = journey_spans(seq) if seq.delta_days is not None else (None, None)
        time_model = self.time_model
        if time_model == "auto":
            conv_span, null_span = self.spans_
            shorter = conv_span is not None and null_span is not None and conv_span < null_span
            time_model = "hazard" if shorter else "journey"
        self.time_model_ = time_model
        if time_model == "hazard":
            return self._fit_hazard(seq)
        self.half_life_ = float(self.half_life_days)
        touched = np.flatnonzero(seq.lengths > 0)
        rng = np.random.default_rng(self.seed)
        cv_idx = touched
        if len(cv_idx) > self.cv_rows:
            cv_idx = np.sort(rng.choice(touched, size=self.cv_rows, replace=False))
        fold = rng.integers(0, self.folds, size=len(cv_idx))
        pos_all, neg_all = seq.conversions, seq.nulls
        results: list[dict[str, Any]] = []
        cache: dict[str, np.ndarray] = {}

        def feats(name: str) -> np.ndarray:
            if name not in cache:
                cache[name] = journey_features(
                    seq,
                    FEATURE_SETS[name][0],
                    half_life_days=self.half_life_days,
                    sparse=_sparse(len(seq.channels)),
                )
            return cache[name]

        def cv_loss(x: np.ndarray, fit: Callable[..., _Fitted]) -> float:
            pos, neg = pos_all[cv_idx], neg_all[cv_idx]
            return cv_log_loss(x[cv_idx], pos, neg, fold, self.folds, fit)

        estimators = list(LINKS) if self.estimator == "auto" else [self.estimator]
        mid_alpha = float(np.sort(np.asarray(self.alphas))[len(self.alphas) // 2])
        best: tuple[float, str, str, float | None] | None = None
        for kind in [e for e in estimators if e in LINKS]:
            # feature set at a middle penalty, then the penalty for the chosen set
            first: list[dict[str, Any]] = []
            for name in names:
                loss = cv_loss(feats(name), self._linear_fitter(kind, name, mid_alpha))
                first.append(
                    dict(estimator=kind, feature_set=name, alpha=mid_alpha, cv_log_loss=loss)
                )
            results.extend(first)
            chosen: str = min(first, key=lambda r: float(r["cv_log_loss"]))["feature_set"]
            cands = [r for r in first if r["feature_set"] == chosen]
            for alpha in self.alphas:
                if float(alpha) == mid_alpha:
                    continue
                loss = cv_loss(feats(chosen), self._linear_fitter(kind, chosen, float(alpha)))
                row: dict[str, Any] = dict(
                    estimator=kind, feature_set=chosen, alpha=float(alpha), cv_log_loss=loss
                )
                results.append(row)
                cands.append(row)
            top = min(cands, key=lambda r: float(r["cv_log_loss"]))
            if best is None or float(top["cv_log_loss"]) < best[0]:
                best = (float(top["cv_log_loss"]), kind, chosen, float(top["alpha"]))
        if "boosting" in estimators:
            for name in names:
                loss = cv_loss(feats(name), self._boosting_fitter(name))
                results.append(
                    dict(estimator="boosting", feature_set=name, alpha=None, cv_log_loss=loss)
                )
                if best is None or loss < best[0]:
                    best = (loss, "boosting", name, None)
        assert best is not None
        cv_best, kind, name, chosen_alpha = best
        pairs = NO_PAIRS
        if kind in LINKS:
            assert chosen_alpha is not None
            pairs, cv_best = self._with_pairs(
                kind,
                name,
                chosen_alpha,
                (feats(name)[cv_idx], pos_all[cv_idx], neg_all[cv_idx], fold),
                cv_best,
                results,
                {},
            )
        x = feats(name)[touched]
        pos, neg = pos_all[touched], neg_all[touched]
        if kind in LINKS:
            assert chosen_alpha is not None
            self.model_ = self._linear_fitter(kind, name, chosen_alpha, pairs)(x, pos, neg)
        else:
            self.model_ = self._boosting_fitter(name)(x, pos, neg)
        self._pairs_tried_ = len(pairs)
        for r in results:
            r["half_life_days"] = self.half_life_ if FEATURE_SETS[r["feature_set"]][1] else None
        return self._finish(kind, name, chosen_alpha, cv_best, results, x, pos, neg)

    def _fit_hazard(self, seq: Sequences) -> DataDrivenModel:
        """Fit the discrete-time hazard (``time_model="hazard"``); see the class docstring."""
        touched = np.flatnonzero(seq.lengths > 0)
        rng = np.random.default_rng(self.seed)
        cv_idx = touched
        if len(cv_idx) > self.cv_rows:
            cv_idx = np.sort(rng.choice(touched, size=self.cv_rows, replace=False))
        fold_of = np.full(seq.n_rows, -1, dtype=np.int64)
        fold_of[cv_idx] = rng.integers(0, self.folds, size=len(cv_idx))
        delta = at_risk_delta(seq)  # shared by every sampling and feature pass below
        row, tau, pos, neg = interval_samples(seq, cv_idx, self.hazard_samples, rng, delta=delta)
        fold = fold_of[row]
        cache: dict[float, np.ndarray] = {}

        def feats(h: float) -> np.ndarray:
            if h not in cache:
                cache[h] = hazard_features(
                    seq, row, tau, h, delta=delta, sparse=_sparse(len(seq.channels))
                )
            return cache[h]

        def row_of(h: float, alpha: float) -> dict[str, Any]:
            fit = self._linear_fitter("logistic", "decay", alpha)
            loss = cv_log_loss(feats(h), pos, neg, fold, self.folds, fit)
            return dict(
                estimator="hazard",
                feature_set="decay",
                half_life_days=float(h),
                alpha=float(alpha),
                cv_log_loss=loss,
            )

        # half-life at a middle penalty, then the penalty for the chosen half-life
        mid_alpha = float(np.sort(np.asarray(self.alphas))[len(self.alphas) // 2])
        halves = self.hazard_half_lives or (self.half_life_days,)
        results = [row_of(float(h), mid_alpha) for h in halves]
        h_best = float(min(results, key=lambda r: float(r["cv_log_loss"]))["half_life_days"])
        results += [row_of(h_best, float(a)) for a in self.alphas if float(a) != mid_alpha]
        cands = [r for r in results if r["half_life_days"] == h_best]
        top = min(cands, key=lambda r: float(r["cv_log_loss"]))
        alpha = float(top["alpha"])
        pairs, cv_best = self._with_pairs(
            "logistic",
            "decay",
            alpha,
            (feats(h_best), pos, neg, fold),
            float(top["cv_log_loss"]),
            results,
            {"estimator": "hazard", "half_life_days": h_best},
            journeys=row,
        )
        self.half_life_ = h_best
        cache.clear()
        row, tau, pos, neg = interval_samples(seq, touched, self.hazard_samples, rng, delta=delta)
        x = hazard_features(seq, row, tau, h_best, delta=delta, sparse=_sparse(len(seq.channels)))
        self.model_ = self._linear_fitter("logistic", "decay", alpha, pairs)(x, pos, neg)
        self._pairs_tried_ = len(pairs)
        self._n_unique_ = len(touched)
        return self._finish("hazard", "decay", alpha, cv_best, results, x, pos, neg)

    def _with_pairs(
        self,
        kind: str,
        name: str,
        alpha: float,
        cv: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        cv_best: float,
        results: list[dict[str, Any]],
        extra: dict[str, Any],
        journeys: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float]:
        """Synergy pairs for the chosen linear model, and the cross-validated loss to beat.

        The model chosen without synergies is fitted on the cross-validation rows ``cv``
        (features, conversions, non-conversions, folds);
        :func:`~attribution.models.synergy.screen_pairs` proposes pairs; they are kept when
        they lower the out-of-fold log loss by more than ``_PAIR_SE`` (2) standard errors of
        the difference per journey (``journeys``: the journey of each row, for the hazard's
        day rows), a margin that noise and mild misfit of the main effects do not reach (a
        row of ``results`` either way).
        """
        if self.interactions != "auto" or self.max_pairs < 1:
            return NO_PAIRS, cv_best
        x, pos, neg, fold = cv
        fitted = self._linear_fitter(kind, name, alpha)(x, pos, neg)
        assert fitted.coef is not None
        pairs = screen_pairs(
            x,
            pos,
            neg,
            link=fitted.kind,
            intercept=fitted.intercept,
            coef=fitted.coef,
            features=fitted.features,
            max_pairs=self.max_pairs,
        )
        if not len(pairs):
            return NO_PAIRS, cv_best
        base = cv_predict(x, pos, neg, fold, self.folds, self._linear_fitter(kind, name, alpha))
        fit = self._linear_fitter(kind, name, alpha, pairs)
        prob = cv_predict(x, pos, neg, fold, self.folds, fit)
        weight = max(float((pos + neg).sum()), 1e-300)
        gain = row_log_loss(base, pos, neg) - row_log_loss(prob, pos, neg)
        if journeys is not None:  # a journey's days are one unit of the standard error
            gain = np.bincount(np.unique(journeys, return_inverse=True)[1], weights=gain)
        loss = log_loss(prob, pos, neg)
        se = float(np.sqrt(len(gain) * gain.var()) / weight)
        results.append(
            dict(estimator=kind, feature_set=name, alpha=alpha, cv_log_loss=loss, pairs=len(pairs))
            | extra
        )
        if gain.sum() / weight > _PAIR_SE * se:
            return pairs, loss
        return NO_PAIRS, cv_best

    def _finish(
        self,
        kind: str,
        name: str,
        chosen_alpha: float | None,
        cv_best: float,
        results: list[dict[str, Any]],
        x: np.ndarray,
        pos: np.ndarray,
        neg: np.ndarray,
    ) -> DataDrivenModel:
        """Set the fitted attributes from the chosen model and the rows it was fitted on."""
        channels = list(self.channels_)
        linear = self.model_.coef is not None
        self.feature_set_ = name
        self.estimator_ = kind
        self.alpha_ = chosen_alpha
        self.intercept_ = self.model_.intercept if linear else float("nan")
        half_life = self.half_life_ if FEATURE_SETS[name][1] else None
        population = pl.lit(self.population_).alias("population")
        pairs = self.model_.pairs
        self.cv_results_ = (
            pl.DataFrame(
                [{"pairs": 0} | r for r in results],
                schema={
                    "estimator": pl.String,
                    "feature_set": pl.String,
                    "half_life_days": pl.Float64,
                    "alpha": pl.Float64,
                    "pairs": pl.Int64,
                    "cv_log_loss": pl.Float64,
                },
            )
            .with_columns(
                selected=(pl.col("estimator") == kind)
                & (pl.col("feature_set") == name)
                & (pl.col("pairs") == self._pairs_tried_)
                & (
                    pl.col("alpha").is_null()
                    if chosen_alpha is None
                    else (pl.col("alpha") == chosen_alpha)
                )
                & (
                    pl.col("half_life_days").is_null()
                    if half_life is None
                    else (pl.col("half_life_days") == half_life)
                )
            )
            .select(population, pl.all())
        )
        feats_names = FEATURE_SETS[name][0]
        k = len(channels)
        if linear:
            assert self.model_.coef is not None
            coef_vals = np.concatenate([self.model_.coef, self.model_.pair_coef])
        else:
            coef_vals = np.zeros(0)
        self.pairs_ = [(channels[a], channels[b]) for a, b in pairs.tolist()]
        self.coef_ = pl.DataFrame(
            {
                "feature": [f for f in feats_names for _ in range(k)][: len(coef_vals)]
                + ["synergy"] * len(pairs),
                "channel": (channels * len(feats_names) if len(coef_vals) else [])
                + [f"{a} × {b}" for a, b in self.pairs_],
                "coefficient": coef_vals,
            },
            schema={"feature": pl.String, "channel": pl.String, "coefficient": pl.Float64},
        ).select(population, pl.all())
        prob = self.model_.predict(x)
        auc = weighted_auc(prob, pos, neg)
        rate = float(pos.sum() / (pos.sum() + neg.sum()))
        p0 = float(self.model_.predict(np.zeros((1, x.shape[1])))[0])  # no synergy at 0
        self.diagnostics_ = pl.DataFrame(
            {
                "n_rows": [x.shape[0]],
                "n_unique_rows": [self._n_unique_],
                "conversions": [float(pos.sum())],
                "non_conversions": [float(neg.sum())],
                "log_loss": [log_loss(prob, pos, neg)],
                "auc": [None if np.isnan(auc) else auc],
                "cv_log_loss": [cv_best if np.isfinite(cv_best) else None],
                "null_log_loss": [log_loss(np.full(len(pos), rate), pos, neg)],
                "baseline_probability": [p0],
                "time_model": [self.time_model_],
                "span_converting_days": [self.spans_[0]],
                "span_non_converting_days": [self.spans_[1]],
            },
            schema_overrides={
                "auc": pl.Float64,
                "cv_log_loss": pl.Float64,
                "span_converting_days": pl.Float64,
                "span_non_converting_days": pl.Float64,
            },
        ).select(population, pl.all())
        return self

    _n_unique_: int = 0
    _warm: dict[tuple[str, str, int], tuple[float, np.ndarray]]
    _pairs_tried_: int = 0  # synergy pairs the chosen model was fitted with (some may be 0)
    population_: str = "all"
    returning_model_: DataDrivenModel | None = None

    def _linear_fitter(
        self, kind: str, name: str, alpha: float, pairs: np.ndarray = NO_PAIRS
    ) -> Callable[[np.ndarray, np.ndarray, np.ndarray], _Fitted]:
        discrete = not FEATURE_SETS[name][1]
        k_feats = FEATURE_SETS[name][0]

        def fit(x: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> _Fitted:
            if discrete:
                x, pos, neg = group_rows(x, pos, neg)
            self._n_unique_ = x.shape[0]
            n_ch = x.shape[1] // len(k_feats)
            if not len(pairs):
                # sparse fits start from the last fit of this link and feature set (another
                # fold or penalty): the same minimum, reached in fewer Newton steps
                key = (kind, name, x.shape[1])
                b0, coef = fit_linear(x, pos, neg, alpha, kind, self._warm.get(key))
                if sp.issparse(x):
                    self._warm[key] = (b0, coef)
                return _Fitted(kind, k_feats, n_ch, b0, coef)
            shape = _Fitted(kind, k_feats, n_ch, pairs=pairs)
            if sp.issparse(x):
                design: Features = sp.hstack([x, shape.pair_terms(x)], format="csr")
            else:
                design = np.hstack([x, shape.pair_terms(x)])
            b0, coef = fit_linear(design, pos, neg, alpha, kind)
            p = x.shape[1]
            kept = coef[p:] > 0  # a synergy fitted at 0 is no synergy
            return _Fitted(
                kind, k_feats, n_ch, b0, coef[:p], pairs=pairs[kept], pair_coef=coef[p:][kept]
            )

        return fit

    def _boosting_fitter(
        self, name: str
    ) -> Callable[[np.ndarray, np.ndarray, np.ndarray], _Fitted]:
        from sklearn.ensemble import HistGradientBoostingClassifier

        discrete = not FEATURE_SETS[name][1]
        k_feats = FEATURE_SETS[name][0]
        seed = self.seed

        def fit(x: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> _Fitted:
            if discrete:
                x, pos, neg = group_rows(x, pos, neg)
            self._n_unique_ = x.shape[0]
            xs, y, w = stack_outcomes(_dense_cells(x, "Boosting"), pos, neg)
            booster = HistGradientBoostingClassifier(
                max_iter=200,
                learning_rate=0.1,
                max_leaf_nodes=15,
                min_samples_leaf=40,
                l2_regularization=1.0,
                monotonic_cst=[1] * x.shape[1],
                early_stopping=True,
                validation_fraction=0.15,
                n_iter_no_change=10,
                random_state=seed,
            )
            booster.fit(xs, y, sample_weight=w)
            n_ch = x.shape[1] // len(k_feats)
            return _Fitted("boosting", k_feats, n_ch, booster=booster)

        return fit

    # -- using it ------------------------------------------------------------------------------

    def _fitted(self) -> _Fitted:
        if not hasattr(self, "model_"):
            raise ModelError("This DataDrivenModel is not fitted yet; call .fit(journeys) first.")
        return self.model_

    def _seq(self, data: Journeys | PathTable | Sequences) -> Sequences:
        seq = data if isinstance(data, Sequences) else data.sequences()
        if tuple(seq.channels) != tuple(self.channels_):
            raise ModelError(
                f"The data's channels {list(seq.channels)} differ from the ones the model was "
                f"fitted on {list(self.channels_)}."
            )
        return seq

    def predict_proba(self, data: Journeys | PathTable | Sequences) -> np.ndarray:
        """Predicted conversion probability of every row (journey or path).

        Returns
        -------
        ndarray of float64, shape (n_rows,)
        """
        self._fitted()
        seq = self._seq(data)
        out = np.zeros(seq.n_rows)
        for part, rows in self._parts(seq):
            model = part._fitted()
            x = journey_features(
                seq,
                model.features,
                half_life_days=part.half_life_,
                sparse=_sparse(len(seq.channels)),
            )
            out[rows] = model.predict(x[rows])
        return out

    def _parts(self, seq: Sequences) -> list[tuple[DataDrivenModel, np.ndarray | slice]]:
        """Pair each (fitted) model with the rows it predicts.

        The returning customers' own model, if any, takes the rows that follow an earlier
        conversion; this model the rest. One model takes every row as a slice, so that
        indexing by it copies nothing.
        """
        sub = self.returning_model_
        if sub is None or seq.returning is None or not seq.returning.any():
            return [(self, slice(None))]
        return [(self, ~seq.returning), (sub, seq.returning)]

    def credit(self, data: Journeys | PathTable | Sequences) -> KernelOutput:
        """Counterfactual credit of the converting rows (see the module docstring).

        Returns
        -------
        KernelOutput
            Channel conversions and revenue, per-touch credit of the converting rows, and the
            tables ``baseline``, ``effects``, ``coefficients``, ``model_selection`` and
            ``diagnostics``.
        """
        with _one_blas_thread():
            return self._credit(data)

    def _credit(self, data: Journeys | PathTable | Sequences) -> KernelOutput:
        self._fitted()
        seq = self._seq(data)
        conv = seq.converting
        k = len(seq.channels)
        row = conv.row_of_touch
        counts = sp.csr_matrix(
            (np.ones(len(conv.codes)), (row, conv.codes)), shape=(conv.n_rows, k)
        )
        counts.sum_duplicates()
        width = int(np.diff(counts.indptr).max()) if conv.n_rows else 0
        codes = np.full((conv.n_rows, width), -1, dtype=np.int64)
        share = np.zeros((conv.n_rows, width))  # per row, aligned with its channels in codes
        removal = np.zeros((conv.n_rows, width))
        base_share = np.ones(conv.n_rows)
        for part, rows in self._parts(conv):
            model = part._fitted()
            x = journey_features(
                conv, model.features, half_life_days=part.half_life_, sparse=_sparse(k)
            )[rows]
            c, s, b, p_all = _credit_rows(
                model, x, counts[rows], self.method, self.max_shapley_channels
            )
            w = c.shape[1]
            codes[rows, :w], share[rows, :w], base_share[rows] = c, s, b
            removal[rows, :w] = self._removal(model, x, c, p_all)
        touched = conv.lengths > 0
        # each touch: an equal part of its channel's share in its row (its slot in codes)
        key = row.astype(np.int64) * k + conv.codes
        at = np.searchsorted(
            np.repeat(np.arange(conv.n_rows), np.diff(counts.indptr)) * k + counts.indices, key
        )
        per_touch = share[row, at - counts.indptr[row]] / counts.data[at]
        out = credit_from_touches(conv, per_touch)
        w_conv, w_val = conv.conversions[touched], conv.value[touched]
        base_conv = float((base_share[touched] * w_conv).sum())
        base_rev = float((base_share[touched] * w_val).sum())
        total = float(seq.conversions.sum())
        present = codes >= 0
        slot_row = np.broadcast_to(np.arange(conv.n_rows)[:, None], codes.shape)[present]
        models = [self] if self.returning_model_ is None else [self, self.returning_model_]
        tables = {
            "baseline": pl.DataFrame(
                {
                    "channel": [BASELINE],
                    "conversions": [base_conv],
                    "revenue": [base_rev],
                    "share": [base_conv / total if total > 0 else None],
                },
                schema_overrides={"share": pl.Float64},
            ),
            "effects": pl.DataFrame(
                {
                    "channel": list(seq.channels),
                    "credited_conversions": out.conversions,
                    "removal_conversions": np.bincount(
                        codes[present],
                        weights=(removal * conv.conversions[:, None])[present],
                        minlength=k,
                    ),
                    "journeys_with_channel": np.bincount(
                        codes[present], weights=conv.conversions[slot_row], minlength=k
                    ),
                }
            ),
            "coefficients": pl.concat([m.coef_ for m in models]),
            "model_selection": pl.concat([m.cv_results_ for m in models]),
            "diagnostics": pl.concat([m.diagnostics_ for m in models]),
        }
        return KernelOutput(
            out.conversions,
            out.revenue,
            per_touch,
            conv,
            tables,
            extra_rows=((BASELINE, base_conv, base_rev),),
        )

    def _removal(
        self, model: _Fitted, x: Features, codes: np.ndarray, p_all: np.ndarray
    ) -> np.ndarray:
        """Per row and channel of ``codes``: ``(p(all) − p(all without c)) / p(all)``."""
        m_row = (codes >= 0).sum(axis=1)
        out = np.zeros(codes.shape)
        for m in np.unique(m_row[m_row > 0]):
            m = int(m)
            rows = np.flatnonzero(m_row == m)
            bits = 1.0 - np.eye(m)  # every "all but one"
            if model.kind in LINKS:
                per_row = m * (m if len(model.pairs) else 1)
            else:
                per_row = m * max(x.shape[1], 1)
            for r in _row_chunks(rows, per_row):
                p_wo = _row_games(model, x[r], codes[r, :m], bits)
                ratio = p_wo / np.maximum(p_all[r], 1e-300)[:, None]
                out[r, :m] = np.clip(1.0 - ratio, 0.0, 1.0)
        return out


@register_model("data_driven", needs_times=True, needs_nulls=True)
def data_driven(
    seq: Sequences,
    features: str | Sequence[str] = "auto",
    estimator: Estimator = "auto",
    method: Method = "shapley",
    half_life_days: float = 7.0,
    time_model: TimeModel = "auto",
    hazard_half_lives: Sequence[float] | None = None,
    hazard_samples: int = 4,
    alphas: Sequence[float] = _DEFAULT_ALPHAS,
    folds: int = 3,
    cv_rows: int = 50_000,
    max_shapley_channels: int = 12,
    returning: Returning = "separate",
    min_returning: int = 100,
    interactions: Interactions = "auto",
    max_pairs: int = 10,
    seed: int = 0,
) -> KernelOutput:
    """Data-driven: a fitted conversion model, credit by counterfactual Shapley values.

    See :mod:`attribution.models.data_driven` and :class:`DataDrivenModel` for the parameters.
    The baseline (conversions expected without any marketing) is the ``"(baseline)"`` row of
    ``.channels`` (also ``tables["baseline"]``); ``tables["effects"]``, ``["coefficients"]``,
    ``["model_selection"]`` and ``["diagnostics"]`` describe the fitted model. On a path table
    (no times) only the time-free feature sets are tried.

    Examples
    --------
    >>> import attribution as at
    >>> from attribution.datasets import simulate
    >>> journeys = at.build_journeys(simulate(3_000, seed=2).events)
    >>> res = at.attribute(journeys, "data_driven")
    >>> credited = res.channels["conversions"].sum()
    >>> round(credited, 6) == journeys.n_conversions
    True
    """
    if isinstance(features, str) and features == "auto" and seq.delta_days is None:
        features = [n for n, (_, t) in FEATURE_SETS.items() if not t]
    model = DataDrivenModel(
        features,
        estimator,
        alphas=alphas,
        folds=folds,
        cv_rows=cv_rows,
        half_life_days=half_life_days,
        time_model=time_model,
        hazard_half_lives=hazard_half_lives,
        hazard_samples=hazard_samples,
        method=method,
        max_shapley_channels=max_shapley_channels,
        returning=returning,
        min_returning=min_returning,
        interactions=interactions,
        max_pairs=max_pairs,
        seed=seed,
    ).fit(seq)
    return model.credit(seq)
