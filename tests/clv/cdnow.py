"""CDNOW references shared by the customer-value tests.

References used:

* Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way" (BG/NBD on the CDNOW
  sample: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4) and Hardie's
  spreadsheet figures quoted in lifetimes' tests (E[X(t)] table, E[Y(39) | 2, 30.43, 38.86]
  = 1.226);
* Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (p = 6.25, q = 3.74,
  gamma = 15.44 on the 946 repeat customers), as CLVTools' test_correctness_gg.R quotes them
  with its log-likelihood -4055.9177; CLVTools' test_correctness_bgnbd.R estimates on the
  exact CDNOW weeks (r = 0.2425945, alpha = 4.4136019, a = 0.7929199, b = 2.4258881,
  LL = -9582.429);
* lifetimes' Quickstart (docs/Quickstart.md) outputs on the CDNOW summary it ships;
* numerical integration over the mixing distributions, Monte-Carlo simulation of the BG/NBD
  process and a brute-force RFM summary written in the tests.
"""

from __future__ import annotations

from pathlib import Path

from attribution.clv import BGNBD

CDNOW = Path(__file__).parents[1] / "data" / "cdnow"
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CLVTOOLS_BGNBD = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


def fixed(params: dict[str, float], cls: type = BGNBD):
    model = cls()
    model.params_ = dict(params)
    return model
