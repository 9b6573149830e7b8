"""Text steers motion: from the same first frame, with actions null, two prompts of opposite
headings ("The player moves 4 cells east." / "...west.", north / south) should move the view in
opposite ways. The image shift of each generated video is summed over its consecutive frames
(2D phase correlation, `evals.camera.image_shift`; positive = content moves right, or down).
Crafter's world jumps a whole cell (about 7 px at 64 px) in one frame, so consecutive frames,
not frames a latent frame apart, keep every jump inside the searched window.

Sign convention (top-down camera that follows the player): when the player moves east the world
slides west in the image (negative x shift); moving north, the world slides down (positive y).
A pair follows its prompts when the shift of its first prompt minus that of its second has the
sign its first heading expects; a tie (equal shifts) does not follow.
"""

from __future__ import annotations

import torch

from envs.crafter.captions import move_sentence
from evals.camera import image_shift

HEADINGS = {"x": ("east", "west"), "y": ("north", "south")}  # (first, second) prompt of a pair
WORLD_SHIFT_SIGN = {"east": -1, "west": 1, "north": 1, "south": -1}  # expected image shift


def net_shift(video: torch.Tensor, axis: str, most: int = 10) -> float:
    """(T, C, H, W) -> image shift in px along `axis` ('x' or 'y'), summed over frames."""
    return float(image_shift(video, most)[:, 1 if axis == "x" else 0].sum())


def follows(first: float, second: float, axis: str) -> bool:
    """Whether shifts of the (first, second) prompts of HEADINGS[axis] differ the prompted way."""
    return (first - second) * WORLD_SHIFT_SIGN[HEADINGS[axis][0]] > 0


@torch.no_grad()
def prompt_pairs(
    module,
    first: torch.Tensor,
    axis: str,
    cells: int,
    new: int,
    rows: int = 0,
    seed: int = 0,
    *,
    first_step: int,
) -> dict:
    """Generate `new` latent frames after each first latent frame (B, 1, c, h, w) under the two
    opposite prompts of `axis` with the same noise and no actions; decode and measure the shift
    over the top `rows` image rows (0: all; Crafter's inventory strip below never moves).
    `first_step`: the env step of `first` (0 at an episode's reset), for a model told the clock.

    Returns the prompts, the per-pair shifts of both videos and whether each pair follows them,
    and the decoded videos (2, B, T, C, H, W) on the CPU.
    """
    prompts = [move_sentence(cells, heading) for heading in HEADINGS[axis]]
    videos, shifts = [], []
    clock = module.clock([first_step] * first.shape[0], 1 + new)  # (B, 1 + new) or None
    for prompt in prompts:
        runner = module.mode_runner([prompt] * first.shape[0], seed)
        latents = runner.extend_forward(first, new, None, clock)  # (B, 1 + new, c, h, w)
        video = module.decode(latents).cpu()  # (B, T, C, H, W)
        videos.append(video)
        shifts.append([net_shift(v[..., : rows or None, :], axis) for v in video])
    follow = [follows(a, b, axis) for a, b in zip(*shifts)]
    return {"prompts": prompts, "shifts": shifts, "follows": follow, "videos": torch.stack(videos)}
