"""CDNOW fixtures of the customer-value tests (the data and the models fitted on it)."""

from __future__ import annotations

import polars as pl
import pytest

from attribution.clv import BGNBD, GammaGamma, rfm_summary
from tests.clv.cdnow import CDNOW


@pytest.fixture(scope="session")
def cdnow_summary() -> pl.DataFrame:
    """lifetimes' CDNOW summary: ID, x, t_x, T (weeks, 2 decimals), zbar."""
    return pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def cdnow_transactions() -> pl.DataFrame:
    """The CDNOW sample's 6,919 purchases (78 weeks): sample id, date, dollars."""
    rows = [line.split() for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines()]
    return pl.DataFrame(
        {
            "user_id": [int(r[1]) for r in rows],
            "timestamp": [r[2] for r in rows],
            "revenue": [float(r[4]) for r in rows],
        }
    ).with_columns(pl.col("timestamp").str.to_date("%Y%m%d"))


@pytest.fixture(scope="session")
def cdnow_exact(cdnow_transactions: pl.DataFrame) -> pl.DataFrame:
    """The 39-week calibration summary computed from the transactions (exact weeks)."""
    return rfm_summary(cdnow_transactions, observation_end="1997-09-30", time_unit="W")


@pytest.fixture(scope="session")
def bg_cdnow(cdnow_summary: pl.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


@pytest.fixture(scope="session")
def gg_cdnow(cdnow_summary: pl.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow_summary["x"], cdnow_summary["zbar"])
