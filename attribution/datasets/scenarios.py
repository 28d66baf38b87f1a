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
============================  ====================================================  ==========

"Confounded" means that the simulator's latent intent, which the log does not show, drives both
a channel's reach and the chance to buy: no model fitted to the log alone can remove that bias.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from attribution.datasets._simulate import DEFAULT_CHANNELS, ChannelSpec, Simulation, simulate

__all__ = ["SCENARIOS", "Scenario", "scenario"]


@dataclass(frozen=True)
class Scenario:
    """A named simulator setting.

    Attributes
    ----------
    name : str
        Key in :data:`SCENARIOS`.
    description : str
        One line on what the setting changes.
    confounded : bool
        Whether a hidden variable (intent) drives both reach and conversion.
    kwargs : dict
        Keyword arguments of :func:`~attribution.datasets.simulate` (besides ``n_users`` and
        ``seed``).
    """

    name: str
    description: str
    confounded: bool
    kwargs: dict[str, Any]


def _untargeted(channels: tuple[ChannelSpec, ...]) -> tuple[ChannelSpec, ...]:
    return tuple(replace(c, intent_targeting=0.0) for c in channels)


def _scaled(channels: tuple[ChannelSpec, ...], factor: float) -> tuple[ChannelSpec, ...]:
    return tuple(replace(c, reach=c.reach * factor) for c in channels)


_RANDOM = _untargeted(DEFAULT_CHANNELS)

#: The settings by name.
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
    )
}


def scenario(name: str, n_users: int = 20_000, *, seed: int = 0, **overrides: Any) -> Simulation:
    """Simulate one named setting of :data:`SCENARIOS`.

    Parameters
    ----------
    name : str
        A key of :data:`SCENARIOS`.
    n_users : int
        Number of simulated users.
    seed : int
        Seed of the simulation.
    **overrides
        Further keyword arguments of :func:`~attribution.datasets.simulate`; they override the
        setting's own.

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
    if name not in SCENARIOS:
        raise ValueError(f"Unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}.")
    kwargs = {**SCENARIOS[name].kwargs, **overrides}
    return simulate(n_users, seed=seed, **kwargs)
