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

OUT_IS_FILE = True  # out= names the file written (config.check_out)


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
        listed = getattr(env, "caption_sentences", None)
        sentences = None if listed is None else listed()
    except (TypeError, ValueError) as err:
        # a TypeError: a kwarg the env does not take (or of a type it cannot use), to remove or
        # correct; a ValueError: a value it refuses, or captions it needs a kwarg set for
        fix = (
            "remove or correct that env_kwargs.NAME"
            if isinstance(err, TypeError)
            else "set it with env_kwargs.NAME=VALUE"
        )
        raise ConfigError(
            f"embed-text env_id={env_id} env_kwargs={dict(kwargs or {})}: {err} ({fix})"
        ) from None
    if sentences is None:  # no kwarg gives an env a vocabulary: not the fix above
        raise ConfigError(
            f"env_id={env_id} has no closed caption vocabulary; give store=DIR of its recorded "
            "episodes instead"
        )
    return sentences


def _refuse_no_sentences(cfg: Config, episodes: int) -> None:
    """An empty table helps no reader: name where no sentence was found, before any work."""
    given = [f"env_id={cfg.env_id}"] * bool(cfg.env_id)
    given += [f"store={cfg.store} ({episodes} episodes)"] * bool(cfg.store)
    given += ["control_prompts=true"] * cfg.control_prompts
    if cfg.text.keep:
        what = f"caption sentences that text.keep={list(cfg.text.keep)} keeps"
        fix = "text.keep=[] or prefixes their sentences start with"
    else:
        what = "caption sentences"
        fix = "a store of captioned episodes, an env_id with a caption vocabulary or "
        fix += "control_prompts=true"
    raise ConfigError(f"embed-text found no {what} in {', '.join(given)}; give {fix}")


def _refuse_other_encoder(cfg: Config, table) -> None:
    """A table extended with another encoder's rows would mix two embedding spaces."""
    from worldsim.models.text import encoder_key

    wanted = encoder_key(cfg.text)
    if table.key != wanted:
        source = cfg.out if Path(cfg.out).is_file() else cfg.text.table
        raise ConfigError(
            f"{source} holds embeddings of text encoder {table.key!r}, not {wanted!r} "
            f"(text.name={cfg.text.name}); pass text.name={table.key} to extend it, or another "
            "out="
        )


def _fill(embedder, captions: list[str]) -> None:
    """Embed the new sentences. Without the encoder here, name only how to get it: the ways a
    reader does without it (a table, text.name=none) are what this job makes."""
    try:
        embedder.fill(captions)
    except KeyError as err:
        why = err.__cause__ or err.args[0]
        raise ConfigError(
            f"embed-text needs its text encoder: {why}; or run it where the encoder is installed"
        ) from err


def _save(table, out: str) -> None:
    try:
        table.save(out)
    except OSError as err:  # e.g. a read-only folder: named as out=, not as the temp file
        raise ConfigError(
            f"out={out} cannot be written ({err.strerror}); give a path in a folder you can "
            "write to"
        ) from err


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
    store = EpisodeStore(cfg.store) if cfg.store else None
    if store is not None:
        captions += [c for n in store.names() for c in caption_texts(store.load(n).captions)]
    if cfg.control_prompts:
        from worldsim.control.tasks import short_prompts

        captions += short_prompts()
    try:
        table = TextTable.load(cfg.out) if Path(cfg.out).is_file() else None
    except Exception as err:  # numpy and zip errors alike: not a table this job wrote
        raise ConfigError(f"out={cfg.out} exists and is not a text table: {err}") from err
    embedder = load_caption_embedder(cfg.text, table)
    if not any(embedder.sentences(c) for c in captions):
        _refuse_no_sentences(cfg, len(store or []))
    _refuse_other_encoder(cfg, embedder.table)
    before = len(embedder.table)
    _fill(embedder, captions)
    _save(embedder.table, cfg.out)
    print(
        f"embed-text: {len(embedder.table)} sentences ({len(embedder.table) - before} new, "
        f"encoder {embedder.table.key}) -> {cfg.out}"
    )
