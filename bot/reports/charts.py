"""Chart geometry for the report's inline SVG (drawn by templates/zh-CN/reports/
charts.svg.j2): numbers in, rectangles and points out. No JavaScript, no fonts or
files from elsewhere: the page renders offline, and prints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bot.reports.kpi import Week


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: float
    text: str  # the value as shown


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float


@dataclass(frozen=True)
class Tick:
    pos: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)  # value axis
    labels: list[Tick] = field(default_factory=list)  # category axis
    left: float = 0
    top: float = 0
    bottom: float = 0

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def horizontal_bars(
    items: list[tuple[str, float, str]], width: int = 640, row: int = 26, left: int = 190
) -> Chart:
    """One bar per item (label, value, shown text), longest scale at the widest."""
    top = 8
    chart = Chart(width, top + row * max(len(items), 1) + 8, left=left, top=top)
    span = width - left - 70
    scale = nice_max(max((v for _, v, _ in items), default=0))
    for i, (label, value, text) in enumerate(items):
        w = span * value / scale if scale else 0
        chart.bars.append(Bar(left, top + i * row + 4, round(w, 1), row - 8, label, value, text))
    return chart


def percent_bars(items: list[tuple[str, float | None]], width: int = 640) -> Chart:
    """Rates on a 0–100 % scale (None: nothing to count, no bar)."""
    chart = horizontal_bars(
        [(label, (v or 0.0) * 100, "—" if v is None else f"{v * 100:.1f}%") for label, v in items],
        width=width,
        left=120,
    )
    span = width - chart.left - 70
    chart.bars = [
        Bar(b.x, b.y, round(span * b.value / 100, 1), b.h, b.label, b.value, b.text)
        for b in chart.bars
    ]
    return chart


def trend(weeks: list[Week], width: int = 720, height: int = 260) -> Chart:
    """Requests filed per week as bars, resolved per week as a line of points."""
    left, top, bottom, right = 44, 12, 40, 12
    chart = Chart(width, height, left=left, top=top, bottom=height - bottom)
    if not weeks:
        return chart
    plot_h = height - top - bottom
    scale = nice_max(max(max(w.filed, w.resolved) for w in weeks))
    slot = (width - left - right) / len(weeks)
    every = max(1, math.ceil(len(weeks) / 12))  # at most about 12 date labels
    for i in range(5):
        value = scale * i / 4
        y = top + plot_h * (1 - i / 4)
        chart.ticks.append(Tick(round(y, 1), f"{value:g}"))
    for i, w in enumerate(weeks):
        x = left + i * slot
        h = plot_h * w.filed / scale
        label = f"{w.monday:%m-%d}"
        chart.bars.append(
            Bar(
                round(x + slot * 0.15, 1),
                round(top + plot_h - h, 1),
                round(slot * 0.7, 1),
                round(h, 1),
                label,
                w.filed,
                str(w.filed),
            )
        )
        py = top + plot_h * (1 - w.resolved / scale)
        chart.points.append(Point(round(x + slot / 2, 1), round(py, 1), label, w.resolved))
        if i % every == 0:
            chart.labels.append(Tick(round(x + slot / 2, 1), label))
    return chart
