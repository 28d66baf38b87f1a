"""Moved: CRM reading to :mod:`attribution.crm`, the figures to :mod:`attribution.kpis`.

``read_crm`` and ``read_activities`` are in :mod:`attribution.crm`; ``funnel``, the stage
figures and ``crm_lead_conversion_rate`` (was ``lead_conversion_rate``) in
:mod:`attribution.kpis.funnel`; ``sla_attainment`` in :mod:`attribution.kpis.sla`;
``attribute_stage`` in :mod:`attribution.kpis.stage_attribution`. This path forwards every old
name with a ``DeprecationWarning``.
"""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(
    __name__,
    [
        "attribution.crm",
        "attribution.kpis.funnel",
        "attribution.kpis.sla",
        "attribution.kpis.stage_attribution",
    ],
    renamed={"lead_conversion_rate": "attribution.kpis.funnel.crm_lead_conversion_rate"},
)
