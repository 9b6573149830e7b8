"""Section 45's judgement of Crafter files from the folder a `judge` (or `finish`) call returns:
issue 15's gate on the frozen held set, then the validation long set, as RESULTS.md's tables.

Usage: python experiments/game_world_models/verdict.py EVAL_DIR
EVAL_DIR holds device_calls.sh's tf_<tag>.json and text_<tag>.json (teacher_forced.py,
text_follow.py) and <val|screen>_<tag or game>_<level>/results.json (evaluate.py's long
rollouts). A file that passes the gate and holds at least 10 of its 12 validation draws goes on
to the frozen truths: on the CPU, or judged beside it (frozen_<tag>/results.json, `judge` with
FROZEN_LONG=1), counted only then; a file ships when it holds all 6 of them (section 45's rule 3).
After each verdict, the file's long draws pooled over its screens, with a 95% Wilson interval.
"""

import json
import sys
from pathlib import Path
from statistics import fmean

from worldsim.intervals import wilson

# issue 15's acceptance bars, one step ahead (teacher_forced.py) and for text (text_follow.py)
MIN_GAIN_DB = 1.0  # model minus copy-last PSNR, over the windows where the frame changes
MIN_WINDOWS_PCT = 70.0  # windows where the model beats copy-last
MIN_SHUFFLED_DB = 2.0  # true minus shuffled actions
MIN_IDM_RATIO = 0.6  # IDM accuracy on generated frames over that on true frames
MIN_TEXT_PCT = 75.0  # prompted shifts followed, at text guidance 2
MIN_HELD = 10  # validation draws held of 12 (section 45: 6 draws did not rank close files)
FROZEN_DRAWS = 6  # the frozen truths' draws (2 truths, noise seeds 0-2), all held to ship


def gate(tf: dict, text: dict) -> list[tuple[str, str, bool]]:
    """(bar, value as RESULTS writes it, passed) for each of the five gate bars."""
    gain = tf["model"] - tf["copy_last"]
    scales = text["by_scale"]
    text_row = " / ".join(f"{scales[s]['follow_pct']:.1f}%" for s in sorted(scales, key=float))
    return [
        ("model − copy-last", f"{gain:+.2f} dB ({tf['model']:.2f})", gain >= MIN_GAIN_DB),
        ("windows won", f"{tf['beats_copy_last_pct']:.1f}%",
         tf["beats_copy_last_pct"] >= MIN_WINDOWS_PCT),
        ("true − shuffled actions", f"{tf['delta_true_minus_shuffled']:+.2f} dB",
         tf["delta_true_minus_shuffled"] >= MIN_SHUFFLED_DB),
        ("IDM ratio", f"{tf['idm']['ratio']:.3f}", tf["idm"]["ratio"] >= MIN_IDM_RATIO),
        (f"text at guidance {' / '.join(sorted(scales, key=float))}", text_row,
         scales["2"]["follow_pct"] >= MIN_TEXT_PCT),
    ]  # fmt: skip


def blocks(collapsed: list[bool]) -> str:
    """[F, F, T, T, T, F, T] -> '2-4, 6'; no collapsed block -> 'holds'."""
    runs: list[list[int]] = []
    for i, c in enumerate(collapsed):
        if c and runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        elif c:
            runs.append([i, i])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs) or "holds"


def validation(results: dict) -> dict:
    """One validation screen -> its draws by truth seed, draws held of those judged and planned,
    collapsed blocks, the sharpness of its `smeared` blocks (under the rule's floor), and each
    draw's light gap to the truth (mean over its blocks) beside the same mean of the truths'
    references, other true episodes (results from session 49 on: empty before)."""
    long = results["long_crafter"]
    cases = long["cases"]
    by_truth: dict[int, list[str]] = {}
    for case in cases:
        by_truth.setdefault(case["truth_seeds"][0], []).append(
            blocks(case["model"]["collapsed_blocks"])
        )
    smeared = [
        s
        for c in cases
        for s, why in zip(c["model"]["sharpness"], c["model"]["reasons"], strict=True)
        if "smeared" in why
    ]
    # evaluate.py's "H of J truth-draws judged, P planned" when a screen was cut short
    planned = long["held"].split(" judged, ")[1].split()[0] if "planned" in long["held"] else None
    light = [fmean(g) for c in cases if (g := c["model"].get("light_gap"))]
    refs = {  # (truth, reference seeds) -> mean light gap: a truth's draws share its references
        (c["truth_seeds"][0], *r["seeds"]): fmean(r["light_gap"])
        for c in cases
        for r in c["references"]
        if "light_gap" in r
    }
    return {
        "by_truth": by_truth,
        "light_gap": sorted(light),
        "references_light_gap": sorted(refs.values()),
        "held": sum(not c["model"]["collapsed"] for c in cases),
        "draws": len(cases),
        "planned": int(planned) if planned else len(cases),
        "blocks": sum(sum(c["model"]["collapsed_blocks"]) for c in cases),
        "smeared": sorted(smeared),
    }


def read(path: Path) -> dict | None:
    """A result file, or None (said on stderr) when its evaluation left it empty: `timeout`
    kills in silence and leaves the redirected output empty."""
    if path.stat().st_size == 0:
        print(f"{path}: empty (its evaluation failed or ran out of time)", file=sys.stderr)
        return None
    return json.loads(path.read_text())


def gate_table(gates: dict[str, list]) -> None:
    tags = list(gates)
    print("| | " + " | ".join(tags) + " |\n|---|" + "---|" * len(tags))
    for i, (bar, _, _) in enumerate(gates[tags[0]]):
        print(f"| {bar} | " + " | ".join(gates[t][i][1] for t in tags) + " |")
    print()


def validation_table(screens: dict[str, dict]) -> None:
    names = list(screens)
    print("| truth | " + " | ".join(f"{n}: noise 0 / 1 / 2" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    # every truth any screen judged: a screen cut short (or stopped once out) has fewer rows
    for truth in dict.fromkeys(t for s in screens.values() for t in s["by_truth"]):
        row = [" / ".join(screens[n]["by_truth"].get(truth, ["not run"])) for n in names]
        print(f"| {truth} | " + " | ".join(row) + " |")
    held = [
        f"{s['held']} of {s['draws']}{cut_short(s)} ({s['blocks']} blocks)"
        for s in screens.values()
    ]
    print("| held | " + " | ".join(held) + " |\n")
    for n, s in screens.items():
        if s["smeared"]:
            low, high = s["smeared"][0], s["smeared"][-1]
            print(f"{n}: the smeared blocks' sharpness {low:.2f}-{high:.2f}")
        if s["light_gap"]:
            gaps = ", ".join(f"{g:.1f}" for g in s["light_gap"])
            refs = s["references_light_gap"]
            print(
                f"{n}: light gap to the truth (levels, each draw's mean over its blocks) {gaps}; "
                f"its truths' references {refs[0]:.1f}-{refs[-1]:.1f} ({len(refs)})"
            )


def cut_short(screen: dict) -> str:
    return f" judged, {screen['planned']} planned" if screen["planned"] > screen["draws"] else ""


def verdict(tag: str, bars: list, screens: dict[str, dict]) -> str:
    """Section 45's order: the gate, then at least MIN_HELD of the planned validation draws."""
    failed = [bar for bar, _, ok in bars if not ok]
    mine = {n: s for n, s in screens.items() if n.startswith(f"val_{tag}_")}
    said = "gate fails on " + ", ".join(failed) if failed else "gate passes"
    said += "; validation " + (
        "; ".join(f"{n}: {s['held']} of {s['draws']}" + cut_short(s) for n, s in mine.items())
        or "not run"
    )
    if failed or not any(s["held"] + s["planned"] - s["draws"] >= MIN_HELD for s in mine.values()):
        return said + "; not shipped"
    if not any(s["held"] >= MIN_HELD for s in mine.values()):
        return said + f"; undecided: draws left could still reach {MIN_HELD}"
    frozen = screens.get(f"frozen_{tag}")
    if frozen is None:
        return said + "; on to the frozen truths"
    said += f"; frozen truths {frozen['held']} of {frozen['draws']}" + cut_short(frozen)
    if frozen["held"] == frozen["planned"] == FROZEN_DRAWS:
        return said + "; ships (section 45's rule 3)"
    return said + ("; not shipped" if frozen["held"] < frozen["planned"] else "; undecided")


def pooled(tag: str, screens: dict[str, dict]) -> str | None:
    """A file's draws held over all its long screens (validation and frozen truths), with a 95%
    Wilson interval: six or twelve draws cannot tell apart files that hold 70-90% of draws."""
    mine = [s for n, s in screens.items() if n == f"frozen_{tag}" or n.startswith(f"val_{tag}_")]
    held, draws = sum(s["held"] for s in mine), sum(s["draws"] for s in mine)
    if not draws:
        return None
    low, high = wilson(held, draws)
    share = f"{held / draws:.0%}, 95% [{low:.0%}, {high:.0%}]"
    return f"{tag}: {held} of {draws} long draws held, pooled ({share})"


def main(eval_dir: str) -> None:
    root = Path(eval_dir)
    if not root.is_dir():
        print(f"{eval_dir}: no such folder (give a judge call's eval folder)", file=sys.stderr)
        sys.exit(2)
    gates = {}
    for tf in sorted(root.glob("tf_*.json")):
        tag = tf.stem.removeprefix("tf_")
        text = root / f"text_{tag}.json"
        pair = (read(tf), read(text) if text.exists() else None)
        if None not in pair:
            gates[tag] = gate(*pair)
    screens = {
        p.parent.name: validation(results)
        for p in sorted(root.glob("*/results.json"))
        if p.parent.name.startswith(("val_", "screen_", "frozen_")) and (results := read(p))
    }
    if not gates and not screens:
        print(f"{eval_dir}: no tf_/text_ pair and no val_*/results.json", file=sys.stderr)
        sys.exit(2)
    if gates:
        gate_table(gates)
    if screens:
        validation_table(screens)
    for tag, bars in gates.items():
        print(f"{tag}: {verdict(tag, bars, screens)}")
        if line := pooled(tag, screens):
            print(line)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
