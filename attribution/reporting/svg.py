"""Small inline-SVG chart builders for the HTML report (no plotting dependency).

Every builder is a pure function of its numbers and labels and returns one ``<svg>`` element as
text: deterministic (coordinates rounded to 0.1 px), every piece of text escaped, a ``<title>``
and ``aria-label`` naming the chart, axis labels, and the value of every mark both as visible
text (where it fits) and as the mark's own ``<title>`` tooltip.

Marks carry classes the report's CSS styles and its tests count: ``bar`` (rectangles whose
length encodes a value), ``series`` (a data line), ``ref`` (a dashed target or previous-period
line), ``point`` (markers on a line), ``stage`` (funnel steps) and ``cell`` (status grid cells).
The root has ``class="chart"`` and ``data-kind`` naming the builder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape

__all__ = [
    "PALETTE",
    "compact",
    "escape_text",
    "funnel_chart",
    "grouped_bars",
    "hbar",
    "line_chart",
    "nice_ticks",
    "status_grid",
]

#: Colour-blind-friendly categorical palette (Okabe-Ito, then Tableau tones).
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#6F6F6F",
    "#8C564B",
    "#17BECF",
    "#BCBD22",
    "#1F3A93",
)

_FONT_PX = 12
_ZERO = ' class="zero"'
_CLIP_PX = 7.0  # a safe (wide) glyph width for deciding when a label must be cut
_CHAR_PX = 6.6  # average glyph width of the report's sans-serif at 12 px

Fmt = Callable[[float], str]


# C0 and C1 control characters other than tab, newline and carriage return: parse errors in
# HTML, not allowed in XML at all; a browser shows U+FFFD for most of them
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c",
            "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}  # fmt: skip


def escape_text(text: object) -> str:
    r"""Escape text for HTML and SVG: markup, quotes, control and bidirectional characters.

    ``<``, ``>``, ``&`` and both quotes become character references; control characters
    (other than tab and line breaks) become U+FFFD, as a browser shows them; and every
    embedding, override or isolate a name opens (U+202A-U+202E, U+2066-U+2068) is closed at its
    end, so that a channel named with a right-to-left override cannot reverse the figures or
    the other channels printed after it.

    Examples
    --------
    >>> escape_text('<b a="1">&')
    '&lt;b a=&quot;1&quot;&gt;&amp;'
    >>> escape_text("a\u202eb") == "a\u202eb\u202c", escape_text("a\x00b") == "a\ufffdb"
    (True, True)
    """
    s = _CONTROLS.sub("\ufffd", str(text))
    if any(c in s for c in _OPENERS):
        closers = []
        for c in s:  # the closers a reader of the text from the start still waits for
            if c in _OPENERS:
                closers.append(_OPENERS[c])
            elif c in ("\u202c", "\u2069") and closers and closers[-1] == c:
                closers.pop()
        s += "".join(reversed(closers))
    return escape(s, quote=True)


_e = escape_text


def _n(x: float) -> str:
    """Format a coordinate with at most one decimal, without a trailing ``.0``."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def compact(value: float) -> str:
    """Format a number briefly for axis ticks: ``950``, ``1.2k``, ``3.4M``, ``0.25``.

    Examples
    --------
    >>> [compact(v) for v in (0, 950, 1200, 3_400_000, 0.25, -1500)]
    ['0', '950', '1.2k', '3.4M', '0.25', '-1.5k']
    """
    a = abs(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{value / div:.3g}{suffix}"
    if a == 0:
        return "0"
    return f"{value:.3g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Return round tick values covering ``[lo, hi]`` (steps of 1, 2, 2.5 or 5 × 10^k).

    Examples
    --------
    >>> nice_ticks(0, 87)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    >>> nice_ticks(-1, 3, n=4)
    [-1.0, 0.0, 1.0, 2.0, 3.0]
    >>> nice_ticks(0, 1.6e308, n=2)  # a round end would pass the largest float
    [0.0, 8e+307, 1.6e+308]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick bounds must be finite")
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= max(1e-9 * max(abs(lo), abs(hi)), 1e-300):  # one value, or too close
        hi = lo + (abs(lo) if abs(lo) > 1e-300 else 1.0)
    n = max(n, 1)
    raw = hi / n - lo / n  # (hi - lo) / n without passing the largest float on the way
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-12))
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = [k * step + 0.0 for k in range(first, last + 1)]
    if not (math.isfinite(ticks[0]) and math.isfinite(ticks[-1])):
        # the round ends pass the largest float (about 1.8e308): even steps from lo to hi
        return [lo + raw * k for k in range(n)] + [hi]
    return ticks


def _open(kind: str, title: str, width: float, height: float, desc: str = "") -> list[str]:
    parts = [
        f'<svg class="chart" data-kind="{kind}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'preserveAspectRatio="xMinYMin meet">',
        f"<title>{_e(title)}</title>",
    ]
    if desc:
        parts.append(f"<desc>{_e(desc)}</desc>")
    return parts


def _text(
    x: float,
    y: float,
    text: str,
    *,
    cls: str = "",
    anchor: str = "start",
    extra: str = "",
) -> str:
    c = f' class="{cls}"' if cls else ""
    a = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return f'<text x="{_n(x)}" y="{_n(y)}"{c}{a}{extra}>{_e(text)}</text>'


def _label_width(labels: Sequence[str], lo: float = 40.0, hi: float = 260.0) -> float:
    longest = max((len(s) for s in labels), default=0)
    return min(max(longest * _CLIP_PX + 16, lo), hi)


def _clip(label: str, px: float) -> str:
    room = max(int(px / _CLIP_PX), 4)
    return label if len(label) <= room else label[: room - 1] + "…"


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Legend swatches laid out in rows; returns the parts and the height used."""
    parts = ['<g class="legend">']
    cx, cy = x, y
    for i, name in enumerate(names):
        w = 18 + len(name) * _CHAR_PX + 16
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{_n(cx)}" y="{_n(cy)}" width="12" height="12" rx="2" fill="{color}"/>'
        )
        parts.append(_text(cx + 16, cy + 10, name))
        cx += w
    parts.append("</g>")
    return parts, cy - y + 18


def hbar(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    x_label: str,
    value_fmt: Fmt = compact,
    missing: str = "n/a",
    width: float = 720.0,
    color: str = PALETTE[0],
    negative_color: str = "#C0392B",
) -> str:
    """Horizontal bars, one per label, lengths proportional to the values (negatives allowed).

    A ``None`` value draws no bar and prints ``missing``. The value axis starts at 0 (or at
    the most negative value) so that lengths compare honestly.

    Examples
    --------
    >>> svg = hbar(["a", "b"], [3.0, 1.5], title="T", x_label="x")
    >>> svg.count('class="bar"'), 'aria-label="T"' in svg
    (2, True)
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo = min([0.0, *finite])
    hi = max([0.0, *finite])
    if hi == lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    left = _label_width(labels)
    right = 70.0
    plot_w = width - left - right
    row_h, top = 26.0, 12.0
    plot_h = row_h * max(len(labels), 1)
    height = top + plot_h + 48

    def x_of(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    parts = _open("hbar", title, width, height)
    parts.append('<g class="grid">')
    for t in ticks:
        x = x_of(t)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(top + plot_h)}"'
            f"{_ZERO if t == 0 else ''}/>"
        )
        parts.append(_text(x, top + plot_h + 16, compact(t), cls="tick", anchor="middle"))
    parts.append("</g>")
    x0 = x_of(0.0)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        parts.append(_text(left - 8, y + row_h / 2 + 4, _clip(label, left - 8), anchor="end"))
        if v is None or not math.isfinite(v):
            parts.append(_text(x0 + 4, y + row_h / 2 + 4, missing, cls="value muted"))
            continue
        xa, xb = sorted((x0, x_of(v)))
        fill = color if v >= 0 else negative_color
        parts.append(
            f'<rect class="bar" x="{_n(xa)}" y="{_n(y + 4)}" width="{_n(xb - xa)}" '
            f'height="{_n(row_h - 8)}" fill="{fill}" data-value="{v!r}">'
            f"<title>{_e(label)}: {_e(value_fmt(v))}</title></rect>"
        )
        tx, anchor = (xb + 4, "start") if v >= 0 else (xa - 4, "end")
        parts.append(_text(tx, y + row_h / 2 + 4, value_fmt(v), cls="value", anchor=anchor))
    parts.append(_text(left + plot_w / 2, height - 8, x_label, cls="axis-label", anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    y_label: str,
    x_label: str = "",
    value_fmt: Fmt = compact,
    width: float = 900.0,
    height: float = 340.0,
) -> str:
    """Vertical bars grouped by category, one colour per series, with a legend.

    Values are printed above the bars where they fit, and are always in each bar's tooltip.

    Examples
    --------
    >>> svg = grouped_bars(["a", "b"], {"m1": [1.0, 2.0], "m2": [2.0, None]},
    ...                    title="T", y_label="y")
    >>> svg.count('class="bar"')
    3
    """
    names = list(series)
    for name, vals in series.items():
        if len(vals) != len(categories):
            raise ValueError(f"series {name!r} has {len(vals)} values for {len(categories)}")
    finite = [v for vals in series.values() for v in vals if v is not None and math.isfinite(v)]
    ticks = nice_ticks(min([0.0, *finite]), max([0.0, *finite]) or 1.0)
    lo, hi = ticks[0], ticks[-1]
    left, right, top = 64.0, 16.0, 12.0
    plot_w = width - left - right
    legend, legend_h = _legend(names, left, 0, plot_w)
    top = legend_h + 10
    bottom = 58.0
    plot_h = height - top - bottom
    n_cat = max(len(categories), 1)
    group_w = plot_w / n_cat
    bar_w = group_w * 0.8 / max(len(names), 1)

    def y_of(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = _open("grouped", title, width, height)
    parts.extend(legend)
    parts.append('<g class="grid">')
    for t in ticks:
        y = y_of(t)
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}"'
            f"{_ZERO if t == 0 else ''}/>"
        )
        parts.append(_text(left - 6, y + 4, compact(t), cls="tick", anchor="end"))
    parts.append("</g>")
    y0 = y_of(0.0)
    for c, cat in enumerate(categories):
        gx = left + c * group_w + group_w * 0.1
        for s, name in enumerate(names):
            v = series[name][c]
            if v is None or not math.isfinite(v):
                continue
            ya, yb = sorted((y0, y_of(v)))
            parts.append(
                f'<rect class="bar" x="{_n(gx + s * bar_w)}" y="{_n(ya)}" '
                f'width="{_n(max(bar_w - 1, 1))}" height="{_n(yb - ya)}" '
                f'fill="{PALETTE[s % len(PALETTE)]}" data-value="{v!r}">'
                f"<title>{_e(cat)}, {_e(name)}: {_e(value_fmt(v))}</title></rect>"
            )
            label = value_fmt(v)
            if len(label) * _CHAR_PX * 0.85 <= bar_w:  # print the value where it fits
                ty = ya - 4 if v >= 0 else yb + 12
                parts.append(_text(gx + (s + 0.5) * bar_w, ty, label, cls="value", anchor="middle"))
        parts.append(
            _text(
                left + (c + 0.5) * group_w,
                top + plot_h + 16,
                _clip(cat, group_w),
                cls="tick",
                anchor="middle",
            )
        )
    parts.append(
        _text(
            14,
            top + plot_h / 2,
            y_label,
            cls="axis-label",
            anchor="middle",
            extra=f' transform="rotate(-90 14 {_n(top + plot_h / 2)})"',
        )
    )
    if x_label:
        parts.append(
            _text(left + plot_w / 2, height - 8, x_label, cls="axis-label", anchor="middle")
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Return the index runs of consecutive non-missing values."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(i)
    if current:
        runs.append(current)
    return runs


def line_chart(
    periods: Sequence[str],
    actual: Sequence[float | None],
    reference: Sequence[float | None] | None = None,
    *,
    title: str,
    y_label: str,
    actual_name: str = "actual",
    reference_name: str = "target",
    x_label: str = "period",
    value_fmt: Fmt = compact,
    width: float = 720.0,
    height: float = 300.0,
) -> str:
    """Draw a solid line of actual values over periods, with an optional dashed reference.

    The reference (a target, or the previous period's value) is drawn only where it is known.

    Examples
    --------
    >>> svg = line_chart(["Jan", "Feb"], [3.0, 4.0], [None, 3.0], title="T", y_label="y")
    >>> svg.count('class="series"'), svg.count('class="ref"'), svg.count('class="point"')
    (1, 0, 2)
    >>> line_chart(["Jan", "Feb", "Mar"], [3.0, 4.0, 5.0], [3.0, 3.0, 4.0],
    ...            title="T", y_label="y").count('class="ref"')
    1
    """
    n = len(periods)
    ref = list(reference) if reference is not None else [None] * n
    if len(actual) != n or len(ref) != n:
        raise ValueError("periods, actual and reference must have the same length")
    finite = [v for v in [*actual, *ref] if v is not None and math.isfinite(v)]
    ticks = nice_ticks(min([0.0, *finite]), max([0.0, *finite]) or 1.0)
    lo, hi = ticks[0], ticks[-1]
    left, right = 64.0, 24.0
    legend_names = [actual_name] + ([reference_name] if any(v is not None for v in ref) else [])
    top = 34.0
    bottom = 52.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    step = plot_w / max(n, 1)

    def x_of(i: int) -> float:
        return left + (i + 0.5) * step

    def y_of(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = _open("line", title, width, height)
    parts.append('<g class="legend">')
    lx = left
    for k, name in enumerate(legend_names):
        dash = ' stroke-dasharray="6 4"' if k else ""
        color = PALETTE[0] if k == 0 else "#555"
        parts.append(
            f'<line x1="{_n(lx)}" y1="10" x2="{_n(lx + 22)}" y2="10" stroke="{color}" '
            f'stroke-width="2.5"{dash}/>'
        )
        parts.append(_text(lx + 28, 14, name))
        lx += 28 + len(name) * _CHAR_PX + 24
    parts.append("</g>")
    parts.append('<g class="grid">')
    for t in ticks:
        y = y_of(t)
        parts.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}"/>')
        parts.append(_text(left - 6, y + 4, compact(t), cls="tick", anchor="end"))
    parts.append("</g>")
    for i, p in enumerate(periods):
        parts.append(_text(x_of(i), top + plot_h + 16, p, cls="tick", anchor="middle"))
    for run in _runs(ref):
        if len(run) < 2:
            continue
        pts = " ".join(f"{_n(x_of(i))},{_n(y_of(ref[i]))}" for i in run)  # type: ignore[arg-type]
        parts.append(
            f'<polyline class="ref" points="{pts}" fill="none" stroke="#555" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
        )
    for i, r in enumerate(ref):
        if r is not None and math.isfinite(r):
            parts.append(
                f'<circle class="ref-point" cx="{_n(x_of(i))}" cy="{_n(y_of(r))}" r="2.5" '
                f'fill="#555"><title>{_e(periods[i])}, {_e(reference_name)}: '
                f"{_e(value_fmt(r))}</title></circle>"
            )
    for run in _runs(actual):
        if len(run) < 2:
            continue
        pts = " ".join(f"{_n(x_of(i))},{_n(y_of(actual[i]))}" for i in run)  # type: ignore[arg-type]
        parts.append(
            f'<polyline class="series" points="{pts}" fill="none" stroke="{PALETTE[0]}" '
            'stroke-width="2.5"/>'
        )
    for i, v in enumerate(actual):
        if v is None or not math.isfinite(v):
            continue
        x, y = x_of(i), y_of(v)
        parts.append(
            f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{PALETTE[0]}" '
            f'data-value="{v!r}"><title>{_e(periods[i])}, {_e(actual_name)}: '
            f"{_e(value_fmt(v))}</title></circle>"
        )
        parts.append(_text(x, y - 9, value_fmt(v), cls="value", anchor="middle"))
    parts.append(
        _text(
            14,
            top + plot_h / 2,
            y_label,
            cls="axis-label",
            anchor="middle",
            extra=f' transform="rotate(-90 14 {_n(top + plot_h / 2)})"',
        )
    )
    parts.append(_text(left + plot_w / 2, height - 8, x_label, cls="axis-label", anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(
    stages: Sequence[str],
    counts: Sequence[float],
    *,
    title: str,
    x_label: str = "contacts",
    width: float = 720.0,
) -> str:
    """Draw a funnel: one centred bar per stage, width proportional to its count.

    Each stage is labelled with its count and, from the second stage on, the ratio to the
    stage above (empty when that stage has no contacts).

    Examples
    --------
    >>> svg = funnel_chart(["lead", "mql"], [100, 25], title="T")
    >>> svg.count('class="stage bar"'), "25.0 % of lead" in svg
    (2, True)
    """
    if len(stages) != len(counts):
        raise ValueError("stages and counts must have the same length")
    top_count = max([0.0, *[float(c) for c in counts]]) or 1.0
    left = _label_width(stages, lo=80)
    right = 150.0
    plot_w = width - left - right
    row_h, top = 34.0, 8.0
    height = top + row_h * max(len(stages), 1) + 30
    cx = left + plot_w / 2
    parts = _open("funnel", title, width, height)
    for i, (stage, count) in enumerate(zip(stages, counts, strict=True)):
        y = top + i * row_h
        w = float(count) / top_count * plot_w
        parts.append(_text(left - 8, y + row_h / 2 + 4, _clip(stage, left - 8), anchor="end"))
        parts.append(
            f'<rect class="stage bar" x="{_n(cx - w / 2)}" y="{_n(y + 3)}" width="{_n(w)}" '
            f'height="{_n(row_h - 6)}" rx="3" fill="{PALETTE[i % len(PALETTE)]}" '
            f'data-value="{float(count)!r}"><title>{_e(stage)}: {_e(f"{count:,.0f}")}'
            "</title></rect>"
        )
        note = f"{count:,.0f}"
        if i > 0:
            above = float(counts[i - 1])
            if above > 0:
                note += f" ({100 * float(count) / above:.1f} % of {stages[i - 1]})"
        parts.append(_text(left + plot_w + 8, y + row_h / 2 + 4, note, cls="value"))
    parts.append(_text(cx, height - 8, x_label, cls="axis-label", anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def status_grid(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Mapping[tuple[str, str], tuple[str, bool | None]],
    *,
    title: str,
    x_label: str = "period",
    width: float = 900.0,
) -> str:
    """Draw a grid of status cells (rows × columns), green when attained, red when missed.

    ``cells[(row, column)]`` is ``(text, attained)``; ``attained=None`` is drawn grey and
    absent cells are left empty.

    Examples
    --------
    >>> svg = status_grid(["m"], ["Jan", "Feb"], {("m", "Jan"): ("12", True),
    ...                                          ("m", "Feb"): ("8", False)}, title="T")
    >>> svg.count('class="cell attained"'), svg.count('class="cell missed"')
    (1, 1)
    """
    left = _label_width(rows, lo=120, hi=340)
    cell_w = min(max((width - left - 10) / max(len(columns), 1), 70.0), 140.0)
    width = left + cell_w * len(columns) + 10
    row_h, top = 30.0, 24.0
    height = top + row_h * max(len(rows), 1) + 30
    parts = _open("grid", title, width, height)
    for j, col in enumerate(columns):
        parts.append(_text(left + (j + 0.5) * cell_w, 16, col, cls="tick", anchor="middle"))
    fills = {True: ("attained", "#1E8449"), False: ("missed", "#C0392B"), None: ("na", "#999")}
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(_text(left - 8, y + row_h / 2 + 4, _clip(row, left - 8), anchor="end"))
        for j, col in enumerate(columns):
            if (row, col) not in cells:
                continue
            text, ok = cells[(row, col)]
            cls, fill = fills[ok]
            word = {True: "attained", False: "missed", None: "no target"}[ok]
            x = left + j * cell_w
            parts.append(
                f'<rect class="cell {cls}" x="{_n(x + 2)}" y="{_n(y + 2)}" '
                f'width="{_n(cell_w - 4)}" height="{_n(row_h - 4)}" rx="3" fill="{fill}">'
                f"<title>{_e(row)}, {_e(col)}: {_e(text)} ({word})</title></rect>"
            )
            parts.append(
                _text(x + cell_w / 2, y + row_h / 2 + 4, text, cls="cell-text", anchor="middle")
            )
    parts.append(
        _text(
            left + cell_w * len(columns) / 2, height - 8, x_label, cls="axis-label", anchor="middle"
        )
    )
    parts.append("</svg>")
    return "".join(parts)
