"""Checkpoints by name, path or URL: `pretrained:crafter`, `runs/x/ema.ckpt`, `https://.../m.pt`.

Shipped models live in `worldsim/assets/pretrained/` as single fp16 files (world model + its VAE +
its caption table) and are checked against the sha256 recorded here before they load, so a
truncated or edited file is an error, never a silently different model. URLs are downloaded once
into the cache directory ($WORLDSIM_CACHE, else ~/.cache/worldsim) and checked the same way
when their name is registered. Nothing here imports torch: a job refuses a checkpoint that is not
there (`require_checkpoint`) before torch loads, which takes seconds.
"""

from __future__ import annotations

import difflib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from worldsim.config import ConfigError
from worldsim.data.manifest import file_sha256

PREFIX = "pretrained:"
URL_SCHEMES = ("http://", "https://")  # a checkpoint downloaded once into cache_dir()
ASSETS = Path(__file__).resolve().parent.parent / "assets" / "pretrained"


@dataclass(frozen=True)
class Pretrained:
    """One shipped checkpoint."""

    file: str  # name under worldsim/assets/pretrained/
    sha256: str
    about: str  # what it was trained on (README lists the command)
    envs: str  # how the ids of the envs it was trained on begin (worldsim/Crafter...)


PRETRAINED: dict[str, Pretrained] = {
    "crafter": Pretrained(
        file="crafter.pt",
        envs="worldsim/Crafter",
        sha256="bd85390e9d97b1bbd4188732223431dcbd1ecbaf7618e15fdcdfe2f3f045b147",
        about="DiT (9.6M) + VAE (1.7M) on Crafter, actions + captions: 7,861 + 12,539 steps on "
        "1,440 Crafter episodes, 17,035 on 1,440 new ones, 9,813 on 1,536 episodes of the "
        "tech-tree mix, then three runs on new episodes of that mix, on one H200, actions dropped "
        "in half the samples; the VAE's decoder trained alone for 600 CPU steps before the last "
        "run, whose 17,194 steps showed half of each batch the model's own one-step estimate of "
        "its context (experiments/game_world_models/RESULTS.md, sections 18 and 22)",
    ),
    "doom": Pretrained(
        file="doom.pt",
        envs="worldsim/Doom",
        sha256="46324b8def025c9c6db292f3e4520c6501eac6adcb70eaa07d8823456e5dce88",
        about="DiT (7.5M) + VAE (1.7M) on ViZDoom, actions, no text: 36,773 steps from scratch "
        "on 640 my_way_home + 640 deathmatch episodes, then 18,927 and 27,397 on two sets of "
        "640 + 640 new ones with half of each batch shown its own one-step estimate of the "
        "context, then 1,000 steps of distribution matching on its own 24-frame rollouts "
        "(flow.dmd, 320 + 320 new episodes), on one H200; the VAE's decoder trained alone for "
        "ViZDoom; samples with the 4-step renoise sampler and a clean context "
        "(experiments/game_world_models/RESULTS.md, sections 11, 21, 24 and 44)",
    ),
    "mujoco": Pretrained(
        file="mujoco.pt",
        envs="worldsim/Mujoco",
        sha256="19047d0d9f1924e1a61ae142319c85eb743d93865f98d8103661b703fbf9960a",
        about="DiT (9.8M) + VAE (1.7M) on the five MuJoCo scenes at 64x64, actions, no text: "
        "14,547 steps on one H200 (experiments/world_model/RESULTS.md)",
    ),
}


def cache_dir() -> Path:
    """Where downloaded checkpoints are kept."""
    return Path(os.environ.get("WORLDSIM_CACHE", Path.home() / ".cache" / "worldsim"))


def _checked(path: Path, expected: str, what: str) -> Path:
    # imported here: that module imports torch, and this one must not (see its docstring)
    from worldsim.models.checkpoint import CheckpointError

    actual = file_sha256(path)
    if actual != expected:
        raise CheckpointError(
            f"{what} at {path} has sha256 {actual[:12]}..., expected {expected[:12]}...: the file "
            "is damaged or not the released one; restore it with `git checkout -- "
            f"{path}` or delete it to download again"
        )
    return path


def _download(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as fh:
            while block := response.read(1 << 20):
                fh.write(block)
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise FileNotFoundError(
            f"cannot download {url} ({err}); without the network, put the file at {target} "
            "or pass a local path"
        ) from err
    os.replace(tmp, target)
    return target


def is_path(spec: str) -> bool:
    """Whether a checkpoint `spec` is a file path, not pretrained:NAME or a URL."""
    return not spec.startswith((PREFIX, *URL_SCHEMES))


def resolve_checkpoint(spec: str) -> str:
    """A local file for `spec`: pretrained:NAME (sha256-checked), http(s) URL (cached), path."""
    if spec.startswith(URL_SCHEMES):
        target = cache_dir() / Path(spec.split("?")[0]).name
        if not target.is_file():
            _download(spec, target)
        known = {e.file: e for e in PRETRAINED.values()}
        if target.name in known:
            _checked(target, known[target.name].sha256, spec)
        return str(target)
    path = _local_file(spec)
    if spec.startswith(PREFIX):
        _checked(Path(path), PRETRAINED[spec[len(PREFIX) :]].sha256, spec)
    return path


def checkpoint_missing(spec: str, split: bool = False) -> bool:
    """Whether checkpoint `spec` has no file (nor, where `split`, the `<path>.part0` of a split
    export), known without reading it or importing torch: jobs ask before torch loads (seconds).
    An unknown pretrained:NAME, its missing file or a mistyped `pretrained:` prefix raise their
    FileNotFoundError; a URL is not missing: the loader downloads it."""
    if spec.startswith(URL_SCHEMES):
        return False
    path = _local_file(spec)
    return not Path(path).is_file() and not (split and Path(f"{path}.part0").is_file())


def require_checkpoint(spec: str, what: str, how: str, split: bool = False) -> None:
    """Refuse a `spec` that is `checkpoint_missing`: "no {what} checkpoint at PATH; {how}". The
    jobs call it before torch loads and the loaders first thing, so the words are the same."""
    if checkpoint_missing(spec, split):
        raise FileNotFoundError(f"no {what} checkpoint at {spec}; {how}")


def require_world_model(spec: str) -> None:
    """`require_checkpoint` of a world model: one file, or the parts of a split export."""
    shipped = ", ".join(f"{PREFIX}{name}" for name in PRETRAINED)
    fix = f"train one with `worldsim train`, or use a shipped one: {shipped}"
    require_checkpoint(spec, "world-model", fix, split=True)


def check_trained_env(spec: str, env_id: str) -> None:
    """Refuse a shipped model for an env of another game (`pretrained:crafter` on Push): its
    checkpoint records its action width, not its env, and a narrower codec would be zero-padded
    into it in silence. A file of one's own is not known here; it passes."""
    name = spec.removeprefix(PREFIX)
    shipped = PRETRAINED.get(name) if spec.startswith(PREFIX) else None
    if shipped is not None and not env_id.startswith(shipped.envs):
        fits = [f"{PREFIX}{n}" for n, p in PRETRAINED.items() if env_id.startswith(p.envs)]
        instead = f"use {' or '.join(fits)}" if fits else "train a model on it"
        raise ConfigError(
            f"{spec} was trained on {shipped.envs}* envs, not env.id={env_id}; {instead}"
        )


def require_autoencoder(spec: str) -> None:
    """`require_checkpoint` of a VAE (its own file, or a world model's that bundles it)."""
    require_checkpoint(spec, "autoencoder", "train one with `worldsim train-vae`")


def _local_file(spec: str) -> str:
    """The file of a `spec` that is no URL: a shipped model's (its name known and its file
    present; its sha256 is `resolve_checkpoint`'s to check), else the path itself, unless it
    reads as a mistyped `pretrained:` prefix."""
    if spec.startswith(PREFIX):
        name = spec[len(PREFIX) :]
        if name not in PRETRAINED:
            known = ", ".join(f"{PREFIX}{k}" for k in PRETRAINED) or "none yet"
            close = difflib.get_close_matches(name, list(PRETRAINED), n=1, cutoff=0.6)
            meant = f"did you mean {PREFIX}{close[0]}? " if close else ""
            raise FileNotFoundError(f"unknown model {spec!r}; {meant}shipped models: {known}")
        path = ASSETS / PRETRAINED[name].file
        if not path.is_file():
            raise FileNotFoundError(f"{spec} should be at {path}; restore it with git")
        return str(path)
    if hint := _mistyped_prefix(spec):
        raise FileNotFoundError(f"no checkpoint file {spec!r}; did you mean {hint}?")
    return spec


def _mistyped_prefix(spec: str) -> str:
    """`pretrained:NAME` for a `spec` that is no file but reads like one with its prefix mistyped
    (`pretraind:crafter`, `Pretrained:doom`); "" otherwise."""
    head, colon, name = spec.partition(":")
    if not colon or Path(spec).exists() or Path(f"{spec}.part0").exists():
        return ""
    if not difflib.get_close_matches(head.lower(), [PREFIX[:-1]], n=1, cutoff=0.7):
        return ""
    close = difflib.get_close_matches(name, list(PRETRAINED), n=1, cutoff=0.6)
    return f"{PREFIX}{close[0] if close else name}"
