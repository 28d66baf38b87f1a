"""Chart geometry read back from the SVG: lengths and heights proportional to the values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.reporting import svg as _svg
from tests.reporting.conftest import marks, parse_page


def _bars(svg: str) -> list[dict[str, str | None]]:
    return marks(parse_page(svg).svgs[0], "bar")


def test_hbar_lengths_are_proportional_and_negatives_go_left() -> None:
    svg = _svg.hbar(["a", "b", "c", "d"], [40.0, 10.0, -20.0, None], title="T", x_label="x")
    bars = _bars(svg)
    assert len(bars) == 3  # no bar for the missing value
    vals = [float(b["data-value"] or "nan") for b in bars]
    widths = [float(b["width"] or "nan") for b in bars]
    scale = widths[0] / vals[0]
    for v, w in zip(vals, widths, strict=True):
        assert w == pytest.approx(abs(v) * scale, abs=0.15)
    zero = float(bars[0]["x"] or "nan")
    assert float(bars[1]["x"] or "nan") == zero
    neg = bars[2]
    assert float(neg["x"] or "nan") + float(neg["width"] or "nan") == pytest.approx(zero, abs=0.15)
    assert neg["fill"] != bars[0]["fill"]
    assert "n/a" in svg


def test_line_chart_heights_are_linear_in_the_values() -> None:
    values = [1.0, 3.0, 2.0, 5.0]
    svg = _svg.line_chart(
        ["Jan", "Feb", "Mar", "Apr"], values, [None, 1.0, 3.0, 2.0], title="T", y_label="y"
    )
    s = parse_page(svg).svgs[0]
    cy = [float(a["cy"] or "nan") for a in marks(s, "point")]
    slopes = [(cy[i] - cy[0]) / (values[i] - values[0]) for i in range(1, 4)]
    assert max(slopes) - min(slopes) < 0.1 and slopes[0] < 0  # higher values drawn higher
    (ref,) = marks(s, "ref")
    assert len((ref["points"] or "").split()) == 3  # the reference starts in February


def test_grouped_bars_heights_are_proportional() -> None:
    svg = _svg.grouped_bars(
        ["x", "y"], {"m1": [4.0, 2.0], "m2": [1.0, 3.0]}, title="T", y_label="y"
    )
    bars = _bars(svg)
    ratio = {float(b["data-value"] or "nan"): float(b["height"] or "nan") for b in bars}
    for v, h in ratio.items():
        assert h == pytest.approx(v * ratio[4.0] / 4.0, abs=0.15)
    assert len({b["fill"] for b in bars}) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(0, 1e9, allow_nan=False),
    st.integers(2, 8),
)
def test_nice_ticks_cover_the_range_in_round_even_steps(lo: float, span: float, n: int) -> None:
    hi = lo + span
    ticks = _svg.nice_ticks(lo, hi, n)
    steps = np.diff(ticks)
    slack = 1e-8 * steps[0]  # the ends may round inwards by a hair of a step, never more
    assert ticks[0] <= lo + slack and ticks[-1] >= hi - slack
    assert np.allclose(steps, steps[0], rtol=1e-6)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert len(ticks) <= 2 * n + 3


def test_values_near_the_largest_float_are_drawn() -> None:
    """A round top tick above 1.6e308 overflowed: OverflowError from every chart with an axis.

    The heights stay proportional: 1.7e308 is 17 / 8 of 8e307.
    """
    svg = _svg.grouped_bars(["x", "y"], {"m": [1.7e308, 8e307]}, title="T", y_label="y")
    h = {float(b["data-value"] or "nan"): float(b["height"] or "nan") for b in _bars(svg)}
    assert h[1.7e308] == pytest.approx(h[8e307] * 17 / 8, abs=0.15)
    for chart in (
        _svg.hbar(["a", "b"], [1.7e308, 1.0], title="T", x_label="x"),
        _svg.line_chart(["Jan", "Feb"], [1.7e308, 1.0], title="T", y_label="y"),
    ):
        assert "inf" not in chart and "nan" not in chart
    ticks = _svg.nice_ticks(0.0, 1.7e308)
    assert ticks[0] == 0.0 and ticks[-1] == 1.7e308 and all(map(math.isfinite, ticks))
