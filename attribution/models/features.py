"""Per-channel features of journeys for the fitted conversion models, and row grouping.

Features (per channel ``c`` and row; a channel's features are all 0 when it is absent):

- ``count``: number of touches; ``log_count``: ``log1p`` of it; ``presence``: 1 when it has
  a touch (used for the tested channels of a fit with lift tests);
- ``decay``: ``Σ 2 ** (-Δt / half_life_days)`` over its touches, ``Δt`` the days from the touch
  to the conversion (to the last touch for a non-converting journey);
- ``recency``: ``2 ** (-Δt / half_life_days)`` of its most recent touch.

:data:`FEATURE_SETS` names the combinations the data-driven model chooses from.
:func:`group_rows` merges rows with identical features, so that a fit on time-free features
costs as many rows as there are distinct feature vectors.

With many channels the features are a ``scipy.sparse`` CSR matrix (``sparse=True``): one entry
per (row, channel touched, feature), so memory follows the touches, not rows × channels; the
values are the same as the dense ones, and :func:`group_rows` groups such rows exactly too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import polars as pl

from attribution._base.errors import ModelError
from attribution.journeys import Sequences

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["FEATURE_SETS", "Features", "group_rows", "is_sparse", "journey_features"]

#: A feature matrix: a dense array, or a CSR matrix when there are many channels.
Features: TypeAlias = "np.ndarray | sp.csr_matrix"


def is_sparse(x: object) -> bool:
    """Tell whether ``x`` is a SciPy sparse matrix.

    SciPy is not imported to tell: while it is not loaded, nothing is one.
    """
    module = sys.modules.get("scipy.sparse")
    return module is not None and bool(module.issparse(x))


#: Feature sets by name: the per-channel features each is made of, and whether it needs times.
FEATURE_SETS: dict[str, tuple[tuple[str, ...], bool]] = {
    "counts": (("count",), False),
    "log_counts": (("log_count",), False),
    "counts+log_counts": (("count", "log_count"), False),
    "decay": (("decay",), True),
    "log_counts+recency": (("log_count", "recency"), True),
}


def journey_features(
    seq: Sequences,
    features: Sequence[str],
    *,
    half_life_days: float = 7.0,
    sparse: bool = False,
) -> Features:
    """Per-channel features of every row, one block of ``n_channels`` columns per feature.

    Column ``f * n_channels + c`` is feature ``features[f]`` of channel ``c``; all of a
    channel's columns are 0 when it has no touch in the row.

    Parameters
    ----------
    seq : Sequences
        Rows (journeys or paths) with channel codes and, for ``decay``/``recency``, times.
    features : sequence of str
        Among ``count``, ``log_count``, ``presence``, ``decay``, ``recency`` (see the module
        docstring).
    half_life_days : float
        Half-life of ``decay`` and ``recency``.
    sparse : bool
        Return a ``scipy.sparse.csr_matrix`` that stores only the channels each row touched
        (the same values; sorted column indices).

    Returns
    -------
    ndarray of float64 or csr_matrix, shape (n_rows, len(features) * n_channels)

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b > a"], "total_conversions": [1]}))
    >>> journey_features(pt.sequences(), ["count", "log_count"]).round(3).tolist()
    [[2.0, 1.0, 1.099, 0.693]]
    >>> journey_features(pt.sequences(), ["count"], sparse=True).toarray().tolist()
    [[2.0, 1.0]]
    """
    for name in features:
        if name in ("decay", "recency") and seq.delta_days is None:
            raise ModelError(
                f"Feature {name!r} needs touch times, and a path table has none; use "
                "features without times ('counts', 'log_counts', 'counts+log_counts')."
            )
        if name not in ("count", "log_count", "presence", "decay", "recency"):
            raise ModelError(
                f"Unknown feature {name!r}; expected 'count', 'log_count', 'presence', 'decay' "
                "or 'recency'."
            )
    if sparse:
        return _sparse_features(seq, features, half_life_days)
    n, k = seq.n_rows, len(seq.channels)
    flat = seq.row_of_touch * k + seq.codes
    blocks = [v.reshape(n, k) for v in _cell_values(seq, features, half_life_days, flat, n * k)]
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _cell_values(
    seq: Sequences,
    features: Sequence[str],
    half_life_days: float,
    cell: np.ndarray,
    n_cells: int,
) -> list[np.ndarray]:
    """Each feature's value in every (row, channel) cell; touch ``i`` falls in ``cell[i]``.

    The dense features use every cell of the ``rows × channels`` grid, the sparse ones only
    the cells touched.
    """
    values: list[np.ndarray] = []
    counts: np.ndarray | None = None
    weight: np.ndarray | None = None
    for name in features:
        if name in ("count", "log_count", "presence"):
            if counts is None:
                counts = np.bincount(cell, minlength=n_cells).astype(np.float64)
            if name == "presence":
                values.append((counts > 0).astype(np.float64))
            else:
                values.append(counts if name == "count" else np.log1p(counts))
        else:
            if weight is None:
                assert seq.delta_days is not None
                weight = np.exp2(-np.maximum(seq.delta_days, 0.0) / half_life_days)
            if name == "decay":
                values.append(np.bincount(cell, weights=weight, minlength=n_cells))
            else:
                top = np.zeros(n_cells, dtype=np.float64)
                np.maximum.at(top, cell, weight)
                values.append(top)
    return values


def _sparse_features(
    seq: Sequences, features: Sequence[str], half_life_days: float
) -> sp.csr_matrix:
    """:func:`journey_features` as a CSR matrix: one entry per (row, channel touched, feature)."""
    import scipy.sparse as sp

    n, k = seq.n_rows, len(seq.channels)
    key = seq.row_of_touch.astype(np.int64) * k + seq.codes
    pair, inverse = np.unique(key, return_inverse=True)
    row, code = pair // k, pair % k
    values = _cell_values(seq, features, half_life_days, inverse, len(pair))
    f = len(features)
    # entries of a row in column order: feature block first, then channel
    order = np.lexsort((np.repeat(np.arange(f), len(pair)), np.tile(row, f)))
    rows = np.tile(row, f)[order]
    cols = (np.arange(f)[:, None] * k + code[None, :]).ravel()[order]
    data = (np.concatenate(values) if values else np.zeros(0))[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((data, cols, indptr), shape=(n, f * k))


def group_rows(
    x: Features, pos: np.ndarray, neg: np.ndarray
) -> tuple[Features, np.ndarray, np.ndarray]:
    """Merge identical feature rows, summing their positive and negative weights.

    Works on dense arrays and on CSR matrices (rows compared by their stored entries).

    Returns
    -------
    x, pos, neg : ndarray or csr_matrix
        The distinct rows of ``x`` with the summed weights of each: sorted for an array; for
        a CSR matrix in an order fixed by the rows' values.

    Examples
    --------
    >>> import numpy as np
    >>> x, pos, neg = group_rows(np.array([[1.0], [0.0], [1.0]]), np.array([1.0, 0.0, 2.0]),
    ...                          np.array([0.0, 4.0, 1.0]))
    >>> x.ravel().tolist(), pos.tolist(), neg.tolist()
    ([0.0, 1.0], [0.0, 3.0], [4.0, 1.0])
    """
    if is_sparse(x):
        return _group_sparse_rows(x, pos, neg)
    if len(x) == 0:
        return x, pos, neg
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(x.shape[1])], orient="row")
    frame = frame.with_columns(_pos=pl.Series(pos), _neg=pl.Series(neg))
    keys = [f"f{i}" for i in range(x.shape[1])]
    grouped = frame.group_by(keys).agg(pl.col("_pos").sum(), pl.col("_neg").sum()).sort(keys)
    return (
        grouped.select(keys).to_numpy().astype(np.float64),
        grouped["_pos"].to_numpy(),
        grouped["_neg"].to_numpy(),
    )


def _group_sparse_rows(
    x: sp.csr_matrix, pos: np.ndarray, neg: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """:func:`group_rows` of a CSR matrix.

    Rows are keyed by two seeded random projections and their number of entries (equal rows
    give equal keys bit for bit); every row is then checked entry by entry against the first
    row of its group, and should two different rows ever share a key, they are grouped by
    their (column, value) lists instead.
    """
    import scipy.sparse as sp

    x = sp.csr_matrix(x, copy=True)
    x.eliminate_zeros()
    x.sort_indices()
    if x.shape[0] == 0:
        return x, pos, neg
    width = x.shape[1]
    lengths = np.diff(x.indptr)
    rng = np.random.default_rng(0x5EED)
    k1, k2 = x @ rng.random(width), x @ rng.random(width)
    order = np.lexsort((k2, k1, lengths))
    s1, s2, sl = k1[order], k2[order], lengths[order]
    new = np.r_[True, (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1]) | (sl[1:] != sl[:-1])]
    group = np.cumsum(new) - 1
    first = order[new]
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = group
    rep = first[inverse]
    offset = np.arange(x.nnz) - np.repeat(x.indptr[:-1], lengths)
    mine = x.indptr[np.repeat(rep, lengths)] + offset
    if np.array_equal(x.indices, x.indices[mine]) and np.array_equal(x.data, x.data[mine]):
        return (
            sp.csr_matrix(x[first]),
            np.bincount(inverse, weights=pos, minlength=len(first)),
            np.bincount(inverse, weights=neg, minlength=len(first)),
        )
    return _group_by_entries(x, pos, neg)  # pragma: no cover - two different rows, one key


def _group_by_entries(
    x: sp.csr_matrix, pos: np.ndarray, neg: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Group the rows of a canonical CSR matrix by their (column, value) lists."""
    import scipy.sparse as sp

    n = x.shape[0]
    lengths = np.diff(x.indptr)
    entries = pl.DataFrame(
        {
            "_row": np.repeat(np.arange(n), lengths),
            "_col": x.indices.astype(np.int64),
            "_val": x.data,
        }
    )
    rows = pl.DataFrame({"_row": np.arange(n), "_pos": pos, "_neg": neg}).join(
        entries.group_by("_row").agg("_col", "_val"), on="_row", how="left"
    )
    rows = rows.with_columns(
        pl.col("_col").fill_null(pl.lit([], dtype=pl.List(pl.Int64))),
        pl.col("_val").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
    )
    grouped = (
        rows.group_by("_col", "_val")
        .agg(pl.col("_pos").sum(), pl.col("_neg").sum())
        .sort("_col", "_val")
    )
    indptr = np.zeros(grouped.height + 1, dtype=np.int64)
    np.cumsum(grouped["_col"].list.len().to_numpy(), out=indptr[1:])
    out = sp.csr_matrix(
        (
            grouped["_val"].explode().drop_nulls().to_numpy(),
            grouped["_col"].explode().drop_nulls().to_numpy(),
            indptr,
        ),
        shape=(grouped.height, x.shape[1]),
    )
    return out, grouped["_pos"].to_numpy(), grouped["_neg"].to_numpy()
