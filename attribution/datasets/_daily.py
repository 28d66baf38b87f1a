"""A second simulator family: a daily conversion hazard with intent that rises before a purchase.

:func:`simulate` (the first family) decides each purchase occasion by one draw on the whole
journey, and a user's intent is fixed. :func:`simulate_daily` is built differently, so that a
method tuned on one is checked on the other:

- **Days.** Each user lives through ``days`` days. On day ``t`` the user converts with
  probability ``h_t = sigmoid(logit(base_hazard) + interest_scale * u + m_t + Σ_c
  effect_c * (1 − e^(−a_ct)))`` and then stops (one purchase; no touches after it).
- **Interest and in-market intent.** ``u ~ N(0, 1)`` is a lasting interest. With probability
  ``in_market_rate`` the user has an in-market episode starting on a uniform day and lasting an
  exponential number of days (mean ``in_market_days``); within it, intent ``m_t`` rises linearly
  from 0 to ``in_market_lift`` (a purchase becomes likely toward its end), and it is 0 outside.
- **Adstock.** ``a_ct = decay_c * a_c,t−1 + n_ct``: touches carry over, and their effect
  saturates (``1 − e^(−a)``), unlike the journey model's counts and decays.
- **Touches.** ``n_ct ~ Poisson(rate_c * exp(seek_c * (m_t + 0.5 u) − norm_c))``: ``seek_c > 0``
  is a channel bought on signs of intent (brand search, display on in-market audiences), whose
  touches crowd into the days before a purchase; ``norm_c`` keeps ``rate_c`` the mean daily
  touches of an average user. A channel with ``follows=True`` (retargeting) only reaches users
  who were touched by another channel in the last ``follow_days`` days.

Ground truth: every draw (touch counts, the daily uniform compared with ``h_t``) is fixed per
user and day, and the simulation is replayed with each channel removed (a follower then also
loses the visits it would have followed) and with every channel removed. A channel's
incremental conversions are the conversions lost; the baseline is what remains without any.
Touches fall at uniform seconds of their day; a conversion falls after the last touch of its
day. Rows are returned shuffled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from attribution.datasets._simulate import Simulation

__all__ = ["DAILY_CHANNELS", "DailyChannel", "simulate_daily"]

_DAY = 86_400
_BLOCK = 25_000  # users simulated at once


@dataclass(frozen=True)
class DailyChannel:
    """One channel of :func:`simulate_daily`.

    Parameters
    ----------
    name : str
        Channel name in the log.
    rate : float
        Mean touches per user and day (before intent seeking, which keeps the mean).
    effect : float
        Effect of saturated adstock on the daily log-odds of converting (``≥ 0``).
    decay : float, default 0.7
        Share of the adstock carried to the next day, in ``[0, 1)``.
    seek : float, default 0.0
        How strongly the channel follows intent (``0``: users at random).
    follows : bool, default False
        Reaches only users touched by another channel in the last ``follow_days`` days.
    """

    name: str
    rate: float
    effect: float
    decay: float = 0.7
    seek: float = 0.0
    follows: bool = False


#: Eight channels, none seeking intent; Display and Video have no effect.
DAILY_CHANNELS: tuple[DailyChannel, ...] = (
    DailyChannel("Paid Search", 0.05, 0.9, decay=0.5),
    DailyChannel("Organic Search", 0.06, 0.7, decay=0.5),
    DailyChannel("Email", 0.10, 0.4, decay=0.6),
    DailyChannel("Social", 0.08, 0.5, decay=0.8),
    DailyChannel("Affiliate", 0.02, 1.0, decay=0.5),
    DailyChannel("Video", 0.06, 0.0, decay=0.8),
    DailyChannel("Display", 0.12, 0.0, decay=0.8),
    DailyChannel("Retargeting", 0.0, 0.0, decay=0.6, follows=True),
)


def _check(channels: Sequence[DailyChannel]) -> tuple[DailyChannel, ...]:
    specs = tuple(channels)
    names = [c.name for c in specs]
    if not specs or len(set(names)) != len(names):
        raise ValueError(f"channels must be non-empty with unique names; got {names}.")
    for c in specs:
        if not (c.rate >= 0 and c.effect >= 0 and 0 <= c.decay < 1 and math.isfinite(c.seek)):
            raise ValueError(
                f"Channel {c.name!r}: rate and effect must be ≥ 0, decay in [0, 1); got {c}."
            )
    if all(c.follows for c in specs):
        raise ValueError("Every channel follows the others; at least one must not (follows).")
    return specs


def _replay(
    n_draw: np.ndarray,
    base_logit: np.ndarray,
    uniform: np.ndarray,
    effect: np.ndarray,
    decay: np.ndarray,
    follows: np.ndarray,
    keep: np.ndarray,
    follow_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Conversion day of each user (``-1``: none) and the touches shown, with ``keep`` acting.

    ``n_draw`` (users, days, channels) are the drawn counts; a follower's count shows only when
    another kept channel touched the user within ``follow_days`` days.
    """
    n, days, k = n_draw.shape
    shown = np.zeros_like(n_draw)
    adstock = np.zeros((n, k))
    alive = np.ones(n, dtype=bool)
    conv_day = np.full(n, -1, dtype=np.int64)
    last_visit = np.full(n, -(10**6), dtype=np.int64)
    lead = keep & ~follows
    for t in range(days):
        counts = np.where(keep[None, :], n_draw[:, t, :], 0)
        recent = (t - last_visit) <= follow_days
        counts[:, follows] *= recent[:, None].astype(counts.dtype)
        counts *= alive[:, None].astype(counts.dtype)
        shown[:, t, :] = counts
        visited = counts[:, lead].sum(axis=1) > 0
        last_visit = np.where(visited, t, last_visit)
        adstock = adstock * decay[None, :] + counts
        eta = base_logit[:, t] + (-np.expm1(-adstock) * effect).sum(axis=1)  # no BLAS threads
        hazard = 0.5 * (1.0 + np.tanh(0.5 * eta))
        buy = alive & (uniform[:, t] < hazard)
        conv_day[buy] = t
        alive &= ~buy
    return conv_day, shown


def simulate_daily(
    n_users: int = 20_000,
    *,
    seed: int = 0,
    channels: Sequence[DailyChannel] = DAILY_CHANNELS,
    days: int = 60,
    base_hazard: float = 0.0004,
    interest_scale: float = 1.0,
    in_market_rate: float = 0.3,
    in_market_days: float = 10.0,
    in_market_lift: float = 3.0,
    follow_days: int = 7,
    start: str = "2024-01-01",
) -> Simulation:
    """Simulate a daily-hazard event log with intent that rises before a purchase.

    The model is in the module docstring (:mod:`attribution.datasets._daily`).

    Parameters
    ----------
    n_users : int
        Users.
    seed : int
        Seed; the same arguments give the same frames.
    channels : sequence of DailyChannel
        The channels (:data:`DAILY_CHANNELS` by default).
    days : int
        Days each user is observed.
    base_hazard : float
        Daily probability of converting of a user of average interest, out of market, without
        marketing.
    interest_scale : float
        Standard deviation of lasting interest on the log-odds scale.
    in_market_rate, in_market_days, in_market_lift : float
        Probability of an in-market episode, its mean length in days and the log-odds its
        intent reaches at its end.
    follow_days : int
        How recent a visit a following channel (retargeting) needs.
    start : str
        First day (ISO date).

    Returns
    -------
    Simulation
        Events (``user_id, timestamp, channel, event, revenue, cost``), truth (``channel,
        effect, touches, incremental_conversions, incremental_revenue, has_effect, spend``),
        baseline and total conversions. ``spend`` is empty and ``latent`` holds each user's
        interest, in-market start and length and conversion day (``-1``: none).

    Examples
    --------
    >>> sim = simulate_daily(2_000, seed=1)
    >>> sim.truth.filter(~sim.truth["has_effect"])["incremental_conversions"].to_list()
    [0, 0, 0]
    """
    specs = _check(channels)
    if n_users < 1 or days < 2:
        raise ValueError(f"n_users must be ≥ 1 and days ≥ 2; got {n_users}, {days}.")
    if not 0 < base_hazard < 1:
        raise ValueError(f"base_hazard must be in (0, 1); got {base_hazard}.")
    k = len(specs)
    rate = np.array([c.rate for c in specs])
    effect = np.array([c.effect for c in specs])
    decay = np.array([c.decay for c in specs])
    seek = np.array([c.seek for c in specs])
    follows = np.array([c.follows for c in specs])
    rng = np.random.default_rng(seed)
    origin = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    start_s = int((origin - epoch) // timedelta(seconds=1))
    total = 0
    inc = np.zeros(k, dtype=np.int64)
    inc_rev = np.zeros(k)
    baseline = 0
    frames, latents = [], []
    touches_per = np.zeros(k, dtype=np.int64)
    base_logit0 = math.log(base_hazard / (1 - base_hazard))
    for lo in range(0, n_users, _BLOCK):
        n = min(_BLOCK, n_users - lo)
        u = rng.standard_normal(n)
        has_ep = rng.random(n) < in_market_rate
        ep_start = rng.integers(0, days, n)
        ep_len = 1 + np.floor(rng.exponential(in_market_days, n)).astype(np.int64)
        t = np.arange(days)[None, :]
        into = t - ep_start[:, None]
        inside = has_ep[:, None] & (into >= 0) & (into < ep_len[:, None])
        m = np.where(inside, in_market_lift * (into + 1) / ep_len[:, None], 0.0)
        # mean-one intent factor per channel: exp(seek * x) / E[exp(seek * x)]
        x = m + 0.5 * u[:, None]
        lam = np.empty((n, days, k))
        for c in range(k):
            f = np.exp(seek[c] * x)
            lam[:, :, c] = rate[c] * f / f.mean() if seek[c] != 0 else rate[c]
        n_draw = rng.poisson(lam).astype(np.int16)  # a follower's: if eligible that day
        del lam
        uniform = rng.random((n, days))
        value = np.maximum(np.round(rng.lognormal(math.log(80.0) - 0.18, 0.6, n), 2), 0.01)
        base_logit = base_logit0 + interest_scale * u[:, None] + m
        everything = np.ones(k, dtype=bool)
        conv_day, shown = _replay(
            n_draw, base_logit, uniform, effect, decay, follows, everything, follow_days
        )
        converted = conv_day >= 0
        total += int(converted.sum())
        for c in range(k):
            keep = everything.copy()
            keep[c] = False
            cd, _ = _replay(n_draw, base_logit, uniform, effect, decay, follows, keep, follow_days)
            lost = converted & (cd < 0)
            inc[c] += int(lost.sum())
            inc_rev[c] += float(value[lost].sum())
        cd0, _ = _replay(
            n_draw, base_logit, uniform, effect, decay, follows, ~everything, follow_days
        )
        baseline += int((cd0 >= 0).sum())
        # events of this block
        user_i, day_i, ch_i = np.nonzero(shown)
        reps = shown[user_i, day_i, ch_i].astype(np.int64)
        user_t = np.repeat(user_i, reps)
        day_t = np.repeat(day_i, reps)
        ch_t = np.repeat(ch_i, reps)
        touches_per += np.bincount(ch_t, minlength=k)
        sec_t = rng.integers(0, _DAY - 1, user_t.size)
        # conversion after the last touch of its day
        cu = np.flatnonzero(converted)
        last_sec = np.full(n, -1, dtype=np.int64)
        on_day = day_t == conv_day[user_t]
        np.maximum.at(last_sec, user_t[on_day], sec_t[on_day])
        lo_sec = last_sec[cu] + 1
        conv_sec = lo_sec + np.floor(rng.random(cu.size) * (_DAY - lo_sec)).astype(np.int64)
        rev = value[cu]
        seconds = np.concatenate([day_t * _DAY + sec_t, conv_day[cu] * _DAY + conv_sec])
        frames.append(
            pl.DataFrame(
                {
                    "user_id": np.concatenate([user_t, cu]) + lo + 1,
                    "ts": seconds + start_s,
                    "code": np.concatenate([ch_t, np.full(cu.size, -1)]),
                    "revenue": np.concatenate([np.zeros(user_t.size), rev]),
                }
            )
        )
        latents.append(
            pl.DataFrame(
                {
                    "user_id": np.arange(lo + 1, lo + n + 1),
                    "interest": u,
                    "in_market_start": np.where(has_ep, ep_start, -1),
                    "in_market_days": np.where(has_ep, ep_len, 0),
                    "conversion_day": conv_day,
                }
            )
        )
    names = pl.Series("channel", [c.name for c in specs], dtype=pl.String)
    raw = pl.concat(frames)
    raw = raw.sample(fraction=1.0, shuffle=True, seed=seed)
    is_touch = raw["code"] >= 0
    events = pl.DataFrame(
        {
            "user_id": raw["user_id"].cast(pl.Int64),
            "timestamp": (raw["ts"] * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "channel": pl.select(
                pl.when(is_touch).then(names.gather(raw["code"].clip(0, k - 1)))
            ).to_series(),
            "event": pl.Series(["conversion", "touch"]).gather(is_touch.cast(pl.UInt32)),
            "revenue": raw["revenue"],
            "cost": pl.Series(np.zeros(raw.height)),
        }
    )
    truth = pl.DataFrame(
        {
            "channel": names,
            "effect": effect,
            "touches": touches_per,
            "incremental_conversions": inc,
            "incremental_revenue": np.round(inc_rev, 2),
            "has_effect": effect > 0,
            "spend": np.zeros(k),
        }
    )
    params = {
        "n_users": n_users,
        "seed": seed,
        "channels": specs,
        "days": days,
        "base_hazard": base_hazard,
        "interest_scale": interest_scale,
        "in_market_rate": in_market_rate,
        "in_market_days": in_market_days,
        "in_market_lift": in_market_lift,
        "follow_days": follow_days,
        "start": start,
    }
    return Simulation(
        events=events,
        truth=truth,
        baseline_conversions=float(baseline),
        total_conversions=total,
        spend=pl.DataFrame(schema={"date": pl.Date, "channel": pl.String, "spend": pl.Float64}),
        params=params,
        latent=pl.concat(latents),
    )
