"""Customer value: probabilistic CLV (BG/NBD purchases, Gamma-Gamma values) and the seed formula.

With a transaction log, each customer's history is summarised as *frequency* (repeat
purchases), *recency* (time of the last purchase since the first) and *T* (age at the end of
observation); the BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
Way", Marketing Science 24(2)) turns that into the expected number of future purchases and the
probability that the customer is still active, and the Gamma-Gamma model (Fader, Hardie & Lee
2005, "RFM and CLV", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value")
into the expected value of each purchase. Both are fitted by maximum likelihood with
:func:`scipy.optimize.minimize` on log parameters with analytic gradients. Checked against the
published CDNOW figures (``tests/clv``).

One idea per module:

=============== ==============================================================================
module          what
=============== ==============================================================================
``fitting``     maximum likelihood shared by both models: fit, Hessian standard errors,
                compression of repeated rows, the :class:`FittedModel` base class
``bg_nbd``      :class:`BGNBD` and its kernels (log-likelihood, expected purchases, P(alive))
``gamma_gamma`` :class:`GammaGamma` and its kernels (log-likelihood, expected value)
``formula``     :func:`clv`, the seed formula (average purchase value × purchase frequency ×
                lifespan; also ``attribution.kpis.clv``), and
                :func:`customer_lifetime_value`, the discounted model sum on arrays
``frames``      :func:`rfm_summary` (transaction log -> summary), :func:`clv_probabilistic`
                (-> CLV per customer), :func:`summarise_clv` (-> totals by channel or cohort)
=============== ==============================================================================

``attribution.clv_models`` is the old path of these names; it forwards here with a
``DeprecationWarning``.
"""

from attribution.clv.bg_nbd import (
    BGNBD,
    bgnbd_expected_purchases,
    bgnbd_log_p_alive,
    bgnbd_loglik,
)
from attribution.clv.fitting import FittedModel
from attribution.clv.formula import clv, customer_lifetime_value
from attribution.clv.frames import clv_probabilistic, rfm_summary, summarise_clv
from attribution.clv.gamma_gamma import (
    GammaGamma,
    gamma_gamma_expected_value,
    gamma_gamma_loglik,
)

__all__ = [
    "BGNBD",
    "FittedModel",
    "GammaGamma",
    "bgnbd_expected_purchases",
    "bgnbd_log_p_alive",
    "bgnbd_loglik",
    "clv",
    "clv_probabilistic",
    "customer_lifetime_value",
    "gamma_gamma_expected_value",
    "gamma_gamma_loglik",
    "rfm_summary",
    "summarise_clv",
]
