"""Can a DiT that takes its actions only in the per-frame adaLN vector move a small object by
them? A synthetic probe on the CPU (prompt control RESULTS section 39).

Section 38's Push DiT places moving objects no better than copy-last, and another window's
actions cost it 0.2 dB: the hypothesis was that a global per-frame vector cannot steer the few
tokens of a small puck. Here the "latents" are drawn, not encoded: FRAMES latent frames of
4 x 16 x 16, an agent (a 2 x 2 cell block in channel 0, a quarter of one 2 x 2 patch token's
share of the frame) that each frame's action moves one cell (none, up, down, left, right, drawn
at random, so the context cannot tell where it goes), and three still blocks in channel 1. The
DiT (`worldsim.models.dit`, dim 64, depth 4) learns them by rectified flow at the LEVELS
below. Every EVAL_EVERY steps it predicts the last frame of 512 held-out clips from their
clean context, in one Euler step from noise (the mean frame), and is scored by where its
brightest 2 x 2 block in channel 0 lies: the agent's exact cell, with the true actions and with
another clip's. Copy-last is right only where the action was "none" or a wall stopped it.

ARM `adaln`: the DiT as built. ARM `tokens`: the same, with each frame's action also given as a
cross-attention token (the text path's), told its frame: a path where each token can ask for
the action by its content.

LEVELS `teacher`: every clip's context clean and its last frame noised, as teacher forcing
scores it. LEVELS `forcing`: the Push DiT's levels (configs/experiment/push_control/dit.yaml),
drawn per frame by `worldsim.diffusion.flow.sample_levels`: half the clips with a clean context
(a prefix, a suffix or both ends), the rest noised frame by frame (30% one level for all
frames), every noised frame in the loss; `forcing=P`: P of the clips with a clean context
(`flow.context_prob`).
DROP: the share of clips whose actions are dropped for guidance (the Push DiT's: 0.5).

    python experiments/prompt_control/action_path_probe.py ARM LEVELS DROP STEPS SEED > out.json
"""

import json
import sys
import time

import torch
import torch.nn.functional as F

from worldsim.diffusion.flow import (
    clean_estimate,
    conditioning_dropout,
    flow_loss,
    noisy,
    sample_levels,
    velocity_target,
)
from worldsim.diffusion.flow_config import FlowConfig
from worldsim.models.dit import DiT, TextBatch
from worldsim.models.dit_config import DiTConfig

FRAMES, CHANNELS, SIZE = 3, 4, 16  # latent frames, channels, cells a side
BATCH, LR, EVAL_CLIPS, EVAL_EVERY = 16, 5e-4, 512, 500
SHIFT_BASE_TOKENS = 16  # the Push DiT's level shift
MOVES = torch.tensor([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # none, up, down, left, right


def clips(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n clips: latents (n, FRAMES, C, S, S), one-hot actions (n, FRAMES, 5), the agent's cell
    (n, FRAMES, 2) (top-left of its block; actions[:, 0] moves nothing)."""
    cell = torch.randint(2, SIZE - 4, (n, 2), generator=g)  # (n, 2)
    action = torch.randint(0, len(MOVES), (n, FRAMES), generator=g)  # (n, FRAMES)
    still = torch.randint(0, SIZE - 1, (n, 3, 2), generator=g)  # (n, 3, 2)
    cells = []
    for t in range(FRAMES):
        if t:
            cell = (cell + MOVES[action[:, t]]).clamp(0, SIZE - 2)
        cells.append(cell)
    cells = torch.stack(cells, 1)  # (n, FRAMES, 2)
    rows = torch.arange(SIZE)
    x = torch.zeros(n, FRAMES, CHANNELS, SIZE, SIZE)
    x[:, :, 0] = block_mask(cells, rows).float()
    x[:, :, 1] = block_mask(still, rows).any(1).float()[:, None]
    return x, F.one_hot(action, len(MOVES)).float(), cells


def block_mask(cells: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(..., 2) top-left cells -> (..., S, S) bool: the 2 x 2 blocks they start."""
    y = (rows >= cells[..., :1]) & (rows < cells[..., :1] + 2)  # (..., S)
    x = (rows >= cells[..., 1:]) & (rows < cells[..., 1:] + 2)  # (..., S)
    return y[..., :, None] & x[..., None, :]


def brightest_block(frame: torch.Tensor) -> torch.Tensor:
    """(n, S, S) -> (n, 2) top-left cell of the 2 x 2 block with the largest mean."""
    mean = F.avg_pool2d(frame[:, None], 2, 1)[:, 0]  # (n, S - 1, S - 1)
    index = mean.flatten(1).argmax(1)
    return torch.stack([index // (SIZE - 1), index % (SIZE - 1)], 1)


def action_tokens(actions: torch.Tensor) -> TextBatch:
    """Actions (n, FRAMES, 5) as cross-attention tokens (n, FRAMES, 5 + FRAMES), each with its
    frame's one-hot."""
    n = actions.shape[0]
    frame = torch.eye(FRAMES).expand(n, FRAMES, FRAMES)
    tokens = torch.cat([actions, frame], -1)
    mask = torch.ones(n, FRAMES, dtype=torch.bool)
    return TextBatch(tokens, mask, tokens.new_zeros(n, len(MOVES) + FRAMES))


def last_frame_levels(n: int, level: torch.Tensor) -> torch.Tensor:
    """(n, FRAMES) levels: the context clean, the last frame at `level` (n,)."""
    levels = torch.zeros(n, FRAMES)
    levels[:, -1] = level
    return levels


@torch.no_grad()
def accuracy(model: DiT, arm: str, held: tuple, actions: torch.Tensor) -> float:
    """Share of held-out clips whose predicted last frame puts the agent on its true cell."""
    x0, _, cells = held
    levels = last_frame_levels(len(x0), torch.ones(len(x0)))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    x_t = noisy(x0, noise, levels)
    text = action_tokens(actions) if arm == "tokens" else None
    mean = clean_estimate(x_t, model(x_t, levels, actions, text), levels)  # (n, FRAMES, C, S, S)
    return (brightest_block(mean[:, -1, 0]) == cells[:, -1]).all(1).float().mean().item()


USAGE = "usage: python action_path_probe.py adaln|tokens teacher|forcing[=P] DROP STEPS SEED"


def arguments(argv: list[str]) -> tuple[str, str, FlowConfig, float, int, int]:
    """ARM, LEVELS, DROP, STEPS, SEED -> arm, levels' kind, the levels' FlowConfig, drop share,
    steps, seed; a usage line on anything else."""
    try:
        arm, levels, drop, steps, seed = argv
        kind, _, context = levels.partition("=")  # forcing=P: P of the clips a clean context
        flow = FlowConfig(shift_base_tokens=SHIFT_BASE_TOKENS, context_prob=float(context or 0.5))
        parsed = arm, kind, flow, float(drop), int(steps), int(seed)
    except ValueError:
        sys.exit(USAGE)
    if (
        arm not in ("adaln", "tokens")
        or kind not in ("teacher", "forcing")
        or (kind == "teacher" and context)
    ):
        sys.exit(USAGE)
    return parsed


def main() -> None:
    arm, kind, flow, drop_share, steps, seed = arguments(sys.argv[1:])
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # two arms side by side on two cores
    text_dim = len(MOVES) + FRAMES if arm == "tokens" else 0
    cfg = DiTConfig(CHANNELS, dim=64, depth=4, heads=2, action_dim=len(MOVES), text_dim=text_dim)
    model = DiT(cfg)
    optim = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed + 1)
    held = clips(EVAL_CLIPS, torch.Generator().manual_seed(2))  # the same for every seed
    shuffled = held[1][torch.randperm(EVAL_CLIPS, generator=torch.Generator().manual_seed(4))]
    copy_last = (held[2][:, -2] == held[2][:, -1]).all(1).float().mean().item()
    curve, start = [], time.time()
    for step in range(1, steps + 1):
        x0, actions, _ = clips(BATCH, g)
        if kind == "forcing":
            levels = sample_levels(BATCH, FRAMES, (SIZE // 2) ** 2, flow, g)  # (B, FRAMES)
        else:
            levels = last_frame_levels(BATCH, torch.rand(BATCH, generator=g))
        drop = conditioning_dropout(BATCH, drop_share, g) if drop_share else None  # (B,)
        noise = torch.randn(x0.shape, generator=g)
        kept = actions if drop is None else actions * ~drop[:, None, None]  # dropped: none
        text = action_tokens(kept) if arm == "tokens" else None
        v = model(noisy(x0, noise, levels), levels, actions, text, drop_actions=drop)
        loss = flow_loss(v, velocity_target(x0, noise), levels)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if step % EVAL_EVERY == 0:
            model.eval()
            row = {"step": step, "loss": loss.item()}
            row["true_actions"] = accuracy(model, arm, held, held[1])
            row["shuffled_actions"] = accuracy(model, arm, held, shuffled)
            model.train()
            curve.append(row)
            print(json.dumps(row), f"({time.time() - start:.0f} s)", file=sys.stderr)
    out = {
        "arm": arm,
        "levels": sys.argv[2],
        "drop_actions": drop_share,
        "seed": seed,
        "steps": steps,
        "copy_last": copy_last,
        "curve": curve,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
