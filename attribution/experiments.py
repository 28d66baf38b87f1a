"""Plan incrementality experiments: which channels to lift-test first, and how big.

A model fitted on the log can only credit what predicts conversion. Where a channel seeks out
people who are about to buy (retargeting, brand search, display bought on in-market
audiences), its touches predict conversion without causing it, and no model fitted on the log
alone can tell the two apart. A randomised holdout test can. Tests cost money and reach, so
:func:`plan_experiments` ranks the channels by how much a test would change the attribution,
and sizes each test.

How the ranking is made
-----------------------
The data-driven model (:mod:`attribution.models.data_driven`) is fitted once; for each channel
``c`` with credited conversions ``C_c`` and removal effect ``R_c`` (what a holdout test
measures):

- **Exposure just before conversion** (``near_conversion``). Among journeys of the same
  length (2, 3, 4–5, 6–9, 10–19, 20+ touches), the share of ``c``'s touches that fall within
  ``window_days`` of the journey's end (the conversion, or the last touch of a journey that
  did not convert), in converting journeys over the same share in non-converting ones. A
  channel bought on signs of imminent purchase crowds into the last day of converting
  journeys. Every channel that works quickly shows some of this too, so the figure is read
  *relative to the channels' median* (one vote per channel with at least 30 converting
  touches): ``ρ_near = near_c / median``.
  Without touch times (a path table) the last position stands in for the last day.
- **Credit that moves with the model** (``closer``). Last-touch credit over first-touch
  credit, again relative to the median: a channel that closes journeys others open.
- **Credit that moves between folds and with the lookback**, and **bootstrap intervals**
  (``credit_sd``): the data-driven model's identification diagnostics (its ``stability`` and
  ``intervals`` tables).

The evidence of selection is ``ρ = max(ρ_near, 1) · min(max(closer, 1), 4)^½`` and the share
of the channel's credit that may be intent rather than effect is read as ``π = 1 − (1 − π₀)
/ ρ``: ``π₀`` (``prior_intent``, 0.15) for a channel that shows no sign of it, since intent
that leaves no trace in the timing (a channel that reaches likely buyers at any time) is
possible anywhere and costs most where the credit is largest; two thirds and more for a
channel three times as concentrated before conversion as the others. The
**expected reduction of the attribution error** (total absolute error, in conversions) from
testing ``c`` is ``2 π C_c`` (credit wrongly given to ``c`` is also missing from the
baseline, so it counts twice) plus ``0.8 · credit_sd`` (the expected absolute error of a
normal estimate). Channels are ranked by it. A test **would not change the answer** when
that expected reduction is below ``min_reduction`` (1 %) of the conversions: the test would
most likely confirm the model. (``test_se`` is how precise a test of the planned size would
be: sized to detect the model's lift, it cannot tell much smaller differences; make it larger
to measure.)

Test size
---------
Among the journeys the channel reaches (``reach``), the model expects a conversion rate
``p_t`` (observed) with the channel and ``p_c = p_t − R_c / reach`` without it. Users per arm
to detect that difference with a two-sided test at level ``alpha`` and the given ``power``
are, by the normal approximation with the arcsine transform (Cohen's ``h``; statsmodels'
``NormalIndPower``), ``n = 2 ((z_{1−α/2} + z_{power}) / h)²`` with ``h = 2 asin √p_t −
2 asin √p_c``, or, with ``method="pooled"``, the classic two-proportion formula
``n = (z_{1−α/2} √(2 p̄ (1 − p̄)) + z_{power} √(p_t (1 − p_t) + p_c (1 − p_c)))² /
(p_t − p_c)²``. When the model expects no lift, the test is sized for a relative lift of
``min_lift``.

Where it can fail
-----------------
- Intent that shows no timing (a channel that reaches likely buyers at any time before they
  buy) leaves no trace in the log: the ranking then falls back on the size of the credit
  (through ``π₀``) and its intervals, and says that it saw no evidence.
- A channel that works within hours (a reminder e-mail, a discount) crowds before conversion
  as intent does; it will be proposed for a test, which then shows its effect.
- The evidence is relative to the other channels: when every channel seeks intent alike,
  none stands out.
- Channels the model gives no credit are not proposed, even if a test would find an effect
  the model missed.
- Journeys stand in for users: the sizes assume one journey per user.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from attribution._api import as_sequences
from attribution._base.errors import ModelError, ValidationError
from attribution._base.frames import FrameLike
from attribution.journeys import JourneyOptions, Journeys, PathTable, Sequences
from attribution.models.base import KernelOutput
from attribution.models.data_driven import DataDrivenModel

__all__ = ["plan_experiments", "selection_evidence", "users_per_arm"]

PowerMethod = Literal["arcsine", "pooled"]

_STRATA = (2, 3, 4, 6, 10, 20)  # lower bounds of the journey-length strata
_CLOSER_CAP = 4.0
_LEAST = 30.0  # converting touches (or first/last touches) a channel needs to set the median


def users_per_arm(
    p_treated: float | np.ndarray,
    p_control: float | np.ndarray,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    method: PowerMethod = "arcsine",
) -> np.ndarray:
    """Users per arm for a two-sided test of two proportions (module docstring).

    Parameters
    ----------
    p_treated, p_control : float or ndarray
        Conversion rates with and without the channel.
    power : float
        Chance to detect the difference when it is real.
    alpha : float
        Significance level (two-sided).
    method : {"arcsine", "pooled"}
        Cohen's ``h`` (arcsine transform; as statsmodels' ``NormalIndPower``) or the classic
        formula with the pooled variance under the null.

    Returns
    -------
    ndarray of float
        Users per arm (not rounded); ``inf`` where the rates are equal.

    Examples
    --------
    >>> round(float(users_per_arm(0.06, 0.05)), 1)
    8142.6
    >>> round(float(users_per_arm(0.06, 0.05, method="pooled")), 1)
    8157.7
    """
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValidationError(f"power and alpha must be in (0, 1); got {power!r}, {alpha!r}.")
    if method not in ("arcsine", "pooled"):
        raise ValidationError(f"method must be 'arcsine' or 'pooled'; got {method!r}.")
    pt = np.asarray(p_treated, dtype=np.float64)
    pc = np.asarray(p_control, dtype=np.float64)
    bad = ~((pt >= 0) & (pt <= 1)) | ~((pc >= 0) & (pc <= 1))  # NaN too
    if bad.any():
        raise ValidationError(
            "Conversion rates must be between 0 and 1; got "
            f"{float(np.broadcast_to(pt, bad.shape)[bad].flat[0])!r} (treated) and "
            f"{float(np.broadcast_to(pc, bad.shape)[bad].flat[0])!r} (control)."
        )
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "arcsine":
            h = 2 * np.arcsin(np.sqrt(pt)) - 2 * np.arcsin(np.sqrt(pc))
            n = 2.0 * ((za + zb) / np.abs(h)) ** 2  # var(2 asin √p̂) = 1 / n per arm
        else:
            bar = (pt + pc) / 2
            top = za * np.sqrt(2 * bar * (1 - bar)) + zb * np.sqrt(pt * (1 - pt) + pc * (1 - pc))
            n = top**2 / (pt - pc) ** 2
    return np.where(pt == pc, np.inf, n)


def _stratum(length: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(_STRATA), length, side="right") - 1


def selection_evidence(seq: Sequences, *, window_days: float = 1.0) -> pl.DataFrame:
    """Signs in the log that a channel's touches follow intent to buy (module docstring).

    Parameters
    ----------
    seq : Sequences
        Journeys (or paths) with converting and non-converting rows.
    window_days : float
        What "just before the end" means, in days (ignored without touch times, where the
        last position is used).

    Returns
    -------
    DataFrame
        One row per channel: ``channel``, ``touches``, ``near_conversion`` (share of its
        touches near the end of converting journeys over that of non-converting journeys of
        the same length; null where it cannot be compared), ``near_relative`` (over the
        channels' median), ``closer`` (last-touch over first-touch conversions, relative to
        the median) and ``selection`` (``ρ`` of the module docstring, ``≥ 1``).
    """
    k = len(seq.channels)
    lengths = seq.lengths
    row = seq.row_of_touch
    conv_row = seq.conversions > 0
    last = seq.indptr[1:] - 1
    if seq.touch_time is not None and seq.ref_time is not None:
        end = np.where(conv_row, seq.ref_time, 0)
        has = lengths > 0
        end[has & ~conv_row] = seq.touch_time[last[has & ~conv_row]]
        near = (end[row] - seq.touch_time) <= window_days * 86_400_000_000
    else:
        near = np.zeros(len(seq.codes), dtype=bool)
        near[last[lengths > 0]] = True
    keep = lengths[row] >= 2
    strat = _stratum(lengths[row])
    n_s = len(_STRATA)
    # per (stratum, channel): touches and near touches, converting and not (row weights)
    wt = np.where(conv_row[row], seq.conversions[row], seq.nulls[row])
    cell = strat * k + seq.codes

    def tally(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], weights=wt[mask], minlength=n_s * k).reshape(n_s, k)

    conv_t = conv_row[row] & keep
    non_t = ~conv_row[row] & keep
    tc, nc = tally(conv_t), tally(conv_t & near)
    tn, nn = tally(non_t), tally(non_t & near)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = nc / tc
        b = nn / tn
        ok = (tc > 0) & (tn > 0)
        num = np.where(ok, tc * a, 0.0).sum(axis=0)
        den = np.where(ok, tc * b, 0.0).sum(axis=0)
        ratio = np.where(den > 0, num / den, np.nan)
    touches = np.bincount(seq.codes, weights=wt, minlength=k)
    near_rel = ratio / _median(ratio, tc.sum(axis=0))
    # last-touch over first-touch conversions of converting rows
    first = seq.indptr[:-1]
    conv_idx = np.flatnonzero(conv_row & (lengths > 0))
    w = seq.conversions[conv_idx]
    lt = np.bincount(seq.codes[last[conv_idx]], weights=w, minlength=k)
    ft = np.bincount(seq.codes[first[conv_idx]], weights=w, minlength=k)
    closer = (lt + 1.0) / (ft + 1.0)
    closer_rel = closer / _median(closer, lt + ft)
    rho = np.fmax(np.nan_to_num(near_rel, nan=1.0), 1.0) * np.sqrt(
        np.clip(closer_rel, 1.0, _CLOSER_CAP)
    )
    return pl.DataFrame(
        {
            "channel": list(seq.channels),
            "touches": touches,
            "near_conversion": ratio,
            "near_relative": near_rel,
            "closer": closer_rel,
            "selection": rho,
        }
    ).with_columns(pl.col("near_conversion", "near_relative").fill_nan(None))


def _median(values: np.ndarray, support: np.ndarray) -> float:
    """Median over the channels with some support (each channel one vote, whatever its size).

    A channel that dominates the touches (retargeting often does) must not become the
    reference the others are read against.
    """
    ok = np.isfinite(values) & (support >= _LEAST)
    if not ok.any():
        ok = np.isfinite(values) & (support > 0)
    if not ok.any():
        return 1.0
    mid = float(np.median(values[ok]))
    return mid if mid > 0 else 1.0


def plan_experiments(
    data: Journeys | PathTable | FrameLike,
    n_tests: int = 2,
    options: JourneyOptions | None = None,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    method: PowerMethod = "arcsine",
    window_days: float = 1.0,
    min_lift: float = 0.05,
    prior_intent: float = 0.15,
    min_reduction: float = 0.01,
    model: DataDrivenModel | None = None,
    **params: Any,
) -> pl.DataFrame:
    """Rank channels for lift tests by how much a test would change the attribution.

    Parameters
    ----------
    data : Journeys, PathTable or event log
        The log (an event log is built into journeys with ``options`` and the journey fields
        of ``params``). Non-converting journeys are needed.
    n_tests : int
        Tests to recommend (the top ranks whose test would change the answer).
    options : JourneyOptions, optional
        How an event log becomes journeys.
    power, alpha : float
        Power and two-sided significance level of each test.
    method : {"arcsine", "pooled"}
        Two-proportion power calculation (:func:`users_per_arm`).
    window_days : float
        "Just before conversion", in days (:func:`selection_evidence`).
    min_lift : float
        Relative lift a test is sized for when the model expects none.
    prior_intent : float
        Share of a channel's credit that may be intent without any sign of it in the log
        (``π₀`` in the module docstring), in ``[0, 1)``.
    min_reduction : float
        Expected reduction of the error, as a share of the conversions, below which a test
        would not change the answer.
    model : DataDrivenModel, optional
        A data-driven model to use (unfitted: it is fitted here with ``intervals=True``);
        default ``DataDrivenModel()`` with the model parameters in ``params``.
    **params
        Fields of :class:`~attribution.JourneyOptions` (for an event log) and parameters of
        :class:`~attribution.models.data_driven.DataDrivenModel`.

    Returns
    -------
    DataFrame
        One row per channel, best first: ``channel``, ``rank``, ``test`` (recommended),
        ``reason``, ``expected_error_reduction`` (conversions), ``credit``, ``credit_sd``,
        ``model_lift`` (the model's removal effect: what a test measures), ``selection``
        (``ρ``), ``intent_share`` (``π``), ``near_conversion``, ``closer``,
        ``would_change``, ``reach`` (journeys with the channel), ``treated_rate``,
        ``control_rate``, ``lift`` (relative), ``users_per_arm`` and ``test_se`` (the
        standard error of the test's incremental conversions at that size, scaled to the
        reach).

    Raises
    ------
    ModelError
        No non-converting journeys, ``n_tests < 1``, or bad model parameters.

    Examples
    --------
    >>> import attribution as at
    >>> from attribution.datasets import simulate
    >>> journeys = at.build_journeys(simulate(6_000, seed=2).events)
    >>> plan = at.plan_experiments(journeys, n_tests=2)
    >>> plan.columns[:4]
    ['channel', 'rank', 'test', 'reason']
    """
    if isinstance(n_tests, bool) or not (isinstance(n_tests, int) and n_tests >= 1):
        raise ModelError(f"n_tests must be an integer ≥ 1; got {n_tests!r}.")
    if not (window_days > 0 and 0 < min_lift < float("inf")):
        raise ModelError(
            f"window_days must be > 0 and min_lift a finite number > 0; got {window_days!r}, "
            f"{min_lift!r}."
        )
    if not 0 <= prior_intent < 1:
        raise ModelError(f"prior_intent must be in [0, 1); got {prior_intent!r}.")
    if not min_reduction >= 0:
        raise ModelError(f"min_reduction must be ≥ 0; got {min_reduction!r}.")
    users_per_arm(0.5, 0.4, power=power, alpha=alpha, method=method)  # validates them
    journey_params = {k: v for k, v in params.items() if k in JourneyOptions.__dataclass_fields__}
    model_params = {k: v for k, v in params.items() if k not in journey_params}
    seq, _ = as_sequences(data, options, **journey_params)
    if model is None:
        try:
            model = DataDrivenModel(**model_params)
        except TypeError as err:
            raise ModelError(f"Unknown parameter for plan_experiments: {err}.") from None
    elif model_params:
        raise ModelError(
            f"Give model parameters either to the model or as keywords, not both: "
            f"{sorted(model_params)}."
        )
    if model.intervals is None:
        model.intervals = True
    out = model.fit(seq).credit(seq)
    return _plan(
        seq, out, n_tests, power, alpha, method, window_days, min_lift, prior_intent, min_reduction
    )


def _plan(
    seq: Sequences,
    out: KernelOutput,
    n_tests: int,
    power: float,
    alpha: float,
    method: PowerMethod,
    window_days: float,
    min_lift: float,
    prior_intent: float,
    min_reduction: float,
) -> pl.DataFrame:
    k = len(seq.channels)
    total = float(seq.conversions.sum())
    effects = out.tables["effects"]
    credit = effects["credited_conversions"].to_numpy()
    lift_model = effects["removal_conversions"].to_numpy()
    sd = np.zeros(k)
    if "intervals" in out.tables:
        sd = out.tables["intervals"]["sd"].to_numpy()[:k]
    move = np.zeros(k)
    if "stability" in out.tables:
        st = out.tables["stability"]
        lb = (st["lookback_share"] - st["recent_share"]).abs().fill_null(0.0).to_numpy()[:k]
        move = lb * total
    ev = selection_evidence(seq, window_days=window_days)
    rho = ev["selection"].to_numpy()
    pi = 1.0 - (1.0 - prior_intent) / rho
    uncertainty = np.sqrt(sd**2 + (move / 2) ** 2)
    gain = 2.0 * pi * credit + 0.8 * uncertainty
    # size of a test: among the journeys the channel reaches
    counts = np.bincount(seq.row_of_touch * k + seq.codes, minlength=seq.n_rows * k)
    present = counts.reshape(seq.n_rows, k) > 0
    reach = (seq.conversions + seq.nulls) @ present
    conv_reach = seq.conversions @ present
    with np.errstate(divide="ignore", invalid="ignore"):
        p_t = np.where(reach > 0, conv_reach / reach, np.nan)
        p_c = np.where(reach > 0, p_t - lift_model / reach, np.nan)
        expects = (p_c < p_t) & (lift_model > 0.5)
        p_c = np.where(expects, np.clip(p_c, 0.0, 1.0), p_t / (1 + min_lift))
        rel = p_t / p_c - 1.0
        n_arm = users_per_arm(
            np.nan_to_num(p_t), np.nan_to_num(p_c), power=power, alpha=alpha, method=method
        )
        # standard error of the incremental conversions a test of that size reports, on reach
        se_rate = np.sqrt(p_t * (1 - p_t) / n_arm + p_c * (1 - p_c) / n_arm)
        test_se = se_rate * reach
    test_se = np.nan_to_num(test_se, nan=np.inf)
    would = gain >= min_reduction * total
    order = np.lexsort((-credit, -gain))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    picked = np.zeros(k, dtype=bool)
    picked[[c for c in order if would[c]][:n_tests]] = True
    near = ev["near_relative"].to_numpy()
    closer = ev["closer"].to_numpy()
    reasons = [
        _reason(
            seq.channels[c],
            credit[c] / total if total else 0.0,
            near[c],
            closer[c],
            pi[c],
            uncertainty[c] / total if total else 0.0,
            bool(would[c]),
            bool(expects[c]),
            min_lift,
            prior_intent,
            bool(np.isfinite(n_arm[c])),
        )
        for c in range(k)
    ]
    frame = pl.DataFrame(
        {
            "channel": list(seq.channels),
            "rank": rank,
            "test": picked,
            "reason": reasons,
            "expected_error_reduction": gain,
            "credit": credit,
            "credit_sd": uncertainty,
            "model_lift": lift_model,
            "selection": rho,
            "intent_share": pi,
            "near_conversion": ev["near_conversion"],
            "closer": closer,
            "would_change": would,
            "reach": reach,
            "treated_rate": p_t,
            "control_rate": p_c,
            "lift": rel,
            "users_per_arm": np.ceil(n_arm),
            "test_se": test_se,
        }
    )
    return frame.sort("rank").with_columns(
        pl.col("treated_rate", "control_rate", "lift", "users_per_arm").fill_nan(None)
    )


def _reason(
    name: str,
    share: float,
    near: float,
    closer: float,
    pi: float,
    sd_share: float,
    would: bool,
    expects: bool,
    min_lift: float,
    prior: float,
    sized: bool = True,
) -> str:
    parts = [f"{share:.1%} of conversions credited"]
    if np.isfinite(near) and near > 1.05:
        parts.append(
            f"touches {near:.1f}× as concentrated just before conversion as the channels' "
            "median (against non-converting journeys of the same length)"
        )
    if closer > 1.05:
        parts.append(f"last-touch credit {closer:.1f}× first-touch, relative to the median")
    if sd_share > 0.005:
        parts.append(f"credit uncertain by ±{sd_share:.1%} of conversions")
    if pi > prior + 0.01:
        parts.append(f"up to {pi:.0%} of its credit may be intent rather than effect")
    elif share > 0:
        parts.append("no sign of intent-seeking in the log")
    if not would:
        parts.append("a test would most likely confirm the model: it would not change the answer")
    if not sized:
        parts.append(
            "no conversion in the journeys it reaches, so no relative lift to size a test for"
        )
    elif not expects:
        parts.append(f"the model expects no lift; the test is sized for a {min_lift:.0%} lift")
    return f"{name}: " + "; ".join(parts) + "."
