"""Shared inputs of the reporting tests: the sample, CRM logs, stand-in tables, a page reader.

References used across the files: counts and sums taken straight from the raw sample CSV with
Polars, hand-worked targets, the library's own figure functions for the tables the report only
collects, and geometry read back from the SVG with a tiny HTML reader (stdlib html.parser).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.reporting import Report, build_report
from attribution.schema import CRM_STAGES

DATA = Path(at.__file__).parent / "datasets" / "data"


SAMPLE = DATA / "sample_events.csv"


SPEND = DATA / "sample_spend.csv"


# data_driven is left out only to keep the suite fast; the report runs whatever it is given
FAST_MODELS = [m for m in at.MODELS if m != "data_driven"]


CHART_KINDS = {"hbar", "grouped", "line", "funnel", "grid"}


def crm_and_activities(seed: int = 7, n: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A small CRM log for sample users: each walks the funnel some way; some SQLs get a call."""
    rng = np.random.default_rng(seed)
    stages = CRM_STAGES[:6]
    crm, acts = [], []
    for user in range(1, n + 1):
        t = datetime(2024, 1, 1) + timedelta(hours=int(rng.integers(0, 24 * 85)))
        for stage in stages[: int(rng.integers(1, len(stages) + 1))]:
            crm.append((user, t.isoformat(), stage))
            if stage == "sql" and rng.random() < 0.8:
                lag = timedelta(minutes=float(rng.exponential(600)))
                acts.append((user, (t + lag).isoformat(), "call"))
            t += timedelta(hours=float(rng.exponential(100)))
    return (
        pl.DataFrame(crm, schema=["user_id", "timestamp", "stage"], orient="row"),
        pl.DataFrame(acts, schema=["user_id", "timestamp", "activity"], orient="row"),
    )


def stand_ins() -> dict[str, pl.DataFrame]:
    """Frames with the documented columns of the funnel, SLA and path sections."""
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    return {
        "funnel": pl.DataFrame(
            {
                "period": [jan] * 3 + [feb] * 3,
                "stage": ["mql", "lead", "sql"] * 2,
                "contacts": [30, 80, 12, 25, 70, 9],
            }
        ),
        "stage_conversion": pl.DataFrame(
            {
                "from_stage": ["lead", "mql"],
                "to_stage": ["mql", "sql"],
                "reached_from": [150, 55],
                "reached_to_after": [55, 21],
                "rate": [55 / 150, 21 / 55],
                "median_days": [3.0, 1.5],
                "mean_days": [4.2, 2.0],
            }
        ),
        "sla": pl.DataFrame(
            {
                "period": [jan, jan, feb, feb],
                "team": ["marketing", "sales", "marketing", "sales"],
                "metric": ["mqls_delivered", "sql_followed_up_within_24h"] * 2,
                "actual": [30.0, 0.75, 25.0, 1.0],
                "target": [28.0, 1.0, 28.0, 1.0],
                "attained": [True, False, False, True],
            }
        ),
        "top_paths": pl.DataFrame(
            {
                "path": ["a > b", "b", "a"],
                "conversions": [7.0, 4.0, 2.0],
                "revenue": [70.0, 40.0, 20.0],
                "nulls": [3.0, 10.0, 2.0],
                "conversion_rate": [0.7, 4 / 14, 0.5],
                "share": [7 / 13, 4 / 13, 2 / 13],
            }
        ),
        "assists": pl.DataFrame(
            {
                "channel": ["a", "b"],
                "assisted_conversions": [7.0, 0.0],
                "last_touch_conversions": [2.0, 11.0],
                "assist_ratio": [3.5, 0.0],
            }
        ),
    }


@pytest.fixture(scope="session")
def journeys() -> at.Journeys:
    return at.build_journeys(SAMPLE)


@pytest.fixture(scope="session")
def report(journeys: at.Journeys) -> Report:
    return build_report(journeys, spend=SPEND, models=FAST_MODELS)


@pytest.fixture(scope="session")
def full_report(journeys: at.Journeys) -> Report:
    """Every section: the sample with spend and targets, plus a simulated CRM log."""
    crm, acts = crm_and_activities()
    return build_report(
        journeys,
        spend=SPEND,
        crm=crm,
        activities=acts,
        mql_commitment=45,
        targets={"conversions": 120},
        models=FAST_MODELS,
        title="Sample <report> & co",
    )


def raw_conversions() -> pl.DataFrame:
    return (
        pl.read_csv(SAMPLE)
        .filter(pl.col("event") == "conversion")
        .with_columns(pl.col("timestamp").str.to_datetime(time_zone="UTC"))
    )


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.svgs: list[dict[str, Any]] = []
        self.cells: list[str] = []
        self.style = ""
        self.text: list[str] = []
        self._svg: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "svg":
            self._svg = {"attrs": a, "title": None, "marks": []}
            self.svgs.append(self._svg)
        elif self._svg is not None and tag in ("rect", "circle", "polyline", "text"):
            self._svg["marks"].append((tag, a))
        if tag not in ("meta", "line", "br", "rect", "circle", "polyline"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if self._svg is not None and tag in ("rect", "circle", "polyline"):
            self._svg["marks"].append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        top = self.stack[-1] if self.stack else ""
        self.text.append(data)
        if top == "style":
            self.style += data
        elif top == "td":
            self.cells.append(data)
        elif top == "title" and self._svg is not None and self._svg["title"] is None:
            if "svg" in self.stack and self.stack[-2] == "svg":
                self._svg["title"] = data


def parse_page(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def marks(svg: dict[str, Any], cls: str) -> list[dict[str, str | None]]:
    return [a for _, a in svg["marks"] if cls in (a.get("class") or "").split()]
