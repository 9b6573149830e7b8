"""Outputs of the control harness: success rates, side-by-side episode videos, HTML summary."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from worldsim.control.episode import EpisodeResult
from worldsim.intervals import wilson
from worldsim.video import caption_font, wrap

VIDEO_SCALE = 3  # pixels per env pixel in the episode videos
LINE_H = 12  # pixels per line of the text header above each video frame


def rate(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rate, its 95% Wilson interval, and mean steps of a cell's episode rows."""
    wins = sum(e["success"] for e in episodes)
    lo, hi = wilson(wins, len(episodes))
    steps = float(np.mean([e["steps"] for e in episodes])) if episodes else float("nan")
    return {"n": len(episodes), "successes": wins, "rate": wins / max(len(episodes), 1),
            "ci95": [lo, hi], "mean_steps": steps}  # fmt: skip


def episode_video(result: EpisodeResult) -> np.ndarray:
    """(T, h, w, 3) uint8: real frames | imagined plan, each frame headed by the whole prompt
    (wrapped to the frame's width; an expanded one after what was asked) and the step."""
    font = caption_font()
    replans = set(result.replans)
    width = (2 * result.frames.shape[2] + 2) * VIDEO_SCALE  # real | 2 px | imagined
    told = result.prompt or "(no prompt)"
    asked = f"{result.asked} -> " if result.prompt and result.asked != result.prompt else ""
    prompt = wrap(asked + told, font, width - 4)

    def label(t: int, replan: bool) -> list[str]:  # the step line(s), wrapped like the prompt
        text = f"{result.policy} step {t}{' replan' if replan else ''}: real | imagined"
        return wrap(text, font, width - 4)

    tallest = len(label(len(result.frames) - 1, True))  # lines the longest step label takes
    header = (len(prompt) + tallest) * LINE_H + 2
    out = []
    for t, (real, plan) in enumerate(zip(result.frames, result.imagined)):
        pair = np.concatenate([real, np.full_like(real[:, :2], 255), plan], axis=1)
        big = pair.repeat(VIDEO_SCALE, 0).repeat(VIDEO_SCALE, 1)
        canvas = Image.new("RGB", (big.shape[1], big.shape[0] + header))
        canvas.paste(Image.fromarray(big), (0, header))
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(prompt):
            draw.text((2, 1 + i * LINE_H), line, fill=(255, 255, 255), font=font)
        if not plan.any():  # a black panel says why: before the first plan, or a policy
            # that imagines nothing (random, scripted)
            note = "no plan yet" if t == 0 else "nothing imagined"
            panel = real.shape[1] * VIDEO_SCALE
            for i, line in enumerate(wrap(note, font, panel - 8)):
                xy = (big.shape[1] - panel + 4, header + 4 + i * LINE_H)
                draw.text(xy, line, fill=(160, 160, 160), font=font)
        for i, line in enumerate(label(t, t - 1 in replans), start=len(prompt)):
            draw.text((2, 1 + i * LINE_H), line, fill=(255, 220, 80), font=font)
        out.append(np.asarray(canvas))
    return np.stack(out)


def write_html(path: str | Path, results: dict[str, Any]) -> Path:
    """One page: success rate with its 95% interval per task x policy, links to the videos."""
    policies = results["policies"]
    head = "".join(f"<th>{html.escape(p)}</th>" for p in policies)
    rows = []
    for task, cells in results["cells"].items():
        tds = []
        for p in policies:
            c = cells.get(p)
            if c is None:  # a grid stopped before this cell
                tds.append("<td>not run</td>")
                continue
            lo, hi = c["ci95"]
            links = " ".join(
                f'<a href="{html.escape(e["video"])}">{e["seed"]}{"✓" if e["success"] else ""}</a>'
                for e in c["episodes"]
                if e.get("video")
            )
            tds.append(
                f"<td><b>{c['rate']:.2f}</b> [{lo:.2f}, {hi:.2f}] n={c['n']}"
                f"<br><small>{links}</small></td>"
            )
        asked = [e["asked"] for c in cells.values() for e in c["episodes"] if e.get("asked")]
        label = html.escape(task)
        if asked:  # a push prompt names each seed's object: one of them stands for the rest
            example = "e.g. " if len(set(asked)) > 1 else ""
            label += f'<br><small>{example}"{html.escape(asked[0])}"</small>'
        rows.append(f"<tr><th>{label}</th>{''.join(tds)}</tr>")
    page = (
        "<!doctype html><meta charset='utf-8'><title>worldsim control</title>"
        "<style>td,th{border:1px solid #ccc;padding:4px;vertical-align:top}</style>"
        f"<h1>Prompt control</h1><p>{html.escape(results['about'])}</p>"
        f"<table><tr><th>task</th>{head}</tr>{''.join(rows)}</table>"
        "<p>Success rate [95% Wilson interval]; under each task what its user asked (the prompt "
        "policies are told its expansion, shown in each video); links: episode videos (real | "
        "imagined plan) by seed, ✓ = success.</p>"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
