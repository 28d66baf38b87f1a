"""The report's build: every table from the inputs given, and the report that writes them.

:func:`build_report` computes the tables from an event log (or journeys / a path table) and the
optional spend, CRM, sales-activity and target inputs; :class:`Report` holds them and writes
``report.html`` beside ``<table>.parquet`` and ``<table>.csv`` for every table. Rendering is a
pure function of the tables: :func:`~attribution.reporting.charts.make_charts` turns them into
inline SVG charts and :func:`~attribution.reporting.html.render_html` into the page, so any
frame with the documented columns can be rendered.

Tables and where they come from:

================== =========================================================================
table              columns (source)
================== =========================================================================
summary            ``metric, value`` (counts and totals of the input)
credit             ``model, channel, conversions, revenue, share`` (:func:`attribute_all`)
roi                ``model, channel, conversions, revenue, spend, roi, roas, cpa``
                   (:func:`attribution.roi`; needs ``spend``)
trends             ``period, metric, actual, target, previous, basis, delta, delta_pct,
                   attained`` (:func:`~attribution.reporting.trends.trends`; needs
                   journeys with times)
funnel             ``period, stage, contacts`` (``attribution.kpis.funnel.funnel``; needs ``crm``)
stage_conversion   ``from_stage, to_stage, reached_from, reached_to_after, rate, median_days,
                   mean_days`` (``attribution.kpis.funnel.stage_conversion``; needs ``crm``)
sla                ``period, team, metric, actual, target, attained``
                   (``attribution.kpis.sla.sla_attainment``; needs ``crm`` and a commitment)
top_paths          ``path, conversions, revenue, nulls, conversion_rate, share``
                   (:func:`attribution.reporting.paths.top_paths`)
assists            ``channel, assisted_conversions, last_touch_conversions, assist_ratio, ...``
                   (:func:`attribution.reporting.paths.assists`)
model_warnings     ``model, warning``: models whose credit the log does not identify
                   (:class:`attribution.IdentificationWarning`; only when there are some;
                   the page's header names them beside the model too)
================== =========================================================================

A section whose input is not given is skipped with a note on the page saying what to pass
(the sections are :data:`attribution.reporting.html.SECTIONS`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from attribution._api import attribute_all
from attribution._base.errors import DataQualityWarning, SkippedModelWarning, ValidationError
from attribution._base.frames import FrameLike, to_lazy
from attribution._base.output import atomic_path, write_frame
from attribution._base.periods import FreqLike, Period, as_period
from attribution._base.progress import Progress
from attribution.crm import read_activities, read_crm
from attribution.io import read_spend
from attribution.journeys import JourneyOptions, JourneyParams, Journeys, PathTable, build_journeys
from attribution.kpis.funnel import funnel, stage_conversion
from attribution.kpis.roi import roi
from attribution.kpis.sla import sla_attainment
from attribution.reporting.charts import Chart, format_money, make_charts
from attribution.reporting.html import render_html
from attribution.reporting.paths import assists, top_paths
from attribution.reporting.trends import trends

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Report", "build_report"]


@dataclass(frozen=True)
class Report:
    """Tables of the report, ready to render and write.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Every table by name (see the module docstring for names and columns).
    notes : dict of str to str
        Why a section was skipped, by section key.
    title : str
        Page title.
    headline_model : str or None
        The model whose credit the single-model charts (revenue, ROI) show.
    meta : dict of str to str
        Facts about the inputs shown under the title.
    """

    tables: dict[str, pl.DataFrame]
    notes: dict[str, str] = field(default_factory=dict)
    title: str = "Attribution report"
    headline_model: str | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def charts(self) -> list[Chart]:
        """The charts of the report (:func:`make_charts` of its tables)."""
        return make_charts(self.tables, headline_model=self.headline_model)

    def to_html(self) -> str:
        """Render the page (:func:`render_html`)."""
        return render_html(
            self.tables, self.charts, title=self.title, notes=self.notes, meta=self.meta
        )

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``report.html`` and every table as ``<name>.parquet`` and ``<name>.csv``.

        Each file is written atomically (a temporary file moved into place); the HTML comes
        last, so a complete ``report.html`` means every table beside it is complete too.

        Returns
        -------
        list of Path
            The files written, the HTML last.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in self.tables.items():
            for suffix in (".parquet", ".csv"):
                written.append(write_frame(df, out / f"{name}{suffix}"))
        page = self.to_html()
        target = out / "report.html"
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        written.append(target)
        return written

    def __repr__(self) -> str:
        names = ", ".join(f"{k} ({v.height} rows)" for k, v in self.tables.items())
        return f"Report({self.title!r}: {names})"


def _summary(data: Journeys | PathTable, spend_total: float | None, n_models: int) -> pl.DataFrame:
    if isinstance(data, Journeys):
        rows = [
            ("journeys", float(data.n_journeys)),
            ("conversions", float(data.n_conversions)),
            ("revenue", float(np.where(data.converted, data.revenue, 0.0).sum())),
            ("touches", float(data.n_touches)),
        ]
    else:
        rows = [
            ("paths", float(data.n_paths)),
            ("conversions", data.total_conversions),
            ("revenue", float(data.value.sum())),
            ("non-conversions", float(data.nulls.sum())),
        ]
    rows.append(("channels", float(len(data.channels))))
    rows.append(("models", float(n_models)))
    if spend_total is not None:
        rows.append(("spend", spend_total))
    return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64}, orient="row")


def build_report(
    events: Journeys | PathTable | FrameLike,
    options: JourneyOptions | None = None,
    *,
    spend: FrameLike | None = None,
    crm: FrameLike | None = None,
    activities: FrameLike | None = None,
    targets: FrameLike | Mapping[str, float] | None = None,
    models: Sequence[str] | None = None,
    freq: FreqLike = "1mo",
    mql_commitment: Any = None,
    title: str = "Attribution report",
    headline_model: str | None = None,
    model_params: Mapping[str, Any] | None = None,
    top_n: int = 10,
    progress: bool = False,
    **params: Unpack[JourneyParams],
) -> Report:
    """Compute every table of the report from the inputs that are given.

    Parameters
    ----------
    events
        An event log (the output of :func:`attribution.read_events`, used as it is, or a path
        or frame read with the column names of ``options``), :class:`Journeys` or a
        :class:`PathTable` (then the trends section is skipped: it needs times).
    options : JourneyOptions, optional
        The journey rules and column names used when journeys are built from ``events`` (see
        :class:`attribution.JourneyOptions`).
    spend
        Spend table (``date, channel, spend``) for the ROI section. With journeys (not a path
        table), only spend dated from the first to the last day of their touches and
        conversions (UTC) is counted, as the credit covers those days; spend dated outside
        them is left out with a note on the page and a
        :class:`~attribution.DataQualityWarning` (rows without a date are always counted).
    crm, activities
        CRM lifecycle rows (``user_id, timestamp, stage``) for the funnel and SLA sections, and
        sales activities (``user_id, timestamp, activity``) for the SLA follow-up figures; read
        with ``attribution.crm.read_crm`` / ``read_activities``.
    targets
        Targets for the trends section (see :func:`read_targets`); without them each period is
        compared with the previous one.
    models : sequence of str, optional
        Models to run (default: every model the input supports). A model that refuses the
        input (Shapley over more channels than ``max_channels``) is left out, with a note
        in the credit section and a :class:`~attribution.SkippedModelWarning`.
    freq : str or Period
        Period length of the trends, funnel and SLA sections: ``"1d"``, ``"1w"``, ``"1mo"``,
        ``"1q"``, ``"1y"``, or a pandas alias such as ``"MS"``, ``"W"``, ``"QS"``.
    mql_commitment
        Marketing's MQL commitment per period (a number, or what
        ``attribution.kpis.sla.sla_attainment`` accepts). The SLA section runs when ``crm`` and
        at least one of ``mql_commitment`` and ``activities`` are given.
    title : str
        Page title.
    headline_model : str, optional
        Model shown in the single-model charts; default ``markov`` when run, else the first.
    model_params : mapping, optional
        Model parameters passed to :func:`attribution.attribute_all` (e.g. ``half_life_days``).
    top_n : int
        Number of top converting paths.
    progress : bool
        Print each step and its duration on stderr.
    **params
        Any field of :class:`attribution.JourneyOptions` (``lookback_days=30``,
        ``user_col="uid"`` ...), replacing the one in ``options``. Journeys and path tables are
        built already: journey options are refused for them.

    Returns
    -------
    Report
        The tables; sections whose input is missing are noted in ``Report.notes``.

    Raises
    ------
    AttributionError
        Any input problem, from the readers and figures the report calls (a subclass names
        the column, rule and offending rows).

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 30.0],
    ...     "timestamp": ["2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02"]})
    >>> rep = build_report(ev, models=["linear"])
    >>> rep.tables["credit"].select("channel", "revenue").rows()
    [('a', 10.0), ('b', 30.0)]
    >>> "<svg" in rep.to_html()
    True
    """
    period = as_period(freq)
    assert period is not None  # None only when optional
    opts = JourneyOptions.of(options, **params)
    prog = Progress(enabled=progress)
    if isinstance(events, Journeys | PathTable):
        if options is not None or params:
            given = sorted(params) or ["options"]
            verb = "applies" if len(given) == 1 else "apply"
            raise ValidationError(
                f"{', '.join(given)} {verb} when the report builds journeys from an event log; "
                f"these journeys are already built (pass {', '.join(given)} to build_journeys)."
            )
        data: Journeys | PathTable = events
    else:
        data = build_journeys(events, opts, progress=progress)
    tables: dict[str, pl.DataFrame] = {}
    notes: dict[str, str] = {}
    with prog.step("attributing"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedModelWarning)
        credit = attribute_all(
            data,
            models=models,
            skip_refused=True,
            with_warnings=True,
            **dict(model_params or {}),
        )
    skipped = [str(w.message) for w in caught if issubclass(w.category, SkippedModelWarning)]
    for w in caught:  # shown as they would have been, the skipped models to the caller too
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # a model whose credit the log does not identify is flagged beside its name
    flagged = credit.filter(pl.col("warning").is_not_null()).unique("model", maintain_order=True)
    credit = credit.drop("warning")
    run_models = credit["model"].unique(maintain_order=True).to_list()
    if headline_model is None:
        headline_model = "markov" if "markov" in run_models else run_models[0]
    elif headline_model not in run_models:
        raise ValidationError(
            f"headline_model {headline_model!r} is not among the models run "
            f"({', '.join(run_models)})."
        )
    spend_total = None
    roi_table = None
    window = _journey_dates(data) if isinstance(data, Journeys) else None
    if spend is not None:
        with prog.step("joining spend"):
            if isinstance(spend, str | os.PathLike):  # channel names as written ('01')
                spend = to_lazy(
                    spend, what="spend table", id_columns=["channel"], value_columns=["spend"]
                )
            spend_table = read_spend(spend)
            if window is not None:
                _note_spend_outside(spend_table, window, notes)
                roi_table = roi(credit, spend_table, start=window[0], end=window[1])
            else:
                roi_table = roi(credit, spend_table)
        spend_total = float(roi_table.filter(pl.col("model") == run_models[0])["spend"].sum())
    tables["summary"] = _summary(data, spend_total, len(run_models))
    tables["credit"] = credit
    if skipped:  # a model refused the input: say so on the page
        notes["credit"] = " ".join(why[:1].upper() + why[1:] for why in skipped)
    if roi_table is not None:
        tables["roi"] = roi_table
    else:
        notes["roi"] = "No spend table was given."
    if isinstance(data, Journeys):
        if data.n_conversions:
            with prog.step("trends"):
                tables["trends"] = trends(data, targets=targets, freq=period)
        else:
            notes["trends"] = "No journey converted."
    else:
        notes["trends"] = "The input is a path table, which has no times."
    _crm_sections(tables, notes, crm, activities, mql_commitment, period, prog)
    _path_sections(tables, data, top_n, prog)
    warned = dict(zip(flagged["model"], flagged["warning"], strict=True))
    if warned:
        tables["model_warnings"] = flagged.select("model", "warning")
    meta = {
        "input": _describe_input(events),
        "models": ", ".join(f"{m} (not identified)" if m in warned else m for m in run_models),
        "headline model": headline_model,
        "period": period.name,
    }
    if opts.lookback_days is not None:
        meta["lookback"] = f"{opts.lookback_days:g} days"
    if spend is not None and window is not None:
        meta["spend dates"] = f"{window[0]} to {window[1]}"
    meta |= {f"{m} warning": text for m, text in warned.items()}
    return Report(tables, notes, title, headline_model, meta)


def _journey_dates(data: Journeys) -> tuple[date, date] | None:
    """First and last UTC day of the journeys' touches and conversions (None without any)."""
    times = np.concatenate([data.touch_time, data.conversion_time])
    if times.size == 0:
        return None
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    first, last = (epoch + timedelta(microseconds=int(t)) for t in (times.min(), times.max()))
    return first.date(), last.date()


def _note_spend_outside(
    spend: pl.DataFrame, window: tuple[date, date], notes: dict[str, str]
) -> None:
    """Say on the page, and warn, how much dated spend falls outside the journeys' dates."""
    day = pl.col("date")
    outside = spend.filter(day.is_not_null() & ((day < window[0]) | (day > window[1])))
    if outside.height == 0:
        return
    text = (
        f"Spend dated outside the journeys' dates ({window[0]} to {window[1]}, UTC) is left "
        f"out of the ROI: {format_money(float(outside['spend'].sum()))} over "
        f"{outside.height:,} rows dated {cast(date, outside['date'].min())} to "
        f"{cast(date, outside['date'].max())}."
    )
    notes["roi"] = text
    warnings.warn(text, DataQualityWarning, stacklevel=3)


def _describe_input(events: object) -> str:
    if isinstance(events, str | os.PathLike):
        return Path(events).name
    return repr(events) if isinstance(events, Journeys | PathTable) else type(events).__name__


def _crm_sections(
    tables: dict[str, pl.DataFrame],
    notes: dict[str, str],
    crm: FrameLike | None,
    activities: FrameLike | None,
    mql_commitment: Any,
    period: Period,
    prog: Progress,
) -> None:
    freq = period
    if crm is None:
        notes["funnel"] = "No CRM lifecycle table was given."
        notes["sla"] = "No CRM lifecycle table was given."
        return
    with prog.step("funnel"):
        crm_lf = read_crm(crm)
        tables["funnel"] = funnel(crm_lf, freq=freq)
        tables["stage_conversion"] = stage_conversion(crm_lf)
    if mql_commitment is None and activities is None:
        notes["sla"] = "Neither an MQL commitment nor sales activities were given."
        return
    with prog.step("SLA attainment"):
        acts = read_activities(activities) if activities is not None else None
        tables["sla"] = sla_attainment(crm_lf, acts, mql_commitment=mql_commitment, freq=freq)


def _path_sections(
    tables: dict[str, pl.DataFrame], data: Journeys | PathTable, top_n: int, prog: Progress
) -> None:
    with prog.step("paths and assists"):
        tables["top_paths"] = top_paths(data, n=top_n)
        tables["assists"] = assists(data)
