"""Bar charts as inline SVG, drawn on the server (the console runs no scripts).

Pure functions of their data; every label is escaped.  Colours are SVG attributes, so the
page's CSP (``script-src 'self'``) needs nothing extra.
"""
from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#1f6feb", "#b3261e", "#2da44e", "#d4a72c", "#8250df", "#e16f24", "#57606a", "#0a7a87")
# Series named ".../failure" take warm colours, the others cool ones, so outcomes read at a glance.
COOL = ("#1f6feb", "#2da44e", "#0a7a87", "#8250df", "#57606a")
WARM = ("#b3261e", "#e16f24", "#d4a72c", "#bf3989", "#7d4e00")
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 720, 220, 40, 10, 30


def _frame(title: str, body: list[str], legend: list[tuple[str, str]]) -> Markup:
    rows = (len(legend) + 2) // 3
    total = HEIGHT + rows * 18 + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {WIDTH} {total}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", *body]
    for i, (label, colour) in enumerate(legend):
        x, y = LEFT + (i % 3) * 220, HEIGHT + 8 + (i // 3) * 18
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(top_value: float, unit: str, labels: list[str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
           f'<text x="{LEFT - 4}" y="{TOP + 10}" font-size="11" text-anchor="end">'
           f'{escape(_fmt(top_value))}{escape(unit)}</text>',
           f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" font-size="11" text-anchor="end">0</text>']
    step = (WIDTH - LEFT) / max(len(labels), 1)
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * i + step / 2
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                       f'text-anchor="middle">{escape(label)}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>')
    return out


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def stacked_bars(title: str, labels: list[str], series: dict[str, list[int]]) -> Markup:
    """One bar per label, stacked by series (e.g. ``"person/success"``)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals or [0]) or 1
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / max(len(labels), 1)
    body = _axes(top, "", labels)
    legend = []
    base = [0.0] * len(labels)
    used = {"cool": 0, "warm": 0}
    for name, values in sorted(series.items()):
        family = "warm" if name.endswith("/failure") else "cool"
        colours = WARM if family == "warm" else COOL
        colour = colours[used[family] % len(colours)]
        used[family] += 1
        legend.append((name, colour))
        for i, value in enumerate(values):
            if not value:
                continue
            h = plot_h * value / top
            y = HEIGHT - BOTTOM - base[i] - h
            body.append(f'<rect x="{LEFT + step * i + 2:.1f}" y="{y:.1f}" width="{max(step - 4, 1):.1f}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{escape(labels[i])} '
                        f'{escape(name)}: {value}</title></rect>')
            base[i] += h
    return _frame(title, body, legend)


def rate_bars(title: str, labels: list[str], rates: list[float | None], totals: list[int],
              legend: str = "pass rate") -> Markup:
    """Percentages (0-1) per label; a label without data gets no bar."""
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / max(len(labels), 1)
    body = _axes(100, "%", labels)
    for i, rate in enumerate(rates):
        if rate is None:
            continue
        h = plot_h * rate
        body.append(f'<rect x="{LEFT + step * i + 2:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" '
                    f'width="{max(step - 4, 1):.1f}" height="{h:.1f}" fill="{PALETTE[2]}">'
                    f'<title>{escape(labels[i])}: {rate * 100:.1f}% of {totals[i]}</title></rect>')
    return _frame(title, body, [(legend, PALETTE[2])])
