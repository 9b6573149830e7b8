"""The text conditioning's knobs (`TextConfig`), apart from the encoder: a job's `--help` and its
config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TextConfig:
    """Which text encoder, which precomputed table, and how many tokens a caption keeps."""

    name: str = "minilm"  # minilm (bundled all-MiniLM-L6-v2) | none | sentence-transformers dir
    max_tokens: int = 64  # tokens kept per caption, over all its sentences
    table: str = ""  # TextTable .npz read before the encoder ("" = encoder only)
    # only caption sentences starting with one of these ([]: all), e.g. [First-person] keeps a
    # Doom caption's scene sentence: the scenario as a condition, not what happens in the window
    keep: tuple[str, ...] = ()
