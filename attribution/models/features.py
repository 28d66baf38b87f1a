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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from attribution._base.errors import ModelError
from attribution.journeys import Sequences

__all__ = ["FEATURE_SETS", "group_rows", "journey_features"]

#: Feature sets by name: the per-channel features each is made of, and whether it needs times.
FEATURE_SETS: dict[str, tuple[tuple[str, ...], bool]] = {
    "counts": (("count",), False),
    "log_counts": (("log_count",), False),
    "counts+log_counts": (("count", "log_count"), False),
    "decay": (("decay",), True),
    "log_counts+recency": (("log_count", "recency"), True),
}


def journey_features(
    seq: Sequences, features: Sequence[str], *, half_life_days: float = 7.0
) -> np.ndarray:
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

    Returns
    -------
    ndarray of float64, shape (n_rows, len(features) * n_channels)

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b > a"], "total_conversions": [1]}))
    >>> journey_features(pt.sequences(), ["count", "log_count"]).round(3).tolist()
    [[2.0, 1.0, 1.099, 0.693]]
    """
    n, k = seq.n_rows, len(seq.channels)
    flat = seq.row_of_touch * k + seq.codes
    blocks: list[np.ndarray] = []
    counts: np.ndarray | None = None
    for name in features:
        if name in ("count", "log_count", "presence"):
            if counts is None:
                counts = np.bincount(flat, minlength=n * k).astype(np.float64).reshape(n, k)
            if name == "presence":
                blocks.append((counts > 0).astype(np.float64))
            else:
                blocks.append(counts if name == "count" else np.log1p(counts))
        elif name in ("decay", "recency"):
            if seq.delta_days is None:
                raise ModelError(
                    f"Feature {name!r} needs touch times, and a path table has none; use "
                    "features without times ('counts', 'log_counts', 'counts+log_counts')."
                )
            w = np.exp2(-np.maximum(seq.delta_days, 0.0) / half_life_days)
            if name == "decay":
                block = np.bincount(flat, weights=w, minlength=n * k)
            else:
                block = np.zeros(n * k, dtype=np.float64)
                np.maximum.at(block, flat, w)
            blocks.append(block.reshape(n, k))
        else:
            raise ModelError(
                f"Unknown feature {name!r}; expected 'count', 'log_count', 'presence', 'decay' "
                "or 'recency'."
            )
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def group_rows(
    x: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical feature rows, summing their positive and negative weights.

    Returns
    -------
    x, pos, neg : ndarray
        The distinct rows of ``x`` in sorted order, with the summed weights of each.

    Examples
    --------
    >>> import numpy as np
    >>> x, pos, neg = group_rows(np.array([[1.0], [0.0], [1.0]]), np.array([1.0, 0.0, 2.0]),
    ...                          np.array([0.0, 4.0, 1.0]))
    >>> x.ravel().tolist(), pos.tolist(), neg.tolist()
    ([0.0, 1.0], [0.0, 3.0], [4.0, 1.0])
    """
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
