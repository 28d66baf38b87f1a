"""Markov chain attribution of any order, solved exactly.

States are channels, or for order ``k`` the sliding k-grams of a path (a path shorter than
``k`` is a single state made of all its channels; ChannelAttribution's convention), plus
``(start)``, ``(conversion)`` and ``(null)``. Transition probabilities are the maximum-likelihood
estimates from the rows' counts: each row (a journey, or a unique path with its totals) adds
``conversions + nulls`` to every transition along its states, ``conversions`` to
``last → (conversion)`` and ``nulls`` to ``last → (null)``.

``P(conversion)`` is the absorption probability into ``(conversion)`` from ``(start)``: the
solution of ``(I − Q) x = b`` over the transient states (``Q`` their transition block, ``b``
their one-step conversion probabilities), solved exactly, never by simulated walks.
Removing a channel sends every transition into a state that contains it to ``(null)``, i.e. those
states are dropped from the system. The removal effect of channel ``c`` is
``RE_c = 1 − P(conversion | c removed) / P(conversion)`` and the channel is credited
``conversions × RE_c / Σ RE``.

One inverse serves every channel. With ``G = (I − Q)⁻¹``, removing the states ``R`` of a
channel leaves ``x_0 − F x_E``: ``E`` are the states through which a walk enters ``R`` (for
order 1, the channel's own state), ``F = G_0E G_EE⁻¹`` where the walk first enters (a
first-passage decomposition; the same as a Sherman–Morrison–Woodbury update of the LU), and
``x_E`` what the full chain absorbs from there. ``G`` is held implicitly: states with no
transitions between them are eliminated exactly (their block of ``I − Q`` is diagonal), and the
rest, the chain's dense core, is factored once with LAPACK (``getrf``) and its triangular
factors inverted in place (``trtri``); ``G`` is only used through products with few vectors and
its diagonal, which these give without forming the inverse. Transition matrices of many
channels fill in completely under any elimination order (a sparse LU of the chain of 2,000
simulated channels has as many entries as the dense matrix), so a sparse factorisation gains
nothing; a dense core of ``m`` states costs ``24·m²`` bytes at peak (the factors, and ``U⁻¹``
and ``L⁻¹`` apart while the diagonal is read) and ``4/3·m³`` flops once, instead of one
factorisation per channel. ``max_dense_states`` (default 20,000) refuses a larger core before
allocating it, as does a core that would not fit in 80 % of the machine's memory.

Chains of higher order over few channels are the opposite case: many states, sparsely linked,
and a dense core of thousands of states would cost far more than one sparse LU (SuperLU) per
channel on the chain without that channel's states. ``solver="auto"`` (the default) takes the
dense core for order 1 over more than 32 channels and the sparse LUs otherwise; both are exact
(``solver="dense"`` or ``"sparse"`` chooses one).

References: Anderl, Becker, von Wangenheim & Schumann (2016), "Mapping the customer journey:
lessons learned from graph-based online attribution modeling", IJRM 33(3); ChannelAttribution's
``markov_model`` (which estimates the same quantities by simulation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from attribution._base.errors import ModelError
from attribution.journeys import Sequences
from attribution.models.base import KernelOutput, physical_memory, register_model, whole_number
from attribution.models.scoring import log_loss, split_counts, weighted_auc

if TYPE_CHECKING:  # SciPy is imported where a chain is solved, not with the package
    import scipy.sparse as sp

__all__ = [
    "MAX_DENSE_STATES",
    "MAX_ORDER",
    "MarkovChain",
    "StateLayout",
    "check_order",
    "choose_order",
    "decode_state",
    "fit_chain",
    "markov",
    "removal_effects",
    "state_layout",
]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"

#: Largest Markov order accepted.
MAX_ORDER = 20
#: Default largest dense core of the removal solve (states left after elimination): 9.6 GB.
MAX_DENSE_STATES = 20_000
_MAX_DENSE_LIMIT = 100_000  # the largest max_dense_states accepted (240 GB)
_MAX_LINKS = 256  # states with more links stay in the dense core
_DENSE_FROM_CHANNELS = 33  # solver="auto": the dense core for order 1 from this many channels
Solver = Literal["auto", "dense", "sparse"]
_CHUNK_PAIRS = 4_000_000  # (row, column) pairs per block of diagonal entries


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
        """Names of all states in matrix order.

        The start, conversion and null states are ``(start)``, ``(conversion)`` and
        ``(null)``; should a channel have one of these names, the state's name is put in
        brackets once more (``((start))``), so that no two states share a name.
        """
        taken = set(self.channels)
        start, conversion, null = (_free_name(n, taken) for n in (START, CONVERSION, NULL))
        names = [start]
        names += [sep.join(self.channels[c] for c in s) for s in self.states]
        return [*names, conversion, null]

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


def _free_name(name: str, taken: set[str]) -> str:
    """``name`` in as many more brackets as it takes not to be in ``taken``.

    Examples
    --------
    >>> _free_name("(start)", {"(start)", "a"})
    '((start))'
    """
    while name in taken:
        name = f"({name})"
    return name


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
            f"states to encode ({base}**{order} must stay below 2**62); lower the order or "
            "group channels."
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
    import scipy.sparse as sp

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
    order = check_order(order)
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
    import scipy.sparse as sp

    order = check_order(order)
    lay = state_layout(seq, order)
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


# ----------------------------------------------------------------------------------------------
# the exact removal solve


def check_order(order: object, name: str = "Markov order") -> int:
    """Validate a Markov order: a whole number in ``1..MAX_ORDER`` (a bool is not one).

    Examples
    --------
    >>> check_order(2.0)
    2
    >>> check_order(True)
    Traceback (most recent call last):
    ...
    attribution.ModelError: Markov order must be a whole number in 1..20; got True.
    """
    return whole_number(order, name, 1, MAX_ORDER)


def _independent_states(a: sp.csr_matrix) -> np.ndarray:
    """Mark a maximal set of states no two of which are linked, preferring few links.

    Luby's rounds over the symmetrised pattern of ``a``'s off-diagonal entries: an undecided
    state joins when its priority (degree, then a fixed pseudo-random order) is below every
    undecided neighbour's; its neighbours are then out. States with more than ``_MAX_LINKS``
    links never join (eliminating one costs in·out entries).
    """
    n = a.shape[0]
    g = (abs(a) + abs(a).T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    deg = np.diff(g.indptr)
    rank = np.empty(n, dtype=np.int64)
    rank[np.random.default_rng(0).permutation(n)] = np.arange(n)
    priority = (deg * n + rank).astype(np.float64)
    undecided = deg <= _MAX_LINKS
    chosen = np.zeros(n, dtype=bool)
    has = deg > 0
    starts = g.indptr[:-1][has]
    chosen[undecided & ~has] = True  # isolated states
    undecided &= has
    while undecided.any():
        p = np.where(undecided | chosen, priority, np.inf)
        lowest = np.full(n, np.inf)
        lowest[has] = np.minimum.reduceat(p[g.indices], starts)
        join = undecided & (priority < lowest)
        chosen |= join
        undecided &= ~join
        out = np.zeros(n, dtype=bool)
        out[g.indices[np.repeat(join, deg)]] = True
        undecided &= ~out
    return chosen


class _Green:
    """The inverse ``G = A⁻¹`` of ``A = I − Q`` over a chain's transient states, held implicitly.

    A set ``T`` of states with no transitions between them is eliminated first (``A_TT`` is
    diagonal, ``d``); the rest ``H`` keeps the Schur complement
    ``S = A_HH − A_HT d⁻¹ A_TH``, whose inverse ``W = S⁻¹ = G_HH`` is held as the inverses of
    its LU factors: ``S = P L U`` (LAPACK ``getrf``), then ``U⁻¹`` and ``L⁻¹`` in place
    (``trtri``), so that ``W = U⁻¹ L⁻¹ Pᵀ``. That is two thirds of the work of forming ``W``
    itself, and ``W`` is only ever needed through products and selected entries. Every entry of
    ``G`` follows: ``G = U_G W V_G + Δ``, where row ``i`` of ``U_G`` is the unit row of ``i`` in
    ``H`` or ``−A_iH / d_i`` for ``i`` in ``T``, column ``j`` of ``V_G`` likewise
    (``−A_Hj / d_j``), and ``Δ`` is ``1 / d_i`` on the diagonal of ``T``.
    """

    def __init__(self, a: sp.csr_matrix, max_dense_states: int) -> None:
        import scipy.sparse as sp

        n = a.shape[0]
        in_t = _independent_states(a)
        t, h = np.flatnonzero(in_t), np.flatnonzero(~in_t)
        m = len(h)
        _check_dense(m, max_dense_states, n)
        d = a.diagonal()[t]
        inv_d = 1.0 / d
        a_th = a[t][:, h].tocsr()
        a_ht = a[h][:, t].tocsc()
        s = np.asfortranarray(a[h][:, h].toarray())
        fill = (a_ht @ sp.diags(inv_d) @ a_th).tocoo()
        s[fill.row, fill.col] -= fill.data
        self.f, self.perm = _inverse_factors(s)
        # U_G (n x m, rows) and V_G (m x n, columns), and the diagonal term of T
        u_th = sp.diags(-inv_d) @ a_th
        v_ht = a_ht @ sp.diags(-inv_d)
        rows_u = np.concatenate([h, np.repeat(t, np.diff(u_th.indptr))])
        cols_u = np.concatenate([np.arange(m), u_th.indices])
        vals_u = np.concatenate([np.ones(m), u_th.data])
        self.u = sp.csr_matrix((vals_u, (rows_u, cols_u)), shape=(n, m))
        rows_v = np.concatenate([np.arange(m), v_ht.indices])
        cols_v = np.concatenate([h, np.repeat(t, np.diff(v_ht.indptr))])
        vals_v = np.concatenate([np.ones(m), v_ht.data])
        self.v = sp.csc_matrix((vals_v, (rows_v, cols_v)), shape=(m, n))
        self.delta = np.zeros(n)
        self.delta[t] = inv_d

    def _w_right(self, y: np.ndarray) -> np.ndarray:
        """``W y`` for ``y`` of shape ``(m, r)``."""
        from scipy.linalg import blas

        if not self.f.size:
            return np.zeros_like(y)
        z = np.asfortranarray(y[self.perm], dtype=np.float64)
        z = blas.dtrmm(1.0, self.f, z, side=0, lower=1, diag=1, overwrite_b=1)
        return np.asarray(blas.dtrmm(1.0, self.f, z, side=0, lower=0, overwrite_b=1))

    def _w_left(self, y: np.ndarray) -> np.ndarray:
        """``y W`` for ``y`` of shape ``(r, m)``."""
        from scipy.linalg import blas

        if not self.f.size:
            return np.zeros_like(y)
        z = np.asfortranarray(y, dtype=np.float64)
        z = blas.dtrmm(1.0, self.f, z, side=1, lower=0, overwrite_b=1)
        z = blas.dtrmm(1.0, self.f, z, side=1, lower=1, diag=1, overwrite_b=1)
        out = np.empty_like(z)
        out[:, self.perm] = z
        return out

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``G b`` for ``b`` of shape ``(n, r)``."""
        return self.u @ self._w_right(np.asarray(self.v @ b)) + self.delta[:, None] * b

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` of ``G``."""
        left = self._w_left(self.u[[i]].toarray())
        out = np.asarray(self.v.T @ left.T).ravel()
        out[i] += self.delta[i]
        return out

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``G[rows][:, cols]`` as a dense array."""
        left = self._w_left(self.u[rows].toarray())
        out = np.asarray(self.v[:, cols].T @ left.T).T
        same = rows[:, None] == cols[None, :]
        return out + np.where(same, self.delta[rows][:, None], 0.0)

    def diagonal(self, states: np.ndarray) -> np.ndarray:
        """``G[s, s]`` for every state in ``states``.

        ``u_s W v_s = (u_s U⁻¹)·(L⁻¹ Pᵀ v_s)``: rows of ``U⁻¹`` and columns of ``L⁻¹``
        combined by the few entries of ``u_s`` and ``v_s``, never a product of two dense
        matrices.
        """
        out = self.delta[states].copy()
        m = self.f.shape[0]
        if not m or not len(states):
            return out
        upper = np.ascontiguousarray(np.triu(self.f))  # U⁻¹, its rows read contiguously
        lower = np.asfortranarray(np.tril(self.f, -1))  # L⁻¹, its columns read contiguously
        lower[np.diag_indices(m)] = 1.0
        u = self.u[states].tocsr()
        v = self.v[:, states].tocsc()
        entries = np.maximum(np.diff(u.indptr), 1) + np.maximum(np.diff(v.indptr), 1)
        ends = np.cumsum(entries)
        step = max(_CHUNK_PAIRS // m, 1)
        lo = 0
        while lo < len(states):
            first = int(ends[lo - 1]) if lo else 0
            hi = max(int(np.searchsorted(ends, first + step, side="right")), lo + 1)
            uc, vc = u[lo:hi], v[:, lo:hi]
            left = uc @ upper  # (u_s U⁻¹) for each state s of the block
            right_t = vc.T.tocsr()[:, self.perm] @ lower.T  # (L⁻¹ Pᵀ v_s)ᵀ
            out[lo:hi] += np.einsum("ij,ij->i", left, right_t)
            lo = hi
        return out


def _check_dense(m: int, max_dense_states: int, n: int) -> None:
    """Refuse a dense core of ``m`` states above the limit or the machine's memory."""
    need = 24 * m * m  # the factors, and U⁻¹ and L⁻¹ apart (_Green.diagonal)
    memory = physical_memory()
    if m > max_dense_states or (memory and need > 0.8 * memory):
        raise ModelError(
            f"Markov removal effects are solved exactly on a dense core of the chain: {m:,} of "
            f"its {n:,} transient states remain after eliminating the loosely linked ones, "
            f"which needs {need / 2**30:,.1f} GiB; the limit is max_dense_states="
            f"{max_dense_states:,}"
            + (f" and 80 % of the {memory / 2**30:,.0f} GiB of memory" if memory else "")
            + ". Lower the order, group rare channels (e.g. into 'other'), or raise "
            "max_dense_states."
        )


def _inverse_factors(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverted LU factors of a Fortran-ordered matrix, in place.

    ``s[perm] = L U`` (LAPACK ``getrf``); returns ``f`` holding ``U⁻¹`` in its upper triangle
    and ``L⁻¹`` (unit diagonal, not stored) below it (``trtri``), and ``perm``; so
    ``s⁻¹ y = U⁻¹ L⁻¹ y[perm]``.
    """
    from scipy.linalg import lapack

    m = len(s)
    if not s.size:
        return s, np.zeros(0, dtype=np.int64)
    lu, piv, info = lapack.dgetrf(s, overwrite_a=1)
    if info > 0:  # pragma: no cover - I − Q of an absorbing chain is non-singular
        raise ModelError("The Markov chain has states from which no path is absorbed.")
    perm = np.arange(m)
    for i, p in enumerate(piv.tolist()):  # row interchanges, in order
        if p != i:
            perm[i], perm[p] = perm[p], perm[i]
    lu, info = lapack.dtrtri(lu, lower=0, unitdiag=0, overwrite_c=1)
    if info > 0:  # pragma: no cover - as above
        raise ModelError("The Markov chain has states from which no path is absorbed.")
    lu, _ = lapack.dtrtri(lu, lower=1, unitdiag=1, overwrite_c=1)
    return np.asarray(lu), perm


def _entry_states(chain: MarkovChain, a: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(channel, state)`` pairs: the states through which the chain enters a channel.

    State ``r`` is an entry of channel ``c`` when ``r`` contains ``c`` and some transition
    into ``r`` comes from a state (``(start)`` included) that does not. Sorted by channel.
    """
    n = a.shape[0]
    width = max((len(s) for s in chain.states), default=1)
    codes = np.full((n, width), -1, dtype=np.int64)
    for i, s in enumerate(chain.states, start=1):
        codes[i, : len(s)] = s
    coo = a.tocoo()
    frm, to = coo.row[coo.row != coo.col], coo.col[coo.row != coo.col]
    pairs_c, pairs_r = [], []
    for j in range(width):
        c = codes[to, j]
        fresh = (c >= 0) & ~(codes[frm] == c[:, None]).any(axis=1)
        pairs_c.append(c[fresh])
        pairs_r.append(to[fresh])
    key = np.unique(np.concatenate(pairs_c) * n + np.concatenate(pairs_r))
    return key // n, key % n


def _channel_states(chain: MarkovChain, k: int) -> list[np.ndarray]:
    """Per channel, the transient states (``(start)`` is 0) that contain it."""
    chan: list[int] = []
    state: list[int] = []
    for s, codes in enumerate(chain.states, start=1):
        for c in set(codes):
            chan.append(c)
            state.append(s)
    order = np.argsort(np.asarray(chan, dtype=np.int64), kind="stable")
    chans = np.asarray(chan, dtype=np.int64)[order]
    states = np.asarray(state, dtype=np.int64)[order]
    bounds = np.searchsorted(chans, np.arange(k + 1))
    return [states[bounds[c] : bounds[c + 1]] for c in range(k)]


def _removal_per_channel(
    chain: MarkovChain, a: sp.csr_matrix, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_removal_solutions`, by one sparse LU per channel on the chain without it."""
    from scipy.sparse.linalg import splu

    n = a.shape[0]
    k = len(chain.channels)
    csc = a.tocsc()
    base = np.asarray(splu(csc).solve(b))[0].copy()
    without = np.tile(base, (k, 1))
    for c, removed in enumerate(_channel_states(chain, k)):
        if not len(removed):
            continue
        keep = np.ones(n, dtype=bool)
        keep[removed] = False
        idx = np.flatnonzero(keep)
        without[c] = np.asarray(splu(csc[idx][:, idx].tocsc()).solve(b[idx]))[0]
    return base, np.maximum(without, 0.0)


def _check_solver(solver: object) -> Solver:
    if solver not in ("auto", "dense", "sparse"):
        raise ModelError(f"solver must be 'auto', 'dense' or 'sparse'; got {solver!r}.")
    return solver


def _removal_solutions(
    chain: MarkovChain, max_dense_states: int = MAX_DENSE_STATES, solver: Solver = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Absorption from start with and without each channel, for conversions and value.

    Returns ``base`` (shape ``(2,)``: conversions, value) and ``without`` (``(n_channels,
    2)``). One implicit inverse ``G`` of ``I − Q`` serves every channel: removing channel
    ``c`` (its states ``R``) leaves ``x_0 − F x_E``, where ``x`` solves the full chain,
    ``E`` are the states through which the chain enters ``R``, and ``F = G_0E G_EE⁻¹`` is
    where it first enters (the walk reaches ``R`` only through ``E``, and what follows is the
    full chain's). For order 1, ``E`` is the channel's own state and ``F = G_0c / G_cc``.
    """
    import scipy.sparse as sp

    n = chain.n_states + 1  # transient: start + states
    k = len(chain.channels)
    counts = chain.counts
    out = np.asarray(counts.sum(axis=1)).ravel()[:n]
    if out[0] == 0:
        return np.zeros(2), np.zeros((k, 2))
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    conv = np.asarray(counts[:n, chain.n_states + 1].todense()).ravel()
    b = np.column_stack([conv * inv, chain.conv_value[:n] * inv])
    a = (sp.identity(n, format="csr") - sp.diags(inv) @ counts[:n, :n]).tocsr()
    if solver == "auto":
        solver = "dense" if chain.order == 1 and k >= _DENSE_FROM_CHANNELS else "sparse"
    if solver == "sparse":
        return _removal_per_channel(chain, a, b)
    green = _Green(a, max_dense_states)
    x = green.solve(b)
    base = x[0].copy()
    without = np.tile(base, (k, 1))
    chan, state = _entry_states(chain, a)
    if not len(chan):
        return base, without
    g0 = green.row(0)
    sizes = np.bincount(chan, minlength=k)
    if sizes.max() <= 1:  # order 1: one entry state per channel
        without[chan] = base - (g0[state] / green.diagonal(state))[:, None] * x[state]
    else:
        largest = int(sizes.max())
        _check_dense(largest, max_dense_states, n)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        for c in np.flatnonzero(sizes):
            e = state[bounds[c] : bounds[c + 1]]
            first = np.linalg.solve(green.block(e, e).T, g0[e])
            without[c] = base - first @ x[e]
    return base, np.maximum(without, 0.0)


def removal_effects(
    chain: MarkovChain,
    *,
    value: bool = False,
    max_dense_states: int = MAX_DENSE_STATES,
    solver: Solver = "auto",
) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact removal effects of every channel.

    Parameters
    ----------
    chain : MarkovChain
        The estimated chain.
    value : bool
        Use expected conversion *value* (each absorption into conversion earns the mean value
        of the conversions absorbed from that state) instead of conversion probability.
    max_dense_states : int
        Largest dense core accepted (see :func:`markov`).
    solver : {"auto", "dense", "sparse"}
        How the removals are solved (module docstring); the results agree to rounding.

    Returns
    -------
    base : float
        ``P(conversion)`` (or expected value per row) from start.
    without : ndarray, shape (n_channels,)
        The same with each channel removed.
    effects : ndarray, shape (n_channels,)
        ``1 − without / base`` (0 where ``base`` is 0).
    """
    limit = whole_number(max_dense_states, "max_dense_states", 1, _MAX_DENSE_LIMIT)
    bases, withouts = _removal_solutions(chain, limit, _check_solver(solver))
    j = 1 if value else 0
    return _effects(float(bases[j]), withouts[:, j])


def _effects(base: float, without: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    effects = 1.0 - without / base if base > 0 else np.zeros(len(without))
    return base, without, np.clip(effects, 0.0, 1.0)


@register_model("markov")
def markov(
    seq: Sequences,
    order: int = 1,
    revenue: Literal["conversions", "value"] = "conversions",
    max_dense_states: int = MAX_DENSE_STATES,
    solver: Solver = "auto",
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

    ``order`` is a whole number in ``1..20``. ``max_dense_states`` (``1..100,000``) bounds the
    dense core of the exact solve (module docstring): a chain whose core is larger, or does not
    fit in 80 % of the machine's memory, is refused with a :class:`~attribution.ModelError`
    before anything that size is allocated. ``solver``: ``"auto"`` (the dense core for order 1
    over more than 32 channels, else one sparse LU per channel), ``"dense"`` or ``"sparse"``;
    all are exact.

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
    order = check_order(order)
    limit = whole_number(max_dense_states, "max_dense_states", 1, _MAX_DENSE_LIMIT)
    solver = _check_solver(solver)
    chain = fit_chain(seq, order)
    touched = seq.lengths > 0
    total_conv = float(seq.conversions[touched].sum())
    total_value = float(seq.value[touched].sum())
    bases, withouts = _removal_solutions(chain, limit, solver)
    base, without, re = _effects(float(bases[0]), withouts[:, 0])
    vbase, vwithout, vre = _effects(float(bases[1]), withouts[:, 1])
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
        Seed of the fold split (a whole number ≥ 0).
    smoothing : float
        Pseudo-count of the back-off to the lower order.

    Returns
    -------
    DataFrame
        ``order, log_loss, auc, n_states, recommended`` (one row per order).
    """
    max_order = check_order(max_order, "max_order")
    folds = whole_number(folds, "folds", 2, 1_000)
    seed = whole_number(seed, "seed", 0, 2**63 - 1)
    if isinstance(smoothing, bool) or not (
        isinstance(smoothing, int | float) and 0 <= smoothing < float("inf")
    ):
        raise ModelError(f"smoothing must be a finite number ≥ 0; got {smoothing!r}.")
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
