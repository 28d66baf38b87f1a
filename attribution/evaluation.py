"""Judge attribution models against a known causal truth (simulated logs).

:func:`evaluate` runs models on one event log whose true incremental conversions per channel
are known and scores each model; :func:`evaluate_scenarios` does it over the named simulator
settings of :mod:`attribution.datasets.scenarios`. Any simulator can be plugged in: the truth
is a frame ``channel, incremental_conversions`` (optionally ``has_effect``), the frame
:attr:`attribution.datasets.Simulation.truth` has.

How credit is compared with the truth
-------------------------------------
Credit sums to the conversions; the truth is "removal" incrementality: the conversions lost
when one channel is removed, ``inc_c``, plus the *baseline* ``B`` (conversions left when every
channel is removed). Removal effects need not add up (effects interact), so the truth is put on
the credit's scale: channel ``c`` truly deserves ``t_c = inc_c × (N − B) / Σ inc``, and the
``"(baseline)"`` row deserves ``B``, so that truths sum to the ``N`` conversions.

A model's ``"(baseline)"`` credit is what it leaves to no channel: conversions without touches
(``"(no touch)"``) for the path-based models, plus the ``"(baseline)"`` row of ``data_driven``.

``attribution.evaluate(events, truth)`` is :func:`evaluate` (this module was
``attribution.evaluate`` before; that path still works, with a ``DeprecationWarning``).

Scores per model (all over the ``N`` conversions):

- ``total_abs_error = (Σ_c |credit_c − t_c| + |baseline credit − B|) / N``; 0 is perfect, 2 is
  the worst possible;
- ``channel_abs_error``: the same without the baseline row;
- ``share_abs_error = Σ_c |credit_c / Σ credit − inc_c / Σ inc|`` over the channels only (shares
  of the channels' credit, as in the model-comparison notebook: blind to the baseline);
- ``no_effect_share``: credit given to channels without effect, divided by ``N``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from attribution._api import attribute
from attribution._base.errors import ModelError, ValidationError
from attribution._base.frames import FrameLike, check_columns, to_lazy
from attribution.journeys import NO_TOUCH, JourneyOptions, JourneyParams, Journeys, build_journeys
from attribution.models import MODELS
from attribution.models.base import BASELINE, Attribution, credit_frame

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Evaluation",
    "baseline_credit",
    "evaluate",
    "evaluate_experiments",
    "evaluate_scenarios",
    "score_credit",
    "simulated_lift_tests",
    "truth_credit",
]

_Z95 = 1.959963984540054

ModelList = Sequence[str] | Mapping[str, tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Evaluation:
    """Models scored against a causal truth.

    Attributes
    ----------
    channels : DataFrame
        One row per model and channel (plus ``"(baseline)"``): ``model``, ``channel``,
        ``has_effect``, ``credit``, ``truth`` (rescaled as in the module docstring) and
        ``error`` (``credit − truth``).
    summary : DataFrame
        One row per model: ``model``, ``kind`` (``"path-based"`` or ``"data-driven"``),
        ``total_abs_error``, ``channel_abs_error``, ``share_abs_error``, ``no_effect_share``,
        ``baseline_credit``, ``baseline_truth`` and ``conversions``.
    """

    channels: pl.DataFrame
    summary: pl.DataFrame


def truth_credit(
    truth: FrameLike,
    total_conversions: float,
    *,
    baseline_conversions: float | None = None,
    channel_col: str = "channel",
    incremental_col: str = "incremental_conversions",
    has_effect_col: str = "has_effect",
) -> pl.DataFrame:
    """Put removal incrementality on the scale of credit (summing to the conversions).

    Parameters
    ----------
    truth : frame
        One row per channel: ``channel_col`` and ``incremental_col`` (conversions lost without
        the channel, ≥ 0); optional ``has_effect_col`` (bool; else ``incremental > 0``). A row
        named ``"(baseline)"`` gives the baseline when ``baseline_conversions`` is not given.
    total_conversions : float
        Conversions in the log, ``N``.
    baseline_conversions : float, optional
        Conversions without any channel, ``B``. Default: the ``"(baseline)"`` row, else
        ``max(N − Σ inc, 0)``.
    channel_col, incremental_col, has_effect_col : str
        Column names.

    Returns
    -------
    DataFrame
        ``channel, has_effect, incremental, truth``; the last row is ``"(baseline)"`` with
        ``truth = B``; ``truth`` sums to ``N``.

    Raises
    ------
    SchemaError
        A column is missing.
    ValidationError
        Negative or null incremental conversions, a baseline outside ``[0, N]``.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [30, 10]})
    >>> truth_credit(t, 100, baseline_conversions=50)["truth"].to_list()
    [37.5, 12.5, 50.0]
    """
    lf = to_lazy(truth, what="truth")
    schema = lf.collect_schema()
    check_columns(schema, [channel_col, incremental_col], "truth")
    df = lf.collect().with_row_index("__row")
    inc = df[incremental_col].cast(pl.Float64)
    bad = inc.is_null() | ~inc.is_finite() | (inc < 0)
    if bad.any():
        rows = df.filter(bad)
        raise ValidationError(
            f"Column {incremental_col!r} has {int(bad.sum())} null, negative or non-finite "
            f"values (channels {rows[channel_col].head(5).to_list()}); incremental conversions "
            "must be ≥ 0."
        )
    df = df.with_columns(inc.alias("__inc"))
    base_rows = df.filter(pl.col(channel_col) == BASELINE)
    df = df.filter(pl.col(channel_col) != BASELINE)
    total = float(total_conversions)
    if baseline_conversions is None:
        if base_rows.height:
            baseline_conversions = float(base_rows["__inc"][0])
        else:
            baseline_conversions = max(total - float(df["__inc"].sum()), 0.0)
    base = float(baseline_conversions)
    if not 0 <= base <= total:
        raise ValidationError(
            f"baseline_conversions is {base:g}; it must be between 0 and the {total:g} "
            "conversions of the log."
        )
    s = float(df["__inc"].sum())
    scale = (total - base) / s if s > 0 else 0.0
    has = (
        df[has_effect_col].cast(pl.Boolean)
        if has_effect_col in schema
        else (df["__inc"] > 0).alias("has")
    )
    out = pl.DataFrame(
        {
            "channel": df[channel_col].cast(pl.String),
            "has_effect": has,
            "incremental": df["__inc"],
            "truth": df["__inc"] * scale,
        }
    )
    if s == 0:
        base = total
    row = pl.DataFrame(
        {"channel": [BASELINE], "has_effect": [None], "incremental": [None], "truth": [base]},
        schema=out.schema,
    )
    return pl.concat([out, row])


def baseline_credit(result: Attribution) -> float:
    """Conversions a result leaves to no channel: ``"(no touch)"`` plus any model baseline.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a"], "total_conversions": [1]}))
    >>> baseline_credit(at.attribute(pt, "linear"))
    0.0
    """
    ch = result.channels
    return float(ch.filter(pl.col("channel").is_in([NO_TOUCH, BASELINE]))["conversions"].sum())


def score_credit(
    credit: pl.DataFrame, truth: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Compare one model's credit with :func:`truth_credit`'s frame.

    Parameters
    ----------
    credit : DataFrame
        ``channel, credit`` including a ``"(baseline)"`` row (``"(no touch)"`` is folded into it
        by the caller).
    truth : DataFrame
        The output of :func:`truth_credit`.

    Returns
    -------
    (DataFrame, dict)
        Per channel ``channel, has_effect, credit, truth, error``, and the scores of the module
        docstring.

    Examples
    --------
    >>> import polars as pl
    >>> t = truth_credit(pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [3, 0]}),
    ...                  10, baseline_conversions=7)
    >>> c = pl.DataFrame({"channel": ["a", "b", "(baseline)"], "credit": [5.0, 5.0, 0.0]})
    >>> score_credit(c, t)[1]["total_abs_error"]
    1.4
    """
    joined = (
        truth.select("channel", "has_effect", "truth", "incremental")
        .join(credit.select("channel", "credit"), on="channel", how="full", coalesce=True)
        .with_columns(
            pl.col("credit").fill_null(0.0),
            pl.col("truth").fill_null(0.0),
            pl.col("incremental").fill_null(0.0),
            pl.when(pl.col("channel") == BASELINE)
            .then(None)
            .otherwise(pl.col("has_effect").fill_null(False))
            .alias("has_effect"),
        )
        .with_columns(error=pl.col("credit") - pl.col("truth"))
    )
    total = float(truth["truth"].sum())
    is_base = joined["channel"] == BASELINE
    ch = joined.filter(~is_base)
    base = joined.filter(is_base)
    abs_ch = float(ch["error"].abs().sum())
    abs_base = float(base["error"].abs().sum())
    credit_sum = float(ch["credit"].sum())
    inc_sum = float(ch["incremental"].sum())
    if credit_sum > 0 and inc_sum > 0:
        share = float((ch["credit"] / credit_sum - ch["incremental"] / inc_sum).abs().sum())
    else:
        share = float("nan")
    no_effect = float(ch.filter(~pl.col("has_effect"))["credit"].sum())
    scores = {
        "total_abs_error": (abs_ch + abs_base) / total if total > 0 else float("nan"),
        "channel_abs_error": abs_ch / total if total > 0 else float("nan"),
        "share_abs_error": share,
        "no_effect_share": no_effect / total if total > 0 else float("nan"),
        "baseline_credit": float(base["credit"].sum()),
        "baseline_truth": float(base["truth"].sum()),
        "conversions": total,
    }
    order = pl.when(pl.col("channel") == BASELINE).then(1).otherwise(0)
    frame = joined.sort(order, "channel").select(
        "channel", "has_effect", "credit", "truth", "error"
    )
    return frame, scores


def _model_runs(models: ModelList | None) -> list[tuple[str, str, dict[str, Any]]]:
    if models is None:
        return [(name, name, {}) for name in MODELS]
    if isinstance(models, Mapping):
        return [(label, model, dict(params)) for label, (model, params) in models.items()]
    if isinstance(models, str):
        models = [models]
    return [(name, name, {}) for name in models]


def _journeys(
    data: Journeys | FrameLike, options: JourneyOptions | None, params: dict[str, Any]
) -> Journeys:
    """Return the journeys to evaluate on: ``data``, or an event log built with the options."""
    opts = JourneyOptions.of(options, **params)
    if not isinstance(data, Journeys):
        return build_journeys(data, opts)
    if options is not None or params:
        given = ", ".join(sorted(params)) or "options"
        raise ModelError(
            f"Journey options ({given}) apply when journeys are built from an event log; the "
            "input is journeys, built already (pass them to build_journeys)."
        )
    return data


def evaluate(
    data: Journeys | FrameLike,
    truth: FrameLike,
    options: JourneyOptions | None = None,
    *,
    models: ModelList | None = None,
    baseline_conversions: float | None = None,
    channel_col: str = "channel",
    incremental_col: str = "incremental_conversions",
    has_effect_col: str = "has_effect",
    **params: Any,
) -> Evaluation:
    """Run attribution models on a log with a known causal truth and score them.

    Parameters
    ----------
    data : Journeys or event log
        Journeys, or an event log (built into journeys with ``options`` and ``params``).
    truth : frame
        ``channel`` and ``incremental_conversions`` per channel (see :func:`truth_credit`), e.g.
        :attr:`Simulation.truth <attribution.datasets.Simulation>` or any other simulator's.
    options : JourneyOptions, optional
        How an event log becomes journeys; see :class:`~attribution.JourneyOptions`.
    models : sequence of str or mapping, optional
        Model names (default: every registered model, default parameters), or
        ``{label: (model, params)}``.
    baseline_conversions : float, optional
        Conversions without any marketing (e.g. ``Simulation.baseline_conversions``); see
        :func:`truth_credit` for the default.
    channel_col, incremental_col, has_effect_col : str
        Column names of ``truth`` (the event log's channel column is
        ``options=JourneyOptions(channel_col=...)``).
    **params
        For an event log, any other field of :class:`~attribution.JourneyOptions`
        (``lookback_days=30``, ``user_col="uid"``...), replacing the one in ``options``.

    Returns
    -------
    Evaluation
        ``.channels`` (per model and channel) and ``.summary`` (per model), as described in
        the module docstring.

    Raises
    ------
    ModelError
        An unknown model name, a model that fails on this log, or journey options given with
        journeys (built already).
    ValidationError
        An unknown or invalid journey option.

    Examples
    --------
    >>> from attribution.datasets import simulate
    >>> sim = simulate(3_000, seed=4)
    >>> ev = evaluate(sim.events, sim.truth, baseline_conversions=sim.baseline_conversions,
    ...               models=["last_touch", "linear"])
    >>> ev.summary.columns[:3]
    ['model', 'kind', 'total_abs_error']
    """
    runs = _model_runs(models)
    for _, model, _ in runs:
        if model not in MODELS:
            raise ModelError(
                f"Unknown model {model!r}; expected one of: {', '.join(sorted(MODELS))}."
            )
    journeys = _journeys(data, options, params)
    total = float(journeys.n_conversions)
    t = truth_credit(
        truth,
        total,
        baseline_conversions=baseline_conversions,
        channel_col=channel_col,
        incremental_col=incremental_col,
        has_effect_col=has_effect_col,
    )
    frames, rows = [], []
    for label, model, params in runs:
        res = attribute(journeys, model, **params)
        # channels, then "(no touch)" and any model baseline folded into one "(baseline)" row
        credit = credit_frame(res).select("channel", credit="conversions")
        frame, scores = score_credit(credit, t)
        frames.append(frame.select(pl.lit(label).alias("model"), pl.all()))
        kind = "data-driven" if model == "data_driven" else "path-based"
        rows.append({"model": label, "kind": kind, **scores})
    return Evaluation(channels=pl.concat(frames), summary=pl.DataFrame(rows))


def evaluate_scenarios(
    names: Sequence[str] | None = None,
    *,
    n_users: int = 20_000,
    seeds: Sequence[int] = (0,),
    models: ModelList | None = None,
    options: JourneyOptions | None = None,
    **params: Unpack[JourneyParams],
) -> pl.DataFrame:
    """Score models on the named simulator settings (:mod:`attribution.datasets.scenarios`).

    Parameters
    ----------
    names : sequence of str, optional
        Settings to run (default: :data:`~attribution.datasets.scenarios.SCENARIOS`, the first
        simulator family; the ``daily_`` settings of
        :data:`~attribution.datasets.scenarios.DAILY_SCENARIOS`, slower to simulate, by name).
    n_users : int
        Users per simulated log.
    seeds : sequence of int
        One log per setting and seed.
    models : sequence of str or mapping, optional
        As for :func:`evaluate`.
    options : JourneyOptions, optional
        How the simulated logs become journeys; see :class:`~attribution.JourneyOptions`.
    **params
        Any field of :class:`~attribution.JourneyOptions`, replacing the one in ``options``.
        The default ``lookback_days=None`` keeps every touch: the simulator's truth counts
        every touch a user had, and a window that drops touches which caused conversions
        biases the models (with three times the touches, a 30-day window made
        ``data_driven`` read 4,088 baseline conversions out of 8,098, against 899 true).

    Returns
    -------
    DataFrame
        ``scenario, confounded, seed`` and the columns of :attr:`Evaluation.summary`.

    Examples
    --------
    >>> df = evaluate_scenarios(["short_journeys"], n_users=2_000, models=["linear"])
    >>> df.select("scenario", "model").rows()
    [('short_journeys', 'linear')]
    """
    from attribution.datasets.scenarios import ALL_SCENARIOS, SCENARIOS, scenario

    opts = JourneyOptions.of(options, **params)
    chosen = list(SCENARIOS) if names is None else list(names)
    frames = []
    for name in chosen:
        if name not in ALL_SCENARIOS:
            raise ModelError(
                f"Unknown scenario {name!r}; expected one of {', '.join(ALL_SCENARIOS)}."
            )
        for seed in seeds:
            sim = scenario(name, n_users, seed=seed)
            ev = evaluate(
                sim.events,
                sim.truth,
                opts,
                models=models,
                baseline_conversions=sim.baseline_conversions,
            )
            frames.append(
                ev.summary.select(
                    pl.lit(name).alias("scenario"),
                    pl.lit(ALL_SCENARIOS[name].confounded).alias("confounded"),
                    pl.lit(seed).alias("seed"),
                    pl.all(),
                )
            )
    return pl.concat(frames)


def simulated_lift_tests(
    truth: FrameLike,
    channels: Sequence[str],
    *,
    total_conversions: float,
    noise: float = 0.1,
    seed: int = 0,
    channel_col: str = "channel",
    incremental_col: str = "incremental_conversions",
) -> pl.DataFrame:
    """Lift tests of some channels as experiments would report them, drawn from a known truth.

    Each test's estimate is the channel's true incremental conversions plus a normal error
    with standard deviation ``noise × max(truth, 1 % of the conversions)`` (a test of a channel
    without effect is not exact either), with a 95 % interval of ±1.96 of that.

    Parameters
    ----------
    truth : frame
        ``channel`` and ``incremental_conversions`` per channel.
    channels : sequence of str
        Channels to test.
    total_conversions : float
        Conversions of the log (sets the floor of the error).
    noise : float
        Relative standard error of a test.
    seed : int
        Seed of the errors.
    channel_col, incremental_col : str
        Column names of ``truth``.

    Returns
    -------
    DataFrame
        ``channel, incremental_conversions, lower, upper``: the input of
        :func:`attribution.calibrate` and of ``at.attribute(..., lift_tests=...)``.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [100, 0]})
    >>> simulated_lift_tests(t, ["a"], total_conversions=1000, noise=0.0).rows()
    [('a', 100.0, 100.0, 100.0)]
    """
    lf = to_lazy(truth, what="truth")
    check_columns(lf.collect_schema(), [channel_col, incremental_col], "truth")
    inc = dict(lf.select(channel_col, incremental_col).collect().iter_rows())
    unknown = [c for c in channels if c not in inc]
    if unknown:
        raise ModelError(f"The truth has no channels {unknown}.")
    rng = np.random.default_rng(seed)
    true = np.array([float(inc[c]) for c in channels])
    sd = noise * np.maximum(true, 0.01 * float(total_conversions))
    est = true + sd * rng.standard_normal(len(true))
    return pl.DataFrame(
        {
            "channel": list(channels),
            "incremental_conversions": est,
            "lower": est - _Z95 * sd,
            "upper": est + _Z95 * sd,
        },
        schema={
            "channel": pl.String,
            "incremental_conversions": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )


def evaluate_experiments(
    names: Sequence[str] | None = None,
    *,
    n_users: int = 20_000,
    seeds: Sequence[int] = (0,),
    n_tests: int = 2,
    n_random: int = 5,
    noise: float = 0.1,
    options: JourneyOptions | None = None,
    **params: Unpack[JourneyParams],
) -> pl.DataFrame:
    """Planned against random lift tests, on simulated logs with a known truth.

    For each setting and seed: ``data_driven`` is fitted on the log alone (the error
    *before*); :func:`attribution.plan_experiments` picks ``n_tests`` channels, their tests
    are drawn from the truth (:func:`simulated_lift_tests`, relative error ``noise``) and
    ``data_driven`` is fitted with them (``in_fit``), and the log-only result is calibrated
    with them (``post_hoc``, :func:`attribution.calibrate`). The same is done for
    ``n_random`` sets of ``n_tests`` channels drawn at random.

    Parameters
    ----------
    names : sequence of str, optional
        Named settings of either simulator family (default: the
        intent-seeking ones, :data:`~attribution.datasets.scenarios.INTENT_SETTINGS`).
    n_users : int
        Users per simulated log.
    seeds : sequence of int
        One log per setting and seed.
    n_tests : int
        Channels tested per strategy.
    n_random : int
        Random sets of channels per log.
    noise : float
        Relative standard error of a simulated test.
    options : JourneyOptions, optional
        How the logs become journeys.
    **params
        Fields of :class:`~attribution.JourneyOptions` (every touch is kept by default).

    Returns
    -------
    DataFrame
        ``scenario, confounded, seed, strategy`` (``"planner"`` or ``"random"``), ``draw``,
        ``tested`` (the channels, joined by ``", "``), ``before``, ``in_fit``, ``post_hoc``
        (total absolute errors, as in the module docstring) and ``in_fit_no_effect_share``.

    Examples
    --------
    >>> df = evaluate_experiments(["retargeting"], n_users=3_000, n_random=1)
    >>> df.select("strategy", "draw").rows()
    [('planner', 0), ('random', 1)]
    """
    import warnings

    from attribution._base.errors import IdentificationWarning
    from attribution.calibration import calibrate
    from attribution.datasets.scenarios import ALL_SCENARIOS, INTENT_SETTINGS, scenario
    from attribution.experiments import plan_experiments

    opts = JourneyOptions.of(options, **params)
    chosen = list(INTENT_SETTINGS) if names is None else list(names)
    for name in chosen:
        if name not in ALL_SCENARIOS:
            raise ModelError(
                f"Unknown scenario {name!r}; expected one of {', '.join(ALL_SCENARIOS)}."
            )
    if not (isinstance(n_tests, int) and n_tests >= 1 and n_random >= 0 and noise >= 0):
        raise ModelError("n_tests must be ≥ 1, n_random ≥ 0 and noise ≥ 0.")
    rows: list[dict[str, Any]] = []
    for name in chosen:
        for seed in seeds:
            sim = scenario(name, n_users, seed=seed)
            journeys = build_journeys(sim.events, opts)
            total = float(journeys.n_conversions)
            t = truth_credit(sim.truth, total, baseline_conversions=sim.baseline_conversions)

            def error(frame: pl.DataFrame, t: pl.DataFrame = t) -> dict[str, float]:
                return score_credit(frame.select("channel", credit="conversions"), t)[1]

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", IdentificationWarning)
                log_only = attribute(journeys, "data_driven")
                plan = plan_experiments(journeys, n_tests=n_tests)
                before = error(credit_frame(log_only))["total_abs_error"]
                channels = list(journeys.sequences().channels)
                rng = np.random.default_rng([seed, 99])
                picks = [("planner", 0, plan.filter(pl.col("test"))["channel"].to_list())]
                picks += [
                    ("random", d + 1, list(rng.choice(channels, size=n_tests, replace=False)))
                    for d in range(n_random)
                ]
                for strategy, draw, tested in picks:
                    if not tested:  # the planner found no test worth making
                        scores = {"total_abs_error": before, "no_effect_share": float("nan")}
                        rows.append(
                            _experiment_row(name, seed, strategy, draw, [], before, scores, before)
                        )
                        continue
                    tests = simulated_lift_tests(
                        sim.truth, tested, total_conversions=total, noise=noise, seed=seed + draw
                    )
                    fitted = attribute(journeys, "data_driven", lift_tests=tests)
                    scores = error(credit_frame(fitted))
                    post = error(calibrate(log_only, tests))["total_abs_error"]
                    rows.append(
                        _experiment_row(name, seed, strategy, draw, tested, before, scores, post)
                    )
    return pl.DataFrame(rows)


def _experiment_row(
    name: str,
    seed: int,
    strategy: str,
    draw: int,
    tested: list[str],
    before: float,
    scores: dict[str, float],
    post: float,
) -> dict[str, Any]:
    from attribution.datasets.scenarios import ALL_SCENARIOS

    return {
        "scenario": name,
        "confounded": ALL_SCENARIOS[name].confounded,
        "seed": seed,
        "strategy": strategy,
        "draw": draw,
        "tested": ", ".join(tested),
        "before": before,
        "in_fit": scores["total_abs_error"],
        "post_hoc": post,
        "in_fit_no_effect_share": scores["no_effect_share"],
    }
