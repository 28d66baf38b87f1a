"""Shapley-value attribution: three characteristic functions, exact and vectorised.

Every game credits the touches of converting rows (shares summing to 1 per row), so
:attr:`~attribution.models.Attribution.touchpoints` works and channel totals are each row's
conversions and value times its touches' shares.

- ``"conversion_rate"``: DP6 marketing-attribution-models' ``attribution_shapley`` (the worth of a
  channel set is the conversion rate of the rows with exactly that set), without DP6's cut to the
  last 4 channels of a set. The Shapley values of every converting set are computed at once and
  exactly, through the game's Harsanyi dividends: one Möbius and one zeta transform over all
  ``2**n`` channel subsets (see :func:`shapley_potential`).
- ``"simplified"``: Google fractribution's simplified Shapley value (also Snowplow's dbt
  fractribution package): the marginal contribution of a touch is the conversion probability of
  its path minus that of the path without it. Counterfactual paths are found by hashing and every
  match is verified touch by touch.
- ``"conversions"``: the classic game "conversions of the rows whose channels are a subset of the
  coalition"; its Shapley value splits each conversion equally among the row's distinct channels.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
import polars as pl

from attribution._base.errors import ModelError
from attribution.journeys import Sequences
from attribution.models.base import (
    KernelOutput,
    credit_from_touches,
    memory_text,
    physical_memory,
    register_model,
    row_sums,
    whole_number,
)

__all__ = ["GAMES", "MAX_CHANNELS", "shapley", "shapley_potential", "shapley_weights"]

#: The characteristic functions :func:`shapley` knows.
GAMES: tuple[str, ...] = ("conversion_rate", "simplified", "conversions")
Game = Literal["conversion_rate", "simplified", "conversions"]

# polynomial hash of a path: sum_j (code_j + 1) * B**j  (mod 2**64); B odd, so invertible
_BASE = 0x9E3779B97F4A7C15
_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_U64 = 2**64
#: Most channels the ``"conversion_rate"`` game can hold: coalitions are bitmasks of int64.
MAX_CHANNELS = 62
_ARRAYS = 3  # float64 arrays of 2**n values alive at the peak of the "conversion_rate" game


# ----------------------------------------------------------------------------------------------
# subset transforms


def _mobius(a: np.ndarray, n: int) -> None:
    """Möbius transform in place: ``a[T] <- sum over U ⊆ T of (-1)**|T - U| a[U]``."""
    for i in range(n):
        view = a.reshape(-1, 2, 1 << i)
        view[:, 1, :] -= view[:, 0, :]


def _zeta(a: np.ndarray, n: int) -> None:
    """Zeta transform in place: ``a[S] <- sum over T ⊆ S of a[T]``."""
    for i in range(n):
        view = a.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]


def _popcount(x: np.ndarray) -> np.ndarray:
    """Count the set bits of each non-negative int64."""
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        return np.bitwise_count(x).astype(np.int64)
    out = np.zeros(len(x), dtype=np.int64)  # pragma: no cover - NumPy 1.x
    y = x.astype(np.uint64)  # pragma: no cover
    while y.any():  # pragma: no cover
        out += (y & np.uint64(1)).astype(np.int64)
        y >>= np.uint64(1)
    return out  # pragma: no cover


def shapley_potential(v: np.ndarray) -> np.ndarray:
    """Potential of a game on bitmasks: ``φ_i(S) = P[S] - P[S without i]`` for every S at once.

    For the game ``v`` restricted to the subsets of ``S``, the Shapley value of player ``i ∈ S``
    is ``sum over T ⊆ S containing i of m(T) / |T|``, where ``m`` are the Harsanyi dividends
    (the Möbius transform of ``v``; restricting the game keeps them). So with
    ``P[S] = sum over T ⊆ S of m(T) / |T|`` (the potential of Hart and Mas-Colell, 1989, a zeta
    transform), ``φ_i(S) = P[S] - P[S - {i}]``. Cost: ``2 n`` vectorised passes over ``2**n``
    values; exact up to floating-point rounding.

    Parameters
    ----------
    v : ndarray of float, shape (2**n,)
        ``v[mask]`` is the worth of the coalition whose players are the set bits of ``mask``.
        ``v[0]`` is taken as 0.

    Returns
    -------
    ndarray of float64, shape (2**n,)
        The potential ``P`` (``P[0] = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> p = shapley_potential(np.array([0.0, 1.0, 2.0, 6.0]))  # v({0})=1, v({1})=2, v({0,1})=6
    >>> float(p[3] - p[2]), float(p[3] - p[1])                   # φ_0 and φ_1 of {0, 1}
    (2.5, 3.5)
    """
    a = np.array(v, dtype=np.float64)
    n = len(a).bit_length() - 1
    if len(a) != 1 << n:
        raise ModelError(f"A game on bitmasks needs 2**n values; got {len(a)}.")
    a[0] = 0.0
    _mobius(a, n)
    step = 1 << 20  # divide by |T| a block at a time (no 2**n-long temporaries)
    for lo in range(1, len(a), step):
        hi = min(lo + step, len(a))
        a[lo:hi] /= _popcount(np.arange(lo, hi, dtype=np.int64))
    _zeta(a, n)
    return a


def shapley_weights(m: int) -> np.ndarray:
    """Matrix ``W`` with ``φ = v @ W`` for a game ``v`` on the ``2**m`` subsets of ``m`` players.

    The Shapley values of the grand coalition as one linear map of the worths, for many games
    at once (the rows of ``v``). ``W[s, j] = |s - 1|! (m - |s|)! / m!`` when player ``j`` is in
    subset ``s`` (bit ``j`` of ``s``) and ``-|s|! (m - |s| - 1)! / m!`` otherwise: the Shapley
    value as a weighted sum of marginal contributions ``v(s ∪ j) − v(s)``, each weighted by
    the coefficient ``(t − 1)! (m − t)! / m!`` of the coalition ``t = |s ∪ j|`` that
    :func:`shapley_potential` also puts on ``v(s ∪ j)`` in ``P[N]``. So for ``v[0] = 0``,
    ``v @ W`` is ``P[N] − P[N − {j}]`` of the potential; unlike the potential, the map also
    reads ``v[0]`` (``φ`` then sums to ``v[N] − v[0]``).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([0.0, 1.0, 2.0, 6.0])  # v({0}) = 1, v({1}) = 2, v({0, 1}) = 6
    >>> (v @ shapley_weights(2)).tolist()
    [2.5, 3.5]
    """
    from math import factorial

    subsets = np.arange(1 << m)
    bits = (subsets[:, None] >> np.arange(m)[None, :]) & 1
    size = bits.sum(axis=1)
    fact = np.array([factorial(i) for i in range(m + 1)], dtype=np.float64)
    with_j = fact[np.maximum(size - 1, 0)] * fact[m - size] / fact[m]
    without_j = fact[size] * fact[np.maximum(m - size - 1, 0)] / fact[m]
    return np.where(bits == 1, with_j[:, None], -without_j[:, None])


# ----------------------------------------------------------------------------------------------
# helpers over rows


def _row_chunks(seq: Sequences, k: int) -> list[tuple[int, int, int, int]]:
    """Row ranges ``(r0, r1)`` and their touch ranges ``(t0, t1)``, ``k`` slots per row.

    Chunks keep a dense ``rows x k`` block small enough to stay in cache.
    """
    step = max(1, (1 << 18) // max(k, 1))
    bounds = [*range(0, seq.n_rows, step), seq.n_rows]
    return [
        (r0, r1, int(seq.indptr[r0]), int(seq.indptr[r1])) for r0, r1 in itertools.pairwise(bounds)
    ]


def _touch_counts(seq: Sequences, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per touch: touches of its code in its row; per row: its number of distinct codes.

    ``codes`` are in ``0..k-1`` (the channel codes, or any relabelling of them).
    """
    row = seq.row_of_touch
    per_touch = np.empty(len(codes), dtype=np.int64)
    distinct = np.empty(seq.n_rows, dtype=np.int64)
    if k <= 1024:  # dense counts over chunks of rows
        for r0, r1, t0, t1 in _row_chunks(seq, k):
            local = (row[t0:t1] - r0) * k + codes[t0:t1]
            counts = np.bincount(local, minlength=(r1 - r0) * k)
            per_touch[t0:t1] = counts[local]
            distinct[r0:r1] = np.count_nonzero(counts.reshape(-1, k), axis=1)
        return per_touch, distinct
    key = row * k + codes
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.ones(len(sk), dtype=bool)
    new[1:] = sk[1:] != sk[:-1]
    pair = np.cumsum(new) - 1
    per_touch[order] = np.bincount(pair)[pair]
    distinct[:] = np.bincount(row[order][new], minlength=seq.n_rows)
    return per_touch, distinct


def _row_masks(seq: Sequences, bit_of_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bitmask of each row's channel set, and whether the row has a channel outside the bits."""
    masks = np.zeros(seq.n_rows, dtype=np.int64)
    outside = np.zeros(seq.n_rows, dtype=bool)
    nonempty = seq.lengths > 0
    if not nonempty.any():
        return masks, outside
    bits = bit_of_code[seq.codes]
    starts = seq.indptr[:-1][nonempty]
    out_touch = bits < 0
    outside[nonempty] = np.logical_or.reduceat(out_touch, starts)
    touch_bits = np.left_shift(np.int64(1), np.where(out_touch, 0, bits))
    masks[nonempty] = np.bitwise_or.reduceat(touch_bits, starts)
    return masks, outside


# ----------------------------------------------------------------------------------------------
# game "conversion_rate" (DP6)


def _conversion_rate_game(
    seq: Sequences, sub: Sequences, max_channels: int
) -> tuple[np.ndarray, pl.DataFrame]:
    universe = np.flatnonzero(np.bincount(sub.codes, minlength=len(seq.channels)))
    n = len(universe)
    size = memory_text(n + math.log2(8 * _ARRAYS))
    if n > max_channels:
        raise ModelError(
            f"Shapley game 'conversion_rate' is exact over all subsets of the {n} channels that "
            f"occur in converting rows: 2**{n} coalitions, {size} of memory; the limit is "
            f"max_channels={max_channels}. Group rare channels together (e.g. into 'other')"
            + (" or raise max_channels." if max_channels < MAX_CHANNELS else ".")
        )
    memory = physical_memory()
    if memory and 8 * _ARRAYS * 2**n > 0.8 * memory:
        fits = int(math.log2(0.8 * memory / (8 * _ARRAYS)))
        raise ModelError(
            f"Shapley game 'conversion_rate' over the {n} channels that occur in converting "
            f"rows needs 2**{n} coalitions, {size} of memory, more than 80 % of this machine's "
            f"{memory_text(math.log2(memory))}: at most {fits} channels fit "
            f"(max_channels={max_channels}). Group rare channels together (e.g. into 'other')."
        )
    bit_of_code = np.full(len(seq.channels), -1, dtype=np.int64)
    bit_of_code[universe] = np.arange(n)
    # worth of each exact channel set, from every row whose channels are all in the universe
    masks, outside = _row_masks(seq, bit_of_code)
    use = ~outside & (seq.lengths > 0)
    conv = np.bincount(masks[use], weights=seq.conversions[use], minlength=1 << n)
    total = np.bincount(masks[use], weights=(seq.conversions + seq.nulls)[use], minlength=1 << n)
    v = np.divide(conv, total, out=np.zeros(1 << n), where=total > 0)
    del conv, total
    potential = shapley_potential(v)

    # Shapley values of each converting set: a (set, channel) matrix, NaN off the set
    sets, set_of_row = np.unique(masks[seq.conversions > 0], return_inverse=True)
    set_of_row = set_of_row.reshape(-1)
    bit = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    member = (sets[:, None] & bit) != 0
    phi = potential[sets][:, None] - potential[sets[:, None] ^ bit]
    phi[~member] = np.nan
    # DP6 keeps negative values; we floor at 0 and normalise. The values of a set sum to its
    # conversion rate, > 0, so one is positive; the equal split only guards against rounding.
    share = np.where(phi > 0, phi, 0.0)
    total = share.sum(axis=1)
    share[total > 0] /= total[total > 0, None]
    share[total <= 0] = member[total <= 0] / np.maximum(_popcount(sets[total <= 0]), 1)[:, None]

    # each touch: its channel's share of its row's set, split over the channel's touches
    # (dense per-row blocks, a chunk of rows at a time)
    bits = bit_of_code[sub.codes]
    row = sub.row_of_touch
    credit = np.empty(len(bits), dtype=np.float64)
    for r0, r1, t0, t1 in _row_chunks(sub, n):
        local = (row[t0:t1] - r0) * n + bits[t0:t1]
        counts = np.bincount(local, minlength=(r1 - r0) * n)
        credit[t0:t1] = share[set_of_row[r0:r1]].reshape(-1)[local] / counts[local]

    # the table: one row per converting set with touches
    keep = sets != 0
    names = [seq.channels[c] for c in universe]
    values = pl.DataFrame(
        [pl.Series(name, phi[keep, b], nan_to_null=True) for b, name in enumerate(names)],
        schema={name: pl.Float64 for name in names},
    )
    if names:
        present = [pl.when(pl.col(name).is_not_null()).then(pl.lit(name)) for name in names]
        text = pl.concat_str(present, separator=" + ", ignore_nulls=True)
        coalition = values.select(text).to_series()
        # the text is ambiguous when a channel's name holds " + "; the list is not
        members = values.select(pl.concat_list(present).list.drop_nulls()).to_series()
        struct = values.select(pl.struct(pl.all())).to_series()
    else:
        coalition = pl.Series([], dtype=pl.String)
        members = pl.Series([], dtype=pl.List(pl.String))
        struct = pl.Series([], dtype=pl.Struct({}))
    set_conv = np.bincount(set_of_row, weights=sub.conversions, minlength=len(sets))
    table = pl.DataFrame(
        {
            "coalition": coalition,
            "channels": members,
            "n_channels": _popcount(sets[keep]),
            "conversions": set_conv[keep],
            "conversion_rate": v[sets[keep]],
            "shapley_value": struct,
        }
    )
    return credit, table


# ----------------------------------------------------------------------------------------------
# game "simplified" (fractribution)


def _path_hashes(seq: Sequences) -> tuple[np.ndarray, np.ndarray]:
    """Per-touch exclusive prefix sums of the polynomial hash (length n_touches + 1), row hashes.

    Row ``r``'s hash is ``cum[indptr[r + 1]] - cum[indptr[r]]`` with
    ``cum[t] = sum over touches before t of (code + 1) * B**position``, all mod 2**64.
    """
    base = np.uint64(_BASE)
    maxlen = int(seq.lengths.max()) if seq.n_rows else 0
    with np.errstate(over="ignore"):
        powers = np.ones(maxlen + 1, dtype=np.uint64)
        if maxlen:
            powers[1:] = np.cumprod(np.full(maxlen, base, dtype=np.uint64))
        terms = (seq.codes.astype(np.uint64) + np.uint64(1)) * powers[seq.position]
        cum = np.zeros(len(terms) + 1, dtype=np.uint64)
        np.cumsum(terms, out=cum[1:])
        hashes = cum[seq.indptr[1:]] - cum[seq.indptr[:-1]]
    return cum, hashes


def _mix(h: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mix a path hash with the path length (a bijection of ``h`` for a fixed length)."""
    with np.errstate(over="ignore"):
        k = h ^ (lengths.astype(np.uint64) * _MIX)
        k ^= k >> np.uint64(31)
        k *= _MIX
    return k


def _same_paths(
    codes_a: np.ndarray,
    start_a: np.ndarray,
    codes_b: np.ndarray,
    start_b: np.ndarray,
    n: np.ndarray,
) -> bool:
    """Whether ``codes_a[start_a[q]:][:n[q]] == codes_b[start_b[q]:][:n[q]]`` for every q."""
    chunk = 1 << 22
    ends = np.cumsum(n)
    lo = 0
    while lo < len(n):
        first = int(ends[lo - 1]) if lo else 0
        hi = int(np.searchsorted(ends, first + chunk, side="right"))
        hi = max(hi, lo + 1)
        m = n[lo:hi]
        offset = np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)
        a = codes_a[np.repeat(start_a[lo:hi], m) + offset]
        b = codes_b[np.repeat(start_b[lo:hi], m) + offset]
        if not np.array_equal(a, b):
            return False
        lo = hi
    return True


def _lookup(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of each query in the sorted, distinct uint64 ``keys`` (-1 when absent).

    A bucket table on the top bits (about one key per bucket), then a few vectorised probes:
    far fewer cache misses than a binary search.
    """
    out = np.full(len(queries), -1, dtype=np.int64)
    if not len(keys):
        return out
    bits = len(keys).bit_length()
    shift = np.uint64(64 - bits)
    offsets = np.zeros((1 << bits) + 1, dtype=np.int64)
    np.cumsum(np.bincount((keys >> shift).astype(np.int64), minlength=1 << bits), out=offsets[1:])
    bucket = (queries >> shift).astype(np.int64)
    pos = offsets[bucket]
    end = offsets[bucket + 1]
    active = np.flatnonzero(pos < end)
    while len(active):
        p = pos[active]
        key = keys[p]
        query = queries[active]
        hit = key == query
        out[active[hit]] = p[hit]
        active = active[(key < query) & (p + 1 < end[active])]
        pos[active] += 1
    return out


def _simplified_game(seq: Sequences, sub: Sequences) -> np.ndarray:
    # pool rows with the same path: group by hash, then check every row against its group's
    cum, hashes = _path_hashes(seq)
    keys = _mix(hashes, seq.lengths)
    uniq, first, group = np.unique(keys, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    rep = first.astype(np.int64)
    exact = np.array_equal(seq.lengths, seq.lengths[rep[group]]) and _same_paths(
        seq.codes, seq.indptr[:-1], seq.codes, seq.indptr[:-1][rep[group]], seq.lengths
    )
    conv_rows = np.flatnonzero(seq.conversions > 0)
    row = sub.row_of_touch
    length = sub.lengths[row]
    multi = length >= 2
    # the path without touch t: prefix + suffix / B, of length L - 1
    t = np.flatnonzero(multi)
    r = conv_rows[row[t]]
    start = seq.indptr[r]
    touch = start + sub.position[t]
    binv = np.uint64(pow(_BASE, -1, _U64))
    with np.errstate(over="ignore"):
        prefix = cum[touch] - cum[start]
        suffix = cum[seq.indptr[r + 1]] - cum[touch + 1]
        cf_keys = _mix(prefix + suffix * binv, length[t] - 1)
    idx = _lookup(uniq, cf_keys)
    found = idx >= 0
    cand = rep[idx[found]]
    if exact:
        # a candidate matches iff equal length and equal codes with the touch skipped
        tf, rf = t[found], r[found]
        exact = np.array_equal(seq.lengths[cand], length[tf] - 1)
        before = sub.position[tf]
        after = length[tf] - 1 - before
        exact = exact and _same_paths(
            seq.codes, seq.indptr[cand], seq.codes, seq.indptr[rf], before
        )
        exact = exact and _same_paths(
            seq.codes,
            seq.indptr[cand] + before,
            seq.codes,
            seq.indptr[rf] + before + 1,
            after,
        )
    if exact:
        cf_group = np.full(len(t), -1, dtype=np.int64)
        cf_group[found] = idx[found]
        n_groups = len(uniq)
    else:  # a 64-bit hash collision: number the paths exactly instead
        group, cf_group, n_groups = _exact_path_ids(seq, sub, t)
    conv_g = np.bincount(group, weights=seq.conversions, minlength=n_groups)
    total_g = np.bincount(group, weights=seq.conversions + seq.nulls, minlength=n_groups)
    prob = np.divide(conv_g, total_g, out=np.zeros(n_groups), where=total_g > 0)

    p_row = prob[group[conv_rows]][row]
    marginal = p_row.copy()  # a one-touch path: its own conversion probability
    p_cf = np.where(cf_group >= 0, prob[np.maximum(cf_group, 0)], 0.0)
    marginal[t] = np.maximum(p_row[t] - p_cf, 0.0)
    totals = row_sums(marginal, sub.indptr)[row]
    last = sub.position == length - 1
    return np.where(totals > 0, marginal / np.where(totals > 0, totals, 1.0), last * 1.0)


def _exact_path_ids(
    seq: Sequences, sub: Sequences, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact ids of every row's path and of the paths with touch ``t`` of ``sub`` removed."""
    row = sub.row_of_touch[t]
    n_cf = sub.lengths[row] - 1
    cf_indptr = np.zeros(len(t) + 1, dtype=np.int64)
    np.cumsum(n_cf, out=cf_indptr[1:])
    k = np.arange(int(cf_indptr[-1])) - np.repeat(cf_indptr[:-1], n_cf)
    skip = np.repeat(sub.position[t], n_cf)
    cf_codes = sub.codes[np.repeat(sub.indptr[row], n_cf) + k + (k >= skip)]
    indptr = np.concatenate([seq.indptr, cf_indptr[1:] + seq.indptr[-1]])
    codes = np.concatenate([seq.codes, cf_codes])
    lengths = np.diff(indptr)
    frame = pl.DataFrame(
        {"row": np.repeat(np.arange(len(lengths)), lengths), "code": codes.astype(np.int64)}
    )
    text = frame.group_by("row", maintain_order=True).agg(
        pl.col("code").cast(pl.String).str.join(",")
    )
    text = pl.DataFrame({"row": np.arange(len(lengths))}).join(
        text, on="row", how="left", maintain_order="left"
    )
    ids = text["code"].fill_null("").rank("dense").to_numpy().astype(np.int64) - 1
    return ids[: seq.n_rows], ids[seq.n_rows :], int(ids.max()) + 1 if len(ids) else 0


# ----------------------------------------------------------------------------------------------
# the model


@register_model("shapley")
def shapley(
    seq: Sequences,
    game: Game = "conversion_rate",
    max_channels: int = 24,
) -> KernelOutput:
    """Shapley value: credit by average marginal contribution, with a choice of game.

    Parameters
    ----------
    seq : Sequences
        Journeys or paths; non-converting rows only inform the conversion rates.
    game : {"conversion_rate", "simplified", "conversions"}
        The characteristic function (below).
    max_channels : int
        Largest number of channels (occurring in converting rows) the ``"conversion_rate"``
        game accepts, in ``1..62``; it keeps ``2**n`` values (8 bytes each, three arrays at
        the peak), and refuses more than 80 % of the machine's memory whatever the limit.

    Returns
    -------
    KernelOutput
        Per-touch shares of the converting rows, each row's shares summing to 1. For
        ``"conversion_rate"``, ``tables["shapley_values"]`` has one row per converting channel
        set: ``coalition`` (its channels joined by ``" + "``, for reading: ambiguous when a
        channel's name holds ``" + "``), ``channels`` (the same channels as a list, in the same
        order: the unambiguous form), ``n_channels``, ``conversions``, ``conversion_rate`` (its
        worth) and ``shapley_value``, a struct with one field per channel (``φ_i`` of the set,
        before flooring; null off the set).

    Raises
    ------
    ModelError
        An unknown game, ``max_channels`` not a whole number in ``1..62``, or more channels
        for ``"conversion_rate"`` than ``max_channels`` or the machine's memory allows.

    Notes
    -----
    ``"conversion_rate"`` follows DP6 marketing-attribution-models' ``attribution_shapley``
    (``MAM.py``, ``values_col="conv_rate"``, ``order=False``) without its cut to the last 4
    channels of a set. The worth of a set ``T`` of channels is the conversion rate of the rows
    whose set of distinct channels is exactly ``T``: ``sum(conversions) / sum(conversions +
    nulls)`` over them, 0 if there are none. A converting row with channel set ``S`` shares its
    conversion in proportion to the Shapley values ``φ_i(S)`` of that game restricted to the
    subsets of ``S``, computed for all sets at once and exactly from the Harsanyi dividends
    (:func:`shapley_potential`). The game is not monotone, so ``φ`` can be negative, which DP6
    keeps; here negative values are floored at 0 before normalising (they sum to ``v(S) > 0``,
    so one is positive; were none, the set would be split equally). Rows with a channel that
    no converting row has cannot be subsets of a converting set and are not used.

    ``"simplified"`` is Google fractribution's simplified Shapley value (``fractribution.py``,
    ``_get_counterfactual_marginal_contributions``; also Snowplow's dbt fractribution package).
    Rows are paths as given (collapse repeats in :func:`~attribution.build_journeys` for its
    ``exposure`` transform), and rows with the same path are pooled. ``P(path)`` is
    ``conversions / (conversions + nulls)`` of that exact path (0 if absent). A one-touch path
    has marginal contribution ``P(path)``; otherwise the touch at position ``i`` contributes
    ``max(P(path) - P(path without position i), 0)``. Contributions are normalised over the
    path's positions; if all are 0, the last touch gets all the credit.

    ``"conversions"`` is the game ``v(S) = conversions of the rows whose channel set is a
    subset of S`` (a sum of unanimity games, Shapley 1953), whose Shapley value has a closed
    form: each row's conversions are split equally among its distinct channels.

    In every game, a channel's share of a row is split equally over its touches in the row.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a", "b", "a > b"],
    ...                                  "total_conversions": [1, 1, 2],
    ...                                  "total_null": [3, 1, 0]}))
    >>> for game in ("conversion_rate", "simplified", "conversions"):
    ...     print(game, at.attribute(pt, "shapley", game=game).channels["conversions"].to_list())
    conversion_rate [1.75, 2.25]
    simplified [1.8, 2.2]
    conversions [2.0, 2.0]
    """
    if game not in GAMES:
        raise ModelError(f"Unknown Shapley game {game!r}; expected one of: {', '.join(GAMES)}.")
    max_channels = whole_number(max_channels, "max_channels", 1, MAX_CHANNELS)
    sub = seq.converting
    tables: dict[str, pl.DataFrame] = {}
    if game == "conversions":
        per_touch, distinct = _touch_counts(sub, sub.codes, len(sub.channels))
        credit = 1.0 / (distinct[sub.row_of_touch] * per_touch)
    elif game == "simplified":
        credit = _simplified_game(seq, sub)
    else:
        credit, tables["shapley_values"] = _conversion_rate_game(seq, sub, max_channels)
    out = credit_from_touches(sub, credit.astype(np.float64, copy=False))
    return KernelOutput(out.conversions, out.revenue, out.touch_credit, out.touch_seq, tables)
