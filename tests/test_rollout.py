"""Episode recording: determinism across workers and shards, resume after SIGKILL."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from envs.make import EnvConfig
from worldsim.data.record import RecordWorkerDied, parse_shard, record_episodes
from worldsim.data.store import EpisodeStore

BOUNCE = EnvConfig(id="worldsim/MujocoBounce-v0", width=32, height=32)


def manifest(root: Path) -> list[dict]:
    return json.loads((root / "manifest.json").read_text())["episodes"]


def test_episode_k_has_seed_base_plus_k_and_full_schema(tmp_path):
    record_episodes(BOUNCE, str(tmp_path), episodes=2, steps=6, seed=40, progress=False)
    store = EpisodeStore(tmp_path)
    ep = store.load("ep_000001")
    ep.validate("ep_000001")
    assert ep.meta["seed"] == 41 and ep.length == 6 and ep.resolution == (32, 32)
    assert {"extrinsics", "intrinsics", "depth", "instance"} <= set(ep.truth)
    assert ep.captions["long"] and ep.captions["prompt"]
    assert store.verify_all() == []


def test_dataset_is_identical_whatever_workers_and_shards(tmp_path):
    record_episodes(
        BOUNCE, str(tmp_path / "one"), episodes=4, steps=5, seed=7, workers=1, progress=False
    )
    for shard in ("0/2", "1/2"):
        record_episodes(
            BOUNCE,
            str(tmp_path / "sharded"),
            episodes=4,
            steps=5,
            seed=7,
            workers=2,
            shard=shard,
            progress=False,
        )
    assert manifest(tmp_path / "one") == manifest(tmp_path / "sharded")


def test_a_worker_that_dies_ends_the_job_with_an_error(tmp_path):
    """An env id registered in this process alone starts here and fails in every spawned worker:
    the job ends with one error instead of waiting for ever for the episodes those workers held
    (multiprocessing.Pool's way, which hung a GPU job on a segfaulting ViZDoom)."""
    import gymnasium as gym

    name = "worldsim_test/ParentOnly-v0"
    gym.register(name, entry_point=gym.registry[BOUNCE.id].entry_point)
    try:
        with pytest.raises(RecordWorkerDied, match="worker of worldsim_test/ParentOnly-v0 died"):
            record_episodes(
                EnvConfig(id=name, width=32, height=32),
                str(tmp_path),
                episodes=2,
                steps=4,
                workers=2,
                progress=False,
            )
    finally:
        del gym.registry[name]
    assert not list(tmp_path.glob("ep_*"))


def test_rerun_skips_finished_episodes(tmp_path):
    record_episodes(BOUNCE, str(tmp_path), episodes=2, steps=4, progress=False)
    summary = record_episodes(BOUNCE, str(tmp_path), episodes=3, steps=4, progress=False)
    assert (summary.written, summary.skipped) == (1, 2)


def test_bad_shard_and_policy_are_rejected():
    with pytest.raises(ValueError, match="shard='2/2' needs 0 <= i < n"):
        parse_shard("2/2")
    with pytest.raises(ValueError, match="policy='greedy'"):
        record_episodes(BOUNCE, "unused", episodes=1, steps=2, policy="greedy")


def _record_cmd(out: Path, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "worldsim.cli",
        "record",
        "env.id=worldsim/MujocoBounce-v0",
        "env.width=32",
        "env.height=32",
        "episodes=40",
        "steps=16",
        "seed=3",
        f"workers={workers}",
        f"out={out}",
        "progress=false",
    ]


def _finished(root: Path) -> int:
    try:
        return len(manifest(root))
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_killed_recording_resumes_to_identical_dataset(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(_record_cmd(reference, workers=1), check=True, capture_output=True)
    rng = random.Random(0)
    kills = 0
    for _ in range(4):
        before = _finished(killed)
        proc = subprocess.Popen(
            _record_cmd(killed, workers=2),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill once the job is writing (a new episode landed), at a random moment after: the
        # moment depends on progress, not on how fast this machine happens to be.
        deadline = time.monotonic() + 60
        while proc.poll() is None and _finished(killed) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the job and its workers, mid-write
            kills += 1
        proc.wait()
    subprocess.run(_record_cmd(killed, workers=2), check=True, capture_output=True)
    assert kills >= 3, "the job finished before it could be killed; lengthen it"
    assert manifest(killed) == manifest(reference)
    store = EpisodeStore(killed)
    assert store.verify_all() == []
    for name in store.names():
        np.testing.assert_array_equal(
            store.load(name).frames, EpisodeStore(reference).load(name).frames
        )
    leftovers = [p.name for p in killed.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []
