"""report.json and a self-contained report.html: tables, error-vs-horizon SVG plots, videos side
by side."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from worldsim.data.manifest import atomic_write

COLOURS = [
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
]


FOCUS = ("model", "copy_last")  # the rows a plot's axis spans: the comparison the report makes
TICKS = 5  # about this many labelled values on a plot's y axis (and at most 2x on its x axis)


def nice_ticks(lo: float, hi: float, count: int = TICKS) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) inside [lo, hi], at most
    `count` + 1 of them: axis labels a reader can use, where the span's ends (23.47) are not."""
    span = hi - lo
    if span <= 0:
        return [lo]
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if span / (m * magnitude) <= count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]
    return [round(t, 12) + 0.0 for t in ticks]  # + 0.0: no "-0" label


def numbered_steps(n: int) -> list[int]:
    """The indices of the x axis's numbered steps: every step while at most 2 x TICKS fit, else
    every k-th counted back from the last, which is always numbered (12 steps: 2, 4, ..., 12)."""
    every = math.ceil(n / (2 * TICKS))
    return list(range(n - 1, -1, -every))[::-1]


def axis_range(curves: dict[str, list[float | None]]) -> tuple[float, float]:
    """The y axis's span: the FOCUS rows' values (every row's when none is there), 10% wider."""
    values = [v for c in curves.values() for v in c if v is not None]
    focus = [v for name in FOCUS for v in curves.get(name, []) if v is not None] or values
    lo, hi = min(focus), max(focus)
    margin = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - margin, hi + margin


def legend_label(name: str, curves: dict[str, list[float | None]], lo: float, hi: float) -> str:
    """A row's legend text, saying where its line cannot be seen: "clipped" when it runs off
    the axis, "under model" when it is the model's line point for point (noise's 0 iou)."""
    curve = curves[name]
    notes = ["clipped"] if any(v is not None and not lo <= v <= hi for v in curve) else []
    if name != "model" and curve == curves.get("model"):
        notes.append("under model")
    return name + (f" ({', '.join(notes)})" if notes else "")


def svg_plot(
    curves: dict[str, list[float | None]], title: str, width: int = 420, height: int = 240
) -> str:
    """Line plot of per-horizon curves (one line per row) as an inline SVG string. The axis
    spans the model's and copy-last's curves (FOCUS, when present): a calibration row far off
    (ground truth at the PSNR cap, noise's first step) would flatten them, so it is drawn clipped
    at the frame's edge and its legend says "clipped" (the table holds its numbers)."""
    pad_l, pad_r, pad_t, pad_b = 48, 140, 22, 28
    if all(v is None for c in curves.values() for v in c):
        return f"<p>{html.escape(title)}: no data</p>"
    lo, hi = axis_range(curves)
    n = max(len(c) for c in curves.values())

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="plot">',
        f'<rect width="{width}" height="{height}" fill="white" stroke="#ccc"/>',
        f'<text x="{pad_l}" y="15" font-size="12">{html.escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" '
        'stroke="black"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{height - pad_b}" stroke="black"/>',
        f'<text x="{(pad_l + width - pad_r) / 2}" y="{height - 4}" font-size="10" '
        'text-anchor="middle">horizon step</text>',
    ]
    for v in nice_ticks(lo, hi):  # light grid lines at round values, labelled on the left
        parts += [
            f'<line x1="{pad_l}" y1="{y(v):.1f}" x2="{width - pad_r}" y2="{y(v):.1f}" '
            'stroke="#eee"/>',
            f'<text x="{pad_l - 4}" y="{y(v) + 3:.1f}" font-size="10" '
            f'text-anchor="end">{v:g}</text>',
        ]
    parts += [
        f'<text x="{x(i):.1f}" y="{height - pad_b + 11}" font-size="9" '
        f'text-anchor="middle">{i + 1}</text>'
        for i in numbered_steps(n)
    ]
    strokes, legend = [], []
    for k, (name, curve) in enumerate(curves.items()):
        colour = COLOURS[k % len(COLOURS)]
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(curve) if v is not None)
        line = f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
        strokes.append((name == "model", line))
        ly = pad_t + 12 * k
        legend.append(
            f'<line x1="{width - pad_r + 6}" y1="{ly}" x2="{width - pad_r + 20}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        label = html.escape(legend_label(name, curves, lo, hi))
        legend.append(f'<text x="{width - pad_r + 23}" y="{ly + 4}" font-size="10">{label}</text>')
    # the model's line last, on top: a baseline equal to it (noise's 0 iou) hid it
    parts += [line for _, line in sorted(strokes, key=lambda s: s[0])] + legend
    parts.append("</svg>")
    return "".join(parts)


def format_value(v: Any) -> str:
    """A metric as text: 4 significant digits, n/a where undefined (None or NaN)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def ranking_label(res: dict[str, Any]) -> str:
    """OK, VIOLATED, or n/a when a baseline's primary metric is undefined (or a baseline absent)."""
    ok = res.get("ranking_ok")
    return "n/a" if ok is None else "OK" if ok else "VIOLATED"


def versus_copy_last(suites: dict[str, Any], row: str = "model") -> str:
    """One sentence: the suites on which `row`'s primary metric beats copy_last's, and those on
    which it does not ('' when the report has no such row, e.g. a baseline's own eval)."""
    won, lost, undefined = [], [], []
    for name, res in suites.items():
        rows = res["rows"]
        if row not in rows or "copy_last" not in rows:
            return ""
        ours, theirs = (rows[r]["metrics"].get(res["primary"]) for r in (row, "copy_last"))
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (ours, theirs)):
            undefined.append(name)
        elif (ours > theirs) if res["higher_is_better"] else (ours < theirs):
            won.append(name)
        else:
            lost.append(name)
    said = f"{row} beats copy_last on {len(won)} of {len(suites)} suites"
    said += f" ({', '.join(won)})" if won else ""
    said += f"; not on {', '.join(lost)}" if lost else ""
    return said + (f"; n/a on {', '.join(undefined)}" if undefined else "")


def defined(value: Any) -> Any:
    """`value` with every NaN or infinite float, at any depth, made None (JSON null: n/a)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: defined(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [defined(v) for v in value]
    return value


def _fmt(v: Any) -> str:
    return html.escape(format_value(v))


def frame_size(scenario: dict[str, Any]) -> str:
    """A report's frame size ("64x64 px"): counts read off frames (the permanence suite's
    reappearances, say) differ between two reports of the same episodes at two sizes."""
    return f"{scenario['env']['width']}x{scenario['env']['height']} px"


def _summary(report: dict[str, Any]) -> list[str]:
    """Heading, scenario line and the table of each suite's primary metric per row."""
    scenario = report["scenario"]
    body = [
        f"<h1>worldsim eval: {html.escape(report['model'])}</h1>",
        f"<p>env <code>{html.escape(scenario['env']['id'])}</code> at {frame_size(scenario)}, "
        f"{scenario['cases']} held-out cases (seeds from {scenario['seed']}), "
        f"context {scenario['context']}, horizon {scenario['horizon']}; episodes sha256 "
        f"<code>{scenario['episodes_sha256'][:12]}</code>.</p>",
        "<h2>Summary (primary metric per suite)</h2><table><tr><th>row</th>"
        + "".join(
            f"<th>{html.escape(s)}<br><small>{html.escape(r['primary'])} "
            f"{'&uarr;' if r['higher_is_better'] else '&darr;'}</small></th>"
            for s, r in report["suites"].items()
        )
        + "</tr>",
    ]
    rows = list(next(iter(report["suites"].values()))["rows"]) if report["suites"] else []
    for row in rows:
        cells = "".join(
            f"<td>{_fmt(r['rows'][row]['metrics'].get(r['primary']))}</td>"
            for r in report["suites"].values()
        )
        body.append(f"<tr><td><b>{html.escape(row)}</b></td>{cells}</tr>")
    body.append(
        "</table><p>Baseline ranking noise &lt; copy_last &le; ground_truth: "
        + ", ".join(f"{html.escape(s)} {ranking_label(r)}" for s, r in report["suites"].items())
        + "</p>"
    )
    body.append(
        "<p>Each plot's y-axis spans the model's and copy_last's curves; a row marked (clipped) "
        "runs off it, drawn along the edge (its numbers are in the tables).</p>"
    )
    verdict = versus_copy_last(report["suites"])
    if verdict:
        body.append(f"<p><b>{html.escape(verdict)}.</b></p>")
    return body


def _suite_section(suite: str, res: dict[str, Any]) -> list[str]:
    """One suite: its table of every metric per row, notes, and a plot per curve."""
    metrics = list(next(iter(res["rows"].values()))["metrics"])
    body = [
        f"<h2>{html.escape(suite)}</h2><table><tr><th>row</th>"
        + "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
        + "</tr>"
    ]
    for row, r in res["rows"].items():
        body.append(
            f"<tr><td>{html.escape(row)}</td>"
            + "".join(f"<td>{_fmt(r['metrics'][m])}</td>" for m in metrics)
            + "</tr>"
        )
    body.append("</table>")
    body.extend(f"<p><i>{html.escape(n)}</i></p>" for n in res.get("notes", []))
    curve_names = list(next(iter(res["rows"].values()))["curves"])
    body.extend(
        svg_plot(
            {row: r["curves"][c] for row, r in res["rows"].items()}, f"{suite}: {c} vs horizon"
        )
        for c in curve_names
    )
    return body


STYLE = (
    "body{font-family:sans-serif;margin:20px}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #bbb;padding:2px 6px;font-size:12px}.video{image-rendering:pixelated;"
    "width:min(100%,960px)}.plot{margin:4px}figure{margin:6px 0}"
)


def write_report(report: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write `report` (see worldsim.jobs.eval) as out/report.json and out/report.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = defined(report)
    # insertion order (the model first, suites as run) so that readers of report.json show the
    # rows and suites in report.html's order
    with atomic_write(out / "report.json") as tmp:  # a killed run keeps the previous report
        tmp.write_text(json.dumps(report, indent=1, allow_nan=False))
    body = _summary(report)
    if report.get("videos"):
        body.append("<h2>Videos</h2><p>" + html.escape(report["videos_legend"]) + "</p>")
        body.extend(
            f'<figure><img src="{html.escape(v)}" class="video"><figcaption>{html.escape(v)}'
            f"</figcaption></figure>"
            for v in report["videos"]
        )
    for suite, res in report["suites"].items():
        body.extend(_suite_section(suite, res))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>worldsim eval</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    with atomic_write(out / "report.html") as tmp:
        tmp.write_text(page)
    return out / "report.json", out / "report.html"
