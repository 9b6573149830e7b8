"""Faults: SIGKILL at a random moment during `encode` and `train`, Ctrl-C during `train` and
`train-vae`, and two `record` shards writing one store at once; each time a rerun of the same
command finishes the job as if nothing had happened."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import synthetic_episode
from tests.test_world_model import tiny_vae, write_cache
from worldsim.cli import main
from worldsim.data.store import EpisodeStore, episode_name, write_episode
from worldsim.training.world_model import load_world_model

# subprocesses compute with as many threads as this one, so their floats are bit-identical
ENV = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "worldsim.cli", *args],
        env=ENV,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.02)


def _listed(root: Path) -> int:
    try:
        return len(json.loads((root / "manifest.json").read_text())["episodes"])
    except (OSError, ValueError):
        return 0


def test_encode_killed_at_a_random_moment_resumes_to_an_identical_cache(tmp_path):
    store = EpisodeStore(tmp_path / "store", create=True)
    store.add(
        [
            write_episode(store.root, episode_name(k), synthetic_episode(25, 32, 32, seed=k))
            for k in range(6)
        ]
    )
    vae = tiny_vae(tmp_path / "vae.ckpt")
    args = ["encode", f"store={store.root}", f"checkpoint={vae}", "device=cpu", "text.name=none"]
    assert main([*args, f"out={tmp_path / 'clean'}"]) == 0
    killed, rng = tmp_path / "killed", random.Random(0)
    proc = _start([*args, f"out={killed}"])
    _wait_for(proc, lambda: _listed(killed) > 0)  # once it is writing, at a random moment after
    time.sleep(rng.uniform(0.0, 0.1))
    assert proc.poll() is None, "encode finished before it could be killed; lengthen it"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < _listed(killed) < 6
    assert main([*args, f"out={killed}"]) == 0
    for name in ("manifest.json", "stats.json", "autoencoder.json"):
        assert (killed / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
    assert not [p for p in killed.iterdir() if p.name.startswith(".tmp-")]


def _step(path: Path) -> int:
    """The training step a checkpoint holds (-1 while there is none)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)["global_step"]
    except (OSError, RuntimeError, EOFError):
        return -1


def test_train_killed_then_interrupted_resumes_from_its_last_checkpoint(tmp_path, capsys):
    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"), episodes=6)
    out, steps = tmp_path / "run", 24
    last = out / "checkpoints" / "last.ckpt"
    args = ["train", f"data.roots=[{root}]", "data.lengths=[3]", "data.batch_size=2"]
    args += ["model=dit_tiny", "text.name=none", f"train.max_steps={steps}", "train.ckpt_every=2"]
    args += ["train.val_every=1000", "train.sample_videos=false", f"out={out}"]
    rng = random.Random(1)

    proc = _start(args)  # SIGKILL at a random moment after the first checkpoint
    _wait_for(proc, last.is_file)
    time.sleep(rng.uniform(0.0, 0.1))
    assert proc.poll() is None, "train finished before it could be killed; lengthen it"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _step(last)
    assert 0 < killed_at < steps

    proc = _start(args)  # the same command resumes; Ctrl-C saves where it is
    _wait_for(proc, lambda: _step(last) > killed_at)
    proc.send_signal(signal.SIGINT)
    printed = proc.communicate(timeout=120)[0]
    assert f"resuming from {last}" in printed
    assert "interrupt: stopping after this step" in printed  # a flag, not a KeyboardInterrupt
    interrupted_at = int(printed.split("interrupted at step ")[1].split(":")[0])
    assert killed_at < interrupted_at == _step(last) < steps

    assert main(args) == 0  # and the same command again finishes the run
    assert f"resuming from {last}" in capsys.readouterr().out
    assert _step(last) == steps and (out / "ema.ckpt").is_file()
    # the run's steps travel with its weights: ema.ckpt, a snapshot export of last.ckpt, and on
    assert main(["export", f"ckpt={last}", f"out={tmp_path / 'snap.pt'}"]) == 0
    assert f"({steps} steps)" in capsys.readouterr().out
    for path in (out / "ema.ckpt", last, tmp_path / "snap.pt"):
        assert load_world_model(str(path)).run_steps == steps, path


def test_a_run_resumed_from_an_interrupt_keeps_writing_last_ckpt(tmp_path):
    """Ctrl-C before the first checkpoint interval leaves a last.ckpt that no periodic save wrote;
    the resumed run's periodic saves must replace it (Lightning's default writes last-v1.ckpt
    beside it, and a crash then resumed from the stale one: 9,000 GPU steps lost, 2026-11-30)."""
    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"), episodes=4)
    out = tmp_path / "run"
    last = out / "checkpoints" / "last.ckpt"
    args = ["train", f"data.roots=[{root}]", "data.lengths=[3]", "data.batch_size=2"]
    args += ["model=dit_tiny", "text.name=none", "train.max_steps=1000", "train.val_every=1000"]
    args += ["train.sample_videos=false", f"out={out}"]

    proc = _start([*args, "train.ckpt_every=1000"])
    _wait_for(proc, (out / "logs").is_dir)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    interrupted_at = _step(last)

    proc = _start([*args, "train.ckpt_every=2"])
    _wait_for(proc, lambda: _step(last) > interrupted_at + 2)
    proc.kill()
    proc.wait()
    assert not list(last.parent.glob("last-v*.ckpt"))


# the rerun checkpoints at another interval on purpose, which Lightning warns of on resume
@pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`")
def test_train_vae_interrupted_saves_a_checkpoint_it_resumes_from(tmp_path, capsys):
    store = EpisodeStore(tmp_path / "store", create=True)
    store.add(
        [write_episode(store.root, episode_name(k), synthetic_episode(seed=k)) for k in (0, 1)]
    )
    out = tmp_path / "vae"
    last = out / "checkpoints" / "last.ckpt"
    args = ["train-vae", f"data.root={store.root}", "data.batch_size=1", "model.base_channels=8"]
    args += [
        "trainer.limit_val_batches=0",
        "eval_episodes=0",
        "trainer.accelerator=cpu",
        f"out={out}",
    ]

    # Ctrl-C before any checkpoint interval: only the interrupt writes last.ckpt
    proc = _start([*args, "trainer.max_steps=1000", "trainer.val_every_steps=1000"])
    _wait_for(proc, (out / "logs").is_dir)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    printed = proc.communicate(timeout=120)[0]
    interrupted_at = int(printed.split("interrupted at step ")[1].split(":")[0])
    assert 0 <= interrupted_at == _step(last) < 1000

    # the rerun resumes; its periodic save (one step on) replaces the interrupt's last.ckpt (no
    # last-v1.ckpt beside it), and its end is saved too, though no checkpoint interval falls there
    end = [
        f"trainer.max_steps={interrupted_at + 2}",
        f"trainer.val_every_steps={interrupted_at + 1}",
    ]
    assert main([*args, *end]) == 0
    assert f"resuming from {last}" in capsys.readouterr().out
    assert _step(last) == interrupted_at + 2 and (out / "vae.ckpt").is_file()
    assert not list(last.parent.glob("last-v*.ckpt"))


def test_two_record_shards_at_once_fill_one_store_without_collisions(tmp_path):
    args = ["record", "env.id=worldsim/MujocoBounce-v0", "env.width=16", "env.height=16"]
    args += ["episodes=10", "steps=8", "progress=false", f"out={tmp_path / 'store'}"]
    shards = [_start([*args, f"shard={i}/2"]) for i in range(2)]
    for proc in shards:
        assert proc.wait(timeout=240) == 0, proc.stdout.read()
    store = EpisodeStore(tmp_path / "store")
    assert store.names() == [episode_name(k) for k in range(10)]
    assert store.verify_all() == [] and {store.entry(n).seed for n in store.names()} == set(
        range(10)
    )
    store.check()  # complete: the record asks for 10 episodes, no leftovers


def test_a_checkpoint_write_that_fails_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    from worldsim.training.atomic_checkpoint_io import AtomicCheckpointIO

    io, path = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)

    def cut_short(obj, f):  # a process killed mid-write: half a file, then gone
        f.write(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", cut_short)
    try:
        io.save_checkpoint({"step": 2}, path)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert torch.load(path) == {"step": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def test_a_checkpoint_path_without_a_suffix_is_written_whole(tmp_path):
    from worldsim.models.checkpoint import write_checkpoint

    # torch names its archive after a path's stem: `.tmp-model-PID` alone has none it accepts
    write_checkpoint({"step": 3}, tmp_path / "model")
    assert torch.load(tmp_path / "model") == {"step": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
