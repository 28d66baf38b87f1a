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

from attribution._errors import ModelError
from attribution.journeys import Sequences
from attribution.models._base import KernelOutput, register_model

__all__ = ["MarkovChain", "fit_chain", "markov", "removal_effects"]

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


def _state_keys(seq: Sequences, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key of every step of every row (k-grams), and the number of steps per row.

    Returns (keys, steps per row, first code position of each step).
    """
    lengths = seq.lengths
    steps = np.where(lengths >= order, lengths - order + 1, np.minimum(lengths, 1))
    n_steps = int(steps.sum())
    row = np.repeat(np.arange(seq.n_rows), steps)
    offset = np.zeros(seq.n_rows + 1, dtype=np.int64)
    np.cumsum(steps, out=offset[1:])
    j = np.arange(n_steps) - offset[row]
    start = seq.indptr[row] + j
    gram_len = np.minimum(lengths[row], order)
    base = len(seq.channels) + 1
    if base**order >= 2**62:
        raise ModelError(
            f"Markov order {order} with {len(seq.channels)} channels has too many possible "
            "states to encode; lower the order or group channels."
        )
    keys = np.zeros(n_steps, dtype=np.int64)
    for t in range(order):
        inside = t < gram_len
        idx = np.where(inside, start + t, 0)
        digit = np.where(inside, seq.codes[idx].astype(np.int64) + 1, 0) if n_steps else idx
        keys += digit * base**t
    return keys, steps, start


def _decode(key: int, base: int) -> tuple[int, ...]:
    codes = []
    while key:
        key, d = divmod(key, base)
        codes.append(d - 1)
    return tuple(codes)


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
    order = int(order)
    touched = seq.lengths > 0
    keys, steps, _ = _state_keys(seq, order)
    uniq, state = np.unique(keys, return_inverse=True)
    n_states = len(uniq)
    state = state.astype(np.int64) + 1  # 0 is start
    conv_col, null_col = n_states + 1, n_states + 2
    weight = (seq.conversions + seq.nulls)[touched]
    rows = np.flatnonzero(touched)
    first = np.zeros(seq.n_rows + 1, dtype=np.int64)
    np.cumsum(steps, out=first[1:])
    first_step = first[:-1][rows]
    last_step = first[1:][rows] - 1
    # within-row transitions: step i -> step i + 1 when both belong to the same row
    step_row = np.repeat(np.arange(seq.n_rows), steps)
    same = step_row[1:] == step_row[:-1]
    w_all = (seq.conversions + seq.nulls)[step_row]
    frm = np.concatenate(
        [
            np.zeros(len(rows), dtype=np.int64),
            state[:-1][same],
            state[last_step],
            state[last_step],
        ]
    )
    to = np.concatenate(
        [
            state[first_step],
            state[1:][same],
            np.full(len(rows), conv_col),
            np.full(len(rows), null_col),
        ]
    )
    w = np.concatenate([weight, w_all[:-1][same], seq.conversions[rows], seq.nulls[rows]])
    keep = w > 0
    size = n_states + 3
    counts = sp.coo_matrix((w[keep], (frm[keep], to[keep])), shape=(size, size)).tocsr()
    counts.sum_duplicates()
    conv_value = np.bincount(state[last_step], weights=seq.value[rows], minlength=n_states + 1)
    base = len(seq.channels) + 1
    states = [_decode(int(k), base) for k in uniq]
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
