"""Named simulator settings for judging attribution models against a causal truth.

Each setting is a set of keyword arguments of :func:`~attribution.datasets.simulate` built from
:data:`~attribution.datasets.DEFAULT_CHANNELS` (same reach and effects; Display and Retargeting
cause nothing). They differ in one thing each:

============================  ====================================================  ==========
setting                       what changes                                           confounded
============================  ====================================================  ==========
``no_confounding``            every channel reaches users at random                  no
``intent_confounding``        only Retargeting seeks high-intent users (strongly)    yes
``default``                   the default channels: five channels target intent      yes
``interactions``              no confounding; Email x Paid Search and Social x       no
                              Affiliate work better together (synergy)
``long_journeys``             no confounding; three times the touches               no
``short_journeys``            no confounding; a third of the touches                 no
``retargeting``               Retargeting (no effect) follows other touches, seeks  yes
                              intent and half of its touches fall just before a
                              purchase
``brand_search``              a Brand Search channel (small effect) seeks intent    yes
                              strongly; most of its touches fall hours before a
                              purchase
``display_on_intent``         Display (no effect) is bought on in-market audiences: yes
                              more reach, intent-seeking, a third of it late
``intent_seeking``            the three together                                    yes
``retargeting_display``       Retargeting and Display on intent (no effect, both)  yes
============================  ====================================================  ==========

The intent-seeking settings (the last five) also widen intent (``intent_scale=1.5``), and
every other channel reaches users at random there. The ``daily_`` settings
(:data:`DAILY_SCENARIOS`) are the same ideas in the second simulator family
(:func:`~attribution.datasets.simulate_daily`: a daily hazard with intent that rises before a
purchase, and users who stop at their conversion):

============================  ====================================================  ==========
setting                       what changes                                          confounded
============================  ====================================================  ==========
``daily_no_confounding``      :data:`~attribution.datasets.DAILY_CHANNELS`: none    no
                              seeks intent (Display, Video, Retargeting: no effect)
``daily_retargeting``         Retargeting follows visits and seeks intent           yes
``daily_brand_search``        a Brand Search channel (small effect) seeks intent    yes
``daily_display_on_intent``   Display (no effect) seeks intent                      yes
``daily_intent_seeking``      the three together                                    yes
============================  ====================================================  ==========

"Confounded" means that the simulator's latent intent, which the log does not show, drives both
a channel's reach and the chance to buy: no model fitted to the log alone can remove that bias.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from attribution.datasets._daily import DAILY_CHANNELS, DailyChannel, simulate_daily
from attribution.datasets._simulate import DEFAULT_CHANNELS, ChannelSpec, Simulation, simulate

__all__ = [
    "ALL_SCENARIOS",
    "DAILY_SCENARIOS",
    "INTENT_SETTINGS",
    "SCENARIOS",
    "Scenario",
    "scenario",
]


@dataclass(frozen=True)
class Scenario:
    """A named simulator setting.

    Attributes
    ----------
    name : str
        Key in :data:`SCENARIOS` or :data:`DAILY_SCENARIOS`.
    description : str
        One line on what the setting changes.
    confounded : bool
        Whether a hidden variable (intent) drives both reach and conversion.
    kwargs : dict
        Keyword arguments of the simulator (besides ``n_users`` and ``seed``).
    simulator : {"journey", "daily"}
        :func:`~attribution.datasets.simulate` or
        :func:`~attribution.datasets.simulate_daily`.
    """

    name: str
    description: str
    confounded: bool
    kwargs: dict[str, Any]
    simulator: str = "journey"


def _untargeted(channels: tuple[ChannelSpec, ...]) -> tuple[ChannelSpec, ...]:
    return tuple(replace(c, intent_targeting=0.0) for c in channels)


def _scaled(channels: tuple[ChannelSpec, ...], factor: float) -> tuple[ChannelSpec, ...]:
    return tuple(replace(c, reach=c.reach * factor) for c in channels)


_RANDOM = _untargeted(DEFAULT_CHANNELS)
_RETARGETING = ChannelSpec(
    "Retargeting",
    reach=0.5,
    effect=0.0,
    intent_targeting=1.5,
    cost_per_touch=0.40,
    follows=True,
    late_share=0.5,
)
_DISPLAY = ChannelSpec(
    "Display", reach=1.5, effect=0.0, intent_targeting=1.5, cost_per_touch=0.02, late_share=0.3
)
_BRAND = ChannelSpec(
    "Brand Search",
    reach=0.6,
    effect=0.01,
    intent_targeting=2.0,
    cost_per_touch=0.30,
    late_share=0.8,
    late_hours=6.0,
)


def _seeking(*which: str) -> dict[str, Any]:
    """Random reach for every channel but the intent-seeking ones named; wider intent."""
    chans = []
    for c in _RANDOM:
        if c.name == "Retargeting" and "retargeting" in which:
            c = _RETARGETING
        elif c.name == "Display" and "display" in which:
            c = _DISPLAY
        chans.append(c)
    if "brand" in which:
        chans.append(_BRAND)
    return {"channels": tuple(chans), "intent_scale": 1.5}


def _daily(*which: str) -> dict[str, Any]:
    """Return the daily family's channels with the intent-seeking ones named."""
    chans = []
    for c in DAILY_CHANNELS:
        if c.name == "Retargeting" and "retargeting" in which:
            c = replace(c, rate=0.3, seek=1.0)
        elif c.name == "Display" and "display" in which:
            c = replace(c, seek=1.2)
        chans.append(c)
    if "brand" in which:
        chans.append(DailyChannel("Brand Search", 0.05, 0.2, decay=0.3, seek=1.5))
    return {"channels": tuple(chans)}


#: The settings of the first family (:func:`~attribution.datasets.simulate`), by name.
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "no_confounding",
            "every channel reaches users at random",
            False,
            {"channels": _RANDOM},
        ),
        Scenario(
            "intent_confounding",
            "only Retargeting (no effect) seeks out high-intent users, strongly",
            True,
            {
                "channels": tuple(
                    replace(c, intent_targeting=2.0) if c.name == "Retargeting" else c
                    for c in _RANDOM
                )
            },
        ),
        Scenario(
            "default",
            "the default channels: five target intent, Retargeting strongly",
            True,
            {"channels": DEFAULT_CHANNELS},
        ),
        Scenario(
            "interactions",
            "random reach; Email x Paid Search and Social x Affiliate have synergies",
            False,
            {
                "channels": _RANDOM,
                "interactions": (("Email", "Paid Search", 0.06), ("Social", "Affiliate", 0.08)),
            },
        ),
        Scenario(
            "long_journeys",
            "random reach, three times the touches",
            False,
            {"channels": _scaled(_RANDOM, 3.0)},
        ),
        Scenario(
            "short_journeys",
            "random reach, a third of the touches",
            False,
            {"channels": _scaled(_RANDOM, 1.0 / 3.0)},
        ),
        Scenario(
            "retargeting",
            "Retargeting (no effect) follows other touches, seeks intent, half of it late",
            True,
            _seeking("retargeting"),
        ),
        Scenario(
            "brand_search",
            "Brand Search (small effect) seeks intent strongly, most of it hours before buying",
            True,
            _seeking("brand"),
        ),
        Scenario(
            "display_on_intent",
            "Display (no effect) bought on in-market audiences: more reach, seeks intent",
            True,
            _seeking("display"),
        ),
        Scenario(
            "intent_seeking",
            "Retargeting, Brand Search and Display on intent together",
            True,
            _seeking("retargeting", "brand", "display"),
        ),
        Scenario(
            "retargeting_display",
            "Retargeting and Display on intent (neither has an effect) together",
            True,
            _seeking("retargeting", "display"),
        ),
    )
}

#: The settings of the daily family (:func:`~attribution.datasets.simulate_daily`).
DAILY_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "daily_no_confounding",
            "daily hazard, intent rising before a purchase; no channel seeks it",
            False,
            _daily(),
            "daily",
        ),
        Scenario(
            "daily_retargeting",
            "daily hazard; Retargeting (no effect) follows visits and seeks intent",
            True,
            _daily("retargeting"),
            "daily",
        ),
        Scenario(
            "daily_brand_search",
            "daily hazard; Brand Search (small effect) seeks intent",
            True,
            _daily("brand"),
            "daily",
        ),
        Scenario(
            "daily_display_on_intent",
            "daily hazard; Display (no effect) seeks intent",
            True,
            _daily("display"),
            "daily",
        ),
        Scenario(
            "daily_intent_seeking",
            "daily hazard; Retargeting, Brand Search and Display seek intent",
            True,
            _daily("retargeting", "brand", "display"),
            "daily",
        ),
    )
}

#: Every named setting, of both families.
ALL_SCENARIOS: dict[str, Scenario] = SCENARIOS | DAILY_SCENARIOS

#: The intent-seeking settings, where planned experiments are evaluated.
INTENT_SETTINGS: tuple[str, ...] = (
    "retargeting",
    "brand_search",
    "display_on_intent",
    "intent_seeking",
    "retargeting_display",
    "daily_retargeting",
    "daily_brand_search",
    "daily_display_on_intent",
    "daily_intent_seeking",
)


def scenario(name: str, n_users: int = 20_000, *, seed: int = 0, **overrides: Any) -> Simulation:
    """Simulate one named setting of :data:`SCENARIOS` or :data:`DAILY_SCENARIOS`.

    Parameters
    ----------
    name : str
        A key of :data:`ALL_SCENARIOS`.
    n_users : int
        Number of simulated users.
    seed : int
        Seed of the simulation.
    **overrides
        Further keyword arguments of the setting's simulator; they override its own.

    Returns
    -------
    Simulation
        Events and causal truth.

    Raises
    ------
    ValueError
        For an unknown setting name.

    Examples
    --------
    >>> sim = scenario("no_confounding", 2_000, seed=1)
    >>> sorted(sim.truth.filter(~sim.truth["has_effect"])["channel"].to_list())
    ['Display', 'Retargeting']
    """
    if name not in ALL_SCENARIOS:
        raise ValueError(f"Unknown scenario {name!r}; expected one of {', '.join(ALL_SCENARIOS)}.")
    kwargs = {**ALL_SCENARIOS[name].kwargs, **overrides}
    if ALL_SCENARIOS[name].simulator == "daily":
        return simulate_daily(n_users, seed=seed, **kwargs)
    return simulate(n_users, seed=seed, **kwargs)
