"""Seeded simulation of marketing event logs with a known causal ground truth.

Attribution models can only be judged against the truth, and observational logs never carry it.
:func:`simulate` draws an event log from an explicit causal model and, with the very same random
draws, replays it with each channel switched off, so the number of conversions every channel
*causes* is known exactly. :func:`simulate_events` is a much simpler and faster generator of
large logs for benchmarks; it has no ground truth.

Generative model of :func:`simulate`
------------------------------------
Each user ``i`` has a latent intent ``z_i ~ N(0, 1)`` and a logit-normal baseline probability
of buying without any marketing, ``b_i = sigmoid(logit(base_rate) + intent_scale * z_i)``, so
``base_rate`` is the baseline of a median user.

A user has up to ``K = conversions_per_user`` purchase *occasions*. On occasion ``k`` channel
``c`` touches the user ``n_ikc ~ Poisson(reach_c * exp(t_c z_i - t_c**2 / 2))`` times, where
``t_c`` is the channel's ``intent_targeting``. The factor has mean one over users, so ``reach``
stays the mean number of touches per user and occasion; with ``t_c > 0`` the channel reaches
high-intent users more often (the confounding that fools naive attribution), with ``t_c = 0`` it
reaches users at random.

Every touch multiplies the probability of *not* converting by ``1 - effect_c``:
``P_ik = 1 - (1 - b_i) * prod_c (1 - effect_c) ** n_ikc`` (absolute returns diminish with
repeated touches). One uniform ``U_ik`` is drawn per user and occasion; occasion ``k`` converts iff
``U_ik < P_ik`` *and* occasion ``k - 1`` converted (a repeat purchase needs a first one; occasion
``k`` is only *realised*, i.e. its touches only appear in the log, once occasion ``k - 1``
converted). Each occasion carries one log-normal order value (mean ``revenue_mean``, log-scale
``revenue_sigma``, rounded to cents) drawn up front.

Ground truth: the scenario "channel ``c`` removed" deletes all of ``c``'s touches and recomputes
every ``P_ik`` with the *same* ``U_ik``, revenue and other touches. Conversions counted over all
occasions give ``incremental_conversions[c] = conversions(all) - conversions(c removed)`` and the
matching ``incremental_revenue``; removing *every* channel gives ``baseline_conversions``. Since
effects are in ``[0, 1)``, removing touches can only lose conversions, so counterfactual
conversions are a subset of the observed ones and every occasion they need is realised. A
channel with ``effect = 0`` has exactly zero incremental conversions however strongly it is
correlated with buying. Channel contributions interact (they multiply), so the incremental
conversions of the channels need not add up to ``total - baseline``.

Timing: each user is active during one window inside ``[start, start + days)`` (length one day
plus an exponential with mean 20 days, capped at ``days``), split into ``K`` equal consecutive
slots, one per occasion. Touches fall uniformly in their occasion's slot, at whole seconds. A
conversion comes after the occasion's last touch by an exponential delay (mean 6 hours); when that
would leave the slot it falls uniformly between the last touch and the end of the slot, and an
occasion without touches converts at a uniform time in its slot. Conversion ``k`` therefore ends
the journey of occasion ``k``, and the touches of occasion ``k + 1`` follow it. After the user's
final possible conversion (occasion ``K``), a fraction ``post_purchase_rate`` of buyers get
``1 + Poisson(0.5)`` more touches (channels in proportion to ``reach``) later in the slot. These
post-purchase touches form a non-converting tail and cause nothing. Rows are returned shuffled,
as real logs are.

Channels that seek intent in time (:class:`ChannelSpec` ``follows`` and ``late_share``; they
draw from a stream of their own, so a log without them is drawn exactly as before): a
*following* channel (retargeting) reaches a user on an occasion at a rate proportional to the
touches of the other channels on it, each touch after the first of those; a *late* share of
a channel's touches on an occasion that converts falls an exponential time (mean
``late_hours``) before the conversion, as a channel bought on signs of an imminent purchase
does. Neither changes any probability to convert, so the truth is that of the counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "DEFAULT_CHANNELS",
    "ChannelSpec",
    "Simulation",
    "simulate",
    "simulate_events",
]

_DAY = 86_400  # seconds
_US = 1_000_000  # microseconds per second
_MEAN_WINDOW_DAYS = 20.0  # mean activity window beyond the first day
_MEAN_DELAY_HOURS = 6.0  # mean delay from the last touch to the conversion
_TAIL_EXTRA_MEAN = 0.5  # post-purchase tail: 1 + Poisson(this) touches
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ChannelSpec:
    """One marketing channel of the simulation.

    Parameters
    ----------
    name : str
        Channel name as it appears in the ``channel`` column.
    reach : float
        Expected number of touches per user (and purchase occasion) from this channel: the mean
        of a Poisson count, before intent targeting (targeting keeps the mean).
    effect : float
        Causal lift in ``[0, 1)``: each touch multiplies the user's probability of *not*
        converting by ``1 - effect``. ``0`` means the channel causes nothing.
    intent_targeting : float, default 0.0
        How strongly the channel seeks out high-intent users: the touch rate is multiplied by
        ``exp(t * z - t**2 / 2)`` for a user of latent intent ``z``. ``0`` reaches users at
        random; ``> 0`` creates a correlation with conversion that is not causation.
    cost_per_touch : float, default 0.0
        Cost of one touch, written to the ``cost`` column and summed into daily spend.
    follows : bool, default False
        The channel only reaches users who were touched by the other (non-following)
        channels on the same occasion, at a rate proportional to their number of such touches
        (``reach`` stays the mean over users), each touch after the first of them: retargeting
        of site visitors.
    late_share : float, default 0.0
        Share of the channel's touches on an occasion that converts which fall shortly before
        the conversion (an exponential time with mean ``late_hours`` before it) instead of
        anywhere in the occasion: a channel bought on signs of imminent purchase (brand search,
        display on in-market audiences). Touches of occasions that do not convert stay where
        they are. Timing does not change the probability to convert, nor the truth.
    late_hours : float, default 12.0
        Mean time from a late touch to the conversion.
    """

    name: str
    reach: float
    effect: float
    intent_targeting: float = 0.0
    cost_per_touch: float = 0.0
    follows: bool = False
    late_share: float = 0.0
    late_hours: float = 12.0


@dataclass(frozen=True)
class Simulation:
    """A simulated event log together with its causal ground truth.

    Parameters
    ----------
    events : polars.DataFrame
        Canonical events, rows shuffled: ``user_id`` (Int64), ``timestamp``
        (Datetime("us", "UTC")), ``channel`` (String, null on conversion rows), ``event``
        (``"touch"`` or ``"conversion"``), ``revenue`` (Float64, 0.0 on touches, > 0 on
        conversions) and ``cost`` (Float64, cost of the touch, 0.0 on conversions).
    truth : polars.DataFrame
        One row per channel, in the order given: ``channel``, ``effect`` (the spec value),
        ``touches`` (touch rows in ``events``, post-purchase tail included),
        ``incremental_conversions`` (Int64) and ``incremental_revenue`` (conversions and
        revenue lost when the channel is removed under the same random draws), ``has_effect``
        (``effect > 0``) and ``spend`` (total cost of its touches).
    baseline_conversions : float
        Conversions when every channel is removed (same draws).
    total_conversions : int
        Conversion rows in ``events``.
    spend : polars.DataFrame
        ``date`` (Date), ``channel``, ``spend``: for every day of the window and every channel
        with a positive ``cost_per_touch``, the sum of that day's touch costs (0.0 when none).
    params : dict
        The keyword arguments of :func:`simulate`; ``simulate(**params)`` reproduces the result.
    latent : polars.DataFrame
        The hidden state, one row per user and purchase occasion: ``user_id``, ``occasion``
        (0-based), ``intent``, ``base_probability``, ``probability`` (of converting, given the
        occasion's touches), ``uniform`` (the draw it is compared with), ``order_value`` (the
        revenue a conversion would bring), ``realised`` and ``converted``.
    """

    events: pl.DataFrame
    truth: pl.DataFrame
    baseline_conversions: float
    total_conversions: int
    spend: pl.DataFrame
    params: dict[str, Any]
    latent: pl.DataFrame


#: Eight channels with realistic roles. ``Retargeting`` causes nothing but follows buyers
#: (strong intent targeting); ``Display`` causes nothing and reaches users at random.
DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("Paid Search", reach=0.6, effect=0.05, intent_targeting=0.6, cost_per_touch=1.20),
    ChannelSpec("Organic Search", reach=0.5, effect=0.04, intent_targeting=0.6),
    ChannelSpec("Email", reach=0.8, effect=0.02, intent_targeting=0.3, cost_per_touch=0.01),
    ChannelSpec("Display", reach=0.9, effect=0.0, intent_targeting=0.0, cost_per_touch=0.02),
    ChannelSpec("Social", reach=0.7, effect=0.015, intent_targeting=0.0, cost_per_touch=0.15),
    ChannelSpec("Direct", reach=0.3, effect=0.01, intent_targeting=1.0),
    ChannelSpec("Affiliate", reach=0.2, effect=0.08, intent_targeting=0.3, cost_per_touch=2.50),
    ChannelSpec("Retargeting", reach=0.4, effect=0.0, intent_targeting=2.0, cost_per_touch=0.40),
)


def _parse_start(start: str) -> datetime:
    text = start.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"start={start!r} is not an ISO date or datetime such as '2024-01-01'."
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _check_channels(channels: Sequence[ChannelSpec]) -> tuple[ChannelSpec, ...]:
    specs = tuple(channels)
    if not specs:
        raise ValueError("channels is empty; give at least one ChannelSpec.")
    names = [c.name for c in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"Channel names must be unique; repeated: {repeated}.")
    for c in specs:
        if not (0.0 <= c.effect < 1.0):
            raise ValueError(
                f"Channel {c.name!r} has effect {c.effect}; effects must be in [0, 1)."
            )
        if not (c.reach >= 0.0 and math.isfinite(c.reach)):
            raise ValueError(f"Channel {c.name!r} has reach {c.reach}; reach must be >= 0.")
        if not math.isfinite(c.intent_targeting):
            raise ValueError(f"Channel {c.name!r} has a non-finite intent_targeting.")
        if not (c.cost_per_touch >= 0.0 and math.isfinite(c.cost_per_touch)):
            raise ValueError(
                f"Channel {c.name!r} has cost_per_touch {c.cost_per_touch}; costs must be >= 0."
            )
        if not 0.0 <= c.late_share <= 1.0:
            raise ValueError(
                f"Channel {c.name!r} has late_share {c.late_share}; it must be in [0, 1]."
            )
        if not (c.late_hours > 0.0 and math.isfinite(c.late_hours)):
            raise ValueError(f"Channel {c.name!r} has late_hours {c.late_hours}; it must be > 0.")
    if specs and all(c.follows for c in specs):
        raise ValueError("Every channel follows the others; at least one must not (follows).")
    return specs


def _order_values(
    rng: np.random.Generator, size: int | tuple[int, ...], mean: float, sigma: float
) -> FloatArray:
    """Log-normal order values with the given mean, rounded to cents and at least 0.01."""
    mu = math.log(mean) - sigma**2 / 2.0
    values = np.round(rng.lognormal(mu, sigma, size), 2)
    return np.maximum(values, 0.01)


def _probability(
    base: FloatArray,
    counts: IntArray,
    effects: FloatArray,
    keep: BoolArray,
    pairs: Sequence[tuple[int, int, float]] = (),
) -> FloatArray:
    """Conversion probability per occasion and user when only the channels in ``keep`` act.

    ``1 - (1 - base) * prod_c (1 - effect_c) ** counts_c``, multiplied in channel order, then
    by ``1 - gamma`` for every interaction ``(a, b, gamma)`` in ``pairs`` whose two channels
    both act and both touched the user on that occasion.
    """
    survive = np.broadcast_to(1.0 - base, counts.shape[:2]).copy()
    for c in np.flatnonzero(keep & (effects > 0.0)):
        survive *= (1.0 - effects[c]) ** counts[:, :, c]
    for a, b, gamma in pairs:
        if keep[a] and keep[b] and gamma > 0.0:
            both = (counts[:, :, a] > 0) & (counts[:, :, b] > 0)
            survive *= np.where(both, 1.0 - gamma, 1.0)
    return 1.0 - survive


def _converted(
    base: FloatArray,
    counts: IntArray,
    uniform: FloatArray,
    effects: FloatArray,
    keep: BoolArray,
    pairs: Sequence[tuple[int, int, float]] = (),
) -> BoolArray:
    """Which occasions convert when only the channels in ``keep`` act (shape ``(K, N)``).

    Occasion ``k`` converts when its uniform draw is below its probability and occasion
    ``k - 1`` converted.
    """
    converts = uniform < _probability(base, counts, effects, keep, pairs)
    return np.logical_and.accumulate(converts, axis=0)


def _group_max(values: IntArray, groups: IntArray, n_groups: int) -> IntArray:
    """Maximum of ``values`` per group for sorted ``groups``; -1 for empty groups."""
    out = np.full(n_groups, -1, dtype=np.int64)
    if values.size:
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        out[groups[starts]] = np.maximum.reduceat(values, starts)
    return out


def _build_frame(
    user: IntArray,
    seconds: IntArray,
    code: IntArray,
    revenue: FloatArray,
    cost: FloatArray,
    names: Sequence[str],
    start_us: int,
) -> pl.DataFrame:
    """Canonical events frame from row arrays; ``code`` is -1 on conversion rows."""
    is_touch = code >= 0
    safe = np.where(is_touch, code, 0).astype(np.uint32)
    touch = pl.Series("t", is_touch)
    channel = pl.Series("channel", list(names), dtype=pl.String).gather(pl.Series(safe))
    event = pl.Series(["conversion", "touch"], dtype=pl.String).gather(
        pl.Series(is_touch.astype(np.uint32))
    )
    timestamp = pl.Series(seconds * _US + start_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    return pl.DataFrame(
        {
            "user_id": pl.Series(user, dtype=pl.Int64),
            "timestamp": timestamp,
            "channel": pl.select(pl.when(touch).then(channel)).to_series(),
            "event": event,
            "revenue": pl.Series(revenue, dtype=pl.Float64),
            "cost": pl.Series(cost, dtype=pl.Float64),
        }
    )


def simulate(
    n_users: int = 10_000,
    *,
    seed: int = 0,
    channels: Sequence[ChannelSpec] = DEFAULT_CHANNELS,
    start: str = "2024-01-01",
    days: int = 90,
    base_rate: float = 0.02,
    conversions_per_user: int = 1,
    revenue_mean: float = 80.0,
    revenue_sigma: float = 0.6,
    intent_scale: float = 1.0,
    post_purchase_rate: float = 0.1,
    interactions: Sequence[tuple[str, str, float]] = (),
) -> Simulation:
    """Simulate an event log whose causal attribution is known exactly.

    The generative model is described in the module docstring
    (:mod:`attribution.datasets._simulate`). In short: latent intent drives both the baseline
    purchase probability and the reach of intent-targeted channels; each touch multiplies the
    non-conversion probability by ``1 - effect``; one uniform draw per user and occasion decides
    the conversion, and the same draws are replayed with each channel removed.

    Parameters
    ----------
    n_users : int, default 10_000
        Number of users.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same arguments give identical frames.
    channels : sequence of ChannelSpec, default DEFAULT_CHANNELS
        The channels, with reach, causal effect, intent targeting and cost.
    start : str, default "2024-01-01"
        Start of the window, an ISO date or datetime (naive means UTC).
    days : int, default 90
        Length of the window; every event lies in ``[start, start + days)``.
    base_rate : float, default 0.02
        Probability that a user of median intent buys without any touch, in ``(0, 1)``.
    conversions_per_user : int, default 1
        Maximum number of purchases per user (purchase occasions). Occasion ``k + 1`` only
        happens after a purchase on occasion ``k``; the truth counts all of them.
    revenue_mean : float, default 80.0
        Mean order value.
    revenue_sigma : float, default 0.6
        Standard deviation of the logarithm of the order value.
    intent_scale : float, default 1.0
        Standard deviation of intent on the logit scale of the baseline probability.
    post_purchase_rate : float, default 0.1
        Share of final purchases followed by a post-purchase tail of touches.
    interactions : sequence of (str, str, float), default ()
        Synergies between channels: for ``(a, b, gamma)``, an occasion on which both ``a`` and
        ``b`` touched the user has its probability of *not* converting multiplied by a further
        ``1 - gamma`` (``gamma`` in ``[0, 1)``). Removing either channel removes the synergy,
        and the truth accounts for it. The default (none) draws exactly what earlier versions
        drew.

    Returns
    -------
    Simulation
        The shuffled events, per-channel ground truth, baseline and total conversions, daily
        spend, the parameters and the latent per-user state.

    Raises
    ------
    ValueError
        When an argument is out of range (for instance an effect outside ``[0, 1)``).

    Examples
    --------
    >>> sim = simulate(2_000, seed=1)
    >>> sim.events.columns
    ['user_id', 'timestamp', 'channel', 'event', 'revenue', 'cost']
    >>> truth = dict(sim.truth.select("channel", "incremental_conversions").iter_rows())
    >>> truth["Retargeting"], truth["Display"], truth["Paid Search"] > 0
    (0, 0, True)
    """
    specs = _check_channels(channels)
    if n_users < 1:
        raise ValueError(f"n_users={n_users}; at least one user is needed.")
    if days < 1:
        raise ValueError(f"days={days}; the window must be at least one day long.")
    if not (0.0 < base_rate < 1.0):
        raise ValueError(f"base_rate={base_rate}; it must be in (0, 1).")
    if not (1 <= conversions_per_user <= 100):
        raise ValueError(f"conversions_per_user={conversions_per_user}; it must be in [1, 100].")
    if not (revenue_mean > 0.0 and revenue_sigma >= 0.0):
        raise ValueError("revenue_mean must be > 0 and revenue_sigma >= 0.")
    if not (0.0 <= post_purchase_rate <= 1.0):
        raise ValueError(f"post_purchase_rate={post_purchase_rate}; it must be in [0, 1].")
    if not (intent_scale >= 0.0 and math.isfinite(intent_scale)):
        raise ValueError(f"intent_scale={intent_scale}; it must be >= 0.")
    names_set = {c.name for c in specs}
    pairs: list[tuple[int, int, float]] = []
    for item in interactions:
        if len(item) != 3:
            raise ValueError(
                f"interactions must be (channel, channel, gamma) triples; got {item!r}."
            )
        a_name, b_name, gamma = item
        missing = [x for x in (a_name, b_name) if x not in names_set]
        if missing:
            raise ValueError(f"interactions name unknown channels {missing}.")
        if a_name == b_name:
            raise ValueError(f"An interaction needs two different channels; got {a_name!r} twice.")
        if not (0.0 <= float(gamma) < 1.0):
            raise ValueError(f"Interaction {item!r} has gamma {gamma}; it must be in [0, 1).")
        index = {c.name: i for i, c in enumerate(specs)}
        pairs.append((index[a_name], index[b_name], float(gamma)))
    origin = _parse_start(start)
    params: dict[str, Any] = {
        "n_users": n_users,
        "seed": seed,
        "channels": specs,
        "start": start,
        "days": days,
        "base_rate": base_rate,
        "conversions_per_user": conversions_per_user,
        "revenue_mean": revenue_mean,
        "revenue_sigma": revenue_sigma,
        "intent_scale": intent_scale,
        "post_purchase_rate": post_purchase_rate,
    }
    if pairs:
        params["interactions"] = tuple(tuple(item) for item in interactions)

    n, k_occ, n_ch = n_users, conversions_per_user, len(specs)
    names = [c.name for c in specs]
    reach = np.array([c.reach for c in specs], dtype=np.float64)
    effects = np.array([c.effect for c in specs], dtype=np.float64)
    targeting = np.array([c.intent_targeting for c in specs], dtype=np.float64)
    unit_cost = np.array([c.cost_per_touch for c in specs], dtype=np.float64)
    rng = np.random.default_rng(seed)

    # Latent state and causal draws (fixed shapes, so every scenario shares them).
    intent = rng.standard_normal(n)
    logit = math.log(base_rate / (1.0 - base_rate)) + intent_scale * intent
    base = 1.0 / (1.0 + np.exp(-logit))
    rate = reach * np.exp(np.outer(intent, targeting) - targeting**2 / 2.0)
    counts = rng.poisson(rate, size=(k_occ, n, n_ch)).astype(np.int64)
    uniform = rng.random((k_occ, n))
    order_value = _order_values(rng, (k_occ, n), revenue_mean, revenue_sigma)
    follows = np.array([c.follows for c in specs], dtype=bool)
    late = np.array([c.late_share for c in specs], dtype=np.float64)
    # follow-up and late timing draw from their own stream: without them, nothing changes
    aux = np.random.default_rng([seed, 17]) if follows.any() or late.any() else None
    if aux is not None and follows.any():
        lead = counts[:, :, ~follows].sum(axis=2)  # (K, N) touches of the channels followed
        mean_lead = max(float(reach[~follows].sum()), 1e-12)
        counts[:, :, follows] = aux.poisson(rate[None, :, follows] * (lead / mean_lead)[:, :, None])

    # Counterfactual replays with the same draws.
    everything = np.ones(n_ch, dtype=bool)
    converted = _converted(base, counts, uniform, effects, everything, pairs)
    total = int(converted.sum())
    total_revenue = float(order_value[converted].sum())
    incremental = np.zeros(n_ch, dtype=np.int64)
    incremental_revenue = np.zeros(n_ch, dtype=np.float64)
    for c in range(n_ch):
        keep = everything.copy()
        keep[c] = False
        without = _converted(base, counts, uniform, effects, keep, pairs)
        incremental[c] = total - int(without.sum())
        incremental_revenue[c] = total_revenue - float(order_value[without].sum())
    baseline = float(_converted(base, counts, uniform, effects, ~everything).sum())
    probability = _probability(base, counts, effects, everything, pairs)

    # Which occasions appear in the log: the first, and each one after a purchase.
    realised = np.ones((k_occ, n), dtype=bool)
    realised[1:] = converted[:-1]

    # Activity windows (seconds from start), one slot per occasion.
    span = days * _DAY
    window = np.minimum(span, _DAY + np.floor(rng.exponential(_MEAN_WINDOW_DAYS * _DAY, n)))
    window = window.astype(np.int64)
    offset = np.floor(rng.random(n) * (span - window + 1)).astype(np.int64)
    bounds = offset + (np.arange(k_occ + 1, dtype=np.int64)[:, None] * window) // k_occ
    slot_start, slot_end = bounds[:-1], bounds[1:]  # (K, N); slot_end exclusive

    # Touch rows, grouped by (occasion, user), then channel.
    shown = (counts * realised[:, :, None]).ravel()
    cell = np.repeat(np.arange(shown.size, dtype=np.int64), shown)
    channel = cell % n_ch
    group = cell // n_ch  # = occasion * n + user
    lo, hi = slot_start.ravel()[group], slot_end.ravel()[group]
    touch_time = lo + np.floor(rng.random(cell.size) * (hi - lo - 1)).astype(np.int64)
    if aux is not None and follows.any():  # after the first touch of a channel followed
        led = ~follows[channel]
        first = np.full(k_occ * n, np.iinfo(np.int64).max)
        np.minimum.at(first, group[led], touch_time[led])
        f = np.flatnonzero(follows[channel])
        start_f = np.minimum(first[group[f]], hi[f] - 2)
        room = hi[f] - 1 - start_f
        touch_time[f] = start_f + np.floor(aux.random(f.size) * room).astype(np.int64)
    last = _group_max(touch_time, group, k_occ * n).reshape(k_occ, n)

    # Conversion times: after the last touch, inside the slot.
    delay = np.floor(rng.exponential(_MEAN_DELAY_HOURS * 3600.0, (k_occ, n))).astype(np.int64)
    spread = rng.random((k_occ, n))
    anywhere = rng.random((k_occ, n))
    after = last + 1 + delay
    squeezed = last + 1 + np.floor(spread * (slot_end - 1 - last)).astype(np.int64)
    after = np.where(after <= slot_end - 1, after, squeezed)
    untouched = slot_start + np.floor(anywhere * (slot_end - slot_start)).astype(np.int64)
    conversion_time = np.where(last >= 0, after, untouched)
    if aux is not None and late.any():  # late touches of converting occasions: just before it
        conv_cell = converted.ravel()[group]
        move = np.flatnonzero(conv_cell & (aux.random(cell.size) < late[channel]))
        hours = np.array([c.late_hours for c in specs])[channel[move]]
        back = 1 + np.floor(aux.exponential(hours * 3600.0)).astype(np.int64)
        at = conversion_time.ravel()[group[move]] - back
        touch_time[move] = np.maximum(at, lo[move])

    # Post-purchase tail after the final possible purchase.
    final_time, final_end = conversion_time[-1], slot_end[-1]
    tail_user = np.flatnonzero(
        converted[-1] & (rng.random(n) < post_purchase_rate) & (final_end - 1 > final_time)
    )
    tail_size = 1 + rng.poisson(_TAIL_EXTRA_MEAN, tail_user.size)
    tail_owner = np.repeat(tail_user, tail_size)
    if reach.sum() > 0.0:
        tail_channel = rng.choice(n_ch, size=tail_owner.size, p=reach / reach.sum())
    else:
        tail_owner = tail_owner[:0]
        tail_channel = np.zeros(0, dtype=np.int64)
    tail_lo = final_time[tail_owner] + 1
    tail_room = final_end[tail_owner] - tail_lo
    tail_time = tail_lo + np.floor(rng.random(tail_owner.size) * tail_room).astype(np.int64)

    # Assemble and shuffle.
    conv_occ, conv_user = np.nonzero(converted)
    user = np.concatenate([group % n, tail_owner, conv_user])
    seconds = np.concatenate([touch_time, tail_time, conversion_time[conv_occ, conv_user]])
    code = np.concatenate([channel, tail_channel, np.full(conv_user.size, -1, dtype=np.int64)])
    revenue = np.concatenate(
        [np.zeros(cell.size + tail_owner.size), order_value[conv_occ, conv_user]]
    )
    cost = np.where(code >= 0, unit_cost[np.maximum(code, 0)], 0.0)
    order = rng.permutation(user.size)
    start_us = (origin - _EPOCH) // timedelta(microseconds=1)
    events = _build_frame(
        user[order] + 1, seconds[order], code[order], revenue[order], cost[order], names, start_us
    )

    touches = np.bincount(code[code >= 0], minlength=n_ch)
    truth = pl.DataFrame(
        {
            "channel": pl.Series(names, dtype=pl.String),
            "effect": pl.Series(effects, dtype=pl.Float64),
            "touches": pl.Series(touches, dtype=pl.Int64),
            "incremental_conversions": pl.Series(incremental, dtype=pl.Int64),
            "incremental_revenue": pl.Series(np.round(incremental_revenue, 2), dtype=pl.Float64),
            "has_effect": pl.Series(effects > 0.0, dtype=pl.Boolean),
            "spend": pl.Series(touches * unit_cost, dtype=pl.Float64),
        }
    )

    latent = pl.DataFrame(
        {
            "user_id": pl.Series(np.tile(np.arange(1, n + 1), k_occ), dtype=pl.Int64),
            "occasion": pl.Series(np.repeat(np.arange(k_occ), n), dtype=pl.Int32),
            "intent": np.tile(intent, k_occ),
            "base_probability": np.tile(base, k_occ),
            "probability": probability.ravel(),
            "uniform": uniform.ravel(),
            "order_value": order_value.ravel(),
            "realised": realised.ravel(),
            "converted": converted.ravel(),
        }
    ).sort("user_id", "occasion")

    return Simulation(
        events=events,
        truth=truth,
        baseline_conversions=baseline,
        total_conversions=total,
        spend=_daily_spend(events, specs, origin, days),
        params=params,
        latent=latent,
    )


def _daily_spend(
    events: pl.DataFrame, specs: Sequence[ChannelSpec], origin: datetime, days: int
) -> pl.DataFrame:
    """Daily spend per paid channel over every calendar day the window touches."""
    paid = [c.name for c in specs if c.cost_per_touch > 0.0]
    first: date = origin.date()
    last: date = (origin + timedelta(days=days) - timedelta(microseconds=1)).date()
    dates = pl.date_range(first, last, interval="1d", eager=True).alias("date")
    grid = pl.DataFrame({"date": dates}).join(
        pl.DataFrame({"channel": pl.Series(paid, dtype=pl.String)}), how="cross"
    )
    daily = (
        events.filter(pl.col("event") == "touch")
        .group_by(pl.col("timestamp").dt.date().alias("date"), "channel")
        .agg(pl.col("cost").sum().alias("spend"))
    )
    return (
        grid.join(daily, on=["date", "channel"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0))
        .sort("date", "channel")
    )


def _scatter(
    total: int,
    position: IntArray,
    split: int,
    first: npt.NDArray[Any],
    second: npt.NDArray[Any],
) -> npt.NDArray[Any]:
    """Place ``first`` then ``second`` at rows ``position`` of a new array (a shuffle)."""
    out = np.empty(total, dtype=np.result_type(first, second))
    out[position[:split]] = first
    out[position[split:]] = second
    return out


def simulate_events(n_events: int, *, seed: int = 0, n_channels: int = 10) -> pl.DataFrame:
    """Generate a large canonical event log quickly, for benchmarks.

    About ``n_events`` rows (within a few per mille for large logs) from ``n_events / 3.8``
    users over 90 days from 2024-01-01. Each user has ``Geometric`` touches (mean 3.756, at
    least one) at whole seconds inside an activity window (one day plus an exponential with mean
    14 days), on channels ``ch00``, ``ch01``, ... chosen with Zipf-like popularity. Each touch
    multiplies the non-conversion probability by ``1 - effect`` of its channel (effects between
    0 and 1.6 %, baseline 1.5 %), so about 4 % of users convert, after their last touch; 15 % of
    the buyers whose touches span at least two seconds also convert once between their first and
    last touch. Costs are fixed per channel (0.05 to 2.00), order values log-normal with mean 80.
    There is no ground truth and no confounding; use :func:`simulate` for that. Rows are
    shuffled. Ten million events take a few seconds and about 1 GB of memory at peak.

    Parameters
    ----------
    n_events : int
        Approximate number of rows.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.
    n_channels : int, default 10
        Number of channels, named ``ch00``, ``ch01``, ... (``ch000`` ... beyond 100).

    Returns
    -------
    polars.DataFrame
        Canonical columns ``user_id`` (Int64), ``timestamp`` (Datetime("us", "UTC")),
        ``channel`` (String, null on conversions), ``event``, ``revenue`` and ``cost``.

    Raises
    ------
    ValueError
        When ``n_events`` or ``n_channels`` is smaller than one.

    Examples
    --------
    >>> events = simulate_events(10_000, seed=3)
    >>> 9_500 <= events.height <= 10_500
    True
    >>> sorted(events["event"].unique())
    ['conversion', 'touch']
    """
    if n_events < 1:
        raise ValueError(f"n_events={n_events}; at least one event is needed.")
    if n_channels < 1:
        raise ValueError(f"n_channels={n_channels}; at least one channel is needed.")
    rng = np.random.default_rng(seed)
    n_users = max(1, round(n_events / 3.8))
    width = max(2, len(str(n_channels - 1)))
    names = [f"ch{c:0{width}d}" for c in range(n_channels)]
    rank = np.arange(n_channels, dtype=np.float64)
    popularity = 1.0 / (rank + 1.0) ** 0.7
    popularity /= popularity.sum()
    effects = 0.016 * ((rank * 7) % 5) / 4.0  # 0 %, 0.4 %, ... 1.6 %, scattered over ranks
    unit_cost = np.round(0.05 + 1.95 * ((rank * 3) % 7) / 6.0, 2)
    span = 90 * _DAY

    per_user = rng.geometric(1.0 / 3.756, n_users).astype(np.int64)
    n_touch = int(per_user.sum())
    ends = np.cumsum(per_user)
    starts = ends - per_user
    owner = np.repeat(np.arange(n_users, dtype=np.int64), per_user)
    channel = np.searchsorted(np.cumsum(popularity), rng.random(n_touch), side="right")
    channel = np.minimum(channel, n_channels - 1).astype(np.int16)

    log_survive = np.bincount(owner, weights=np.log1p(-effects)[channel], minlength=n_users)
    buys = rng.random(n_users) < 1.0 - 0.985 * np.exp(log_survive)

    window = np.minimum(span, _DAY + np.floor(rng.exponential(14.0 * _DAY, n_users)))
    window = window.astype(np.int64)
    offset = np.floor(rng.random(n_users) * (span - window + 1)).astype(np.int64)
    touch_time = np.floor(rng.random(n_touch) * (window - 1)[owner]).astype(np.int64)
    touch_time += offset[owner]
    first = np.minimum.reduceat(touch_time, starts)
    last = np.maximum.reduceat(touch_time, starts)
    delay = np.floor(rng.exponential(_MEAN_DELAY_HOURS * 3600.0, n_users)).astype(np.int64)
    final = np.minimum(last + 1 + delay, offset + window - 1)
    twice = buys & (rng.random(n_users) < 0.15) & (last - first >= 2)
    middle = first + 1 + np.floor(rng.random(n_users) * (last - first - 1)).astype(np.int64)

    buyer = np.flatnonzero(buys)
    repeat = np.flatnonzero(twice)
    conv_user = np.concatenate([buyer, repeat])
    conv_time = np.concatenate([final[buyer], middle[repeat]])
    n_conv = conv_user.size
    revenue_conv = _order_values(rng, n_conv, 80.0, 0.6)
    del log_survive, buys, first, last, delay, final, twice, middle, per_user, ends

    total = n_touch + n_conv
    position = rng.permutation(total)

    user = _scatter(total, position, n_touch, owner + 1, conv_user + 1)
    del owner
    seconds = _scatter(total, position, n_touch, touch_time, conv_time)
    del touch_time
    code = _scatter(total, position, n_touch, channel, np.full(n_conv, -1, dtype=np.int16))
    cost = _scatter(total, position, n_touch, unit_cost[channel], np.zeros(n_conv))
    del channel
    revenue = _scatter(total, position, n_touch, np.zeros(n_touch), revenue_conv)
    del position
    start_us = (datetime(2024, 1, 1, tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
    return _build_frame(user, seconds, code, revenue, cost, names, start_us)
