"""The geometry of the reports' charts (SPEC §10: drawn by the server, no chart library in the browser): bars and
a line in a fixed viewBox, with the coordinates computed here and the SVG markup in
app/templates/admin/_chart.html. Each chart has a title and sits beside the table that holds its numbers."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640.0
HEIGHT = 200.0
LEFT = 40.0  # room for the scale's labels
BOTTOM = 24.0  # room for the first and last category
TOP = 10.0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the category (a day, a score)
    value: str  # the shown value


@dataclass(frozen=True, slots=True)
class Chart:
    name: str  # an id: conversations, frt, ratings
    title: str
    kind: str  # bar | line
    bars: list[Bar]
    points: str  # the line's polyline points ("" for bars)
    top_label: str  # the value at the top of the scale
    first_label: str
    last_label: str
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def baseline(self) -> float:
        return self.height - BOTTOM

    @property
    def left(self) -> float:
        return LEFT


def _scale_top(values: list[float]) -> float:
    """A round number at or above the largest value (1, 2, 5 times a power of ten), so the scale reads well."""
    biggest = max(values, default=0.0)
    if biggest <= 0:
        return 1.0
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if factor * step >= biggest:
                return factor * step
        step *= 10


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def chart(name: str, title: str, kind: str, labels: list[str], values: list[float | None]) -> Chart:
    """Bars (`kind` "bar") or a line through the known values ("line"; None: no point that day)."""
    known = [value for value in values if value is not None]
    top = _scale_top(known)
    plot_width = WIDTH - LEFT
    plot_height = HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(labels), 1)
    bars: list[Bar] = []
    points: list[str] = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        amount = value or 0.0
        height = round(plot_height * amount / top, 2)
        x = round(LEFT + index * slot, 2)
        y = round(HEIGHT - BOTTOM - height, 2)
        bars.append(Bar(x + round(slot * 0.1, 2), y, round(slot * 0.8, 2), height, label, _number(amount)))
        if value is not None:
            points.append(f"{round(x + slot / 2, 2)},{y}")
    return Chart(
        name,
        title,
        kind,
        bars,
        " ".join(points) if kind == "line" else "",
        _number(top),
        labels[0] if labels else "",
        labels[-1] if labels else "",
    )
