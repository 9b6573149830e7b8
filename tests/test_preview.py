"""`worldsim data preview` wraps each caption whole under its tile instead of cutting it."""

from __future__ import annotations

import numpy as np

from worldsim.cli import main
from worldsim.video import caption_font, frame_grid, wrap

LONG = (
    "Top-down view of a Crafter world of grass, trees, water and stone. The player moves 2 cells "
    "south. The player achieves collect sapling. Cows are nearby. It is daytime."
)


def test_caption_strip_holds_every_wrapped_line():
    video = np.zeros((2, 16, 96, 3), np.uint8)  # (T, H, W, 3)
    short, long = (frame_grid([video], captions=[c]) for c in ("a red box", LONG))
    lines = len(wrap(LONG, caption_font(), 96 - 4))  # the strip's 2-px margins
    assert lines > 3  # more than the old fixed three lines, which cut it mid-sentence
    assert long.shape[1] - short.shape[1] == 11 * (lines - 1)  # 11 px per extra line


def test_preview_enlarges_small_tiles(small_store, tmp_path):
    out = tmp_path / "preview.gif"
    assert main(["data", "preview", str(small_store.root), f"out={out}", "episodes=2"]) == 0
    import imageio.v3 as iio

    assert iio.imread(out, index=0).shape[1] >= 2 * 192  # 20-px episodes shown 200 px wide


def test_grid_enlarges_narrow_tiles_by_whole_pixels():
    video = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)  # (T, H, W, 3)
    grid = frame_grid([video, video], columns=2, pad=0, tile_width=96)
    assert grid.shape == (2, 96, 192, 3)
    np.testing.assert_array_equal(grid[:, ::3, :96:3], video)  # each pixel a 3 x 3 block
    assert frame_grid([video], pad=0, tile_width=20).shape == video.shape  # wide enough: as given
