"""`worldsim embed-text`: caption-sentence embeddings -> a TextTable file, made beside the encoder.

The latent cache and training read caption embeddings from such tables, so machines without the
text encoder's package (GPU training machines) encode and train with a table made here once.
Sentences come from an env's closed caption vocabulary (`caption_sentences()` of the env), from
the captions of an episode store, and/or from the short prompts of `worldsim control`'s tasks.
An existing table at `out` is extended, not replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worldsim.config import ConfigError
from worldsim.models.text_config import TextConfig

OUT_IS_FILE = True  # out= names the file written (cli.check_out)


@dataclass
class Config:
    """embed-text job: which sentences, which encoder, where the table goes."""

    env_id: str = ""  # a Gymnasium id whose env lists its caption sentences ("" = none)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # that env's kwargs (captions=...)
    store: str = ""  # an episode store whose caption sentences to embed ("" = none)
    control_prompts: bool = False  # also every short prompt of `worldsim control`'s tasks
    out: str = "data/text.npz"  # the TextTable file (extended if it exists)
    text: TextConfig = field(default_factory=TextConfig)


def vocabulary(env_id: str, kwargs: dict[str, Any] | None = None) -> list[str]:
    """Every caption sentence of env `env_id` made with `kwargs` (its `caption_sentences()`)."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        raise ConfigError(f"env_id={env_id!r} is not a registered env id")
    try:
        env = gym.make(env_id, **dict(kwargs or {})).unwrapped
        if not hasattr(env, "caption_sentences"):
            raise ValueError(
                f"env {env_id} has no closed caption vocabulary; use store=DIR instead"
            )
        return env.caption_sentences()
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"embed-text env_id={env_id} env_kwargs={dict(kwargs or {})}: {err} (set it with "
            "env_kwargs.NAME=VALUE)"
        ) from None


def run(cfg: Config) -> None:
    from worldsim.data.store import EpisodeStore
    from worldsim.jobs.encode import caption_texts
    from worldsim.models.text import TextTable, load_caption_embedder

    if not cfg.env_id and not cfg.store and not cfg.control_prompts:
        raise ConfigError(
            "embed-text needs env_id=ID, store=DIR and/or control_prompts=true to take "
            "sentences from"
        )
    if cfg.text.name == "none":
        raise ConfigError("embed-text needs a text encoder; text.name=none has none")
    captions = vocabulary(cfg.env_id, cfg.env_kwargs) if cfg.env_id else []
    if cfg.store:
        store = EpisodeStore(cfg.store)
        captions += [c for n in store.names() for c in caption_texts(store.load(n).captions)]
    if cfg.control_prompts:
        from worldsim.control.tasks import short_prompts

        captions += short_prompts()
    try:
        table = TextTable.load(cfg.out) if Path(cfg.out).is_file() else None
    except Exception as err:  # numpy and zip errors alike: not a table this job wrote
        raise ConfigError(f"out={cfg.out} exists and is not a text table: {err}") from err
    embedder = load_caption_embedder(cfg.text, table)
    before = len(embedder.table)
    embedder.fill(captions)
    embedder.table.save(cfg.out)
    print(
        f"embed-text: {len(embedder.table)} sentences ({len(embedder.table) - before} new, "
        f"encoder {embedder.table.key}) -> {cfg.out}"
    )
