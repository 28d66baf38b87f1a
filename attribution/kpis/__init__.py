"""Money and the figures marketing and sales agree on.

=============== ==============================================================================
module          what
=============== ==============================================================================
``roi``         ROI, ROAS and CPA per channel (and per model) from credit and spend
``acquisition`` CPL, cost per opportunity, CAC with a conversion lag, the seed CLV formula
=============== ==============================================================================
"""

from attribution.kpis.acquisition import (
    cac,
    clv,
    conversion_lag,
    cost_per,
    cost_per_opportunity,
    cpl,
)
from attribution.kpis.roi import roi

__all__ = ["cac", "clv", "conversion_lag", "cost_per", "cost_per_opportunity", "cpl", "roi"]
