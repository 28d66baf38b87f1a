"""The discounted model sum of CLV against lifetimes' published values."""

from __future__ import annotations

import pytest

from attribution.clv import customer_lifetime_value


def test_customer_lifetime_value_matches_lifetimes_quickstart(bg_cdnow, gg_cdnow, cdnow_summary):
    """lifetimes' CLV example: 12 steps of 30 time units, 1% per step (its freq="D" factor)."""
    first = cdnow_summary.head(9)
    got = customer_lifetime_value(
        bg_cdnow,
        gg_cdnow,
        first["x"],
        first["t_x"],
        first["T"],
        first["zbar"],
        periods=12,
        period_length=30.0,
        discount_rate=0.01,
    )
    published = {0: 140.096211, 1: 18.943467, 2: 38.180574, 5: 1003.868107, 6: 28.109683}
    published[8] = 167.418216
    for i, v in published.items():
        assert got[i] == pytest.approx(v, abs=1e-5)
