"""Multi-touch attribution: event logs to journeys to exact, per-channel credit.

The public surface (see the README and ``ARCHITECTURE.md``)::

    import attribution as at
    events   = at.read_events("events.parquet")          # validated, lazy
    journeys = at.build_journeys(events, lookback_days=30)
    paths    = journeys.to_paths()                      # or at.read_paths("paths.csv")
    result   = at.attribute(journeys, model="linear")
    result.channels, result.touchpoints
    at.attribute_all(journeys)
    at.roi(result, spend)                               # money: also at.kpis (CAC, CPL, CLV)
    at.funnel, at.reports, at.metrics                   # funnel/SLA, closed-loop, KPI catalogue
    at.report.build_report(events, spend=spend).write("out/")   # HTML report with charts
"""

from attribution import (
    bucketed,
    calibration,
    clv_models,
    datasets,
    evaluate,
    funnel,
    kpis,
    metrics,
    report,
    reports,
    spark,
)
from attribution._api import attribute, attribute_all, choose_order
from attribution._errors import (
    AttributionError,
    EmptyInputError,
    ModelError,
    SchemaError,
    ValidationError,
)
from attribution.calibration import calibrate, compare_lift_tests, holdout_lift
from attribution.io import read_events, read_spend, write_frame
from attribution.journeys import NO_TOUCH, Journeys, PathTable, build_journeys, read_paths
from attribution.models import MODELS, Attribution
from attribution.roi import roi
from attribution.uncertainty import bootstrap

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "NO_TOUCH",
    "Attribution",
    "AttributionError",
    "EmptyInputError",
    "Journeys",
    "ModelError",
    "PathTable",
    "SchemaError",
    "ValidationError",
    "__version__",
    "attribute",
    "attribute_all",
    "bootstrap",
    "bucketed",
    "build_journeys",
    "calibrate",
    "calibration",
    "choose_order",
    "clv_models",
    "compare_lift_tests",
    "datasets",
    "evaluate",
    "funnel",
    "holdout_lift",
    "kpis",
    "metrics",
    "read_events",
    "read_paths",
    "read_spend",
    "report",
    "reports",
    "roi",
    "spark",
    "write_frame",
]
