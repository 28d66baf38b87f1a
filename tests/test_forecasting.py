from __future__ import annotations

import math

import pytest

import forecasting as fc
from attribution import ValidationError


def test_cagr_matches_seed_example():
    """1,000 € -> 2,000 € in three years is 26.0 % a year (ARCHITECTURE.md)."""
    assert fc.cagr(1000, 2000, years=3) * 100 == pytest.approx(26.0, abs=0.1)


@pytest.mark.parametrize(("start", "rate", "years"), [(50.0, 0.07, 10), (3.0, -0.2, 2.5)])
def test_cagr_inverts_compounding(start, rate, years):
    end = start * (1 + rate) ** years
    assert fc.cagr(start, end, years) == pytest.approx(rate, rel=1e-12)
    assert fc.cagr(start, start, years) == 0.0
    assert fc.cagr(1, 2, 1) == pytest.approx(1.0)
    assert fc.cagr(1, 4, 2) == pytest.approx(math.sqrt(4) - 1)


@pytest.mark.parametrize("args", [(0, 10, 1), (10, -1, 1), (10, 20, 0), (10, float("nan"), 1)])
def test_cagr_rejects_undefined_inputs(args):
    with pytest.raises(ValidationError, match="must be a finite number > 0"):
        fc.cagr(*args)
