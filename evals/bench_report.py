"""Bench outputs: a row's results.json and report.html, its leaderboard row, and the leaderboard
of many rows (markdown) for benchmarks/leaderboard.md and the README."""

from __future__ import annotations

import html
import json
from pathlib import Path

from evals.bench_score import METRICS, primary
from evals.bench_spec import BENCH_SUITES
from evals.report import STYLE, defined, format_value

# (table of results.json, metric): each suite's primary, then the normalised physics primaries
LEADERBOARD_COLUMNS = [("summary", primary(s)) for s in BENCH_SUITES] + [
    ("normalised", primary("permanence")),
    ("normalised", primary("physics")),
]
ROW_ORDER = ("ground_truth", "ceiling")  # then models, then the weak baselines below
LAST_ROWS = ("copy_last", "linear", "noise")
README_START = "<!-- bench-leaderboard:start (written by `worldsim bench leaderboard`) -->"
README_END = "<!-- bench-leaderboard:end -->"


def cell(stat: dict | None) -> str:
    """'mean [lo, hi]' with 4 significant digits; n/a where undefined."""
    if not stat or stat.get("mean") is None:
        return "n/a"
    interval = "" if stat["lo"] is None else f" [{stat['lo']:.4g}, {stat['hi']:.4g}]"
    return f"{stat['mean']:.4g}{interval}"


def _arrow(metric: str) -> str:
    return "↑" if METRICS[metric] else "↓"


def header(columns: list[tuple[str, str]]) -> list[str]:
    """Markdown header lines of a leaderboard table."""
    names = " | ".join(
        f"{m} {_arrow(m)}" if table == "summary" else f"{m} / ceiling ↑" for table, m in columns
    )
    return [f"| row | {names} |", "|---" * (len(columns) + 1) + "|"]


def leaderboard_row(result: dict, columns: list[tuple[str, str]] = LEADERBOARD_COLUMNS) -> str:
    """One markdown table row: the row's name and each column's mean [95% interval]."""
    cells = " | ".join(cell(result.get(table, {}).get(m)) for table, m in columns)
    return f"| {result['model']} | {cells} |"


def _sort_key(result: dict) -> tuple[int, str]:
    name = result["model"].removeprefix("baseline:")
    if name in ROW_ORDER:
        return ROW_ORDER.index(name), name
    if name in LAST_ROWS:
        return 10 + LAST_ROWS.index(name), name
    return 5, name


def leaderboard(results: list[dict]) -> str:
    """The markdown leaderboard of rows scored on one spec version and split."""
    first = results[0]
    mixed = {(r["bench"], r["version"], r["split"]) for r in results}
    if len(mixed) > 1:
        raise ValueError(f"results mix specs/splits {sorted(mixed)}; give one spec and split")
    dates = sorted(r["date"] for r in results)
    ordered = sorted(results, key=_sort_key)
    lines = [
        f"Spec **{first['bench']}** (version {first['version']}), split **{first['split']}** "
        f"({first['cases']} cases), scored {dates[0]}"
        + (f" to {dates[-1]}" if dates[-1] != dates[0] else "")
        + f". Each cell: mean over cases [{first['interval']}]; n/a: undefined.",
        "",
        *header(LEADERBOARD_COLUMNS),
        *(leaderboard_row(r) for r in ordered),
        *voe_table(ordered),
    ]
    notes = [f"- {r['model']}: {n}" for r in ordered for n in r["notes"]]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def voe_table(results: list[dict]) -> list[str]:
    """Markdown lines of the rows' VoE accuracy per kind of violation, each kind's pair count in
    its header ([] when no row scored VoE)."""
    scored = [r for r in results if r.get("voe_by_kind")]
    if not scored:
        return []
    kinds = list(scored[0]["voe_by_kind"])
    pairs = [max(r["voe_by_kind"][k]["n"] for r in scored) for k in kinds]
    names = " | ".join(f"{k} ({n} pairs) ↑" for k, n in zip(kinds, pairs))
    rows = [
        f"| {r['model']} | {' | '.join(cell(r['voe_by_kind'][k]) for k in kinds)} |" for r in scored
    ]
    return [
        "",
        "Violation of expectation by kind (chance 0.5):",
        "",
        f"| row | {names} |",
        "|---" * (len(kinds) + 1) + "|",
        *rows,
    ]


def replace_section(text: str, body: str) -> str:
    """`text` with the part between the README markers replaced by `body` (appended if absent)."""
    block = f"{README_START}\n{body}{README_END}"
    if README_START in text and README_END in text:
        before, rest = text.split(README_START, 1)
        return before + block + rest.split(README_END, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def _stat_table(table: dict[str, dict], all_higher: bool = False) -> str:
    """An HTML table of metric, mean, mean [interval] and defined cases."""
    rows = []
    for m, s in table.items():
        arrow = "↑" if all_higher else _arrow(m)  # normalised scores, VoE accuracies by kind
        interval = cell(s) if s["lo"] is not None else "n/a"
        rows.append(
            f"<tr><td>{html.escape(m)} {arrow}</td><td>{html.escape(format_value(s['mean']))}"
            f"</td><td>{html.escape(interval)}</td><td>{s['n']}</td></tr>"
        )
    return (
        "<table><tr><th>metric</th><th>mean</th><th>mean [95% interval]</th><th>cases</th></tr>"
        f"{''.join(rows)}</table>"
    )


def write_results(result: dict, out: str | Path) -> tuple[Path, Path, Path]:
    """out/results.json, out/report.html and out/leaderboard_row.md of one row."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = defined(result)
    json_path, html_path, row_path = (
        out / "results.json",
        out / "report.html",
        out / "leaderboard_row.md",
    )
    json_path.write_text(json.dumps(result, indent=1, allow_nan=False))
    row_path.write_text("\n".join([*header(LEADERBOARD_COLUMNS), leaderboard_row(result)]) + "\n")
    title = f"{result['bench']} v{result['version']} {result['split']}: {result['model']}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{result['cases']} cases, {html.escape(result['date'])}; intervals: "
        f"{html.escape(result['interval'])}; n/a: undefined on every case.</p>",
        "<h2>All cases</h2>",
        _stat_table(result["summary"]),
    ]
    if result.get("normalised"):
        body += ["<h2>Normalised to the ceiling (1 = the simulator's own chaos)</h2>"]
        body.append(_stat_table(result["normalised"], all_higher=True))
    if result.get("voe_by_kind"):
        body += ["<h2>Violation of expectation by kind (cases: pairs of that kind)</h2>"]
        body.append(_stat_table(result["voe_by_kind"], all_higher=True))
    for group, table in result["groups"].items():
        body += [f"<h2>{html.escape(group)}</h2>", _stat_table(table)]
    for note in result.get("notes", []):
        body.append(f"<p><i>{html.escape(note)}</i></p>")
    html_path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    return json_path, html_path, row_path
