"""Reading and writing videos (mp4 via imageio-ffmpeg, gif via Pillow) and frame grids."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from worldsim.config import ConfigError


def mp4_missing() -> str | None:
    """Why this machine cannot write .mp4 (None when it can): imageio's FFMPEG plugin runs the
    ffmpeg binary of the imageio-ffmpeg package."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:
        return f"writing .mp4 needs imageio-ffmpeg and its ffmpeg binary ({err})"
    return None


def write_video(
    path: str | Path, frames: np.ndarray, fps: float = 15, lossless: bool = False
) -> Path:
    """Write (T, H, W, 3) uint8 frames to .mp4 (ffmpeg) or .gif (Pillow), atomically. A lossless
    mp4 (H.264 RGB, qp 0) reads back bit-identical; the default (yuv420p) is small and lossy."""
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"write_video({path}) needs (T, H, W, 3) uint8 frames, got {frames.shape} "
            f"{frames.dtype}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    if path.suffix == ".gif":
        images = [Image.fromarray(f) for f in frames]
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=max(1, round(1000 / fps)),
            loop=0,
        )
    elif path.suffix == ".mp4":
        import imageio.v2 as imageio

        if why := mp4_missing():
            raise ConfigError(f"{path}: {why}; pip install imageio-ffmpeg, or write a .gif")

        # libx264 needs even sizes; pad by edge replication rather than resample.
        h, w = frames.shape[1:3]
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        codec = (
            {"codec": "libx264rgb", "pixelformat": "rgb24", "ffmpeg_params": ["-qp", "0"]}
            if lossless
            else {"codec": "libx264", "quality": 8, "pixelformat": "yuv420p"}
        )
        with imageio.get_writer(
            tmp, format="FFMPEG", fps=fps, macro_block_size=1, **codec
        ) as writer:
            for frame in frames:
                writer.append_data(frame)
    else:
        raise ValueError(
            f"write_video: unsupported suffix {path.suffix!r} in {path}; use .mp4 or .gif"
        )
    os.replace(tmp, path)
    return path


def read_video(path: str | Path) -> np.ndarray:
    """Read an .mp4 or .gif into (T, H, W, 3) uint8."""
    import imageio.v3 as iio

    try:
        frames = np.asarray(iio.imread(path, index=None))
    except (OSError, ValueError, struct.error) as err:  # imageio's plugins raise any for a bad file
        raise ConfigError(
            f"{path} is not a readable video or image: no reader can decode it; give an .mp4, "
            ".gif or image file"
        ) from err
    if frames.ndim == 3:
        frames = frames[None]
    return frames[..., :3].astype(np.uint8)


def to_uint8(video: np.ndarray) -> np.ndarray:
    """(T, C, H, W) float in [-1, 1] -> (T, H, W, 3) uint8."""
    # imported here: a job that only asks `mp4_missing` refuses its knobs before torch loads
    import torch
    from einops import rearrange

    from worldsim.data.pixels import unit_to_pixels

    pixels = unit_to_pixels(torch.from_numpy(np.array(video, np.float32)))
    return rearrange(pixels, "t c h w -> t h w c").numpy()


CAPTION_WIDTH = 96  # px: the narrowest tile a caption strip is drawn under (16 characters)


def caption_font() -> ImageFont.ImageFont:
    """Pillow's bitmap font, 6 px a character: crisp on pixel-art frames and the same wherever
    Pillow runs (its FreeType default, at the 10 px that fits a 64-px frame, ran words
    together: "cellseastand")."""
    return ImageFont.load_default_imagefont()


def wrap(text: str, font, width: float) -> list[str]:
    """`text` in lines of whole words that `font` draws within `width` pixels (a word wider
    than that alone on its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _caption_strip(wrapped: list[str], font, width: int, lines: int) -> np.ndarray:
    """A (h, width, 3) white-on-black strip of `lines` lines holding the `wrapped` text; a text
    that needs more ends in "..." (so a cut is never silent)."""
    line_h = 11
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        while wrapped[-1] and font.getlength(wrapped[-1] + "...") > width - 4:
            wrapped[-1] = wrapped[-1][:-1]
        wrapped[-1] += "..."
    strip = Image.new("RGB", (width, line_h * lines + 4), (0, 0, 0))
    draw = ImageDraw.Draw(strip)
    for i, line in enumerate(wrapped):
        draw.text((2, 2 + i * line_h), line, fill=(255, 255, 255), font=font)
    return np.asarray(strip)


def enlarged(video: np.ndarray, width: int) -> np.ndarray:
    """(T, H, W, 3) video scaled up by the least whole factor that makes it at least `width`
    wide, each pixel repeated (a 32-px game frame stays crisp); as it is when already wide."""
    scale = max(1, -(-width // video.shape[2]))
    return video.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else video


def frame_grid(
    videos: list[np.ndarray],
    columns: int = 4,
    pad: int = 2,
    captions: list[str] | None = None,
    caption_lines: int | None = None,  # None: as many as the longest caption needs
    tile_width: int = 0,  # narrower videos are enlarged by a whole factor to at least this width
) -> np.ndarray:
    """Tile videos of any sizes and lengths into one (T, H, W, 3) video.

    Shorter videos hold their last frame; each tile may get a caption strip underneath.
    """
    if not videos:
        raise ValueError("frame_grid needs at least one video")
    videos = [enlarged(v, tile_width) for v in videos]
    t = max(v.shape[0] for v in videos)
    cell_h = max(v.shape[1] for v in videos)
    cell_w = max(max(v.shape[2] for v in videos), CAPTION_WIDTH if captions else 0)
    font = caption_font()
    wrapped = [wrap(c, font, cell_w - 4) for c in captions or []]
    lines = caption_lines or max(map(len, wrapped), default=0)
    strips = [_caption_strip(w, font, cell_w, lines) for w in wrapped] if captions else None
    strip_h = strips[0].shape[0] if strips else 0
    rows = -(-len(videos) // columns)
    cols = min(columns, len(videos))
    grid = np.zeros(
        (t, rows * (cell_h + strip_h + pad) + pad, cols * (cell_w + pad) + pad, 3), np.uint8
    )
    for i, video in enumerate(videos):
        r, c = divmod(i, columns)
        y, x = pad + r * (cell_h + strip_h + pad), pad + c * (cell_w + pad)
        held = np.concatenate([video, np.repeat(video[-1:], t - video.shape[0], axis=0)])
        grid[:, y : y + video.shape[1], x : x + video.shape[2]] = held
        if strips:
            grid[:, y + cell_h : y + cell_h + strip_h, x : x + cell_w] = strips[i]
    return grid


GIVEN_BAND = 3  # pixel rows of the band under a strip's cells that says which frames were given
GIVEN_COLOURS = np.array([[96, 96, 96], [0, 200, 0]], np.uint8)  # generated: grey; given: green


def strip_picks(every: int, given: np.ndarray | None = None) -> slice:
    """The frames a strip shows, one every `every`: frames every-1, 2 every-1, ...; with
    `given` frames, placed on the one the generation continues from, the last of a given head,
    else the first of a given tail (a one-frame context would otherwise fall between them)."""
    known = np.zeros(0, bool) if given is None else np.asarray(given, bool)
    if not known.any():
        return slice(every - 1, None, every)
    # argmin: the first generated frame (0 when all are given: the anchor -1 is the last frame)
    anchor = int(np.argmin(known)) - 1 if known[0] else int(np.argmax(known))
    return slice(anchor % every, None, every)


def save_frame_strip(
    videos: list[np.ndarray], path: str | Path, every: int, given: np.ndarray | None = None
) -> Path:
    """A PNG with one row per (T, H, W, 3) uint8 video: its `strip_picks` frames (rows of
    different widths are padded with black). With `given`, a (T,) bool of the frames that were
    the true input rather than generated, each row has a band under its cells: green under the
    given frames, grey under the generated ones."""
    picks = strip_picks(every, given)
    rows = [np.concatenate(list(np.asarray(v)[picks]), axis=1) for v in videos]
    if given is not None:
        from einops import repeat  # not at import: the CLI refuses bad input before heavy imports

        colours = GIVEN_COLOURS[np.asarray(given, int)[picks]]  # (N, 3)
        for i, (row, video) in enumerate(zip(rows, videos, strict=True)):
            cells = colours[: row.shape[1] // video.shape[2]]  # a shorter video has fewer cells
            band = repeat(cells, "n c -> b (n w) c", b=GIVEN_BAND, w=video.shape[2])  # (3, N*W, 3)
            rows[i] = np.concatenate([row, band])
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    Image.fromarray(np.concatenate(rows, 0)).save(path)
    return Path(path)
