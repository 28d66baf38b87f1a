"""Discrete-time hazard rows for data-driven attribution on logs cut at conversion.

A journey-level conversion model compares a converting journey, whose touches stop at the
conversion, with non-converting journeys observed for their whole span. When touches keep
arriving over time whether or not a user buys (the usual case: a buyer is simply not touched
*before* a conversion that has already happened), converters have had less time to collect
touches, and a journey-level fit learns that touches predict *not* converting. The hazard fit
compares like with like: every day a journey was at risk is a row, with the exposure it had
collected by then.

Rows (per journey, days counted back from its end: the conversion, or for a non-converting
journey the end of the log, since it stayed at risk after its last touch): interval
``τ = 0, 1, ..., D − 1`` with ``D = ⌊days from the first touch to the end⌋ + 1``. Interval
``τ``'s exposure to channel ``c`` is ``Σ 2 ** (-(Δt_j − τ) / h)`` over the channel's touches
``j`` with ``Δt_j ≥ τ`` (``Δt_j``: days from the touch to the end; ``h``: half-life). A
converting journey's interval 0 is its event, with exactly the ``decay`` features of
:func:`~attribution.models.features.journey_features`; every other interval is a non-event.
Non-event intervals are sampled (``per_row`` per journey, uniformly, each weighted by the number
of non-event intervals over ``per_row``), which keeps the estimating equations of a weighted
logistic regression unbiased and the rows to a few per journey.

Reference: Zhang, Wei & Ren (2014), "Multi-touch attribution in online advertising with
survival theory", ICDM (conversion hazard from time-decayed touch effects, credit by the
touches' contributions to the hazard at conversion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from attribution.journeys import Sequences
from attribution.models.features import Features

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["at_risk_delta", "hazard_features", "interval_samples", "journey_spans"]

_CHUNK_PAIRS = 4_000_000  # (sample, touch) pairs per block


def at_risk_delta(seq: Sequences) -> np.ndarray:
    """Days from every touch to the end of its row's time at risk.

    A converting row is at risk until its conversion; a non-converting row until the end of the
    log (the latest conversion or touch time of any row), not only until its last touch: the
    days after it, with decaying exposure and no conversion, are evidence too.
    """
    dd = seq.delta_days
    assert dd is not None and seq.ref_time is not None
    if not len(dd):
        return dd
    end = float(seq.ref_time.max())
    extra = np.where(seq.conversions > 0, 0.0, (end - seq.ref_time) / 86_400e6)
    return dd + extra[seq.row_of_touch]


def _intervals(seq: Sequences, dd: np.ndarray) -> np.ndarray:
    """``D`` per row: whole days from the first touch to the row's end, plus one (0 untouched).

    ``dd`` is :func:`at_risk_delta` of ``seq``.
    """
    top = np.zeros(seq.n_rows, dtype=np.int64)
    if len(dd):
        np.maximum.at(top, seq.row_of_touch, np.floor(np.maximum(dd, 0.0)).astype(np.int64))
    return np.where(seq.lengths > 0, top + 1, 0)


def journey_spans(seq: Sequences) -> tuple[float, float]:
    """Median days from the first touch to the end, of converting and of non-converting rows.

    Only rows with touches count; ``nan`` when a group is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from attribution.journeys import Sequences
    >>> day = 86_400_000_000
    >>> seq = Sequences(("a",), np.array([0, 2, 3]), np.array([0, 0, 0], dtype=np.int32),
    ...                 np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 1.0]),
    ...                 touch_time=np.array([0, 2 * day, 0]), ref_time=np.array([3 * day, 0]))
    >>> journey_spans(seq)
    (3.0, 0.0)
    """
    dd = seq.delta_days
    assert dd is not None
    span = np.zeros(seq.n_rows)
    if len(dd):
        np.maximum.at(span, seq.row_of_touch, np.maximum(dd, 0.0))
    touched = seq.lengths > 0
    conv = touched & (seq.conversions > 0)
    null = touched & (seq.conversions <= 0) & (seq.nulls > 0)
    med = [float(np.median(span[m])) if m.any() else float("nan") for m in (conv, null)]
    return med[0], med[1]


def interval_samples(
    seq: Sequences,
    rows: np.ndarray,
    per_row: int,
    rng: np.random.Generator,
    *,
    delta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Event intervals plus sampled non-event intervals of ``rows``.

    ``delta`` is :func:`at_risk_delta` of ``seq`` when already computed.

    Returns
    -------
    row, tau, pos, neg : ndarray
        Journey row, interval (days before the end), event weight and non-event weight of
        every sample; event samples come first.
    """
    d = _intervals(seq, at_risk_delta(seq) if delta is None else delta)[rows]
    conv = seq.conversions[rows]
    null = seq.nulls[rows]
    is_conv = conv > 0
    # the event interval (tau 0) of converting rows; a row's own non-conversions (path weights)
    # count as non-events at its end
    ev = rows[is_conv]
    lo = np.where(is_conv, 1, 0)
    n_non = np.maximum(d - lo, 0)
    has = n_non > 0
    r_non = np.repeat(rows[has], per_row)
    u = rng.random(len(r_non))
    n_rep = np.repeat(n_non[has], per_row)
    tau_non = np.repeat(lo[has], per_row) + np.minimum((u * n_rep).astype(np.int64), n_rep - 1)
    w_non = np.repeat((n_non[has] / per_row) * (conv[has] + null[has]), per_row)
    row = np.concatenate([ev, r_non])
    tau = np.concatenate([np.zeros(len(ev), dtype=np.int64), tau_non])
    pos = np.concatenate([conv[is_conv], np.zeros(len(r_non))])
    neg = np.concatenate([null[is_conv], w_non])
    return row, tau, pos, neg


def hazard_features(
    seq: Sequences,
    row: np.ndarray,
    tau: np.ndarray,
    half_life_days: float,
    *,
    delta: np.ndarray | None = None,
    sparse: bool = False,
) -> Features:
    """Decayed exposure per channel of every (row, interval) sample.

    ``delta`` is :func:`at_risk_delta` of ``seq`` when already computed. ``sparse``: a CSR
    matrix with an entry per (sample, channel touched by then), the same values.

    Returns
    -------
    ndarray of float64 or csr_matrix, shape (n_samples, n_channels)
        ``Σ 2 ** (-(Δt_j − τ) / half_life_days)`` over the row's touches with ``Δt_j ≥ τ``.

    Examples
    --------
    >>> import numpy as np
    >>> from attribution.journeys import Sequences
    >>> day = 86_400_000_000
    >>> seq = Sequences(("a", "b"), np.array([0, 2]), np.array([0, 1], dtype=np.int32),
    ...                 np.array([1.0]), np.array([0.0]), np.array([0.0]),
    ...                 touch_time=np.array([0, 2 * day]), ref_time=np.array([4 * day]))
    >>> hazard_features(seq, np.array([0, 0]), np.array([0, 2]), 2.0).tolist()
    [[0.25, 0.5], [0.5, 1.0]]
    """
    k = len(seq.channels)
    n = len(row)
    out = np.zeros(0 if sparse else n * k)
    parts: list[sp.csr_matrix] = []
    dd = at_risk_delta(seq) if delta is None else delta
    lengths = seq.lengths[row]
    ends = np.cumsum(lengths)
    start = 0
    while start < n:
        # as many samples as fit in one block of (sample, touch) pairs
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _CHUNK_PAIRS))
        stop = max(stop, start + 1)
        ln = lengths[start:stop]
        s = np.repeat(np.arange(start, stop), ln)
        first = seq.indptr[row[start:stop]]
        within = np.arange(len(s)) - np.repeat(np.cumsum(ln) - ln, ln)
        j = np.repeat(first, ln) + within
        gap = dd[j] - tau[s]
        keep = gap >= 0
        if sparse:
            import scipy.sparse as sp

            block = sp.coo_matrix(
                (np.exp2(-gap[keep] / half_life_days), (s[keep] - start, seq.codes[j[keep]])),
                shape=(stop - start, k),
            ).tocsr()  # duplicates summed
            block.sort_indices()
            parts.append(block)
        else:
            out[start * k : stop * k] += np.bincount(
                (s[keep] - start) * k + seq.codes[j[keep]],
                weights=np.exp2(-gap[keep] / half_life_days),
                minlength=(stop - start) * k,
            )
        start = stop
    if sparse:
        import scipy.sparse as sp

        return sp.csr_matrix(sp.vstack(parts, format="csr")) if parts else sp.csr_matrix((n, k))
    return out.reshape(n, k)
