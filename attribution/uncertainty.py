"""Bootstrap confidence intervals for any model's per-channel credit.

Journeys are resampled with replacement: each replicate draws ``N`` journeys (``N`` = the
number of journeys) from the empirical distribution of (path, outcome) cells, i.e. the cells'
counts are ``Multinomial(N, counts / N)`` (drawn exactly, by Poisson draws and a fix-up: see
:class:`_Multinomial`); each resampled conversion keeps its path's mean value. The model is
re-run on every replicate and percentile intervals are reported.

Work is vectorised over replicates where the model allows:

- heuristic models (and any model whose per-row shares do not depend on the counts) are linear
  in the counts: a replicate's channel totals are one sparse product;
- Markov chains with few states (order 1, or small order-k chains) are linear in the counts up
  to the solve: transition counts of all replicates come from one sparse product, and every
  replicate's removal systems are solved together as a batch of small dense systems;
- other models (Shapley, large chains) are re-run per replicate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from attribution._errors import ModelError
from attribution._progress import Progress
from attribution.journeys import Journeys, PathTable, Sequences, _compress
from attribution.models import MODELS, Attribution, get_model
from attribution.models._base import KernelOutput, check_params

__all__ = ["bootstrap", "resample_counts"]

_MAX_DENSE_STATES = 64


class _Multinomial:
    """Exact ``Multinomial(N, c / N)`` draws for integer counts ``c`` (``N = Σ c``).

    Draws ``X_i ~ Poisson(c_i)`` independently (inverse CDF tables for small counts), so that
    given ``S = Σ X`` the draw is ``Multinomial(S, c / N)``; then removes ``S − N`` of the S
    drawn items uniformly at random, or adds ``N − S`` categorical draws. Either way the result
    is exactly ``Multinomial(N, c / N)``, at a fraction of the cost of per-cell binomials.
    """

    _TABLE_MAX = 64

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = counts.astype(np.int64)
        self.total = int(self.counts.sum())
        self.cum = np.cumsum(self.counts)
        nz = np.flatnonzero(self.counts)
        order = nz[np.argsort(self.counts[nz], kind="stable")]
        self.order = order
        values = self.counts[order]
        self.groups: list[tuple[int, int, np.ndarray | None, int]] = []
        for lam in np.unique(values):
            lo, hi = np.searchsorted(values, [lam, lam + 1])
            table = None
            if lam <= self._TABLE_MAX:
                k = np.arange(int(lam * 4 + 40))
                pmf = np.exp(k * np.log(lam) - lam - np.cumsum(np.log(np.maximum(k, 1))))
                table = np.cumsum(pmf)[:-1]
            self.groups.append((int(lo), int(hi), table, int(lam)))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        x = np.zeros(len(self.counts), dtype=np.int64)
        if self.total == 0:
            return x
        u = rng.random(len(self.order))
        drawn = np.empty(len(self.order), dtype=np.int64)
        for lo, hi, table, lam in self.groups:
            if table is not None:
                drawn[lo:hi] = np.searchsorted(table, u[lo:hi], side="right")
            else:
                drawn[lo:hi] = rng.poisson(lam, hi - lo)
        x[self.order] = drawn
        s = int(x.sum())
        if s > self.total:  # drop s - N of the drawn items, uniformly
            pos = rng.choice(s, size=s - self.total, replace=False)
            cells = np.searchsorted(np.cumsum(x), pos, side="right")
            x -= np.bincount(cells, minlength=len(x))
        elif s < self.total:  # add N - s categorical draws with p = c / N
            pos = rng.integers(0, self.total, size=self.total - s)
            x += np.bincount(np.searchsorted(self.cum, pos, side="right"), minlength=len(x))
        return x


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
    total = int(conv.sum() + null.sum())
    if not with_nulls:
        out = np.zeros((n_boot, len(conv)), dtype=np.int64)
        nz = np.flatnonzero(conv)
        if total > 0 and len(nz):
            n_conv = rng.binomial(total, conv.sum() / total, size=n_boot)
            out[:, nz] = rng.multinomial(n_conv, conv[nz] / conv.sum())
        return out, np.zeros_like(out)
    sampler = _Multinomial(np.concatenate([conv, null]))
    draws = np.stack([sampler.draw(rng) for _ in range(n_boot)])
    return draws[:, : len(conv)], draws[:, len(conv) :]


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

    Transition counts are linear in the row counts; the removal systems of all replicates are
    solved as one batch of small dense systems.
    """

    def __init__(self, seq: Sequences, order: int) -> None:
        from attribution.models.markov import _decode, _layout

        lay = _layout(seq, order)
        s = lay.n_states
        self.ok = s + 1 <= _MAX_DENSE_STATES
        if not self.ok:
            return
        uniq, state, steps, rows = lay.uniq, lay.state, lay.steps, lay.rows
        first, last = lay.first, lay.last
        size = s + 3
        lengths = seq.lengths
        step_row = np.repeat(np.arange(seq.n_rows), steps)
        same = np.ones(max(len(step_row) - 1, 0), dtype=bool)
        same[first[1:] - 1] = False
        # incidence (transition cells x rows) of the weight (conv + null) and of the ending
        self.a_w = sp.csc_matrix(
            (
                np.ones(len(rows) + int(same.sum())),
                (
                    np.concatenate([state[first], state[:-1][same] * size + state[1:][same]]),
                    np.concatenate([rows, step_row[1:][same]]),
                ),
            ),
            shape=(size * size, seq.n_rows),
        )
        self.a_end = sp.csc_matrix(
            (np.ones(len(rows)), (state[last], rows)), shape=(size, seq.n_rows)
        )
        self.s, self.size, self.touched = s, size, lengths > 0
        k = len(seq.channels)
        contains = np.zeros((k, s + 1), dtype=bool)
        for i, key in enumerate(uniq, start=1):
            contains[list(set(_decode(int(key), k + 1))), i] = True
        self.masks = np.vstack([np.zeros((1, s + 1), dtype=bool), contains])

    def __call__(
        self, conv_b: np.ndarray, null_b: np.ndarray, value_per_conv: np.ndarray
    ) -> np.ndarray:
        """Shares of conversions (``[..., 0]``) and of value (``[..., 1]``) per replicate."""
        s, size, masks = self.s, self.size, self.masks
        n = s + 1
        # (rows x replicates), contiguous: column-major incidence reads whole rows at a time
        conv_f = np.ascontiguousarray(conv_b.T, dtype=np.float64)
        null_f = np.ascontiguousarray(null_b.T, dtype=np.float64)
        val_f = conv_f * value_per_conv[:, None]
        counts = np.asarray(self.a_w @ (conv_f + null_f)).T.reshape(-1, size, size).copy()
        counts[:, :, s + 1] += np.asarray(self.a_end @ conv_f).T
        counts[:, :, s + 2] += np.asarray(self.a_end @ null_f).T
        value_b = np.asarray(self.a_end @ val_f).T
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


Evaluator = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _evaluator(
    seq: Sequences, model: str, params: dict[str, Any], value_per_conv: np.ndarray
) -> tuple[Evaluator, bool]:
    """Build ``f(conv_b, null_b) -> (conversions, revenue)``; say whether it needs nulls."""
    if MODELS[model].counts_linear:
        shares_t = _shares_matrix(seq, model, params).T.tocsc()

        def linear(conv_b: np.ndarray, null_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            conv_f = np.ascontiguousarray(conv_b.T, dtype=np.float64)
            return (
                np.asarray(shares_t @ conv_f).T,
                np.asarray(shares_t @ (conv_f * value_per_conv[:, None])).T,
            )

        return linear, False
    if model == "markov":
        batch = _MarkovBatch(seq, int(params.get("order", 1)))
        if batch.ok:
            by_value = params.get("revenue", "conversions") == "value"
            touched = batch.touched

            def chain(conv_b: np.ndarray, null_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                share: np.ndarray = batch(conv_b, null_b, value_per_conv)
                total_conv = conv_b[:, touched].sum(axis=1)
                total_val = conv_b[:, touched] @ value_per_conv[touched]
                rev_share = share[:, :, 1] if by_value else share[:, :, 0]
                return share[:, :, 0] * total_conv[:, None], rev_share * total_val[:, None]

            return chain, True
    kernel = MODELS[model].kernel

    def rerun(conv_b: np.ndarray, null_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        conv_out = np.zeros((len(conv_b), len(seq.channels)))
        rev_out = np.zeros_like(conv_out)
        for b in range(len(conv_b)):
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
            )
            out: KernelOutput = kernel(rep, **params)
            conv_out[b], rev_out[b] = out.conversions, out.revenue
        return conv_out, rev_out

    return rerun, True


def bootstrap(
    data: Journeys | PathTable | Any,
    model: str = "markov",
    *,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    progress: bool = False,
    **params: Any,
) -> Attribution:
    """Attribute with ``model`` and add bootstrap percentile intervals per channel.

    Parameters
    ----------
    data
        Journeys, a path table, or anything :func:`attribution.attribute` accepts. Counts must
        be whole numbers (journeys are resampled).
    model : str
        Any registered model; ``params`` are passed to it.
    n_boot : int
        Number of bootstrap replicates.
    level : float
        Coverage of the two-sided percentile interval (0.95 gives the 2.5 % and 97.5 %
        quantiles).
    seed : int
        Seed of the resampling; the same seed gives the same intervals.
    progress : bool
        Print progress on stderr.

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
    from attribution._api import as_sequences

    spec = get_model(model)
    check_params(spec, params)
    if not 0 < level < 1:
        raise ModelError(f"level must be between 0 and 1; got {level!r}.")
    if n_boot < 2:
        raise ModelError(f"n_boot must be at least 2; got {n_boot!r}.")
    seq, source = as_sequences(data)
    conv, null = seq.conversions, seq.nulls
    if not (np.allclose(conv, np.round(conv)) and np.allclose(null, np.round(null))):
        raise ModelError("bootstrap resamples journeys, so counts must be whole numbers.")
    if not spec.needs_times:
        seq = _compress(seq).sequences()  # identical results, fewer rows to resample
    point = spec.kernel(seq, **params)
    result = Attribution(model, dict(params), seq, point, source=source)
    prog = Progress(enabled=progress)
    rng = np.random.default_rng(seed)
    value_per_conv = np.divide(
        seq.value, seq.conversions, out=np.zeros_like(seq.value), where=seq.conversions > 0
    )
    empty = seq.lengths == 0
    no_touch = result.channels.height > len(seq.channels)
    names = result.channels["channel"].to_list()
    evaluate, with_nulls = _evaluator(seq, model, params, value_per_conv)
    # replicates in chunks so that the draws stay around 20M cells in memory
    chunk = int(max(1, min(n_boot, 20_000_000 // max(2 * seq.n_rows, 1))))
    conv_parts, rev_parts = [], []
    with prog.step(f"{n_boot} replicates of {model} ({seq.n_rows:,} rows)"):
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            conv_b, null_b = resample_counts(
                seq.conversions, seq.nulls, size, rng, with_nulls=with_nulls
            )
            c, r = evaluate(conv_b, null_b)
            if no_touch:  # "(no touch)" row: its own resampled totals
                c = np.hstack([c, conv_b[:, empty].sum(axis=1, keepdims=True)])
                r = np.hstack([r, (conv_b * value_per_conv)[:, empty].sum(axis=1, keepdims=True)])
            conv_parts.append(c)
            rev_parts.append(r)
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
