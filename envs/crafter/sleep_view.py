"""Which Crafter frames show a sleeper's view, read off the pixels alone (no truth needed, so it
reads a world model's frames as well as the game's).

Crafter draws a sleeping player's local view desaturated and tinted blue (`LocalView._sleep`):
every pixel's channels then lie within about 8 levels, where an awake view, even at deep night
(desaturated to 0.4 and tinted), spreads 29 levels or more (frozen truths 100002 and 100046:
8.4-8.5 asleep, 28.8 and up awake; game RESULTS section 73).
"""

from __future__ import annotations

import numpy as np

VIEW_ROWS = 52  # of a 64-pixel frame: the local view; the rows below show the inventory
SLEEP_SPREAD = 18.0  # mean max-minus-min channel of the view: below it, a sleeper's view


def colour_spread(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames, H = 64 -> (T,) the view's mean max-minus-min channel."""
    view = frames[:, : frames.shape[1] * VIEW_ROWS // 64].astype(np.float32)  # (T, h, W, 3)
    return (view.max(-1) - view.min(-1)).mean(axis=(1, 2))


def sleeper_view(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames -> (T,) bool: the frame shows a sleeper's view."""
    return colour_spread(frames) < SLEEP_SPREAD
