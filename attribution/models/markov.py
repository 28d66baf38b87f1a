"""Markov chain attribution of any order, solved exactly.

States are channels, or for order ``k`` the sliding k-grams of a path (a path shorter than
``k`` is a single state made of all its channels; ChannelAttribution's convention), plus
``(start)``, ``(conversion)`` and ``(null)``. Transition probabilities are the maximum-likelihood
estimates from the rows' counts: each row (a journey, or a unique path with its totals) adds
``conversions + nulls`` to every transition along its states, ``conversions`` to
``last → (conversion)`` and ``nulls`` to ``last → (null)``.

``P(conversion)`` is the absorption probability into ``(conversion)`` from ``(start)``: the
solution of ``(I − Q) x = b`` over the transient states (``Q`` their transition block, ``b``
their one-step conversion probabilities), by sparse LU (scipy), never by simulated walks.
Removing a channel sends every transition into a state that contains it to ``(null)``, i.e. those
states are dropped from the system. The removal effect of channel ``c`` is
``RE_c = 1 − P(conversion | c removed) / P(conversion)`` and the channel is credited
``conversions × RE_c / Σ RE``.

References: Anderl, Becker, von Wangenheim & Schumann (2016), "Mapping the customer journey:
lessons learned from graph-based online attribution modeling", IJRM 33(3); ChannelAttribution's
``markov_model`` (which estimates the same quantities by simulation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from attribution._base.errors import ModelError
from attribution.journeys import Sequences
from attribution.models.base import KernelOutput, register_model
from attribution.models.scoring import log_loss, split_counts, weighted_auc

__all__ = [
    "MarkovChain",
    "StateLayout",
    "choose_order",
    "decode_state",
    "fit_chain",
    "markov",
    "removal_effects",
    "state_layout",
]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True)
class MarkovChain:
    """An estimated absorbing chain.

    Attributes
    ----------
    order : int
        Markov order ``k``.
    channels : tuple of str
        Channel names (codes index into it).
    states : list of tuple of int
        Channel codes making up each transient state ``1..S`` (state 0 is ``(start)``).
    counts : scipy.sparse.csr_matrix, shape (S + 3, S + 3)
        Transition counts; rows/columns ``0`` = start, ``1..S`` = states, ``S + 1`` =
        conversion, ``S + 2`` = null.
    conv_value : ndarray, shape (S + 1,)
        Total conversion value absorbed from each transient state.
    """

    order: int
    channels: tuple[str, ...]
    states: list[tuple[int, ...]]
    counts: sp.csr_matrix
    conv_value: np.ndarray

    @property
    def n_states(self) -> int:
        """Number of channel states (excluding start and the two absorbing states)."""
        return len(self.states)

    def state_names(self, sep: str = " > ") -> list[str]:
        """Names of all states in matrix order."""
        names = [START]
        names += [sep.join(self.channels[c] for c in s) for s in self.states]
        return [*names, CONVERSION, NULL]

    def transition_frame(self) -> pl.DataFrame:
        """Transitions as a frame: ``from_state, to_state, count, probability``."""
        coo = self.counts.tocoo()
        out = np.asarray(self.counts.sum(axis=1)).ravel()
        names = np.array(self.state_names(), dtype=object)
        prob = coo.data / out[coo.row]
        frame = pl.DataFrame(
            {
                "from_state": names[coo.row].tolist(),
                "to_state": names[coo.col].tolist(),
                "count": coo.data.astype(np.float64),
                "probability": prob,
                "_r": coo.row,
                "_c": coo.col,
            }
        )
        return frame.sort("_r", "_c").drop("_r", "_c")


def _gram_keys(seq: Sequences, order: int) -> np.ndarray:
    """Key of the state starting at every step, steps in row order.

    A step starts at every touch with at least ``order`` touches left in its row (a full
    k-gram), and at the first touch of a row shorter than ``order`` (one state of all its
    channels). Keys are base-(n_channels + 1) numbers of the gram's codes + 1.
    """
    lengths = seq.lengths
    codes = seq.codes.astype(np.int64) + 1
    if order == 1:
        return codes
    base = len(seq.channels) + 1
    if float(base) ** order >= 2**62:
        raise ModelError(
            f"Markov order {order} with {len(seq.channels)} channels has too many possible "
            "states to encode; lower the order or group channels."
        )
    row = seq.row_of_touch
    remaining = lengths[row] - seq.position
    is_step = (remaining >= order) | ((lengths[row] < order) & (seq.position == 0))
    keys = codes.copy()
    for t in range(1, order):
        shifted = np.zeros_like(codes)
        shifted[:-t] = codes[t:]
        keys += np.where(remaining > t, shifted, 0) * base**t
    return keys[is_step]


def _dense_ids(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and each key's index among them (lookup table when keys are small)."""
    if len(keys) and int(keys.max()) < 2**24:
        present = np.zeros(int(keys.max()) + 1, dtype=bool)
        present[keys] = True
        uniq = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        return uniq, lookup[keys]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse


def decode_state(key: int, base: int) -> tuple[int, ...]:
    """Channel codes of a state from its key (base-``base`` digits of ``code + 1``).

    Examples
    --------
    >>> decode_state(1 + 3 * 4, 4)  # codes 0 then 2, read from the lowest digit
    (0, 2)
    """
    codes = []
    while key:
        key, d = divmod(key, base)
        codes.append(d - 1)
    return tuple(codes)


def _count_matrix(frm: np.ndarray, to: np.ndarray, w: np.ndarray, size: int) -> sp.csr_matrix:
    """Sum weights per (from, to) pair into a CSR matrix without a COO sort."""
    flat = frm * size + to
    if size * size <= 4_000_000:
        dense = np.bincount(flat, weights=w, minlength=size * size)
        return sp.csr_matrix(dense.reshape(size, size))
    uniq, inverse = np.unique(flat, return_inverse=True)
    summed = np.bincount(inverse, weights=w)
    return sp.csr_matrix((summed, (uniq // size, uniq % size)), shape=(size, size))


@dataclass(frozen=True)
class StateLayout:
    """Where each row's states sit: steps in row order, with their state ids (1-based).

    Built by :func:`state_layout`; the chain (:func:`fit_chain`) and the bootstrap's batched
    chains (:mod:`attribution.uncertainty`) count transitions from it.
    """

    uniq: np.ndarray  # state keys, sorted; state i + 1 has key uniq[i]
    state: np.ndarray  # state id of every step
    steps: np.ndarray  # steps per row
    rows: np.ndarray  # rows with at least one step
    first: np.ndarray  # first step of each of those rows
    last: np.ndarray  # last step of each of those rows

    @property
    def n_states(self) -> int:
        """Number of distinct states (without start and the two absorbing states)."""
        return len(self.uniq)


def state_layout(seq: Sequences, order: int) -> StateLayout:
    """Lay out the states of order ``order`` along every row (see :class:`StateLayout`)."""
    uniq, state = _dense_ids(_gram_keys(seq, order))
    lengths = seq.lengths
    steps = np.where(lengths >= order, lengths - order + 1, np.minimum(lengths, 1))
    offsets = np.zeros(seq.n_rows + 1, dtype=np.int64)
    np.cumsum(steps, out=offsets[1:])
    rows = np.flatnonzero(steps > 0)
    return StateLayout(
        uniq, state.astype(np.int64) + 1, steps, rows, offsets[:-1][rows], offsets[1:][rows] - 1
    )


def fit_chain(seq: Sequences, order: int = 1) -> MarkovChain:
    """Estimate the absorbing chain of ``order`` from rows with at least one touch.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b", "b"], "total_conversions": [1, 1],
    ...                                  "total_null": [1, 3]}))
    >>> chain = fit_chain(pt.sequences())
    >>> chain.transition_frame().filter(pl.col("from_state") == "b").rows()
    [('b', '(conversion)', 2.0, 0.3333333333333333), ('b', '(null)', 4.0, 0.6666666666666666)]
    """
    if int(order) != order or order < 1:
        raise ModelError(f"Markov order must be a whole number ≥ 1; got {order!r}.")
    lay = state_layout(seq, int(order))
    uniq, state, steps, rows = lay.uniq, lay.state, lay.steps, lay.rows
    first, last = lay.first, lay.last
    n_states = lay.n_states
    size = n_states + 3  # 0 is start, then the states, conversion and null
    weight = seq.conversions + seq.nulls
    # consecutive steps; a pair that crosses into the next row's first step weighs 0
    pair_w = np.repeat(weight, steps)[1:]
    pair_w[first[1:] - 1] = 0.0
    pairs = state[:-1] * size + state[1:]
    if size * size <= 4_000_000:
        flat = np.bincount(pairs, weights=pair_w, minlength=size * size).astype(np.float64)
        flat = flat.reshape(size, size)
        flat[0] += np.bincount(state[first], weights=weight[rows], minlength=size)
        flat[:, n_states + 1] += np.bincount(
            state[last], weights=seq.conversions[rows], minlength=size
        )
        flat[:, n_states + 2] += np.bincount(state[last], weights=seq.nulls[rows], minlength=size)
        counts = sp.csr_matrix(flat)
    else:
        frm = np.concatenate(
            [np.zeros(len(rows), dtype=np.int64), state[:-1], state[last], state[last]]
        )
        to = np.concatenate(
            [
                state[first],
                state[1:],
                np.full(len(rows), n_states + 1),
                np.full(len(rows), n_states + 2),
            ]
        )
        w = np.concatenate([weight[rows], pair_w, seq.conversions[rows], seq.nulls[rows]])
        counts = _count_matrix(frm, to, w, size)
    counts.eliminate_zeros()
    conv_value = np.bincount(state[last], weights=seq.value[rows], minlength=n_states + 1)
    base = len(seq.channels) + 1
    states = [decode_state(int(k), base) for k in uniq]
    return MarkovChain(order, seq.channels, states, counts, conv_value[: n_states + 1])


def _absorption(chain: MarkovChain, reward: np.ndarray, removed: np.ndarray | None = None) -> float:
    """Solve ``(I − Q) x = reward / out`` on the kept states; return ``x`` at start."""
    n = chain.n_states + 1  # transient: start + states
    counts = chain.counts
    out = np.asarray(counts.sum(axis=1)).ravel()[:n]
    if out[0] == 0:
        return 0.0
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    q = sp.diags(inv) @ counts[:n, :n]
    b = reward[:n] * inv
    keep = np.ones(n, dtype=bool) if removed is None else ~removed
    idx = np.flatnonzero(keep)
    a = sp.identity(len(idx), format="csc") - q[idx][:, idx].tocsc()
    x = splu(a).solve(b[idx])
    return float(x[0])


def removal_effects(
    chain: MarkovChain, *, value: bool = False
) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact removal effects of every channel.

    Parameters
    ----------
    chain : MarkovChain
        The estimated chain.
    value : bool
        Use expected conversion *value* (each absorption into conversion earns the mean value
        of the conversions absorbed from that state) instead of conversion probability.

    Returns
    -------
    base : float
        ``P(conversion)`` (or expected value per row) from start.
    without : ndarray, shape (n_channels,)
        The same with each channel removed.
    effects : ndarray, shape (n_channels,)
        ``1 − without / base`` (0 where ``base`` is 0).
    """
    n = chain.n_states + 1
    if value:
        reward = chain.conv_value
    else:
        reward = np.asarray(chain.counts[:n, chain.n_states + 1].todense()).ravel()
    base = _absorption(chain, reward)
    k = len(chain.channels)
    contains = np.zeros((k, n), dtype=bool)
    for s, codes in enumerate(chain.states, start=1):
        contains[list(set(codes)), s] = True
    without = np.array(
        [_absorption(chain, reward, contains[c]) if contains[c].any() else base for c in range(k)]
    )
    effects = 1.0 - without / base if base > 0 else np.zeros(k)
    return base, without, np.clip(effects, 0.0, 1.0)


@register_model("markov")
def markov(
    seq: Sequences,
    order: int = 1,
    revenue: Literal["conversions", "value"] = "conversions",
) -> KernelOutput:
    """Markov chain attribution (order ``k``), removal effects solved exactly.

    Credits channel ``c`` with ``total conversions × RE_c / Σ RE``. Revenue is split the same
    way (``revenue="conversions"``), or by value removal effects (``revenue="value"``: the
    expected conversion value per journey with the channel removed, each conversion state
    earning the mean value of the conversions it absorbed). Conversions of rows without touches
    go to ``"(no touch)"`` and do not enter the chain. Matches ChannelAttribution's
    ``markov_model`` up to its simulation error (see the tests).

    Extra tables: ``removal_effects`` (channel, removal_effect, p_conversion_without and the
    value variants) and ``transition_matrix`` (from_state, to_state, count, probability).

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b", "a"], "total_conversions": [1, 0],
    ...                                  "total_null": [0, 1]}))
    >>> at.attribute(pt, "markov").channels.select("channel", "conversions").rows()
    [('a', 0.5), ('b', 0.5)]
    """
    if revenue not in ("conversions", "value"):
        raise ModelError(f"revenue must be 'conversions' or 'value'; got {revenue!r}.")
    chain = fit_chain(seq, order)
    touched = seq.lengths > 0
    total_conv = float(seq.conversions[touched].sum())
    total_value = float(seq.value[touched].sum())
    base, without, re = removal_effects(chain)
    vbase, vwithout, vre = removal_effects(chain, value=True)
    share = re / re.sum() if re.sum() > 0 else np.zeros_like(re)
    vshare = vre / vre.sum() if vre.sum() > 0 else np.zeros_like(vre)
    conv = total_conv * share
    rev = total_value * (vshare if revenue == "value" else share)
    effects = pl.DataFrame(
        {
            "channel": list(seq.channels),
            "removal_effect": re,
            "p_conversion_without": without,
            "value_removal_effect": vre,
            "value_without": vwithout,
        }
    )
    summary = pl.DataFrame(
        {
            "order": [chain.order],
            "n_states": [chain.n_states],
            "p_conversion": [base],
            "value_per_row": [vbase],
        }
    )
    return KernelOutput(
        conv,
        rev,
        tables={
            "removal_effects": effects,
            "transition_matrix": chain.transition_frame(),
            "chain": summary,
        },
    )


def _last_gram_keys(seq: Sequences, j: int) -> np.ndarray:
    """Key of each row's last ``j`` channels (all of them when the row is shorter)."""
    base = len(seq.channels) + 1
    end = seq.indptr[1:]
    keys = np.zeros(seq.n_rows, dtype=np.int64)
    for t in range(j):
        pos = end - 1 - t
        inside = pos >= seq.indptr[:-1]
        digit = np.where(inside, seq.codes[np.maximum(pos, 0)].astype(np.int64) + 1, 0)
        keys += digit * base**t
    return keys


def choose_order(
    data: Sequences,
    max_order: int = 4,
    folds: int = 5,
    seed: int = 0,
    smoothing: float = 1.0,
) -> pl.DataFrame:
    """Recommend a Markov order by cross-validated prediction of conversions.

    Journeys are split at random into ``folds`` parts (each row's conversion and null counts
    are split multinomially, so a path table works as well as journeys). For each order ``k``
    and fold, the chain is estimated on the other folds and each held-out journey gets the
    model's probability that a journey ending in its last state converts,
    ``P(→ conversion | last state)``. States unseen in training back off to lower orders:
    ``p_k = (c_k + smoothing · p_{k−1}) / (c_k + n_k + smoothing)`` with ``c, n`` the
    conversions and nulls absorbed from the state, down to the overall rate. Scores are the
    held-out log loss per journey (lower is better) and ROC AUC, as ChannelAttribution's
    ``choose_order`` uses; the recommended order has the lowest mean log loss.

    Parameters
    ----------
    data : Sequences
        Kernel input with integer conversion and null counts (``journeys.sequences()`` or
        ``paths.sequences()``); see :func:`attribution.choose_order` for the frame front end.
    max_order : int
        Largest order tried.
    folds : int
        Number of cross-validation folds (≥ 2).
    seed : int
        Seed of the fold split.
    smoothing : float
        Pseudo-count of the back-off to the lower order.

    Returns
    -------
    DataFrame
        ``order, log_loss, auc, n_states, recommended`` (one row per order).
    """
    if folds < 2 or max_order < 1:
        raise ModelError(
            f"choose_order needs folds ≥ 2 and max_order ≥ 1; got {folds} and {max_order}."
        )
    seq = data
    touched = seq.lengths > 0
    conv, null = seq.conversions, seq.nulls
    if not (np.allclose(conv, np.round(conv)) and np.allclose(null, np.round(null))):
        raise ModelError(
            "choose_order splits journeys into folds, so counts must be whole numbers."
        )
    rng = np.random.default_rng(seed)
    conv_f = split_counts(np.round(conv).astype(np.int64) * touched, folds, rng)
    null_f = split_counts(np.round(null).astype(np.int64) * touched, folds, rng)
    keys = [_last_gram_keys(seq, j) for j in range(1, max_order + 1)]
    rows = []
    for k in range(1, max_order + 1):
        losses, aucs = [], []
        for f in range(folds):
            c_train = conv_f.sum(axis=0) - conv_f[f]
            n_train = null_f.sum(axis=0) - null_f[f]
            total = c_train.sum() + n_train.sum()
            p = np.full(seq.n_rows, c_train.sum() / total if total else 0.5)
            for j in range(1, k + 1):
                uniq, inv = np.unique(keys[j - 1], return_inverse=True)
                c = np.bincount(inv, weights=c_train, minlength=len(uniq))[inv]
                n = np.bincount(inv, weights=n_train, minlength=len(uniq))[inv]
                p = (c + smoothing * p) / (c + n + smoothing)
            p = np.clip(p, 1e-12, 1 - 1e-12)
            c_test, n_test = conv_f[f], null_f[f]
            empty = (c_test + n_test).sum() == 0  # an empty fold scores nothing
            losses.append(float("nan") if empty else log_loss(p, c_test, n_test))
            aucs.append(weighted_auc(p, c_test.astype(float), n_test.astype(float)))
        rows.append(
            (k, float(np.mean(losses)), float(np.nanmean(aucs)), fit_chain(seq, k).n_states)
        )
    frame = pl.DataFrame(rows, schema=["order", "log_loss", "auc", "n_states"], orient="row")
    best = int(frame.sort(["log_loss", "order"])["order"][0])
    return frame.with_columns((pl.col("order") == best).alias("recommended"))
