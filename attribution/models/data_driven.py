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

Lift tests inside the fit (``lift_tests=``, as for :func:`attribution.calibrate`): the log
cannot tell what a channel causes from the intent it finds (its touches predict conversion
either way), so the likelihood is flat along that split, and an experiment decides it. First
the model is refitted (feature set, link and penalty chosen again by cross-validation) with
each tested channel as a *control*: besides the chosen set's features it gets ``presence``,
``log_count``, ``recency`` and ``decay`` (the time-free ones only without touch times). Its
effect's size is the test's to say, so its shape can be flexible; the people a channel finds
differ by its presence and by its timing, not by the shape the other channels' effects take,
and on the log alone that difference leaks into the intercept (the baseline of every other
journey) and into the feature set every channel shares (an intent-seeking channel that crowds
before conversion makes a time decay win, which then discounts the other channels' older
touches). With ``estimator="auto"`` the refit keeps to the noisy-OR link unless the
logistic one's out-of-fold log loss is lower by more than two standard errors: the intent
the tested channels found is a baseline that varies between people, and the noisy-OR link,
where a touch multiplies the chance of *not* buying whatever the baseline, is collapsible
over the part of it the log does not show, where the logistic link's odds ratios shrink
towards zero (the two links often differ by far less than their noise; at 100,000 users the
logistic won by 0.0002 of log loss and left every untested channel a quarter to a third
short). Then each tested channel's coefficients ``β`` (and those of its synergy terms)
become ``κ β`` of effect and ``(1 − κ) β`` of *selection*: a term that stays in every
prediction, since removing the channel's touches does not change who the person is. The
predictions, and so the fit to the log, are those of the refit (``control_model_``); ``κ`` is
chosen so that the channel's removal effect (what a holdout test measures;
``tables["effects"]``) equals the test, weighted by precision against the log's own
figure (a normal prior centred on the log's removal effect with standard deviation
``lift_prior`` times it, and the test's standard error read from its 95 % interval). A
channel the log gave nothing gets the direction of its first feature, with a negative
selection (a channel that reaches people unlikely to buy). Every channel's credit is then
recomputed on that model: the untested channels move with the refit, and a tested channel
whose association was intent takes that intent into the baseline of the journeys it touched,
so the untested channels in those journeys are credited against a higher baseline (on a
logistic link at low rates they get the interaction they shared with it; on a noisy-OR link
less). The hazard model (``time_model="hazard"``) is not refitted with controls: its
features are the days' adstock. A tested channel's synergy terms are split with it; but
when the test finds less than half of the log's removal effect (mostly intent), the refit
leaves out that channel's synergies: an
intent-seeking channel takes the others' effects into its synergies (search works "with"
display among the people display finds), and emptying them would empty those effects too.
``tables["lift_tests"]`` reports each test, the log's removal effect, the target, ``κ``
(``effect_scale``) and the removal effect after; ``tables["log_only"]`` the credit and removal
effects of the model fitted on the log alone, for :func:`attribution.compare_lift_tests`;
``tables["model_selection"]`` and ``["coefficients"]`` describe the refit (a tested
channel's extra features are rows of the coefficients), and ``["diagnostics"]`` keeps the
identification checks of the log's model.
Boosting has no coefficients to split; it refuses tests.

Identification (``diagnose=True``): a log can be too small or too uninformative for the model to
say anything. After the fit, on at most ``cv_rows`` journeys, the chosen model's out-of-fold
log loss is compared with a constant rate (the gain and its standard error over journeys),
credit is recomputed with each fold's model and with a model fitted on the last third of the
lookback. ``tables["diagnostics"]`` gains ``cv_gain``, ``cv_gain_se``, ``fold_instability``,
``lookback_days``, ``lookback_instability``, ``identified`` and ``warning``, and
``tables["stability"]`` the credit shares behind them. When the log has fewer conversions
with touches than ``max(200, 10 ×`` the coefficients), the gain is under two standard errors,
or credit moves by more than ``instability`` (25 %) of the conversions across folds (twice
that with the lookback), an :class:`attribution.IdentificationWarning` says so and how much
credit moves, and the result comes with bootstrap intervals (``tables["intervals"]``:
``channel, conversions, sd, lower, upper``; ``intervals=True`` computes them always).

Many channels (campaigns or source/medium pairs as channels): beyond 64 channels the features
are a sparse (CSR) matrix holding only the channels each journey touched, the Newton steps
of wide fits are solved by conjugate gradients on Hessian-vector products, and credit and
removal effects are computed from each journey's own channels, so memory follows the touches,
not journeys × channels; the results are those of the dense path to the solver's tolerance.
Beyond 200 channels, ``estimator="auto"`` tries the logistic link only: the noisy-OR's
active set drops negative coefficients a round at a time, and with many rare channels the
rounds, each a full refit near ``η = 0``, make it the slowest part by far.
``tables["diagnostics"]`` records ``sparse_features`` and ``estimators_tried``. There is no
channel limit by default (``max_fit_channels``); boosting, which needs dense features, is
refused when they would take more than 4 GiB.

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
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from attribution._base.errors import IdentificationWarning, ModelError
from attribution._base.frames import FrameLike
from attribution.journeys import Journeys, PathTable, Sequences
from attribution.models.base import (
    BASELINE,
    KernelOutput,
    credit_from_touches,
    positive_number,
    positive_numbers,
    register_model,
    whole_number,
)
from attribution.models.features import (
    FEATURE_SETS,
    Features,
    group_rows,
    is_sparse,
    journey_features,
)
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

if TYPE_CHECKING:
    import scipy.sparse as sp

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
_DENSE_BYTES = 4 * 2**30  # dense features (boosting) larger than this are refused
_SPARSE_CHANNELS = 64  # more channels than this: sparse features (module docstring)
_MANY_CHANNELS = 200  # more than this: the cheaper model selection (module docstring)
_Z95 = 1.959963984540054  # a test's interval is read as 95 %
_BOOT_ROWS = 20_000  # journeys the bootstrap of an unidentified fit resamples
_LIFT_SWEEPS = 20  # rounds over the tested channels (their synergies tie them)
_INTENT_RATIO = 0.5  # a test under this share of the log's removal effect: mostly intent
#: Features a tested channel gets besides the chosen set's, when the model is refitted with
#: lift tests (the time-free ones only without touch times): a flexible shape for the
#: selection the test leaves to it (class docstring, "Lift tests inside the fit").
_CONTROL_FEATURES = ("presence", "log_count", "recency", "decay")
_TIME_FEATURES = ("recency", "decay")
#: Columns of ``diagnostics_`` that describe the fitted model itself (the rest are checks).
_LOG_COLUMNS = (
    "n_rows",
    "n_unique_rows",
    "conversions",
    "non_conversions",
    "log_loss",
    "auc",
    "cv_log_loss",
    "null_log_loss",
    "baseline_probability",
    "time_model",
    "span_converting_days",
    "span_non_converting_days",
)


# ----------------------------------------------------------------------------------------------
# counterfactual credit


def _sparse() -> Any:
    """Return :mod:`scipy.sparse`, imported on first use (many channels only)."""
    import scipy.sparse

    return scipy.sparse


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


def _present_channels(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: number of distinct channels, and their codes left-aligned (padded with -1)."""
    present = counts > 0
    m = present.sum(axis=1)
    width = int(m.max()) if len(m) else 0
    # stable sort puts present channels first, in code order
    order = np.argsort(~present, axis=1, kind="stable")[:, :width]
    codes = np.where(np.arange(width)[None, :] < m[:, None], order, -1)
    return m, codes


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
    #: Coefficients of the part of the features that marks intent, not effect (set by lift
    #: tests): in the linear predictor, but never removed with a channel.
    selection: np.ndarray | None = None
    #: The same for the synergy terms (``pair_coef`` keeps their effect part).
    pair_selection: np.ndarray | None = None

    def probability(self, eta: np.ndarray) -> np.ndarray:
        """Conversion probability at linear predictor ``eta`` (linear models)."""
        return link_probability(eta, self.kind)

    def pair_terms(self, x: Features) -> Features:
        """Return the synergy columns of rows with per-channel features ``x``: ``(n, n_pairs)``."""
        g = pair_exposure(x, self.features, self.n_channels)
        if is_sparse(g):
            g = _sparse().csc_matrix(g)
            return _sparse().csr_matrix(g[:, self.pairs[:, 0]].multiply(g[:, self.pairs[:, 1]]))
        return g[:, self.pairs[:, 0]] * g[:, self.pairs[:, 1]]

    def offset(self, x: Features) -> np.ndarray:
        """Per row: the selection part of the linear predictor (0 without lift tests)."""
        n = x.shape[0]
        out = np.zeros(n) if self.selection is None else np.asarray(x @ self.selection)
        if self.pair_selection is not None and len(self.pairs):
            out = out + self.pair_terms(x) @ self.pair_selection
        return out

    def predict(self, x: Features, full: Features | None = None) -> np.ndarray:
        """Conversion probability of rows with features ``x``.

        ``full``: the rows' features before channels were removed from ``x`` (default ``x``);
        the selection part is read from them, since removing a channel's touches does not
        change who the person is.
        """
        if self.kind in LINKS:
            assert self.coef is not None
            eta = self.intercept + x @ self.coef
            if self.selection is not None or self.pair_selection is not None:
                eta = eta + self.offset(x if full is None else full)
            if len(self.pairs):
                eta = eta + self.pair_terms(x) @ self.pair_coef
            return self.probability(eta)
        dense = _sparse().csr_matrix(x).toarray() if is_sparse(x) else x
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


def _row_games(
    model: _Fitted, x: np.ndarray, codes: np.ndarray, m: int, subsets: np.ndarray
) -> np.ndarray:
    """``p(T)`` for each row (all with ``m`` channels) and each subset in ``subsets``."""
    k = model.n_channels
    if model.kind in LINKS:
        contrib = model.contributions(x)  # (n, K)
        c = codes[:, :m]
        a = np.take_along_axis(contrib, c, axis=1)  # (n, m)
        bits = ((subsets[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
        eta = model.intercept + model.offset(x)[:, None] + a @ bits.T
        if len(model.pairs) and m > 1:
            # synergy of the row's channels i, j: g_i g_j γ_ij; a subset gets ½ bᵀ G b
            g = np.take_along_axis(pair_exposure(x, model.features, k), c, axis=1)
            gm = model.pair_matrix()[c[:, :, None], c[:, None, :]] * g[:, :, None] * g[:, None, :]
            eta = eta + 0.5 * ((gm @ bits.T) * bits.T[None, :, :]).sum(axis=1)
        return model.probability(eta)
    # generic: zero the columns of the channels left out, predict every (row, subset)
    n, p = x.shape
    f = len(model.features)
    pos_of = np.full((n, k), m, dtype=np.int64)  # channel -> its bit in the row (m = absent)
    np.put_along_axis(pos_of, codes[:, :m], np.broadcast_to(np.arange(m), (n, m)), axis=1)
    col_bit = np.tile(pos_of, (1, f))  # (n, p)
    keep = (subsets[None, :, None] >> col_bit[:, None, :]) & 1  # (n, S, p); bit m is 0
    xs = (x[:, None, :] * keep).reshape(-1, p)
    return model.predict(xs).reshape(n, len(subsets))


def _game_subsets(m: int, exact: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Coalitions (bit masks) a row of ``m`` channels is played on, and Shapley's weights.

    Exact Shapley plays every subset, with :func:`shapley_weights`; otherwise the empty set,
    each "all but one" and all, and no weights (see :func:`_game_shares`).
    """
    if exact:
        return np.arange(1 << m), shapley_weights(m)
    full = (1 << m) - 1
    return np.array([0, *(full ^ (1 << j) for j in range(m)), full]), None


def _game_shares(
    v: np.ndarray, weights: np.ndarray | None, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's share of p(all) from a row's games, and p(all).

    ``v`` holds one row's game values per coalition of :func:`_game_subsets` (the empty set
    first, all last). With weights, the Shapley values; without, each channel's removal
    effect, scaled so that they add up to p(all) − p(none) (equal parts when none has one).
    """
    p0, p1 = v[:, 0], v[:, -1]
    if weights is not None:
        phi = v @ weights
    else:
        phi = p1[:, None] - v[:, 1:-1]
        total = phi.sum(axis=1, keepdims=True)
        gap = (p1 - p0)[:, None]
        phi = np.divide(phi * gap, total, out=np.zeros_like(phi), where=total > 0) + np.where(
            total > 0, 0.0, gap / m
        )
    phi = np.maximum(phi, 0.0)  # monotone models give >= 0; clear rounding noise
    return phi / np.maximum(p1, 1e-300)[:, None], p1


def _credit_rows(
    model: _Fitted,
    x: np.ndarray,
    counts: np.ndarray,
    method: Method,
    max_channels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per converting row: channel credit shares (n, K), baseline share, p(all).

    Shares of a row (channels + baseline) sum to 1.
    """
    n, k = counts.shape
    share = np.zeros((n, k))
    baseline = np.ones(n)
    p_all = np.zeros(n)
    m_row, codes = _present_channels(counts)
    p_feat = max(x.shape[1], 1)
    for m in np.unique(m_row):
        m = int(m)
        rows = np.flatnonzero(m_row == m)
        if m == 0:
            p_all[rows] = model.predict(x[rows])
            continue
        subsets, weights = _game_subsets(m, method == "shapley" and m <= max_channels)
        if model.kind in LINKS:
            per_row = len(subsets) * (m if len(model.pairs) else 1)
        else:
            per_row = len(subsets) * p_feat
        step = max(1, _CHUNK_CELLS // per_row)
        for lo in range(0, len(rows), step):
            r = rows[lo : lo + step]
            c = codes[r, :m]
            s, p1 = _game_shares(_row_games(model, x[r], c, m, subsets), weights, m)
            b = np.clip(1.0 - s.sum(axis=1), 0.0, 1.0)
            block = np.zeros((len(r), k))
            np.put_along_axis(block, c, s, axis=1)
            share[r] = block
            baseline[r] = b
            p_all[r] = p1
    return share, baseline, p_all


def _channel_counts(seq: Sequences) -> sp.csr_matrix:
    """Touches per row and channel as a CSR matrix.

    Columns are sorted: a row's channels in code order, as :func:`_present_channels` lists them.
    """
    n, k = seq.n_rows, len(seq.channels)
    pair, cnt = np.unique(seq.row_of_touch.astype(np.int64) * k + seq.codes, return_counts=True)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair // k, minlength=n), out=indptr[1:])
    return _sparse().csr_matrix((cnt.astype(np.float64), pair % k, indptr), shape=(n, k))


def _entry_rows(m: sp.csr_matrix) -> np.ndarray:
    """Row of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))


def _entries(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of the stored entries of ``rows`` (in order) in a CSR matrix's arrays."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return shift + np.arange(int(lengths.sum()))


def _per_entry(x: sp.csr_matrix, values: np.ndarray, cnt: sp.csr_matrix) -> np.ndarray:
    """Sum ``values`` (one per entry of ``x``) over each (row, channel) entry of ``cnt``.

    ``x`` holds per-channel features (column ``f * k + c``) of the rows of ``cnt``; each of its
    entries belongs to a channel the row touched, i.e. to an entry of ``cnt``.
    """
    k = cnt.shape[1]
    key_c = _entry_rows(cnt) * k + cnt.indices
    key_x = _entry_rows(x) * k + x.indices % k
    at = np.minimum(np.searchsorted(key_c, key_x), max(len(key_c) - 1, 0))
    return np.bincount(at, weights=values, minlength=len(key_c))


def _pair_lookup(model: _Fitted, c: np.ndarray) -> np.ndarray:
    """Synergy coefficients ``γ`` of every pair of the channels ``c`` (shape ``c + (m,)``)."""
    k = model.n_channels
    keys = model.pairs[:, 0].astype(np.int64) * k + model.pairs[:, 1]
    order = np.argsort(keys)
    keys, coef = keys[order], model.pair_coef[order]
    lo = np.minimum(c[..., :, None], c[..., None, :]).astype(np.int64)
    hi = np.maximum(c[..., :, None], c[..., None, :])
    want = lo * k + hi
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[at] == want, coef[at], 0.0)


def _local_games(
    model: _Fitted,
    base: np.ndarray,
    a: np.ndarray,
    g: np.ndarray | None,
    c: np.ndarray,
    subsets: np.ndarray,
) -> np.ndarray:
    """:func:`_row_games` of a linear model from each row's own channels.

    ``base``: the intercept and selection part per row; ``a``, ``g``: the contribution to the
    linear predictor and the exposure of the row's ``m`` channels ``c`` (shape ``(n, m)``).
    """
    m = c.shape[1]
    bits = ((subsets[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
    eta = base[:, None] + a @ bits.T
    if g is not None and len(model.pairs) and m > 1:
        gm = _pair_lookup(model, c) * g[:, :, None] * g[:, None, :]
        eta = eta + 0.5 * ((gm @ bits.T) * bits.T[None, :, :]).sum(axis=1)
    return model.probability(eta)


def _credit_rows_sparse(
    model: _Fitted,
    x: sp.csr_matrix,
    cnt: sp.csr_matrix,
    method: Method,
    max_channels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_credit_rows` and the removal effects of sparse features, per row's channels.

    A linear model's game on a row needs only the row's own channels: their parts of the
    linear predictor and exposures, read from ``x`` once. Returns the channel shares and
    removal effects ``(p(all) − p(all without c)) / p(all)`` per stored entry of ``cnt``
    (row, channel), the baseline share and ``p(all)`` per row.
    """
    assert model.coef is not None and model.kind in LINKS
    n, k = cnt.shape
    m_row = np.diff(cnt.indptr)
    a_all = _per_entry(x, x.data * model.coef[x.indices], cnt)
    g_all: np.ndarray | None = None
    if len(model.pairs):
        first = x.indices < k
        raw = np.where(first, x.data, 0.0)
        expo = -np.expm1(-raw) if model.features[0] == "decay" else (raw > 0).astype(np.float64)
        g_all = _per_entry(x, expo, cnt)
    base = model.intercept + model.offset(x)
    share, removal = np.zeros(cnt.nnz), np.zeros(cnt.nnz)
    baseline, p_all = np.ones(n), np.zeros(n)
    for m in np.unique(m_row):
        m = int(m)
        rows = np.flatnonzero(m_row == m)
        if m == 0:
            p_all[rows] = model.probability(base[rows])
            continue
        subsets, weights = _game_subsets(m, method == "shapley" and m <= max_channels)
        # each channel's "all but it" coalition, as a column of the games
        without = np.arange(1, m + 1) if weights is None else ((1 << m) - 1) ^ (1 << np.arange(m))
        step = max(1, _CHUNK_CELLS // (len(subsets) * (m if len(model.pairs) else 1)))
        for lo in range(0, len(rows), step):
            r = rows[lo : lo + step]
            ent = cnt.indptr[r][:, None] + np.arange(m)[None, :]
            g = None if g_all is None else g_all[ent]
            v = _local_games(model, base[r], a_all[ent], g, cnt.indices[ent], subsets)
            sh, p1 = _game_shares(v, weights, m)
            denom = np.maximum(p1, 1e-300)
            share[ent] = sh
            baseline[r] = np.clip(1.0 - sh.sum(axis=1), 0.0, 1.0)
            p_all[r] = p1
            removal[ent] = np.clip(1.0 - v[:, without] / denom[:, None], 0.0, 1.0)
    return share, baseline, p_all, removal


def _touching(x: Features, cols: np.ndarray) -> np.ndarray:
    """Rows of ``x`` with a non-zero value in any of the columns ``cols``."""
    if is_sparse(x):
        return np.asarray((_sparse().csr_matrix(x[:, cols]) != 0).sum(axis=1)).ravel() > 0
    return np.asarray((x[:, cols] != 0).any(axis=1))


def _without(x: Features, cols: np.ndarray) -> Features:
    """Copy ``x`` with the columns ``cols`` set to 0."""
    if is_sparse(x):
        keep = np.ones(x.shape[1])
        keep[cols] = 0.0
        return _sparse().csr_matrix(x @ _sparse().diags(keep))
    out = x.copy()
    out[:, cols] = 0.0
    return out


def _column(x: Features, c: int) -> np.ndarray:
    """Column ``c`` of ``x`` as a dense vector."""
    if is_sparse(x):
        return np.asarray(_sparse().csc_matrix(x)[:, [c]].toarray()).ravel()
    return np.asarray(x[:, c])


def _touched_outcomes(seq: Sequences) -> tuple[float, float]:
    """Conversions and non-conversions of the rows with touches (the rows a model fits)."""
    touched = seq.lengths > 0
    return float(seq.conversions[touched].sum()), float(seq.nulls[touched].sum())


def _count_text(x: float) -> str:
    """Write a count for a message: 1,000,000 (a path table's fractional counts as given)."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,}"


def _fittable(seq: Sequences, least: int) -> bool:
    """Whether the rows with touches hold ``least`` conversions and non-conversions."""
    return min(_touched_outcomes(seq)) >= least


def _clearly_lower(
    base: np.ndarray,
    prob: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    journeys: np.ndarray | None = None,
) -> bool:
    """Whether ``prob``'s log loss is lower than ``base``'s by more than ``_PAIR_SE`` SEs.

    Both are out-of-fold probabilities of the same rows; the standard error is that of the
    summed per-row difference (per journey when ``journeys`` gives each row's journey, as
    for the hazard's day rows), over the total weight.
    """
    weight = max(float((pos + neg).sum()), 1e-300)
    gain = row_log_loss(base, pos, neg) - row_log_loss(prob, pos, neg)
    if journeys is not None:  # a journey's days are one unit of the standard error
        gain = np.bincount(np.unique(journeys, return_inverse=True)[1], weights=gain)
    se = float(np.sqrt(len(gain) * gain.var()) / weight)
    return bool(gain.sum() / weight > _PAIR_SE * se)


def _precision_weighted(test: float, se: float, model_lift: float, prior: float) -> float:
    """Return the removal effect to match: the test, weighted against the log's own figure.

    The log's removal effect is a prior centred on itself with standard deviation ``prior ×
    max(model_lift, |test|)`` (the log may be off by its own size when intent is mistaken for
    effect); the test an observation with standard error ``se`` (from a 95 % interval).
    """
    sd = prior * max(model_lift, abs(test))
    if se <= 0 or sd <= 0:
        return test
    w_test, w_log = 1.0 / se**2, 1.0 / sd**2
    return (w_test * test + w_log * model_lift) / (w_test + w_log)


class _LiftSplit:
    """One tested channel: its effect scale ``κ`` and the removal effect it implies.

    In each population's model the channel's coefficients ``β`` (and those of its synergies)
    become ``κ β`` of effect and ``(1 − κ) β`` of selection (intent the channel finds), which
    leaves every prediction as it was; a channel the log gave nothing (``β = 0`` everywhere)
    gets the direction of its first feature instead, ``κ`` of effect and ``−κ`` of selection.
    The removal effect on the converting rows, ``Σ w (1 − p(η − κ a) / p(η))`` (``a``: the
    part of ``η`` the channel's removal takes away at ``κ = 1``), rises with ``κ``.
    """

    def __init__(self, blocks: list[tuple[DataDrivenModel, Features, np.ndarray]], c: int):
        self.blocks = blocks
        self.c = c
        self.dirs: list[np.ndarray] = []
        self.terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.unit = not any(self._has_effect(part.model_) for part, _, _ in blocks)
        for part, x, w in blocks:
            model = part.model_
            cols = self._cols(model)
            rows = np.flatnonzero(_touching(x, cols))
            xr = x[rows]
            eta = _eta(model, xr)
            if self.unit:
                d = np.zeros(len(cols))
                d[0] = 1.0
                a = _column(xr, int(cols[0]))
            else:
                assert model.coef is not None
                d = model.coef[cols]
                a = eta - _eta(model, _without(xr, cols), full=xr)
            self.dirs.append(d)
            self.terms.append((eta, a, w[rows]))

    def _cols(self, model: _Fitted) -> np.ndarray:
        return self.c + model.n_channels * np.arange(len(model.features))

    def _pair_rows(self, model: _Fitted) -> np.ndarray:
        return (model.pairs == self.c).any(axis=1) if len(model.pairs) else np.zeros(0, bool)

    @property
    def has_pairs(self) -> bool:
        """Whether the channel has synergy terms in any population's model."""
        return any(self._pair_rows(part.model_).any() for part, _, _ in self.blocks)

    def _has_effect(self, model: _Fitted) -> bool:
        assert model.coef is not None
        pairs = self._pair_rows(model)
        return bool((model.coef[self._cols(model)] > 0).any() or (model.pair_coef[pairs] > 0).any())

    def removal(self, kappa: float) -> float:
        """Conversions lost without the channel when its effect scale is ``kappa``."""
        total = 0.0
        for (part, _, _), (eta, a, w) in zip(self.blocks, self.terms, strict=True):
            p_all = np.maximum(part.model_.probability(eta), 1e-300)
            p_wo = part.model_.probability(eta - kappa * a)
            total += float((w * np.clip(1.0 - p_wo / p_all, 0.0, 1.0)).sum())
        return total

    def solve(self, target: float) -> tuple[float, bool]:
        """Smallest ``κ ≥ 0`` whose removal effect reaches ``target`` (and whether it does)."""
        lo, r_lo = 0.0, self.removal(0.0)
        if target <= r_lo + 1e-9 * max(1.0, abs(target)):
            return 0.0, target >= r_lo - 1e-6 * max(1.0, r_lo)
        hi = 2.0
        while self.removal(hi) < target:
            lo, hi = hi, hi * 4.0
            if hi > 1e6:
                return lo, False
        for _ in range(100):  # bisection: the removal effect rises with κ
            mid = 0.5 * (lo + hi)
            if self.removal(mid) < target:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-10 * max(hi, 1e-12):
                break
        return hi, True

    def apply(self, kappa: float) -> None:
        """Set the split in every population's model."""
        for (part, _, _), d in zip(self.blocks, self.dirs, strict=True):
            model = part.model_
            assert model.coef is not None
            cols = self._cols(model)
            coef = model.coef.copy()
            sel = np.zeros_like(coef) if model.selection is None else model.selection.copy()
            sel[cols] += coef[cols] - kappa * d
            coef[cols] = kappa * d
            pairs = self._pair_rows(model)
            pair_coef = model.pair_coef.copy()
            pair_sel = (
                np.zeros_like(pair_coef)
                if model.pair_selection is None
                else model.pair_selection.copy()
            )
            if not self.unit:
                pair_sel[pairs] += (1.0 - kappa) * pair_coef[pairs]
                pair_coef[pairs] *= kappa
            part.model_ = replace(
                model, coef=coef, selection=sel, pair_coef=pair_coef, pair_selection=pair_sel
            )


def _caller_level() -> int:
    """``stacklevel`` that points a warning at the first caller outside this package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("attribution"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _trim_lookback(seq: Sequences, days: float) -> Sequences:
    """``seq`` with every row keeping only the touches within ``days`` of its end.

    The end is the conversion, or the last touch of a row that did not convert: converting
    and non-converting rows lose their old touches alike, so that the comparison of models
    is not biased by a window on one side only.
    """
    assert seq.delta_days is not None and seq.touch_time is not None
    keep = seq.delta_days <= days
    lengths = np.bincount(seq.row_of_touch[keep], minlength=seq.n_rows)
    indptr = np.zeros(seq.n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return replace(seq, indptr=indptr, codes=seq.codes[keep], touch_time=seq.touch_time[keep])


def _eta(model: _Fitted, x: Features, full: Features | None = None) -> np.ndarray:
    """Linear predictor of a linear model (its selection part read from ``full``)."""
    assert model.coef is not None
    eta = model.intercept + x @ model.coef + model.offset(x if full is None else full)
    if len(model.pairs):
        eta = eta + model.pair_terms(x) @ model.pair_coef
    return np.asarray(eta)


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
        Cross-validation folds, over journeys (rows; paths of a path table), 2 to 1,000 and at
        most the number of converting journeys with touches (3, the default, is always
        allowed; so small a log is flagged as not identified instead). More folds than
        converting journeys leave folds with no conversion to score, and each fold is one more
        fit, so such a request is refused with both numbers rather than capped with a
        warning: a run asked for 1,000 folds should not quietly become a different
        cross-validation (nor take a minute to do so).
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
    max_fit_channels : int or None
        Most channels a log may have (default ``None``: no limit; the linear models' sparse
        features and Hessian-free Newton steps grow with the touches, not with the
        channels): beyond it the fit is refused with a :class:`~attribution.ModelError` naming
        both numbers, before any feature matrix is built (``attribute_all`` and ``--model
        all`` skip the model with a warning). Boosting needs dense features and is refused
        when they would take more than 4 GiB (the message gives the size).
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
    lift_prior : float
        With lift tests: how far the log's own removal effect of a tested channel may be
        from the truth, as a multiple of itself (the standard deviation of a normal prior on
        it); the test is weighted against it by precision (module docstring).
    diagnose : bool
        Check that the log identifies credit, warn when it does not (module docstring,
        "Identification"); costs a few refits on at most ``cv_rows`` journeys.
    instability : float
        Share of the conversions by which credit may move across folds (twice that with the
        lookback) before it is called unstable.
    intervals : bool or None
        Bootstrap intervals of the credit: always (``True``), never (``False``) or when the
        log does not identify it (``None``).
    interval_replicates : int
        Bootstrap replicates (each refits the chosen model on at most 20,000 journeys).
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
    lift_tests_ : DataFrame or None
        With lift tests: ``channel, test, lower, upper, model_lift_log, target,
        effect_scale, reached`` (module docstring).
    log_model_ : object or None
        With lift tests: the model fitted on the log alone.
    control_model_ : object or None
        With lift tests: the model refitted with the tested channels as controls (their extra
        features), before the split into effect and selection.
    identification_ : DataFrame or None
        ``channel, share, fold_min, fold_max, recent_share, lookback_share``: credit shares
        of the model fitted on the sample, of the fold models, and of the models of every
        touch and of the last third of the lookback on the recent touches.
    intervals_ : ndarray or None
        Bootstrap standard deviation of each channel's (then the baseline's) share of the
        conversions.
    diagnostics_ : DataFrame
        One row: ``population``, ``n_rows`` fitted, ``n_unique_rows``, ``conversions``,
        ``non_conversions``, ``log_loss``, ``auc`` (in sample), ``cv_log_loss`` of the chosen model,
        ``null_log_loss`` (a constant rate), ``baseline_probability`` (``p(∅)``; per day for
        the hazard), ``time_model``, and the median spans (days from first touch to end) of
        converting and non-converting journeys (``span_converting_days``,
        ``span_non_converting_days``; null without times); with ``diagnose``, the
        identification columns of the module docstring.

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
        lift_prior: float = 1.0,
        diagnose: bool = True,
        instability: float = 0.25,
        intervals: bool | None = None,
        interval_replicates: int = 20,
        seed: int = 0,
        max_fit_channels: int | None = None,
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
        self.max_fit_channels = max_fit_channels
        self.returning = returning
        self.min_returning = min_returning
        self.interactions = interactions
        self.max_pairs = max_pairs
        self.lift_prior = lift_prior
        self.diagnose = diagnose
        self.instability = instability
        self.intervals = intervals
        self.interval_replicates = interval_replicates
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
        positive_number(self.half_life_days, "half_life_days")
        if self.time_model not in ("auto", "journey", "hazard"):
            raise ModelError(
                f"time_model must be 'auto', 'journey' or 'hazard'; got {self.time_model!r}."
            )
        if self.hazard_half_lives is not None:
            positive_numbers(self.hazard_half_lives, "hazard_half_lives")
        if not (isinstance(self.hazard_samples, int) and self.hazard_samples >= 1):
            raise ModelError(f"hazard_samples must be an integer ≥ 1; got {self.hazard_samples!r}.")
        if self.time_model == "hazard" and seq.delta_days is None:
            raise ModelError(
                "time_model='hazard' needs touch times, and a path table has none; build "
                "journeys from events or use time_model='journey'."
            )
        positive_number(self.instability, "instability")
        positive_number(self.lift_prior, "lift_prior")
        if not (isinstance(self.interval_replicates, int) and self.interval_replicates >= 2):
            raise ModelError(
                f"interval_replicates must be an integer ≥ 2; got {self.interval_replicates!r}."
            )
        self.folds = whole_number(self.folds, "folds", 2, 1_000)
        self.cv_rows = whole_number(self.cv_rows, "cv_rows", 1, 2**62)
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ModelError(f"seed must be a whole number ≥ 0; got {seed!r}.")
        limit = self.max_fit_channels
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ModelError(f"max_fit_channels must be an integer ≥ 1 or None; got {limit!r}.")
        k = len(seq.channels)
        if limit is not None and k > limit:
            raise ModelError(
                f"data_driven fits at most max_fit_channels={limit:,} channels; this log has "
                f"{k:,}. Group rare channels (at.channel_group, or a campaign-to-channel map), "
                "or raise max_fit_channels (None: no limit)."
            )
        if self.estimator == "boosting" and k > _SPARSE_CHANNELS:
            dense = 3 * 8 * 2 * k * int((seq.lengths > 0).sum())
            if dense > _DENSE_BYTES:
                raise ModelError(
                    f"estimator='boosting' needs dense features: {int((seq.lengths > 0).sum()):,} "
                    f"journeys × {k:,} channels × up to 2 features, about {dense / 2**30:.1f} GiB "
                    f"with its working copies, more than the {_DENSE_BYTES / 2**30:.0f} GiB "
                    "allowed. Use estimator='auto' or 'logistic' (sparse features), or group "
                    "rare channels (at.channel_group)."
                )
        self.max_shapley_channels = whole_number(
            self.max_shapley_channels, "max_shapley_channels", 1, 20
        )
        positive_numbers(self.alphas, "alphas")
        has_times = seq.delta_days is not None
        if isinstance(self.features, str):
            names = (
                [n for n, (_, t) in FEATURE_SETS.items() if has_times or not t]
                if self.features == "auto"
                else [self.features]
            )
        else:
            names = list(self.features)
        if not names:
            raise ModelError(
                f"features names no feature set; expected 'auto' or one or more of "
                f"{', '.join(FEATURE_SETS)}."
            )
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
            untouched = float(seq.conversions.sum()) - pos
            if pos <= 0:
                which = "converting"
                advice = (
                    f"{_count_text(untouched)} conversions have no touch before them (in the "
                    "lookback window): check that touches and conversions share user ids and "
                    "times."
                    if untouched > 0
                    else "The log has no conversions."
                )
            else:
                which = "non-converting"
                advice = (
                    "Keep non-converting journeys (build_journeys(non_converting='after_last'))."
                )
            raise ModelError(
                f"data_driven fits a conversion model and needs both converting and "
                f"non-converting journeys with touches; there are no {which} ones "
                f"({_count_text(pos)} conversions, {_count_text(neg)} non-conversions). {advice}"
            )
        return names

    def fit(
        self, data: Journeys | PathTable | Sequences, lift_tests: FrameLike | None = None
    ) -> DataDrivenModel:
        """Fit the conversion model (feature set and penalty by cross-validation).

        Parameters
        ----------
        data : Journeys, PathTable or Sequences
            Journeys (with touch times), or a path table (time-free features only).
        lift_tests : frame, optional
            Incrementality experiments, one row per channel (and period): ``channel``,
            ``incremental_conversions``, ``lower``, ``upper`` (as for
            :func:`attribution.calibrate`), used inside the model (module docstring, "Lift
            tests inside the fit").

        Returns
        -------
        DataDrivenModel
            ``self``.
        """
        self._check_folds(data if isinstance(data, Sequences) else data.sequences())
        with _one_blas_thread():
            self.log_model_ = None
            self.control_model_ = None
            self.lift_tests_ = None
            self._tested_ = frozenset()
            self._controls_ = frozenset()
            self._refitted_ = False
            tests = None if lift_tests is None else self._read_lift_tests(data, lift_tests)
            self._fit(data)
            if tests is not None:
                self._fit_lift_tests(data, tests)
            return self

    def _check_folds(self, seq: Sequences) -> None:
        """Refuse more folds than converting journeys with touches (beyond the default 3)."""
        folds = whole_number(self.folds, "folds", 2, 1_000)
        converting = int(np.count_nonzero((seq.lengths > 0) & (seq.conversions > 0)))
        if folds > max(converting, 3):
            rows = "journeys" if seq.delta_days is not None else "paths (rows of the path table)"
            raise ModelError(
                f"folds={folds:,} is more than the {converting:,} converting {rows} with "
                "touches: a fold without a conversion has nothing to score. Pass folds ≤ "
                f"{converting:,} (3 to 10 is usual)."
            )

    def _fit(
        self, data: Journeys | PathTable | Sequences, *, identify: bool = True
    ) -> DataDrivenModel:
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
                    sub._tested_ = self._tested_
                    sub._controls_ = self._controls_
                    sub._timed_ = self._timed_
                    self.returning_model_ = sub._fit_one(again)
                if identify:
                    self._identify(first)
                return self
        self._fit_one(seq)
        if identify:
            self._identify(seq)
        return self

    def _params(self) -> dict[str, Any]:
        """Return the constructor's arguments as set on this object."""
        names = inspect.signature(DataDrivenModel.__init__).parameters
        return {k: getattr(self, k) for k in names if k != "self"}

    def _fit_one(self, seq: Sequences) -> DataDrivenModel:
        names = self._check(seq)
        self.channels_ = seq.channels
        self.spans_ = journey_spans(seq) if seq.delta_days is not None else (None, None)
        time_model = self.time_model
        if time_model == "auto":
            conv_span, null_span = self.spans_
            shorter = conv_span is not None and null_span is not None and conv_span < null_span
            time_model = "hazard" if shorter else "journey"
        self.time_model_ = time_model
        self._sparse_ = len(seq.channels) > _SPARSE_CHANNELS and self.estimator != "boosting"
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
        cache: dict[str, Features] = {}

        def feats(name: str) -> Features:
            if name not in cache:
                cache[name] = self._features(seq, name, self.half_life_days)
            return cache[name]

        def cv_loss(x: Features, fit: Callable[..., _Fitted]) -> float:
            pos, neg = pos_all[cv_idx], neg_all[cv_idx]
            return cv_log_loss(x[cv_idx], pos, neg, fold, self.folds, fit)

        estimators = list(LINKS) if self.estimator == "auto" else [self.estimator]
        if self.estimator == "auto" and len(seq.channels) > _MANY_CHANNELS:
            estimators = ["logistic"]  # many channels: the logistic link (module docstring)
        self._tried_ = ", ".join(estimators)
        mid_alpha = float(np.sort(np.asarray(self.alphas))[len(self.alphas) // 2])
        best: tuple[float, str, str, float | None] | None = None
        tops: dict[str, tuple[float, str, str, float | None]] = {}
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
            tops[kind] = (float(top["cv_log_loss"]), kind, chosen, float(top["alpha"]))
            if best is None or float(top["cv_log_loss"]) < best[0]:
                best = tops[kind]
        if self._controls_ and best is not None and best[1] != "noisy_or" and "noisy_or" in tops:
            cv_rows = (pos_all[cv_idx], neg_all[cv_idx], fold)
            best = self._collapsible_link(best, tops["noisy_or"], feats, cv_idx, cv_rows)
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
            self._refit_ = self._linear_fitter(kind, name, chosen_alpha, pairs)
        else:
            self._refit_ = self._boosting_fitter(name)
        self.model_ = self._refit_(x, pos, neg)
        self._cv_idx_ = cv_idx
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
        cache: dict[float, Features] = {}

        def feats(h: float) -> Features:
            if h not in cache:
                cache[h] = hazard_features(seq, row, tau, h, delta=delta, sparse=self._sparse_)
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
        x = hazard_features(seq, row, tau, h_best, delta=delta, sparse=self._sparse_)
        self._refit_ = self._linear_fitter("logistic", "decay", alpha, pairs)
        self.model_ = self._refit_(x, pos, neg)
        self._cv_idx_ = cv_idx
        self._pairs_tried_ = len(pairs)
        self._n_unique_ = len(touched)
        return self._finish("hazard", "decay", alpha, cv_best, results, x, pos, neg)

    def _collapsible_link(
        self,
        best: tuple[float, str, str, float | None],
        noisy: tuple[float, str, str, float | None],
        feats: Callable[[str], Features],
        cv_idx: np.ndarray,
        cv_rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[float, str, str, float | None]:
        """With lift tests: the noisy-OR link unless the log clearly prefers the other.

        The refit with tested channels as controls carries the intent they found as a
        baseline that varies between people. How a varying baseline combines with a
        channel's effect is a choice of link the log tells apart only weakly, and the two
        links answer differently: on the noisy-OR link a touch multiplies the chance of *not*
        buying whatever the person's baseline, so the link is collapsible over a baseline
        left unseen (the mix over people of ``1 − b`` times the same factors is again a
        constant times those factors) and a channel that reaches people at random keeps its
        effect; the logistic link's effects are odds ratios, which are not collapsible and
        shrink towards zero when part of the baseline's variation is left out (Gail, Wieand
        & Piantadosi 1984), and the tests are there because it is. So the other link's
        choice stands only when its out-of-fold log loss is lower by more than ``_PAIR_SE``
        standard errors of the per-journey difference.
        """
        pos, neg, fold = cv_rows
        probs = []
        for _, kind, name, alpha in (noisy, best):
            assert alpha is not None
            fit = self._linear_fitter(kind, name, alpha)
            probs.append(cv_predict(feats(name)[cv_idx], pos, neg, fold, self.folds, fit))
        if _clearly_lower(probs[0], probs[1], pos, neg):
            return best
        return noisy

    def _with_pairs(
        self,
        kind: str,
        name: str,
        alpha: float,
        cv: tuple[Features, np.ndarray, np.ndarray, np.ndarray],
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
        if self._tested_ and len(pairs):  # a tested channel keeps to its main effect
            codes = [i for i, c in enumerate(self.channels_) if c in self._tested_]
            pairs = pairs[~np.isin(pairs, codes).any(axis=1)]
        if not len(pairs):
            return NO_PAIRS, cv_best
        base = cv_predict(x, pos, neg, fold, self.folds, self._linear_fitter(kind, name, alpha))
        fit = self._linear_fitter(kind, name, alpha, pairs)
        prob = cv_predict(x, pos, neg, fold, self.folds, fit)
        loss = log_loss(prob, pos, neg)
        results.append(
            dict(estimator=kind, feature_set=name, alpha=alpha, cv_log_loss=loss, pairs=len(pairs))
            | extra
        )
        if _clearly_lower(base, prob, pos, neg, journeys):
            return pairs, loss
        return NO_PAIRS, cv_best

    def _finish(
        self,
        kind: str,
        name: str,
        chosen_alpha: float | None,
        cv_best: float,
        results: list[dict[str, Any]],
        x: Features,
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
        feats_names = self.model_.features if linear else FEATURE_SETS[name][0]
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
                "sparse_features": [self._sparse_],
                "estimators_tried": ["logistic" if self.time_model_ == "hazard" else self._tried_],
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
    _sparse_: bool = False  # sparse features (more than _SPARSE_CHANNELS channels)
    _tried_: str = ""  # the estimators model selection tried
    _tested_: frozenset[str] = frozenset()  # tested channels found empty: no synergy terms
    _controls_: frozenset[str] = frozenset()  # tested channels: a flexible selection shape
    _timed_: bool = False  # the journeys have touch times (the controls' time features)
    _refitted_: bool = False  # refitted without the synergies of such channels
    identification_: pl.DataFrame | None = None
    intervals_: np.ndarray | None = None
    lift_tests_: pl.DataFrame | None = None
    log_model_: _Fitted | None = None
    control_model_: _Fitted | None = None
    _pairs_tried_: int = 0  # synergy pairs the chosen model was fitted with (some may be 0)
    population_: str = "all"
    returning_model_: DataDrivenModel | None = None

    def _feature_names(self, name: str) -> tuple[str, ...]:
        """Per-channel features of the set ``name``, and the tested channels' extra ones."""
        base = FEATURE_SETS[name][0]
        if not self._controls_ or getattr(self, "time_model_", None) == "hazard":
            return base
        extra = [f for f in _CONTROL_FEATURES if f not in base]
        if not self._timed_:
            extra = [f for f in extra if f not in _TIME_FEATURES]
        return (*base, *extra)

    def _features(self, seq: Sequences, name: str, half_life: float) -> Features:
        """Return the design of feature set ``name``: the extra features of tested channels only.

        The columns of the extra features are 0 for the channels without a test, so that
        their coefficients are 0 and every channel keeps the chosen set's shape. Sparse (CSR)
        with many channels.
        """
        names = self._feature_names(name)
        x = journey_features(seq, names, half_life_days=half_life, sparse=self._sparse_)
        n_base = len(FEATURE_SETS[name][0])
        if len(names) > n_base:
            k = len(seq.channels)
            keep = np.isin(np.asarray(seq.channels), list(self._controls_))
            if is_sparse(x):
                mask = np.r_[np.ones(n_base * k), np.tile(keep, len(names) - n_base)]
                x = _sparse().csr_matrix(x @ _sparse().diags(mask))
                x.eliminate_zeros()
                return x
            for b in range(n_base, len(names)):
                x[:, b * k : (b + 1) * k] *= keep
        return x

    def _linear_fitter(
        self, kind: str, name: str, alpha: float, pairs: np.ndarray = NO_PAIRS
    ) -> Callable[[Features, np.ndarray, np.ndarray], _Fitted]:
        discrete = not FEATURE_SETS[name][1]
        k_feats = self._feature_names(name)

        def fit(x: Features, pos: np.ndarray, neg: np.ndarray) -> _Fitted:
            if discrete:
                x, pos, neg = group_rows(x, pos, neg)
            self._n_unique_ = x.shape[0]
            n_ch = x.shape[1] // len(k_feats)
            if not len(pairs):
                b0, coef = fit_linear(x, pos, neg, alpha, kind)
                return _Fitted(kind, k_feats, n_ch, b0, coef)
            shape = _Fitted(kind, k_feats, n_ch, pairs=pairs)
            terms = shape.pair_terms(x)
            if is_sparse(x):
                design: Features = _sparse().hstack([x, terms], format="csr")
            else:
                design = np.hstack([x, terms])
            b0, coef = fit_linear(design, pos, neg, alpha, kind)
            p = x.shape[1]
            kept = coef[p:] > 0  # a synergy fitted at 0 is no synergy
            return _Fitted(
                kind, k_feats, n_ch, b0, coef[:p], pairs=pairs[kept], pair_coef=coef[p:][kept]
            )

        return fit

    def _boosting_fitter(self, name: str) -> Callable[[Features, np.ndarray, np.ndarray], _Fitted]:
        from sklearn.ensemble import HistGradientBoostingClassifier

        discrete = not FEATURE_SETS[name][1]
        k_feats = FEATURE_SETS[name][0]
        seed = self.seed

        def fit(x: Features, pos: np.ndarray, neg: np.ndarray) -> _Fitted:
            if is_sparse(x):
                x = _sparse().csr_matrix(x).toarray()
            if discrete:
                x, pos, neg = group_rows(x, pos, neg)
            self._n_unique_ = len(x)
            xs, y, w = stack_outcomes(x, pos, neg)
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

    # -- identification ----------------------------------------------------------------------

    def _design(
        self, seq: Sequences, rng: np.random.Generator
    ) -> tuple[Features, np.ndarray, np.ndarray, np.ndarray]:
        """Rows the chosen model is fitted on: features, conversions, non-conversions, journey."""
        touched = np.flatnonzero(seq.lengths > 0)
        if self.time_model_ == "hazard":
            delta = at_risk_delta(seq)
            row, tau, pos, neg = interval_samples(
                seq, touched, self.hazard_samples, rng, delta=delta
            )
            x = hazard_features(seq, row, tau, self.half_life_, delta=delta, sparse=self._sparse_)
            return x, pos, neg, row
        x = journey_features(
            seq, self.model_.features, half_life_days=self.half_life_, sparse=self._sparse_
        )
        return x[touched], seq.conversions[touched], seq.nulls[touched], touched

    def _credit_totals(self, model: _Fitted, seq: Sequences) -> np.ndarray:
        """Credited conversions of each channel, then the baseline, on ``seq``'s conversions."""
        conv = seq.converting
        k = len(seq.channels)
        if self._sparse_ and model.kind in LINKS:
            cnt = _channel_counts(conv)
            xs = journey_features(conv, model.features, half_life_days=self.half_life_, sparse=True)
            part, base_s, _, _ = _credit_rows_sparse(
                model, _sparse().csr_matrix(xs), cnt, self.method, self.max_shapley_channels
            )
            w_e = conv.conversions[_entry_rows(cnt)] * part
            return np.append(
                np.bincount(cnt.indices, weights=w_e, minlength=k), conv.conversions @ base_s
            )
        counts = np.bincount(conv.row_of_touch * k + conv.codes, minlength=conv.n_rows * k)
        x = journey_features(conv, model.features, half_life_days=self.half_life_)
        share, base, _ = _credit_rows(
            model, x, counts.reshape(conv.n_rows, k), self.method, self.max_shapley_channels
        )
        w = conv.conversions
        return np.append(w @ share, w @ base)

    def _identify(self, seq: Sequences) -> None:
        """Check that the log identifies credit; set ``identification_`` and maybe warn.

        Run on at most ``cv_rows`` journeys (those of the cross-validation) with the chosen
        model (feature set, penalty, synergies; no new selection):

        - the out-of-fold log loss of the model against a constant rate fitted on the same
          folds: the gain and its standard error over journeys;
        - the credit of each fold's model and of a model fitted on every journey of the
          sample, credited on the sample's conversions: how far credit moves between folds;
        - a model fitted when every journey keeps only the touches of the last third of the
          lookback (a third of the longest time from a touch to its conversion; 30 days of a
          90-day lookback) against the model of every touch, both crediting those same
          recent touches: how far credit moves with the lookback when the touches do not
          (dropping old touches moves credit by itself; that is not counted). Journey model
          only: the hazard reads the time since every touch, and its days at risk change
          with the window.

        Warns (:class:`attribution.IdentificationWarning`) when the log is too small (fewer
        conversions with touches than ``10 ×`` the coefficients, or 200), the model is not
        clearly better than no channel (gain under two standard errors), or credit moves by
        more than ``instability`` of the conversions across folds or by more than twice that
        with the lookback (a model that is a little wrong in form reads recent and old touches
        differently, so the lookback is given more room); the warning is then also in
        ``diagnostics_``, and bootstrap intervals in ``intervals_``.
        """
        self.identification_ = None
        self.intervals_ = None
        if not (self.diagnose or self.intervals) or self.model_.coef is None:
            return
        saved = self._n_unique_
        try:
            self._identify_linear(seq)
        finally:
            self._n_unique_ = saved

    def _identify_linear(self, seq: Sequences) -> None:
        rng = np.random.default_rng([self.seed, 23])
        keep = np.zeros(seq.n_rows, dtype=bool)
        keep[self._cv_idx_] = True
        sub = seq.subset(keep)
        x, pos, neg, unit = self._design(sub, rng)
        fold_of = rng.integers(0, self.folds, size=sub.n_rows)[unit]
        oof = np.zeros(x.shape[0])
        null = np.zeros(x.shape[0])
        fold_credit = []
        for f in range(self.folds):
            tr, te = fold_of != f, fold_of == f
            if not (pos[tr].sum() > 0 and neg[tr].sum() > 0) or not te.any():
                continue
            m = self._refit_(x[tr], pos[tr], neg[tr])
            oof[te] = m.predict(x[te])
            null[te] = pos[tr].sum() / (pos[tr].sum() + neg[tr].sum())
            fold_credit.append(self._credit_totals(m, sub))
        weight = max(float((pos + neg).sum()), 1e-300)
        gain_rows = row_log_loss(null, pos, neg) - row_log_loss(oof, pos, neg)
        gain_unit = np.bincount(np.unique(unit, return_inverse=True)[1], weights=gain_rows)
        gain = float(gain_unit.sum() / weight)
        se = float(np.sqrt(len(gain_unit) * gain_unit.var()) / weight)
        whole = self._refit_(x, pos, neg)
        full = self._credit_totals(whole, sub)
        n_conv = max(float(sub.conversions.sum()), 1e-300)
        folds_move = max(
            (float(np.abs(c - full).sum()) / n_conv for c in fold_credit), default=float("nan")
        )
        # lookback: converting journeys keep the touches of the last third of it
        look_days, look_move = None, float("nan")
        look = same = np.full(len(full), np.nan)
        dd = sub.delta_days
        if dd is not None and self.time_model_ == "journey":
            conv_touch = sub.conversions[sub.row_of_touch] > 0
            if conv_touch.any():
                q = float(dd[conv_touch].max())
                if q > 0:
                    look_days = q / 3.0
                    trimmed = _trim_lookback(sub, look_days)
                    xt, pt, nt, _ = self._design(trimmed, rng)
                    if pt.sum() > 0 and nt.sum() > 0:
                        look = self._credit_totals(self._refit_(xt, pt, nt), trimmed)
                        same = self._credit_totals(whole, trimmed)  # the same touches
                        look_move = float(np.abs(look - same).sum()) / n_conv
        touched_conv = float(seq.conversions[seq.lengths > 0].sum())
        n_coef = len(self.model_.features) * len(seq.channels)
        least = max(200, 10 * n_coef)
        reasons = []
        if touched_conv < least:
            reasons.append(
                f"the log is small: {touched_conv:g} conversions with touches for {n_coef} "
                f"coefficients (at least {least} advised)"
            )
        if not gain > 2 * se:
            reasons.append(
                f"the model predicts conversion out of fold only {gain:.4f} better (log loss) "
                f"than no channel at all, {gain / se if se > 0 else 0.0:.1f} standard errors"
            )
        names = [*seq.channels, BASELINE]
        for what, move, ref, other in (
            ("between folds", folds_move, full, fold_credit),
            (f"with a {look_days or 0:.3g}-day lookback", look_move / 2, same, [look]),
        ):
            if move > self.instability:
                move = move * 2 if ref is same else move
                worst = max(
                    range(len(names) - 1),  # the channel that moves most
                    key=lambda i: max(abs(o[i] - ref[i]) for o in other),
                )
                lo = min(o[worst] for o in other) * 100 / n_conv
                hi = max(o[worst] for o in other) * 100 / n_conv
                span = f"{lo:.1f} %" if abs(hi - lo) < 0.05 else f"{lo:.1f}–{hi:.1f} %"
                reasons.append(
                    f"credit moves by {move:.0%} of the conversions {what} ({names[worst]}: "
                    f"{ref[worst] * 100 / n_conv:.1f} % of conversions, {span} {what})"
                )
        fold_arr = np.array(fold_credit) if fold_credit else np.full((1, len(full)), np.nan)
        self.identification_ = pl.DataFrame(
            {
                "channel": names,
                "share": full / n_conv,
                "fold_min": fold_arr.min(axis=0) / n_conv,
                "fold_max": fold_arr.max(axis=0) / n_conv,
                "recent_share": same / n_conv,
                "lookback_share": look / n_conv,
            }
        ).with_columns(pl.col("recent_share", "lookback_share").fill_nan(None))
        if reasons and reasons[-1].find("credit moves") < 0:
            moves = []  # what was measured: no fold may fit, and a hazard has no lookback check
            if np.isfinite(folds_move):
                moves.append(f"{folds_move:.0%} of the conversions between folds")
            if np.isfinite(look_move) and look_days is not None:
                moves.append(f"{look_move:.0%} with a {look_days:.3g}-day lookback")
            if moves:
                reasons.append("credit moves by " + " and ".join(moves))
        message = "; ".join(r for r in reasons if r)
        self.diagnostics_ = self.diagnostics_.with_columns(
            cv_gain=pl.lit(gain),
            cv_gain_se=pl.lit(se),
            fold_instability=pl.lit(folds_move),
            lookback_days=pl.lit(look_days, dtype=pl.Float64),
            lookback_instability=pl.lit(look_move).fill_nan(None),
            identified=pl.lit(not reasons),
            warning=pl.lit(message or None, dtype=pl.String),
        )
        if self.intervals or (reasons and self.intervals is None and self.diagnose):
            self.intervals_ = self._bootstrap(sub, x, pos, neg, unit, rng, float(seq.n_rows))
        if reasons and self.diagnose:
            warnings.warn(
                f"data_driven: credit is not identified by this log: {message}. The result "
                'is returned with bootstrap intervals (tables["intervals"]); read it with '
                "care, or test the channels that matter (at.plan_experiments).",
                IdentificationWarning,
                stacklevel=_caller_level(),
            )

    def _bootstrap(
        self,
        sub: Sequences,
        x: Features,
        pos: np.ndarray,
        neg: np.ndarray,
        unit: np.ndarray,
        rng: np.random.Generator,
        n_all: float,
    ) -> np.ndarray:
        """Return the standard deviation of each channel's (and the baseline's) share.

        Journeys of the sample get Poisson(1) weights, the chosen model is refitted and
        credited on the sample's conversions; the spread of the shares is scaled from the
        sample to all journeys (``√(n_sample / n_all)``).
        """
        k = len(sub.channels) + 1
        if sub.n_rows > _BOOT_ROWS:
            part = np.zeros(sub.n_rows, dtype=bool)
            part[rng.choice(sub.n_rows, size=_BOOT_ROWS, replace=False)] = True
            new_row = np.cumsum(part) - 1
            sub, keep = sub.subset(part), part[unit]
            x, pos, neg, unit = x[keep], pos[keep], neg[keep], new_row[unit[keep]]
        shares = np.zeros((self.interval_replicates, k))
        ids, inv = np.unique(unit, return_inverse=True)
        conv = sub.converting
        conv_pos = np.flatnonzero(sub.conversions > 0)  # rows of ``conv`` within ``sub``
        for b in range(self.interval_replicates):
            w = rng.poisson(1.0, size=len(ids)).astype(np.float64)
            m = self._refit_(x, pos * w[inv], neg * w[inv])
            wc = np.ones(sub.n_rows)  # conversions without touches are not resampled
            wc[ids] = w
            weighted = replace(conv, conversions=conv.conversions * wc[conv_pos])
            tot = self._credit_totals(m, weighted)
            shares[b] = tot / max(tot.sum(), 1e-300)
        return shares.std(axis=0, ddof=1) * np.sqrt(sub.n_rows / max(n_all, 1.0))

    # -- lift tests inside the fit ------------------------------------------------------------

    def _read_lift_tests(
        self, data: Journeys | PathTable | Sequences, tests: FrameLike
    ) -> pl.DataFrame:
        """Validate lift tests against the data's channels; sum the periods of a channel."""
        from attribution.calibration import lift_tests_by_channel

        seq = data if isinstance(data, Sequences) else data.sequences()
        t = lift_tests_by_channel(tests)
        missing = sorted(set(t["channel"]) - set(seq.channels))
        if missing:
            raise ModelError(
                f"Lift tests name {len(missing)} channels the journeys do not have: "
                f"{missing[:5]}; the channels are {list(seq.channels)[:12]}."
            )
        positive_number(self.lift_prior, "lift_prior")
        return t

    def _fit_lift_tests(self, data: Journeys | PathTable | Sequences, t: pl.DataFrame) -> None:
        """Split each tested channel into effect and selection so that its removal matches.

        See the module docstring ("Lift tests inside the fit"). Sets ``lift_tests_`` and the
        ``model_`` of this model and of the returning customers' model; ``log_model_`` keeps
        the fit on the log alone.
        """
        seq = self._seq(data if isinstance(data, Sequences) else data.sequences())
        for part, _ in self._parts(seq):
            if part.model_.coef is None:
                raise ModelError(
                    "Lift tests inside the fit need a linear conversion model (estimator "
                    "'logistic', 'noisy_or' or 'auto'); boosting has no coefficients to split. "
                    "Use at.calibrate on a boosting result instead."
                )
        conv = seq.converting
        index = {c: i for i, c in enumerate(seq.channels)}
        tested = list(t.select("channel", "test", "lower", "upper").iter_rows())
        blocks = self._lift_blocks(conv)
        targets, logs, emptied = [], [], []
        for ch, test, lower, upper in tested:
            first = _LiftSplit(blocks, index[ch])
            r_log = first.removal(0.0 if first.unit else 1.0)
            se = max(float(upper) - float(lower), 0.0) / (2 * _Z95)
            logs.append(r_log)
            targets.append(_precision_weighted(float(test), se, r_log, self.lift_prior))
            if targets[-1] < _INTENT_RATIO * r_log and first.has_pairs:
                emptied.append(ch)
        log_models = [part.model_ for part, _ in self._parts(seq)]
        journey = any(part.time_model_ == "journey" for part, _ in self._parts(seq))
        if emptied or journey:
            # refit with each tested channel as a flexible control for the selection its test
            # leaves to it (the journey model), and, where a test finds the channel's
            # association mostly intent, without its synergy terms: they hold the other
            # channels' effects among the people it finds
            self._tested_ = frozenset(emptied)
            self._controls_ = frozenset(ch for ch, *_ in tested)
            self._timed_ = seq.delta_days is not None
            checks = self.diagnostics_.drop(_LOG_COLUMNS, strict=False)
            self._fit(data, identify=False)
            self._refitted_ = True
            if checks.width > 1:  # the log's identification checks stay in the diagnostics
                self.diagnostics_ = self.diagnostics_.join(checks, on="population", how="left")
            blocks = self._lift_blocks(conv)
        parts = [part for part, _ in self._parts(seq)]
        if len(parts) != len(log_models):  # pragma: no cover - the same rows decide the same
            raise ModelError("The refit without synergies changed the populations modelled.")
        for part, log_model in zip(parts, log_models, strict=True):
            part.log_model_ = log_model
            part.control_model_ = part.model_
        # a channel's removal includes its synergies with the others: solve in turn until
        # no test moves (each split scales the effect left by the previous ones)
        scale = np.ones(len(tested))
        reached = np.zeros(len(tested), dtype=bool)
        for _ in range(_LIFT_SWEEPS):
            moved = 0.0
            for i, (ch, *_) in enumerate(tested):
                split = _LiftSplit(blocks, index[ch])
                kappa, reached[i] = split.solve(targets[i])
                split.apply(kappa)
                scale[i] = kappa if split.unit else scale[i] * kappa
                moved = max(moved, abs(kappa - 1.0) if not split.unit else float(kappa > 0))
            if moved < 1e-9 or len(tested) == 1:
                break
        rows_out = [
            {
                "channel": ch,
                "test": float(test),
                "lower": float(lower),
                "upper": float(upper),
                "model_lift_log": logs[i],
                "target": targets[i],
                "effect_scale": float(scale[i]),
                "reached": bool(reached[i]),
            }
            for i, (ch, test, lower, upper) in enumerate(tested)
        ]
        self.lift_tests_ = pl.DataFrame(rows_out)

    def _lift_blocks(self, conv: Sequences) -> list[tuple[DataDrivenModel, Features, np.ndarray]]:
        """Per population: its model, the features of its converting rows, their conversions."""
        blocks = []
        for part, rows in self._parts(conv):
            x = journey_features(
                conv, part.model_.features, half_life_days=part.half_life_, sparse=part._sparse_
            )[rows]
            blocks.append((part, x, conv.conversions[rows]))
        return blocks

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
                seq, model.features, half_life_days=part.half_life_, sparse=part._sparse_
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
        out, arrays = self._credit_with(seq, log_only=False)
        if self.lift_tests_ is None:
            return out
        log, _ = self._credit_with(seq, log_only=True, like=None if self._refitted_ else arrays)
        effects = out.tables["effects"]
        after = dict(zip(effects["channel"], effects["removal_conversions"], strict=True))
        tested = self.lift_tests_.with_columns(
            model_lift=pl.col("channel").replace_strict(after, return_dtype=pl.Float64)
        )
        # the baseline row holds the model's baseline and the conversions without touches
        untouched = seq.lengths == 0
        base_log = float(log.tables["baseline"]["conversions"][0])
        base_log += float(seq.conversions[untouched].sum())
        base_rev = float(log.tables["baseline"]["revenue"][0]) + float(seq.value[untouched].sum())
        log_frame = pl.DataFrame(
            {
                "channel": [*seq.channels, BASELINE],
                "conversions": [*log.conversions.tolist(), base_log],
                "revenue": [*log.revenue.tolist(), base_rev],
                "removal_conversions": [
                    *log.tables["effects"]["removal_conversions"].to_list(),
                    None,
                ],
            },
            schema={
                "channel": pl.String,
                "conversions": pl.Float64,
                "revenue": pl.Float64,
                "removal_conversions": pl.Float64,
            },
        )
        tables = out.tables | {"lift_tests": tested, "log_only": log_frame}
        return replace(out, tables=tables)

    def _credit_arrays(
        self,
        conv: Sequences,
        counts: np.ndarray,
        *,
        log_only: bool,
        like: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per converting row: channel shares, removal effects and the baseline share.

        ``log_only``: with the models before the lift-test split. ``like``: the arrays of the
        split models, whose rows without a tested channel are the same (their games do not
        change), so only the others are computed.
        """
        n, k = counts.shape
        if like is None:
            share, removal, base_share = np.zeros((n, k)), np.zeros((n, k)), np.ones(n)
            redo = np.ones(n, dtype=bool)
        else:
            share, removal, base_share = (a.copy() for a in like)
            names = set() if self.lift_tests_ is None else set(self.lift_tests_["channel"])
            tested = [i for i, c in enumerate(conv.channels) if c in names]
            redo = np.asarray((counts[:, tested] > 0).any(axis=1), dtype=bool)
        for part, rows in self._parts(conv):
            model = part._fitted()
            if log_only and part.log_model_ is not None:
                model = part.log_model_
            idx = np.arange(n)[rows]
            idx = idx[redo[idx]]
            x = journey_features(conv, model.features, half_life_days=part.half_life_)[idx]
            s, b, p_all = _credit_rows(
                model, x, counts[idx], self.method, self.max_shapley_channels
            )
            share[idx], base_share[idx] = s, b
            removal[idx] = self._removal(model, x, counts[idx], p_all)
        return share, removal, base_share

    def _credit_arrays_sparse(
        self,
        conv: Sequences,
        cnt: sp.csr_matrix,
        *,
        log_only: bool,
        like: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return :meth:`_credit_arrays` of sparse features, per stored entry of ``cnt``.

        Shares and removal effects per (row, channel touched), the baseline share per row.
        """
        n = conv.n_rows
        if like is None:
            share, removal, base_share = np.zeros(cnt.nnz), np.zeros(cnt.nnz), np.ones(n)
            redo = np.ones(n, dtype=bool)
        else:
            share, removal, base_share = (a.copy() for a in like)
            names = set() if self.lift_tests_ is None else set(self.lift_tests_["channel"])
            tested = [i for i, c in enumerate(conv.channels) if c in names]
            hit = _entry_rows(cnt)[np.isin(cnt.indices, tested)]
            redo = np.bincount(hit, minlength=n) > 0
        for part, rows in self._parts(conv):
            model = part._fitted()
            if log_only and part.log_model_ is not None:
                model = part.log_model_
            idx = np.arange(n)[rows]
            idx = idx[redo[idx]]
            x = journey_features(conv, model.features, half_life_days=part.half_life_, sparse=True)
            s, b, _, r = _credit_rows_sparse(
                model,
                _sparse().csr_matrix(x[idx]),
                cnt[idx],
                self.method,
                self.max_shapley_channels,
            )
            ent = _entries(cnt.indptr, idx)
            share[ent], removal[ent], base_share[idx] = s, r, b
        return share, removal, base_share

    def _credit_with(
        self,
        seq: Sequences,
        *,
        log_only: bool,
        like: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> tuple[KernelOutput, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        conv = seq.converting
        k = len(seq.channels)
        touched = conv.lengths > 0
        row = conv.row_of_touch
        if self._sparse_:
            # shares and removal effects per (row, channel touched): no rows x channels array
            cnt = _channel_counts(conv)
            arrays = self._credit_arrays_sparse(conv, cnt, log_only=log_only, like=like)
            share, removal, base_share = arrays
            entry = np.searchsorted(
                _entry_rows(cnt) * k + cnt.indices, row.astype(np.int64) * k + conv.codes
            )
            per_touch = share[entry] / cnt.data[entry]
            w_entry = conv.conversions[_entry_rows(cnt)]
            removal_conv: np.ndarray = np.bincount(
                cnt.indices, weights=w_entry * removal, minlength=k
            )
            with_channel = np.bincount(cnt.indices, weights=w_entry, minlength=k)
        else:
            counts = np.bincount(row * k + conv.codes, minlength=conv.n_rows * k).reshape(
                conv.n_rows, k
            )
            arrays = self._credit_arrays(conv, counts, log_only=log_only, like=like)
            share, removal, base_share = arrays
            # each touch: an equal part of its channel's share in its row
            per_touch = share[row, conv.codes] / counts[row, conv.codes]
            w_touched = conv.conversions[touched]
            removal_conv = w_touched @ removal[touched] if len(w_touched) else np.zeros(k)
            with_channel = (counts > 0).T.astype(np.float64) @ conv.conversions
        out = credit_from_touches(conv, per_touch)
        w_conv, w_val = conv.conversions[touched], conv.value[touched]
        base_conv = float((base_share[touched] * w_conv).sum())
        base_rev = float((base_share[touched] * w_val).sum())
        total = float(seq.conversions.sum())
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
                    "removal_conversions": removal_conv,
                    "journeys_with_channel": with_channel,
                }
            ),
            "coefficients": pl.concat([m.coef_ for m in models]),
            "model_selection": pl.concat([m.cv_results_ for m in models]),
            "diagnostics": pl.concat([m.diagnostics_ for m in models], how="diagonal_relaxed"),
        }
        if self.identification_ is not None:
            tables["stability"] = self.identification_
        if self.intervals_ is not None:
            conv_all = np.append(out.conversions, base_conv)
            half = _Z95 * self.intervals_ * total
            tables["intervals"] = pl.DataFrame(
                {
                    "channel": [*seq.channels, BASELINE],
                    "conversions": conv_all,
                    "sd": self.intervals_ * total,
                    "lower": np.maximum(conv_all - half, 0.0),
                    "upper": conv_all + half,
                }
            )
        output = KernelOutput(
            out.conversions,
            out.revenue,
            per_touch,
            conv,
            tables,
            extra_rows=((BASELINE, base_conv, base_rev),),
        )
        return output, arrays

    def _removal(
        self, model: _Fitted, x: np.ndarray, counts: np.ndarray, p_all: np.ndarray
    ) -> np.ndarray:
        """Per row and channel: ``(p(all) − p(all without c)) / p(all)``."""
        n, k = counts.shape
        out = np.zeros((n, k))
        f = len(model.features)
        for c in np.flatnonzero(counts.any(axis=0)):
            rows = np.flatnonzero(counts[:, c] > 0)
            xc = x[rows].copy()
            xc[:, c + k * np.arange(f)] = 0.0
            p_wo = model.predict(xc, full=x[rows])
            out[rows, c] = np.clip(1.0 - p_wo / np.maximum(p_all[rows], 1e-300), 0.0, 1.0)
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
    lift_tests: FrameLike | None = None,
    lift_prior: float = 1.0,
    diagnose: bool = True,
    instability: float = 0.25,
    intervals: bool | None = None,
    interval_replicates: int = 20,
    seed: int = 0,
    max_fit_channels: int | None = None,
) -> KernelOutput:
    """Data-driven: a fitted conversion model, credit by counterfactual Shapley values.

    See :mod:`attribution.models.data_driven` and :class:`DataDrivenModel` for the parameters.
    The baseline (conversions expected without any marketing) is the ``"(baseline)"`` row of
    ``.channels`` (also ``tables["baseline"]``); ``tables["effects"]``, ``["coefficients"]``,
    ``["model_selection"]``, ``["diagnostics"]`` and ``["stability"]`` describe the fitted model
    (``["intervals"]`` when the log does not identify the credit). On a path table (no times)
    only the time-free feature sets are tried. ``lift_tests`` are used inside the fit
    (``tables["lift_tests"]`` and ``["log_only"]``).

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
        lift_prior=lift_prior,
        diagnose=diagnose,
        instability=instability,
        intervals=intervals,
        interval_replicates=interval_replicates,
        seed=seed,
        max_fit_channels=max_fit_channels,
    ).fit(seq, lift_tests=lift_tests)
    return model.credit(seq)
