"""Fixtures of the kpis tests: the hand-built CRM log of :mod:`tests.kpis.crm_log`."""

from __future__ import annotations

import polars as pl
import pytest

from tests.kpis.crm_log import activity_frame, crm_frame


@pytest.fixture
def crm() -> pl.DataFrame:
    return crm_frame()


@pytest.fixture
def acts() -> pl.DataFrame:
    return activity_frame()
