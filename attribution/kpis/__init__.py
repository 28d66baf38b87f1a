"""Money and the figures marketing and sales agree on.

===================== ========================================================================
module                what
===================== ========================================================================
``roi``               ROI, ROAS and CPA per channel (and per model) from credit and spend
``acquisition``       CPL, cost per opportunity, CAC with a conversion lag, the seed CLV formula
``catalogue``         the KPI catalogue over plain tables: lead conversion, cart abandonment,
                      bounce rate, email, landing pages, retention, cost to serve, NPS, CSAT,
                      market share
``funnel``            funnel figures from a CRM lifecycle log: stage counts, transitions,
                      stage conversion, sales cycle, close and win rates, sourcing
``sla``               SLA attainment between marketing and sales, per period and team
``stage_attribution`` which channels produce MQLs, SQLs or customers (``attribute_stage``)
===================== ========================================================================

Reading the CRM logs is :mod:`attribution.crm`. Every function is re-exported here but one:
the stage counts :func:`attribution.kpis.funnel.funnel`, as ``attribution.kpis.funnel`` names
the module (so ``import attribution.kpis.funnel as kf`` gives the module, not the function).

Lead conversion has one meaning, customers / leads, and two names that say what they take:
:func:`lead_conversion_rate` a table with one row per lead and a ``converted`` flag (like every
function of the catalogue), :func:`crm_lead_conversion_rate` a CRM lifecycle log (leads are the
contacts that passed the lead stage). ``attribution.funnel.lead_conversion_rate``, the CRM one's
old name, still works with a ``DeprecationWarning``.

Periods (``freq=``) are any of the base layer's spellings: ``"1d"``, ``"1w"``, ``"1mo"``,
``"1q"``, ``"1y"`` or the pandas aliases ``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"QS"``, ``"Y"``;
each period is labelled by its first day.
"""

from attribution.kpis.acquisition import (
    cac,
    clv,
    conversion_lag,
    cost_per,
    cost_per_opportunity,
    cpl,
)
from attribution.kpis.catalogue import (
    bounce_rate,
    cart_abandonment_rate,
    cost_to_serve,
    csat,
    email_metrics,
    landing_page_conversion_rate,
    lead_conversion_rate,
    market_share,
    nps,
    retention,
)
from attribution.kpis.funnel import (
    SalesCycle,
    close_rate,
    conversion_rate,
    crm_lead_conversion_rate,
    opportunity_win_rate,
    sales_cycle,
    sourcing,
    stage_conversion,
    transition_counts,
    transitions,
)
from attribution.kpis.roi import roi
from attribution.kpis.sla import sla_attainment
from attribution.kpis.stage_attribution import attribute_stage

__all__ = [
    "SalesCycle",
    "attribute_stage",
    "bounce_rate",
    "cac",
    "cart_abandonment_rate",
    "close_rate",
    "clv",
    "conversion_lag",
    "conversion_rate",
    "cost_per",
    "cost_per_opportunity",
    "cost_to_serve",
    "cpl",
    "crm_lead_conversion_rate",
    "csat",
    "email_metrics",
    "landing_page_conversion_rate",
    "lead_conversion_rate",
    "market_share",
    "nps",
    "opportunity_win_rate",
    "retention",
    "roi",
    "sales_cycle",
    "sla_attainment",
    "sourcing",
    "stage_conversion",
    "transition_counts",
    "transitions",
]
