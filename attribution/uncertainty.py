"""Bootstrap confidence intervals for any model's per-channel credit.

Journeys are resampled with replacement: each replicate draws ``N`` journeys (``N`` = the
number of journeys) from the empirical distribution of (path, outcome) cells, i.e. the cells'
counts are ``Multinomial(N, counts / N)`` (drawn exactly, by Poisson draws and a top-up: see
:class:`_Multinomial`); each resampled conversion keeps its path's mean value. The model is
re-run on every replicate and percentile intervals are reported.

Work is vectorised over replicates where the model allows, in blocks of replicates that run
on all cores (``n_jobs``; each block has its own random stream, so results do not depend on
the number of threads):

- heuristic models (and any model whose per-row shares do not depend on the counts) are linear
  in the counts: a block's channel totals are one sparse product with the block of draws;
- Markov chains with few states (order 1, or small order-k chains) are linear in the counts up
  to the solve: a block's transition counts are one sparse product, and the removal systems of
  all its replicates are solved together as a batch of small dense systems;
- other models (Shapley, large chains) are re-run per replicate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.special import gammaln

from attribution._api import as_sequences
from attribution._base.errors import ModelError
from attribution._base.progress import Progress
from attribution.journeys import (
    NO_TOUCH,
    JourneyOptions,
    Journeys,
    PathTable,
    Sequences,
    compress,
    split_journey_params,
)
from attribution.models import MODELS, Attribution, get_model
from attribution.models.base import (
    KernelOutput,
    check_params,
    memory_text,
    physical_memory,
    whole_number,
)
from attribution.models.markov import check_order, decode_state, state_layout

__all__ = ["bootstrap", "resample_counts"]

_MAX_DENSE_STATES = 64
_BLOCK_CELLS = 12_000_000  # cells x replicates drawn at once (about 100 MB of float64)
_MAX_BOOT = 10**9  # the largest n_boot accepted (memory refuses fewer on most machines)
# bytes per (replicate, channel): conversions and revenue, their copies when the blocks are
# stacked, and the rows of tables["bootstrap"] (replicate, channel view, two floats)
_BYTES_PER_REPLICATE_CELL = 4 * 8 + 48
_LUT_SIZE = 1 << 16  # slices of [0, 1) in the Poisson lookup table


def _poisson_cdf(lam: float) -> np.ndarray:
    """CDF of Poisson(``lam``) up to where the tail is below the resolution of a double."""
    j = np.arange(int(lam + 12 * np.sqrt(lam) + 30))
    if lam <= 0:
        return np.ones(1)
    logpmf = j * np.log(lam) - lam - gammaln(j + 1)
    return np.minimum(np.cumsum(np.exp(logpmf)), 1.0)


@lru_cache(maxsize=256)
def _poisson_lut(lam: float) -> tuple[np.ndarray, np.ndarray]:
    """CDF and lookup table: ``x`` for each 16-bit slice of [0, 1), 255 where undecided."""
    cdf = _poisson_cdf(lam)
    below = np.searchsorted(cdf, np.arange(_LUT_SIZE + 1) / _LUT_SIZE, side="left")
    # 255 marks a slice that holds a CDF value (or a count above 254): decided by the search
    lut = np.where(below[1:] > below[:-1], 255, np.minimum(below[:-1], 255)).astype(np.uint8)
    return cdf, lut


def _poisson_into(out: np.ndarray, rng: np.random.Generator, lam: np.ndarray) -> None:
    """Fill ``out[:, b]`` with Poisson(``lam[b]``) draws, by inverting the CDF exactly.

    ``x = #{j : F(j) < u}`` for a uniform ``u``. For large blocks each draw first takes 16
    random bits, the slice ``[i, i + 1) / 65536`` of [0, 1) that ``u`` falls in; a lookup
    table gives ``x`` at once for the slices that hold no CDF value. For the few that do, the
    rest of ``u`` is drawn fresh (the bits below the slice are independent of it) as a double,
    and ``x`` comes from a binary search in the full CDF table, which runs until the remaining
    tail is below the resolution of a double. Four draws share one 64-bit word; rows go in
    cache-sized chunks. Small blocks search the CDF with plain doubles.
    """
    n, b = out.shape
    if n == 0 or b == 0:
        return
    if n * b < 8 * _LUT_SIZE:
        u = rng.random((n, b))
        for col in range(b):
            out[:, col] = np.searchsorted(_poisson_cdf(float(lam[col])), u[:, col], side="left")
        return
    tables = [_poisson_lut(float(v)) for v in lam]
    cdfs = [t[0] for t in tables]
    same = bool((lam == lam[0]).all())
    table = tables[0][1] if same else np.concatenate([t[1] for t in tables])
    offset = None if same else np.arange(b, dtype=np.int32) * _LUT_SIZE
    step = max(4, ((1 << 16) // b) // 4 * 4)
    for lo in range(0, n, step):
        m = min(step, n - lo)
        words = rng.bit_generator.random_raw(-(-m * b // 4))
        v = words.view(np.uint16)[: m * b].reshape(m, b)
        x8 = table.take(v) if offset is None else table.take(v.astype(np.int32) + offset)
        chunk = out[lo : lo + m]
        chunk[:] = x8
        rows, cols = np.nonzero(x8 == 255)
        if len(rows):
            u = (v[rows, cols] + rng.random(len(rows))) / _LUT_SIZE
            for col in np.unique(cols):
                sel = cols == col
                chunk[rows[sel], col] = np.searchsorted(cdfs[col], u[sel], side="left")


class _Multinomial:
    """Exact ``Multinomial(n_b, c / C)`` draws for integer counts ``c`` (``C = Σ c``).

    For a block of replicates with totals ``n_b``, draws ``X_ib ~ Poisson(c_i μ_b / C)``
    independently with ``μ_b = n_b − 6 √n_b − 10`` (below ``n_b``), so that given
    ``S_b = Σ_i X_ib ≤ n_b`` the column is ``Multinomial(S_b, c / C)``; then adds
    ``n_b − S_b`` categorical draws with ``p = c / C``. The result is exactly
    ``Multinomial(n_b, c / C)`` whatever ``S_b`` was; a column with ``S_b > n_b``
    (probability below 1e-9) is drawn again. Poisson draws of small counts are by CDF
    inversion, vectorised over the cells of equal count.

    Draws are returned as a ``(cells, replicates)`` block over the non-zero cells only, in the
    order :attr:`cells` (original cell indices), ready for a sparse product.
    """

    _TABLE_MAX = 8

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts).astype(np.int64)
        self.n_cells = len(counts)
        nz = np.flatnonzero(counts)
        self.cells = nz[np.argsort(counts[nz], kind="stable")]
        c = counts[self.cells]
        self.c = c
        self.total = int(c.sum())
        self.cum = np.cumsum(c)
        values, starts = np.unique(c, return_index=True)
        ends = np.append(starts[1:], len(c))
        small = values <= self._TABLE_MAX
        self.groups = [
            (int(k), int(lo), int(hi))
            for k, lo, hi in zip(values[small], starts[small], ends[small], strict=True)
        ]
        self.big_from = int(starts[~small][0]) if (~small).any() else len(c)

    def _poisson(self, rng: np.random.Generator, f: np.ndarray) -> np.ndarray:
        x = np.empty((len(self.c), len(f)))
        for k, lo, hi in self.groups:
            _poisson_into(x[lo:hi], rng, k * f)
        if self.big_from < len(self.c):
            lam = self.c[self.big_from :, None] * f[None, :]
            x[self.big_from :] = rng.poisson(lam)
        return x

    def draw(self, rng: np.random.Generator, totals: np.ndarray) -> np.ndarray:
        """Draw a ``(len(cells), len(totals))`` block whose column ``b`` sums to ``totals[b]``."""
        totals = np.asarray(totals, dtype=np.int64)
        if self.total == 0:
            if (totals > 0).any():
                raise ModelError("cannot resample from cells that are all zero.")
            return np.zeros((0, len(totals)))
        mu = np.maximum(totals - 6 * np.sqrt(totals) - 10, 0.0)
        x = self._poisson(rng, mu / self.total)
        s = x.sum(axis=0)
        while (over := np.flatnonzero(s > totals)).size:  # pragma: no cover - p < 1e-9
            x[:, over] = self._poisson(rng, mu[over] / self.total)
            s[over] = x[:, over].sum(axis=0)
        add = (totals - s).astype(np.int64)
        if add.sum():
            pos = rng.integers(0, self.total, size=int(add.sum()))
            rows = np.searchsorted(self.cum, pos, side="right")
            flat = rows * len(totals) + np.repeat(np.arange(len(totals)), add)
            np.add.at(x.reshape(-1), flat, 1.0)
        return x

    def draw_full(
        self, rng: np.random.Generator, n_boot: int, total: int | None = None
    ) -> np.ndarray:
        """``(n_boot, n_cells)`` integer draws over all cells (zeros included)."""
        totals = np.full(n_boot, self.total if total is None else total)
        out = np.zeros((n_boot, self.n_cells), dtype=np.int64)
        out[:, self.cells] = self.draw(rng, totals).T.astype(np.int64)
        return out


def resample_counts(
    conversions: np.ndarray,
    nulls: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    with_nulls: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial resampling of journeys: replicate counts of shape ``(n_boot, n_rows)``.

    With ``with_nulls=False`` only the conversion cells are drawn (a binomial number of
    converting journeys, spread multinomially over converting rows), which is exactly the
    conversion part of the full multinomial; the null counts returned are zeros.
    """
    conv = np.round(conversions).astype(np.int64)
    null = np.round(nulls).astype(np.int64)
    n = len(conv)
    if not with_nulls:
        total = int(conv.sum() + null.sum())
        sampler = _Multinomial(conv)
        totals = rng.binomial(total, conv.sum() / total, size=n_boot) if total else np.zeros(n_boot)
        out = np.zeros((n_boot, n), dtype=np.int64)
        out[:, sampler.cells] = sampler.draw(rng, totals).T.astype(np.int64)
        return out, np.zeros_like(out)
    draws = _Multinomial(np.concatenate([conv, null])).draw_full(rng, n_boot)
    return draws[:, :n], draws[:, n:]


def _shares_matrix(seq: Sequences, model: str, params: dict[str, Any]) -> sp.csr_matrix:
    """Per-row credit shares by channel (rows × channels) of a count-independent model."""
    ones = Sequences(
        seq.channels,
        seq.indptr,
        seq.codes,
        np.ones(seq.n_rows),
        np.zeros(seq.n_rows),
        np.zeros(seq.n_rows),
        seq.touch_time,
        seq.ref_time,
    )
    out = MODELS[model].kernel(ones, **params)
    assert out.touch_credit is not None and out.touch_seq is not None
    tseq = out.touch_seq
    rows = tseq.ids[tseq.row_of_touch]
    return sp.csr_matrix(
        (out.touch_credit, (rows, tseq.codes)), shape=(seq.n_rows, len(seq.channels))
    )


class _MarkovBatch:
    """Every replicate of a small Markov chain at once.

    Transition counts are linear in the cell counts (one sparse product per block of
    replicates); the removal systems of all replicates are solved as one batch of small dense
    systems.
    """

    def __init__(self, seq: Sequences, order: int) -> None:
        lay = state_layout(seq, order)
        s = lay.n_states
        self.ok = s + 1 <= _MAX_DENSE_STATES
        if not self.ok:
            return
        uniq, state, steps, rows = lay.uniq, lay.state, lay.steps, lay.rows
        first, last = lay.first, lay.last
        size = s + 3
        step_row = np.repeat(np.arange(seq.n_rows), steps)
        same = np.ones(max(len(step_row) - 1, 0), dtype=bool)
        same[first[1:] - 1] = False
        # transitions (flat index from * size + to) of every row, start -> first state included
        self.trans = (
            np.concatenate([state[first], state[:-1][same] * size + state[1:][same]]),
            np.concatenate([rows, step_row[1:][same]]),
        )
        self.rows, self.last_state = rows, state[last]
        self.s, self.size, self.touched = s, size, seq.lengths > 0
        k = len(seq.channels)
        contains = np.zeros((k, s + 1), dtype=bool)
        for i, key in enumerate(uniq, start=1):
            contains[list(set(decode_state(int(key), k + 1))), i] = True
        self.masks = np.vstack([np.zeros((1, s + 1), dtype=bool), contains])

    def cell_matrix(
        self, value_per_conv: np.ndarray, extra: sp.csr_matrix, cells: np.ndarray | None = None
    ) -> sp.csc_matrix:
        """Build the outputs × cells matrix (conversion cells, then null cells) of one product.

        Outputs: the ``size²`` transition counts (ending in conversion or null included), the
        value of conversions by last state, then the rows of ``extra`` (over conversion cells).
        With ``cells``, only those columns, in that order (built directly, in one pass).
        """
        size, n = self.size, len(self.touched)
        d = size * size + size
        t_out, t_row = self.trans
        end_conv = self.last_state * size + self.s + 1
        ex = extra.tocoo()
        out = np.concatenate(
            [t_out, end_conv, size * size + self.last_state, d + ex.row, t_out, end_conv + 1]
        )
        col = np.concatenate([t_row, self.rows, self.rows, ex.col, n + t_row, n + self.rows])
        val = np.concatenate(
            [
                np.ones(len(t_out) + len(self.rows)),
                value_per_conv[self.rows],
                ex.data,
                np.ones(len(t_out) + len(self.rows)),
            ]
        )
        width = 2 * n
        if cells is not None:
            where = np.full(2 * n, -1, dtype=np.int64)
            where[cells] = np.arange(len(cells))
            col = where[col]
            keep = col >= 0
            out, col, val, width = out[keep], col[keep], val[keep], len(cells)
        shape = (d + extra.shape[0], width)
        return sp.csc_matrix((val, (out, col)), shape=shape)

    def solve(self, counts: np.ndarray, value_b: np.ndarray) -> np.ndarray:
        """Shares of conversions (``[..., 0]``) and of value (``[..., 1]``) per replicate."""
        s, masks = self.s, self.masks
        n = s + 1
        eye = np.eye(n)
        keep = ~masks
        n_sys = len(masks)
        x = np.empty((len(counts), n_sys, 2))
        step = max(1, 4_000_000 // (n_sys * n * n))
        for lo in range(0, len(counts), step):
            c = counts[lo : lo + step]
            out = c.sum(axis=2)[:, :n]
            inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
            q = c[:, :n, :n] * inv[:, :, None]
            # removed states: identity row, zero column and zero reward, so their x is 0
            a = eye[None, None] - q[:, None] * keep[None, :, :, None] * keep[None, :, None, :]
            a = np.where(masks[None, :, :, None], eye[None, None], a)
            rhs = np.stack([c[:, :n, s + 1] * inv, value_b[lo : lo + step, :n] * inv], axis=-1)
            x[lo : lo + step] = np.linalg.solve(a, rhs[:, None] * keep[None, :, :, None])[
                :, :, 0, :
            ]
        base, without = x[:, 0], x[:, 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            re = np.nan_to_num(np.clip(1.0 - without / base[:, None, :], 0.0, 1.0))
        sums = re.sum(axis=1)
        return np.divide(re, sums[:, None, :], out=np.zeros_like(re), where=sums[:, None, :] > 0)


Finish = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class _Plan:
    """How replicates are evaluated.

    ``build(cells)`` gives the matrix (outputs × cells) that maps a block of draws (cells ×
    replicates) to the outputs that ``finish`` turns into per-channel conversions and revenue
    (replicates × columns);
    without a matrix, ``finish`` gets the draws themselves (replicates × cells). Cells are the
    conversion cells of every row, then (``with_nulls``) the null cells.
    """

    with_nulls: bool
    build: Callable[[np.ndarray | None], sp.csc_matrix] | None
    finish: Finish

    @property
    def matrix(self) -> sp.csc_matrix | None:
        """The matrix over all cells (``None`` when replicates are re-run)."""
        return None if self.build is None else self.build(None)

    def matrix_for(self, cells: np.ndarray) -> sp.csc_matrix | None:
        """Build the matrix restricted to ``cells``, in that order."""
        return None if self.build is None else self.build(cells)

    def evaluate(self, conv_b: np.ndarray, null_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel results of replicates given as ``(replicates, rows)`` count arrays."""
        draws = np.hstack([conv_b, null_b]) if self.with_nulls else conv_b
        matrix = self.matrix
        if matrix is None:
            return self.finish(draws)
        return self.finish(matrix @ np.ascontiguousarray(draws.T, dtype=np.float64))


def _plan(
    seq: Sequences,
    model: str,
    params: dict[str, Any],
    value_per_conv: np.ndarray,
    *,
    no_touch: bool = False,
) -> _Plan:
    """Choose the fastest exact evaluation of ``model`` on resampled counts."""
    n = seq.n_rows
    empty = (seq.lengths == 0).astype(np.float64)
    # conversions and value of the "(no touch)" rows, as two more outputs over conversion cells
    extra = sp.csr_matrix(np.vstack([empty, empty * value_per_conv]) if no_touch else (0, n))

    def with_no_touch(conv: np.ndarray, rev: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        if not no_touch:
            return conv, rev
        return np.hstack([conv, y[-2][:, None]]), np.hstack([rev, y[-1][:, None]])

    if MODELS[model].counts_linear:
        shares_t = _shares_matrix(seq, model, params).T.tocsr()
        k = shares_t.shape[0]
        matrix = sp.vstack([shares_t, shares_t @ sp.diags(value_per_conv), extra], format="csc")

        def linear_matrix(cells: np.ndarray | None) -> sp.csc_matrix:
            return matrix if cells is None else matrix[:, cells].tocsc()

        def linear(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return with_no_touch(y[:k].T, y[k : 2 * k].T, y)

        return _Plan(False, linear_matrix, linear)
    if model == "markov":
        batch = _MarkovBatch(seq, check_order(params.get("order", 1)))
        if batch.ok:
            by_value = params.get("revenue", "conversions") == "value"
            touched = batch.touched.astype(np.float64)
            totals = sp.csr_matrix(np.vstack([touched, touched * value_per_conv]))
            outputs = sp.vstack([totals, extra], format="csr")

            def chain_matrix(cells: np.ndarray | None) -> sp.csc_matrix:
                return batch.cell_matrix(value_per_conv, outputs, cells)

            size2, size = batch.size * batch.size, batch.size

            def chain(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                counts = y[:size2].T.reshape(-1, size, size)
                share = batch.solve(counts, y[size2 : size2 + size].T)
                total_conv, total_val = y[size2 + size], y[size2 + size + 1]
                rev_share = share[:, :, 1] if by_value else share[:, :, 0]
                conv = share[:, :, 0] * total_conv[:, None]
                return with_no_touch(conv, rev_share * total_val[:, None], y)

            return _Plan(True, chain_matrix, chain)
    kernel = MODELS[model].kernel
    empty_b = empty.astype(bool)

    def rerun(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        conv_b, null_b = draws[:, :n], draws[:, n:]
        conv_out = np.zeros((len(draws), len(seq.channels)))
        rev_out = np.zeros_like(conv_out)
        extra_c: list[list[float]] = []
        extra_r: list[list[float]] = []
        for b in range(len(draws)):
            c = conv_b[b].astype(np.float64)
            rep = Sequences(
                seq.channels,
                seq.indptr,
                seq.codes,
                c,
                c * value_per_conv,
                null_b[b].astype(np.float64),
                seq.touch_time,
                seq.ref_time,
                returning=seq.returning,
            )
            try:
                out: KernelOutput = kernel(rep, **params)
            except ModelError as exc:
                # the log fits, a resample of it does not: say which, not only what is missing
                raise ModelError(
                    f"A bootstrap resample of the journeys (drawn with replacement) was "
                    f"refused by {model}, although the log itself fits: {exc} The log is too "
                    "small to bootstrap this model; use more journeys or a model whose credit "
                    "needs no fit."
                ) from None
            conv_out[b], rev_out[b] = out.conversions, out.revenue
            extra_c.append([row[1] for row in out.extra_rows])
            extra_r.append([row[2] for row in out.extra_rows])
        if no_touch:  # "(no touch)" comes before a model's extra rows, as in .channels
            c_empty = conv_b[:, empty_b].sum(axis=1, keepdims=True)
            v_empty = (conv_b * value_per_conv)[:, empty_b].sum(axis=1, keepdims=True)
            conv_out, rev_out = np.hstack([conv_out, c_empty]), np.hstack([rev_out, v_empty])
        return (
            np.hstack([conv_out, np.array(extra_c).reshape(len(draws), -1)]),
            np.hstack([rev_out, np.array(extra_r).reshape(len(draws), -1)]),
        )

    return _Plan(True, None, rerun)


def _check_replicates(n_boot: int, n_columns: int) -> None:
    """Refuse replicates whose tables would not fit in 80 % of the machine's memory."""
    need = n_boot * max(n_columns, 1) * _BYTES_PER_REPLICATE_CELL
    memory = physical_memory()
    if memory and need > 0.8 * memory:
        raise ModelError(
            f"n_boot={n_boot:,} replicates of {n_columns:,} channels keep "
            f"{memory_text(math.log2(need))} of results, more than 80 % of this machine's "
            f"{memory_text(math.log2(memory))}; lower n_boot (at most "
            f"{int(0.8 * memory / (max(n_columns, 1) * _BYTES_PER_REPLICATE_CELL)):,} fit)."
        )


def _n_jobs(n_jobs: int | None) -> int:
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    if n_jobs < 1:
        raise ModelError(f"n_jobs must be a positive number of threads or -1; got {n_jobs!r}.")
    return int(n_jobs)


def bootstrap(
    data: Journeys | PathTable | Any,
    model: str = "markov",
    options: JourneyOptions | None = None,
    *,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
    n_jobs: int | None = -1,
    **params: Any,
) -> Attribution:
    """Attribute with ``model`` and add bootstrap percentile intervals per channel.

    Parameters
    ----------
    data
        Journeys, a path table, or anything :func:`attribution.attribute` accepts. Counts must
        be whole numbers (journeys are resampled).
    model : str
        Any registered model; ``params`` are passed to it, except the fields of
        :class:`attribution.JourneyOptions` (``user_col=``, ``lookback_days=``...), which
        build the journeys of an event log as :func:`attribution.attribute` does.
    options : JourneyOptions, optional
        Journey rules and column names, used when ``data`` is an event log.
    n_boot : int
        Number of bootstrap replicates, a whole number ≥ 2; refused when the replicates'
        results (about 80 bytes per replicate and channel) would not fit in 80 % of the
        machine's memory.
    level : float
        Coverage of the two-sided percentile interval (0.95 gives the 2.5 % and 97.5 %
        quantiles).
    seed : int
        Seed of the resampling (a whole number ≥ 0); the same seed gives the same intervals.
    progress : bool
        Print progress on stderr.
    n_jobs : int or None
        Threads that evaluate blocks of replicates (-1 or None: one per core). Each block has
        its own random stream derived from ``seed``, so the result does not depend on it.

    Returns
    -------
    Attribution
        The point estimate's result with ``conversions_lo``, ``conversions_hi``,
        ``revenue_lo`` and ``revenue_hi`` added to ``.channels``, and the replicates in
        ``.tables["bootstrap"]`` (replicate, channel, conversions, revenue).

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a", "b", "a > b"],
    ...                                  "total_conversions": [30, 10, 20],
    ...                                  "total_null": [70, 90, 80]}))
    >>> res = at.bootstrap(pt, "linear", n_boot=100, seed=1)
    >>> row = res.channels.row(0, named=True)
    >>> row["conversions_lo"] < row["conversions"] < row["conversions_hi"]
    True
    """
    journey_params, params = split_journey_params(params)
    spec = get_model(model)
    check_params(spec, params)
    if not 0 < level < 1:
        raise ModelError(f"level must be between 0 and 1; got {level!r}.")
    n_boot = whole_number(n_boot, "n_boot", 2, _MAX_BOOT)
    seed = whole_number(seed, "seed", 0, 2**63 - 1)
    seq, source = as_sequences(data, options, **journey_params)
    conv, null = seq.conversions, seq.nulls
    if not (np.allclose(conv, np.round(conv)) and np.allclose(null, np.round(null))):
        raise ModelError("bootstrap resamples journeys, so counts must be whole numbers.")
    if not spec.needs_times:
        seq = compress(seq).sequences()  # identical results, fewer rows to resample
    point = spec.kernel(seq, **params)
    result = Attribution(model, dict(params), seq, point, source=source)
    prog = Progress(enabled=progress)
    value_per_conv = np.divide(
        seq.value, seq.conversions, out=np.zeros_like(seq.value), where=seq.conversions > 0
    )
    no_touch = NO_TOUCH in result.channels["channel"].to_list()[len(seq.channels) :]
    names = result.channels["channel"].to_list()
    _check_replicates(n_boot, len(names))
    plan = _plan(seq, model, params, value_per_conv, no_touch=no_touch)
    conv_i = np.round(seq.conversions).astype(np.int64)
    null_i = np.round(seq.nulls).astype(np.int64)
    n_journeys = int(conv_i.sum() + null_i.sum())
    sampler = _Multinomial(np.concatenate([conv_i, null_i]) if plan.with_nulls else conv_i)
    matrix = plan.matrix_for(sampler.cells)
    p_conv = conv_i.sum() / n_journeys if n_journeys else 0.0
    size = int(max(1, min(n_boot, _BLOCK_CELLS // max(len(sampler.cells), 1))))
    if matrix is None:
        size = min(size, 8)
    starts = list(range(0, n_boot, size))
    streams = np.random.SeedSequence(seed).spawn(len(starts))

    def block(i: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(streams[i])
        m = min(size, n_boot - starts[i])
        if plan.with_nulls:
            totals = np.full(m, n_journeys)
        else:
            totals = rng.binomial(n_journeys, p_conv, size=m)
        x = sampler.draw(rng, totals)
        if matrix is not None:
            return plan.finish(np.asarray(matrix @ x))
        full = np.zeros((m, sampler.n_cells))
        full[:, sampler.cells] = x.T
        return plan.finish(full)

    with prog.step(f"{n_boot} replicates of {model} ({seq.n_rows:,} rows)"):
        with ThreadPoolExecutor(max_workers=_n_jobs(n_jobs)) as pool:
            parts = list(pool.map(block, range(len(starts))))
    conv_parts, rev_parts = [p[0] for p in parts], [p[1] for p in parts]
    conv_rep, rev_rep = np.vstack(conv_parts), np.vstack(rev_parts)
    alpha = (1 - level) / 2
    q = [alpha, 1 - alpha]
    c_lo, c_hi = np.quantile(conv_rep, q, axis=0)
    r_lo, r_hi = np.quantile(rev_rep, q, axis=0)
    result.channels = result.channels.with_columns(
        pl.Series("conversions_lo", c_lo),
        pl.Series("conversions_hi", c_hi),
        pl.Series("revenue_lo", r_lo),
        pl.Series("revenue_hi", r_hi),
    )
    result.params = {**result.params, "n_boot": n_boot, "level": level, "seed": seed}
    result.tables["bootstrap"] = pl.DataFrame(
        {
            "replicate": np.repeat(np.arange(n_boot), len(names)),
            "channel": names * n_boot,
            "conversions": conv_rep.ravel(),
            "revenue": rev_rep.ravel(),
        }
    )
    return result
