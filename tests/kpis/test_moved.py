"""Old module paths keep working: attribution.funnel, attribution.metrics, attribution.roi.

Each forwards every old public name with a DeprecationWarning that names the new home.
"""

from __future__ import annotations

import importlib
import warnings

import polars as pl
import pytest

import attribution as at
from attribution import crm
from attribution.kpis import acquisition, catalogue, sla, stage_attribution
from attribution.kpis import funnel as kfunnel

# attribution.kpis.roi is the function roi (re-exported); the module is reached by importlib
roi_module = importlib.import_module("attribution.kpis.roi")

# attribution.funnel's public names before the split, and where each lives now
FUNNEL_NAMES = {
    "ACTIVITY_COLUMNS": crm,
    "CRM_COLUMNS": crm,
    "read_activities": crm,
    "read_crm": crm,
    "SalesCycle": kfunnel,
    "close_rate": kfunnel,
    "conversion_rate": kfunnel,
    "funnel": kfunnel,
    "opportunity_win_rate": kfunnel,
    "sales_cycle": kfunnel,
    "sourcing": kfunnel,
    "stage_conversion": kfunnel,
    "transition_counts": kfunnel,
    "transitions": kfunnel,
    "sla_attainment": sla,
    "attribute_stage": stage_attribution,
}
METRICS_NAMES = [
    "bounce_rate",
    "cart_abandonment_rate",
    "cost_to_serve",
    "csat",
    "email_metrics",
    "landing_page_conversion_rate",
    "lead_conversion_rate",
    "market_share",
    "nps",
    "retention",
]


@pytest.mark.parametrize("name", sorted(FUNNEL_NAMES))
def test_attribution_funnel_forwards_every_old_name_with_a_warning(name):
    old = importlib.import_module("attribution.funnel")
    new = FUNNEL_NAMES[name]
    with pytest.warns(DeprecationWarning, match=rf"attribution.funnel has moved to {new.__name__}"):
        value = getattr(old, name)
    assert value is getattr(new, name)


def test_funnel_lead_conversion_rate_is_now_named_for_the_crm_log():
    old = importlib.import_module("attribution.funnel")
    with pytest.warns(
        DeprecationWarning,
        match=r"attribution.funnel.lead_conversion_rate is now "
        r"attribution.kpis.funnel.crm_lead_conversion_rate",
    ):
        value = old.lead_conversion_rate
    assert value is kfunnel.crm_lead_conversion_rate
    log = pl.DataFrame(
        {"user_id": [1, 2, 1], "timestamp": ["2024-01-01"] * 2 + ["2024-02-01"]},
    ).with_columns(stage=pl.Series(["lead", "lead", "customer"]))
    assert value(log).row(0) == (2, 1, 0.5)


@pytest.mark.parametrize("name", METRICS_NAMES)
def test_attribution_metrics_forwards_every_old_name_with_a_warning(name):
    old = importlib.import_module("attribution.metrics")
    with pytest.warns(
        DeprecationWarning, match=r"attribution.metrics has moved to attribution.kpis.catalogue"
    ):
        value = getattr(old, name)
    assert value is getattr(catalogue, name)


def test_from_imports_and_module_attributes_still_work():
    with pytest.warns(DeprecationWarning, match=r"import read_crm from attribution.crm"):
        from attribution.funnel import read_crm
    assert read_crm is crm.read_crm
    with pytest.warns(DeprecationWarning, match=r"import nps from attribution.kpis.catalogue"):
        from attribution.metrics import nps
    assert nps is catalogue.nps
    with pytest.warns(DeprecationWarning, match=r"import roi from attribution.kpis.roi"):
        from attribution.roi import roi as old_roi
    assert old_roi is roi_module.roi is at.roi
    # the old modules stay attributes of the package (loading them warns of nothing)
    assert at.funnel is importlib.import_module("attribution.funnel")
    assert at.metrics is importlib.import_module("attribution.metrics")
    assert at.crm is crm
    # dir() lists only the stub's own names, so that tools walking it do not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "lead_conversion_rate" not in dir(at.funnel)
        assert not set(METRICS_NAMES) & set(dir(at.metrics))
    with pytest.raises(AttributeError, match=r"module 'attribution.funnel' has no attribute"):
        _ = at.funnel.no_such_name


def test_kpis_package_reexports_its_modules_public_names():
    import attribution.kpis as kpis

    for module in (acquisition, catalogue, kfunnel, roi_module, sla, stage_attribution):
        for name in module.__all__:
            if name == "funnel":  # kpis.funnel is the module; the function is kpis.funnel.funnel
                assert kpis.funnel is kfunnel
                continue
            assert getattr(kpis, name) is getattr(module, name), name
            assert name in kpis.__all__
