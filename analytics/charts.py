"""Server-side SVG charts for the admin dashboard: no JavaScript, no CDN, readable without colour.

Each function returns a complete ``<svg>`` element as safe markup; every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe–Ito), also distinguished by dash patterns in line charts.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
DASHES = ["", "6 3", "2 2", "8 3 2 3", "", "6 3", "2 2", "8 3 2 3"]
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def nice_max(value: float) -> float:
    """The smallest 1/2/5 × 10^k at or above ``value`` (axis top)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def y_ticks(ymax: float) -> list[float]:
    """Gridline values from 0 to ``ymax`` in round steps (10 → 0, 2, 4 … 10; 20 → 0, 5 … 20)."""
    lead = int(f"{ymax:e}"[0])
    parts = 4 if lead == 2 else 5
    return [ymax * k / parts for k in range(parts + 1)]


def _fmt(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.2f}"


def _frame(width: int, height: int, title: str, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="chart" {FONT} font-size="11">'
        f"<title>{escape(title)}</title>"
        f'<text x="8" y="16" font-size="13" font-weight="600" fill="#222">{escape(title)}</text>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every label above was escaped


def _empty(width: int, height: int, title: str) -> SafeString:
    return _frame(width, height, title, [
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#777">No data in this range</text>'
    ])  # fmt: skip


def line_chart(
    title: str, days: Sequence[date], series: dict[str, Sequence[float]], *, width: int = 640, height: int = 240
) -> SafeString:
    """One line per series over ``days`` (values aligned with days), y axis from 0, legend on top."""
    values = [v for vs in series.values() for v in vs]
    if not days or not values or max(values) == 0:
        return _empty(width, height, title)
    left, right, top, bottom = 48, 12, 44, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = nice_max(max(values))
    n = len(days)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    body = []
    for v in y_ticks(ymax):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{_fmt(v)}</text>')
    step = max(1, n // 6)
    ticks = sorted({0, n - 1, *(i for i in range(0, n, step) if n - 1 - i >= step / 2 + 1)})
    for i in ticks:
        anchor = "end" if i == n - 1 and n > 1 else ("start" if i == 0 and n > 1 else "middle")
        body.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}" fill="#555">{days[i]:%b %d}</text>')
    legend_x = left
    for idx, (label, vs) in enumerate(series.items()):
        color, dash = PALETTE[idx % len(PALETTE)], DASHES[idx % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}>'
                    f"<title>{escape(label)}</title></polyline>")  # fmt: skip
        for i, v in enumerate(vs):
            if n <= 62:
                body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}">'
                            f"<title>{escape(label)} {days[i]}: {_fmt(v)}</title></circle>")  # fmt: skip
        body.append(f'<line x1="{legend_x}" x2="{legend_x + 16}" y1="30" y2="30" stroke="{color}" '
                    f'stroke-width="3"{dash_attr}/>')  # fmt: skip
        body.append(f'<text x="{legend_x + 20}" y="34" fill="#222">{escape(label)} ({_fmt(sum(vs))})</text>')
        legend_x += 28 + 7 * (len(label) + len(_fmt(sum(vs))) + 3)
    return _frame(width, height, title, body)


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, width: int = 640, unit: str = "") -> SafeString:
    """Horizontal bars, largest first as given; the value is printed at the end of each bar."""
    if not bars or max(v for _, v in bars) <= 0:
        return _empty(width, 120, title)
    row, top, label_w = 22, 30, 200
    height = top + row * len(bars) + 10
    vmax = max(v for _, v in bars)
    plot_w = width - label_w - 70
    body = []
    for i, (label, v) in enumerate(bars):
        yy = top + i * row
        w = plot_w * v / vmax if vmax else 0
        short = label if len(label) <= 32 else label[:31] + "…"
        body.append(f'<text x="{label_w - 6}" y="{yy + 14}" text-anchor="end" fill="#222">{escape(short)}</text>')
        body.append(f'<rect x="{label_w}" y="{yy + 3}" width="{w:.1f}" height="{row - 7}" fill="{PALETTE[0]}">'
                    f"<title>{escape(label)}: {_fmt(v)}{escape(unit)}</title></rect>")  # fmt: skip
        body.append(f'<text x="{label_w + w + 4:.1f}" y="{yy + 14}" fill="#222">{_fmt(v)}{escape(unit)}</text>')
    return _frame(width, height, title, body)


def grouped_bar_chart(
    title: str, groups: Sequence[str], series: dict[str, Sequence[float]], *, width: int = 640, height: int = 260
) -> SafeString:
    """Vertical bars: one group per ``groups`` entry, one bar per series inside it (e.g. model × channel)."""
    values = [v for vs in series.values() for v in vs]
    if not groups or not values or max(values) <= 0:
        return _empty(width, height, title)
    left, right, top, bottom = 56, 12, 44, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = nice_max(max(values))
    group_w = plot_w / len(groups)
    bar_w = max(2.0, (group_w - 10) / max(1, len(series)))
    body = []
    for v in y_ticks(ymax):
        yy = top + plot_h - plot_h * v / ymax
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">{_fmt(v)}</text>')
    for g, group in enumerate(groups):
        gx = left + g * group_w + 5
        body.append(f'<text x="{gx + (group_w - 10) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                    f'fill="#555">{escape(group)}</text>')  # fmt: skip
        for s, (label, vs) in enumerate(series.items()):
            v = vs[g]
            h = plot_h * v / ymax
            body.append(f'<rect x="{gx + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                        f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                        f"<title>{escape(group)} / {escape(label)}: {_fmt(v)}</title></rect>")  # fmt: skip
    legend_x = left
    for s, label in enumerate(series):
        body.append(f'<rect x="{legend_x}" y="24" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        body.append(f'<text x="{legend_x + 14}" y="33" fill="#222">{escape(label)}</text>')
        legend_x += 24 + 7 * len(label)
    return _frame(width, height, title, body)
