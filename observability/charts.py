"""Small charts drawn by the server as inline SVG: no JavaScript, no CDN, readable as is.

Pure functions from series to markup. Every piece of text is escaped here, so the
result is safe to mark as such in a template.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, PLOT_HEIGHT = 640, 150
LEFT, RIGHT, TOP, AXIS = 44, 12, 10, 22
LEGEND_ROW = 16
PALETTE = ("#2f6fb0", "#d9822b", "#3a9b5c", "#c23b3b", "#7b5ea7", "#8c6d46", "#d16aa8", "#6b7a86")
# One colour per audit action everywhere, so the same action always looks the same.
ACTION_COLOURS = {
    "created": "#2f6fb0",
    "updated": "#6b7a86",
    "promoted": "#3a9b5c",
    "rejected": "#d9822b",
    "invalidated": "#c23b3b",
    "superseded": "#7b5ea7",
    "reinforced": "#1f9aa6",
    "deleted": "#222222",
}


def _nice_max(value: float) -> int:
    """The smallest whole 1, 2, 2.5 or 5 x 10^n at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            bound = step * factor
            if bound >= value and bound == int(bound):  # 2.5 only from 25 up
                return max(1, int(bound))
        step *= 10


def _frame(
    chart_id: str, title: str, labels: list[str], top: int, body: list[str], legend: tuple[list[str], int]
) -> str:
    legend_items, legend_rows = legend
    height = TOP + PLOT_HEIGHT + AXIS + LEGEND_ROW * legend_rows + 6
    x0, y0, x1 = LEFT, TOP + PLOT_HEIGHT, WIDTH - RIGHT
    grid = []
    for fraction in (0, 0.5, 1):
        y = y0 - fraction * PLOT_HEIGHT
        grid.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" class="grid"/>')
        value = top * fraction
        label = f"{value:g}" if value == int(value) else f"{value:.1f}"
        grid.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    if labels:
        grid.append(f'<text x="{x0}" y="{y0 + 16}" text-anchor="start">{escape(labels[0])}</text>')
        if len(labels) > 1:
            grid.append(f'<text x="{x1}" y="{y0 + 16}" text-anchor="end">{escape(labels[-1])}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="atocore-chart" role="img" '
        f'aria-labelledby="{chart_id}-title" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet"><title id="{chart_id}-title">{escape(title)}</title>'
        + "".join(grid)
        + "".join(body)
        + "".join(legend_items)
        + "</svg>"
    )


def _legend(entries: list[tuple[str, str]], columns: int) -> tuple[list[str], int]:
    """Swatches and names under the plot, ``columns`` a row; and how many rows that makes."""
    items = []
    column_width = (WIDTH - LEFT) // columns
    for index, (name, colour) in enumerate(entries):
        row = index // columns
        x = LEFT + (index % columns) * column_width
        y = TOP + PLOT_HEIGHT + AXIS + row * LEGEND_ROW + 8
        items.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}">{escape(name)}</text>'
        )
    return items, -(-len(entries) // columns)


def _empty(chart_id: str, title: str, labels: list[str], message: str) -> SafeString:
    note = (
        f'<text x="{(LEFT + WIDTH - RIGHT) // 2}" y="{TOP + PLOT_HEIGHT // 2}" '
        f'text-anchor="middle" class="empty">{escape(message)}</text>'
    )
    return mark_safe(_frame(chart_id, title, labels, 1, [note], ([], 0)))  # noqa: S308 (all text escaped)


def line_chart(
    chart_id: str, title: str, labels: list[str], series: dict[str, list[int | None]], *, empty: str
) -> SafeString:
    """One line per series over ``labels``; a missing value (None) breaks the line."""
    values = [v for points in series.values() for v in points if v is not None]
    if not labels or not values:
        return _empty(chart_id, title, labels, empty)
    top = _nice_max(max(values))
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels) - 1)
    body, legend = [], []
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        legend.append((f"{name} ({points[-1] if points[-1] is not None else '-'})", colour))
        segment: list[str] = []
        for i, value in enumerate(points + [None]):
            if value is None:
                if len(segment) > 1:
                    body.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}"/>')
                segment = []
                continue
            x, y = LEFT + i * step, TOP + PLOT_HEIGHT - value / top * PLOT_HEIGHT
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)}: {value} ({escape(labels[i])})</title></circle>"
            )
    return mark_safe(_frame(chart_id, title, labels, top, body, _legend(legend, 2)))  # noqa: S308


def stacked_bar_chart(
    chart_id: str, title: str, labels: list[str], series: dict[str, list[int]], *, empty: str
) -> SafeString:
    """One bar per label, stacked by series."""
    totals = [sum(points[i] for points in series.values()) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(chart_id, title, labels, empty)
    top = _nice_max(max(totals))
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    width = max(1.0, slot * 0.75)
    body = []
    colours = {name: ACTION_COLOURS.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)}
    for i, label in enumerate(labels):
        base = TOP + PLOT_HEIGHT
        for name, points in series.items():
            if not points[i]:
                continue
            height = points[i] / top * PLOT_HEIGHT
            base -= height
            body.append(
                f'<rect x="{LEFT + i * slot + (slot - width) / 2:.1f}" y="{base:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}" fill="{colours[name]}"><title>{escape(label)} {escape(name)}: '
                f"{points[i]}</title></rect>"
            )
    legend = [(f"{name} ({sum(points)})", colours[name]) for name, points in series.items()]
    return mark_safe(_frame(chart_id, title, labels, top, body, _legend(legend, 4)))  # noqa: S308


def dashboard_charts(trends: dict) -> dict[str, SafeString]:
    """The dashboard's two trend charts from ``dashboard_data()["trends"]``."""
    findings, mutations = trends["findings_per_check"], trends["mutations_per_day"]
    return {
        "findings": line_chart(
            "findings-trend",
            "Findings per check, last scans",
            [(run["at"] or "")[:10] for run in findings["runs"]],
            findings["series"],
            empty="no scans yet",
        ),
        "mutations": stacked_bar_chart(
            "mutations-trend",
            "Mutations per day by action",
            mutations["days"],
            mutations["series"],
            empty="no mutations in these days",
        ),
    }
