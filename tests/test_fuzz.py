"""Fuzz of user mistakes: hundreds of malformed inputs, each one line naming the key or file.

The config cases are derived from the job schemas themselves (every int, float, bool and list knob
of every command gets wrong types, negatives, NaNs...), so a knob added later is fuzzed too. The
file cases give the readers missing, truncated and wrong files and episodes with NaNs, wrong dtypes
and mismatched shapes. Every case must fail at validation, before any work: it writes nothing
under its `out=` and leaves the existing store and cache byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.nodes import BooleanNode, FloatNode, IntegerNode

from tests.conftest import synthetic_episode
from worldsim.cli import main
from worldsim.config import STEP_LISTS
from worldsim.data.store import EpisodeStore, episode_name, write_episode
from worldsim.jobs import JOBS, job_module

COMMANDS = [name for name, job in JOBS.items() if name != "rollout"]  # rollout is record's alias

# Knobs whose 0 is as wrong as a negative (issue 17: "zero where a count must be positive").
ZERO_COUNTS = [
    ("record", "episodes"),
    ("record", "steps"),
    ("record", "workers"),
    ("record", "env.width"),
    ("sample", "frames"),
    ("sample", "samples"),
    ("sample", "sampler.steps"),
    ("sample", "window"),
    ("sample", "chunk"),
    ("sample", "height"),
    ("sample", "fps"),
    ("train", "train.max_steps"),
    ("train", "data.batch_size"),
    ("train", "data.stride"),
    ("train", "model.depth"),
    ("train", "model.heads"),
    ("train", "sample.sampler.steps"),
    ("train-vae", "trainer.max_steps"),
    ("train-vae", "data.batch_size"),
    ("train-vae", "data.clips.stride"),
    ("train-vae", "model.time_factor"),
    ("train-vae", "model.space_factor"),
    ("eval", "episodes"),
    ("eval", "horizon"),
    ("eval", "batch_size"),
    ("eval", "idm_train.steps"),
    ("decode", "limit"),
    ("import-vpt", "width"),
    ("import-vpt", "fps"),
]

# Knobs that name one of a fixed set of choices (a registry, a device, a Lightning setting).
ENUMS = [
    ("record", "policy"),
    ("record", "env.id"),
    ("record", "shard"),
    ("sample", "mode"),
    ("sample", "sampler.name"),
    ("sample", "device"),
    ("train", "sample.sampler.name"),
    ("train", "model.attention"),
    ("train", "model.backend"),
    ("train", "train.precision"),
    ("train", "logger"),
    ("train", "train.strategy"),
    ("train", "text.name"),
    ("train-vae", "logger"),
    ("train-vae", "trainer.strategy"),
    ("train-vae", "loss.perceptual"),
    ("train-vae", "trainer.accelerator"),
    ("encode", "device"),
    ("encode", "shard"),
    ("encode", "text.name"),
    ("embed-text", "text.name"),
    ("decode", "ext"),
    ("eval", "suite"),
    ("eval", "model"),
    ("eval", "policy"),
    ("eval", "lpips_net"),
    ("eval", "env.id"),
    ("quickstart", "device"),
    ("quickstart", "env"),
    ("pipeline", "device"),
]


def knobs(node: DictConfig, prefix: str = ""):
    """(dotted key, value node) of every leaf knob of a structured config."""
    for key in node:
        child, dotted = node._get_node(key), f"{prefix}{key}"
        if isinstance(child, DictConfig):
            if child._metadata.object_type not in (None, dict):
                yield from knobs(child, f"{dotted}.")
        else:
            yield dotted, child


def bad_values(child, rng: random.Random) -> list[str]:
    """Two values of the wrong type or out of range for one knob (drawn from a seeded rng)."""
    if isinstance(child, IntegerNode):
        return ["-3", rng.choice(["abc", "1.5", "[1]", "nan"])]
    if isinstance(child, FloatNode):
        return ["nan", rng.choice(["inf", "-inf", "abc", "[1.0]"])]
    if isinstance(child, BooleanNode):
        return [rng.choice(["maybe", "sometimes", "[true]"]), rng.choice(["2", "0", "1.5"])]
    if isinstance(child, ListConfig) and child._metadata.element_type is int:
        if child._key() in STEP_LISTS:  # env steps: 0 is a step, [] is none
            return [rng.choice(["[-1, 0, 1]", "[12, 4]", "[12, 8, 4]"]), rng.choice(["[x]", "7"])]
        return [rng.choice(["[-1]", "[0]", "[]"]), rng.choice(["[x]", "[1.5]", "7"])]
    return []


def words(command: str) -> list[str]:
    """The command and, for a job whose first word picks an action (bench), its first action."""
    module = job_module(command)
    return [command, *list(getattr(module, "ACTIONS", {}))[:1]]


def config_cases() -> list[tuple[str, list[str]]]:
    """(the key the error must name, argv) for every bad value of every knob of every command."""
    cases, rng = [], random.Random(17)
    for command in COMMANDS:
        cfg = OmegaConf.structured(job_module(command).Config)
        cases.append(("nosuchknob", [*words(command), "nosuchknob=1"]))
        for dotted, child in knobs(cfg):
            cases += [(dotted, [*words(command), f"{dotted}={v}"]) for v in bad_values(child, rng)]
    cases += [(key, [command, f"{key}=0"]) for command, key in ZERO_COUNTS]
    cases += [(key, [command, f"{key}=no_such_thing"]) for command, key in ENUMS]
    return cases


# Knobs that keep the file cases from stopping at something else first (no LPIPS weights, no
# caption embeddings in the cache).
TRAIN_VAE = ["train-vae", "loss.perceptual=none"]
TRAIN = ["train", "data.roots=[{cache}]", "text.name=none"]


def file_cases() -> list[tuple[str, list[str]]]:
    """(the file the error must name, argv): missing, truncated, wrong files; bad episodes."""
    missing = "{tmp}/missing"
    cases = [
        (missing, ["record", f"{missing}.yaml"]),
        ("{bad_yaml}", ["train", "{bad_yaml}"]),
        (missing, [*TRAIN_VAE, f"data.root={missing}"]),
        (missing, [*TRAIN_VAE, f"data.roots=[{missing}]"]),
        (missing, [*TRAIN_VAE, "data.root={store}", f"resume={missing}.ckpt"]),
        (missing, ["encode", f"store={missing}", "checkpoint={vae}"]),
        (missing, ["encode", "store={store}", f"checkpoint={missing}.ckpt"]),
        (missing, ["decode", f"cache={missing}"]),
        (missing, ["train", f"data.roots=[{missing}]"]),
        (missing, [*TRAIN, f"init={missing}.ckpt"]),
        (missing, [*TRAIN, f"train.resume={missing}.ckpt"]),
        (missing, ["sample", f"ckpt={missing}.ckpt"]),
        (missing, ["sample", "ckpt={dit}", f"input={missing}.mp4"]),
        (
            missing,
            ["sample", "ckpt={dit}", "mode=interpolate", "input={store}", f"input2={missing}"],
        ),
        (missing, ["export", f"ckpt={missing}.ckpt"]),
        (missing, ["eval", f"model={missing}.ckpt"]),
        (missing, ["eval", f"idm={missing}.ckpt", "suite=control"]),
        (missing, ["import-vpt", f"src={missing}"]),
        (missing, ["embed-text", f"store={missing}"]),
        (missing, ["data", "info", missing]),
        (missing, ["data", "verify", missing]),
        (missing, ["data", "preview", missing]),
        ("{vpt_truncated}", ["import-vpt", "src={vpt_truncated}"]),
        ("{vpt_no_keyboard}", ["import-vpt", "src={vpt_no_keyboard}"]),
    ]
    for name in ("text", "truncated", "empty"):  # files given as checkpoints
        ckpt = f"{{ckpt_{name}}}"
        cases += [
            (ckpt, ["sample", f"ckpt={ckpt}"]),
            (ckpt, ["export", f"ckpt={ckpt}"]),
            (ckpt, ["encode", "store={store}", f"checkpoint={ckpt}"]),
            (ckpt, ["eval", f"model={ckpt}"]),
            (ckpt, [*TRAIN_VAE, "data.root={store}", f"resume={ckpt}"]),
            (ckpt, [*TRAIN, f"init={ckpt}"]),
            (ckpt, ["sample", "ckpt={dit}", f"autoencoder={ckpt}"]),
        ]
    cases += [  # a diverged VAE (NaN weights): refused at load, before any latent is written
        ("{vae_nan}", ["encode", "store={store}", "checkpoint={vae_nan}"]),
        ("{vae_nan}", ["decode", "cache={cache}", "checkpoint={vae_nan}"]),
        ("{vae_nan}", ["sample", "ckpt={dit}", "autoencoder={vae_nan}"]),
    ]
    for name in ("truncated_mp4", "text"):  # files given as videos
        cases.append((f"{{{name}}}", ["sample", "ckpt={dit}", f"input={{{name}}}"]))
    for bad, (spoiled, _) in BAD_CACHES.items():  # latent caches with one malformed file
        cache, named = f"{{cache_{bad}}}", f"{{cache_{bad}}}/{spoiled}"
        cases += [
            (named, ["train", f"data.roots=[{cache}]", "text.name=none"]),
            (named, ["decode", f"cache={cache}", "checkpoint={vae}"]),
        ]
    cases.append(("{cache_cut_manifest}", ["data", "info", "{cache_cut_manifest}"]))
    for bad in BAD_EPISODES:  # stores holding one malformed episode
        store = f"{{store_{bad}}}"
        cases += [
            (store, [*TRAIN_VAE, f"data.root={store}"]),
            (store, ["sample", "ckpt={dit}", f"input={store}"]),
            (store, ["encode", f"store={store}", "checkpoint={vae}"]),
            (store, ["data", "preview", store]),
        ]
    return cases


def nan_frames(ep):
    ep.frames = ep.frames.astype(np.float32)
    ep.frames[0, 0, 0, 0] = np.nan


def nan_actions(ep):
    ep.actions[3, 0] = np.nan


def int_frames(ep):
    ep.frames = ep.frames.astype(np.int64)


def short_actions(ep):
    ep.actions = ep.actions[:-2]


def flat_frames(ep):
    ep.frames = ep.frames[..., 0]


BAD_EPISODES = {
    "nan_frames": nan_frames,
    "nan_actions": nan_actions,
    "int_frames": int_frames,
    "short_actions": short_actions,
    "flat_frames": flat_frames,
}


LATENTS, ACTIONS = "ep_000001/latents.npy", "ep_000001/actions.npy"


def resave(path: Path, change) -> None:
    np.save(path, change(np.load(path)))


def nan_at(array: np.ndarray, value: float = np.nan) -> np.ndarray:
    array.flat[3] = value
    return array


def nan_stats(root: Path) -> None:
    stats = json.loads((root / "stats.json").read_text())
    stats["std"][1] = float("nan")
    (root / "stats.json").write_text(json.dumps(stats))


def nan_text(root: Path) -> None:
    """A text table with a NaN embedding, listed in the manifest with its own sha256 (what a
    writer without the finite check would leave)."""
    from worldsim.data.manifest import file_sha256
    from worldsim.models.text import TextTable

    table = TextTable("toy", 2)
    table.add("a red box", np.zeros((1, 2)), np.array([0.0, np.nan]))
    table.save(root / "text.npz")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["text"] = {
        "file": "text.npz",
        "sentences": 1,
        "sha256": file_sha256(root / "text.npz"),
    }
    (root / "manifest.json").write_text(json.dumps(manifest))


def cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


# latent caches spoilt in one file: (the file, relative to the cache, that the error must name;
# what spoils it)
BAD_CACHES = {
    "nan_latents": (LATENTS, lambda root: resave(root / LATENTS, nan_at)),
    "inf_actions": (ACTIONS, lambda root: resave(root / ACTIONS, lambda a: nan_at(a, np.inf))),
    "wrong_shape": (LATENTS, lambda root: resave(root / LATENTS, lambda z: z[:, :, :-1])),
    "wrong_dtype": (LATENTS, lambda root: resave(root / LATENTS, lambda z: z.astype(np.float32))),
    "int_actions": (ACTIONS, lambda root: resave(root / ACTIONS, lambda a: a.astype(np.int64))),
    "cut_latents": (LATENTS, lambda root: cut(root / LATENTS, 100)),
    "cut_actions": (ACTIONS, lambda root: cut(root / ACTIONS, 90)),
    "no_stats": ("stats.json", lambda root: (root / "stats.json").unlink()),
    "nan_stats": ("stats.json", nan_stats),
    "nan_text": ("text.npz", nan_text),
    "cut_manifest": ("manifest.json", lambda root: cut(root / "manifest.json", 50)),
}


def bad_store(root: Path, spoil) -> Path:
    """A store whose second episode is written as is after `spoil` (past the writer's checks)."""
    store = EpisodeStore(root, create=True)
    entries = []
    for k in range(2):
        ep = synthetic_episode(seed=k)
        if k == 1:
            spoil(ep)
            ep.validate = lambda name="episode": None  # what a foreign or buggy writer leaves
        entries.append(write_episode(root, episode_name(k), ep))
    store.add(entries)
    return root


def vpt_dir(root: Path, lines: list[str]) -> Path:
    from worldsim.video import write_video

    root.mkdir()
    write_video(root / "rec.mp4", np.zeros((len(lines), 36, 64, 3), np.uint8), fps=20)
    (root / "rec.jsonl").write_text("\n".join(lines) + "\n")
    return root


def tree_digest(root: Path, content: bool = False) -> str:
    """A digest of the files under `root`: names, sizes and times (cheap), or their bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(str(path.relative_to(root)).encode())
        digest.update(
            path.read_bytes() if content else f"{stat.st_size} {stat.st_mtime_ns}".encode()
        )
    return digest.hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The files the cases point at: a good store, cache and VAE, and bad files of every kind."""
    from tests.test_world_model import tiny_module, tiny_vae, write_cache
    from worldsim.models.autoencoder import load_autoencoder, save_autoencoder
    from worldsim.training.world_model import export_checkpoint

    tmp = tmp_path_factory.mktemp("fuzz")
    good = json.dumps({"mouse": {"dx": 0, "dy": 0, "buttons": []}, "keyboard": {"keys": []}})
    files = {
        "tmp": tmp,
        "store": bad_store(tmp / "store", lambda ep: None),
        "vae": Path(tiny_vae(tmp / "vae.ckpt")),
        "bad_yaml": tmp / "bad.yaml",
        "ckpt_text": tmp / "notes.ckpt",
        "ckpt_truncated": tmp / "truncated.ckpt",
        "ckpt_empty": tmp / "empty.ckpt",
        "truncated_mp4": tmp / "truncated.mp4",
        "text": tmp / "notes.mp4",
        "vpt_truncated": vpt_dir(tmp / "vpt_truncated", [good, good[:20]]),
        "vpt_no_keyboard": vpt_dir(tmp / "vpt_no_keyboard", [good, '{"mouse": {}}']),
    }
    files["cache"] = Path(write_cache(tmp / "cache", str(files["vae"])))
    for name, (_, spoil) in BAD_CACHES.items():
        files[f"cache_{name}"] = Path(write_cache(tmp / f"cache_{name}", str(files["vae"])))
        spoil(files[f"cache_{name}"])
    files["vae_nan"] = tmp / "vae_nan.ckpt"
    vae = load_autoencoder(files["vae"])
    with torch.no_grad():
        next(vae.parameters()).fill_(float("nan"))
    save_autoencoder(vae, files["vae_nan"])
    files["dit"] = tmp / "dit.ckpt"
    module = tiny_module(action_dim=4 * 3)
    module.latent_info.autoencoder = str(files["vae"])
    export_checkpoint(module, str(files["dit"]))
    files["bad_yaml"].write_text("data: {roots: [a,\n")
    files["ckpt_text"].write_text("not a checkpoint\n")
    files["ckpt_truncated"].write_bytes(files["vae"].read_bytes()[:500])
    files["ckpt_empty"].write_bytes(b"")
    files["text"].write_text("not a video\n")
    video = tmp / "good.mp4"
    from worldsim.video import write_video

    write_video(video, np.zeros((8, 16, 16, 3), np.uint8))
    files["truncated_mp4"].write_bytes(video.read_bytes()[:200])
    for name, spoil in BAD_EPISODES.items():
        files[f"store_{name}"] = bad_store(tmp / f"store_{name}", spoil)
    return files


CASES = config_cases() + file_cases()
GROUPS: dict[str, list[tuple[str, list[str]]]] = {}  # by command: one test each, cases looped
for case in CASES:
    GROUPS.setdefault(case[1][0], []).append(case)


def test_the_fuzz_has_at_least_300_cases():
    assert len(CASES) >= 300, len(CASES)


def refusal(argv: list[str], named: str, out: Path, capsys) -> str | None:
    """Why running `argv` is not a one-line refusal naming `named` that writes nothing (or None)."""
    code = main(argv if argv[0] == "data" else [*argv, f"out={out}"])
    err = capsys.readouterr().err.strip().splitlines()
    if code != 2 or len(err) != 1 or not err[0].startswith("worldsim: error: "):
        return f"exit {code}, stderr {err[-3:]}"
    if named not in err[0]:
        return f"does not name {named}: {err[0]}"
    written = [str(p) for p in out.rglob("*") if p.is_file()]
    return f"work started before the input was refused: {written}" if written else None


def test_nothing_non_finite_is_written_to_a_latent_cache(tmp_path):
    from worldsim.data.episode import EpisodeError
    from worldsim.data.latent_cache import LatentCache, write_latent_episode
    from worldsim.models.text import TextTable

    cache = LatentCache(tmp_path, create=True)
    latents = np.full((2, 4, 3, 3), 7e4)  # beyond float16's 65504: inf once stored
    with pytest.raises(EpisodeError, match="ep_000000: the autoencoder gave 72 NaN/inf"):
        write_latent_episode(tmp_path, "ep_000000", latents, np.zeros((5, 2)), {}, 4)
    text = TextTable("toy", 2)
    text.add("a red box", np.zeros((1, 2)), np.array([0.0, np.nan]))
    with pytest.raises(EpisodeError, match="NaN/inf embeddings for 1 sentences"):
        cache.add([], text)
    assert [p.name for p in tmp_path.iterdir()] == [".manifest.lock"]


def test_data_verify_names_each_malformed_latent_cache_file_and_changes_nothing(world, capsys):
    for bad, (spoiled, _) in BAD_CACHES.items():
        root = world[f"cache_{bad}"]
        before = tree_digest(root, content=True)
        code = main(["data", "verify", str(root)])
        out, err = capsys.readouterr()
        if bad == "cut_manifest":  # nothing to verify against: one line, exit 2
            assert code == 2 and len(err.strip().splitlines()) == 1 and "manifest.json" in err
            continue
        flagged = [line for line in out.splitlines() if line.startswith("BAD ")]
        assert code == 1 and any(str(root / spoiled) in line for line in flagged), (bad, out)
        assert "fix: " in out and tree_digest(root, content=True) == before


@pytest.mark.parametrize("command", list(GROUPS))
def test_malformed_inputs_are_one_line_naming_them_and_change_nothing(
    command, world, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # defaults like data/rollouts resolve to nothing here
    fill = {k: str(v) for k, v in world.items()}
    kept = {name: tree_digest(world[name], content=True) for name in ("store", "cache")}
    failures = []
    for k, (named, argv) in enumerate(GROUPS[command]):
        argv, named = [part.format(**fill) for part in argv], named.format(**fill)
        before = {name: tree_digest(world[name]) for name in kept}
        problem = refusal(argv, named, tmp_path / f"out{k}", capsys)
        if {name: tree_digest(world[name]) for name in kept} != before:
            problem = f"changed the store or cache; {problem or ''}"
        failures += [f"{' '.join(argv)}: {problem}"] if problem else []
    assert not failures, "\n".join(failures)
    assert {name: tree_digest(world[name], content=True) for name in kept} == kept
