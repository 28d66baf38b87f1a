"""Multi-touch attribution: event logs to journeys to exact, per-channel credit.

The public surface (see the documentation's user guide)::

    import attribution as at
    events   = at.read_events("events.parquet")          # validated, lazy
    journeys = at.build_journeys(events, lookback_days=30)
    paths    = journeys.to_paths()                      # or at.read_paths("paths.csv")
    result   = at.attribute(journeys, model="linear")
    result.channels, result.touchpoints
    at.attribute_all(journeys)
    at.roi(result, spend)                               # money: also at.kpis (CAC, CPL, CLV)

Names load on first use (PEP 562), so ``import attribution`` is light and
:mod:`forecasting` can use the base layer without loading the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from attribution._base.errors import (
    AttributionError,
    DataQualityWarning,
    EmptyInputError,
    IdentificationWarning,
    ModelError,
    OutputError,
    ReadError,
    SchemaError,
    SkippedModelWarning,
    ValidationError,
)

__version__ = "0.1.0"

# public name -> module that defines it (a module name maps to itself)
_NAMES: dict[str, str] = {
    "MODELS": "attribution.models",
    "NO_TOUCH": "attribution.journeys",
    "Attribution": "attribution.models",
    "JourneyOptions": "attribution.journeys",
    "Journeys": "attribution.journeys",
    "PathTable": "attribution.journeys",
    "attribute": "attribution._api",
    "attribute_all": "attribution._api",
    "bootstrap": "attribution.uncertainty",
    "build_journeys": "attribution.journeys",
    "calibrate": "attribution.calibration",
    "channel_group": "attribution.channels",
    "choose_order": "attribution._api",
    "compare_lift_tests": "attribution.calibration",
    "evaluate": "attribution.evaluation",
    "evaluate_scenarios": "attribution.evaluation",
    "holdout_lift": "attribution.calibration",
    "plan_experiments": "attribution.experiments",
    "read_events": "attribution.io",
    "read_ga4": "attribution.ga",
    "read_ga360": "attribution.ga",
    "read_paths": "attribution.journeys",
    "read_spend": "attribution.io",
    "roi": "attribution.kpis.roi",
    "write_frame": "attribution._base.output",
}
_MODULES: tuple[str, ...] = (
    "bucketed",
    "calibration",
    "channels",
    "clv",
    "clv_models",
    "crm",
    "datasets",
    "evaluation",
    "experiments",
    "funnel",
    "ga",
    "io",
    "journeys",
    "kpis",
    "metrics",
    "models",
    "report",
    "reporting",
    "reports",
    "schema",
    "spark",
    "uncertainty",
)

__all__ = [
    "MODELS",
    "NO_TOUCH",
    "Attribution",
    "AttributionError",
    "DataQualityWarning",
    "EmptyInputError",
    "IdentificationWarning",
    "JourneyOptions",
    "Journeys",
    "ModelError",
    "OutputError",
    "PathTable",
    "ReadError",
    "SchemaError",
    "SkippedModelWarning",
    "ValidationError",
    "__version__",
    "attribute",
    "attribute_all",
    "bootstrap",
    "bucketed",
    "build_journeys",
    "calibrate",
    "calibration",
    "channel_group",
    "channels",
    "choose_order",
    "clv",
    "clv_models",
    "compare_lift_tests",
    "crm",
    "datasets",
    "evaluate",
    "evaluate_scenarios",
    "evaluation",
    "experiments",
    "funnel",
    "ga",
    "holdout_lift",
    "io",
    "journeys",
    "kpis",
    "metrics",
    "models",
    "plan_experiments",
    "read_events",
    "read_ga4",
    "read_ga360",
    "read_paths",
    "read_spend",
    "report",
    "reporting",
    "reports",
    "roi",
    "schema",
    "spark",
    "uncertainty",
    "write_frame",
]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"attribution.{name}")
    else:
        raise AttributeError(f"module 'attribution' has no attribute {name!r}")
    globals()[name] = value  # importing a submodule may have set the name to the module
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# Old module paths whose name is also a function here (``attribution.roi``,
# ``attribution.evaluate``): load their forwarding stubs now, so that a later
# ``import attribution.roi`` cannot replace ``at.roi``.
importlib.import_module("attribution.roi")
del globals()["roi"]
importlib.import_module("attribution.evaluate")
del globals()["evaluate"]

if TYPE_CHECKING:  # the names as static analysis sees them
    from attribution import (
        bucketed,
        calibration,
        channels,
        clv,
        clv_models,
        crm,
        datasets,
        evaluation,
        experiments,
        funnel,
        ga,
        io,
        journeys,
        kpis,
        metrics,
        models,
        report,
        reporting,
        reports,
        schema,
        spark,
        uncertainty,
    )
    from attribution._api import attribute, attribute_all, choose_order
    from attribution._base.output import write_frame
    from attribution.calibration import calibrate, compare_lift_tests, holdout_lift
    from attribution.channels import channel_group
    from attribution.evaluation import evaluate, evaluate_scenarios
    from attribution.experiments import plan_experiments
    from attribution.ga import read_ga4, read_ga360
    from attribution.io import read_events, read_spend
    from attribution.journeys import (
        NO_TOUCH,
        JourneyOptions,
        Journeys,
        PathTable,
        build_journeys,
        read_paths,
    )
    from attribution.kpis.roi import roi
    from attribution.models import MODELS, Attribution
    from attribution.uncertainty import bootstrap
