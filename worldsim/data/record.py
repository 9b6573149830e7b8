"""Record episodes from an env into an episode store: parallel, seeded and resumable.

Episode k of a job always uses seed `seed + k` and is written as `ep_{k:06d}`, so the dataset
is byte-identical whatever the number of workers or shards. Workers write each finished
episode atomically; the parent records it in the manifest. A job killed at any moment leaves
only unlisted leftovers, which the next run of the same command deletes before resuming.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.base import ActionCodec, Captions, FrameTruth
from envs.make import EnvConfig, make_env
from worldsim.config import JobFailed
from worldsim.data.episode import EXTRA_PREFIX, SCHEMA_VERSION, Episode
from worldsim.data.store import EpisodeStore, ManifestEntry, episode_name, write_episode
from worldsim.progress_bar import progress_bar, restart

POLICIES = ("random", "scripted", "mixed")
# policy "mixed": episode seed s acts randomly with probability MIXED_EPSILONS[s % 4] at each step,
# else scripted: planner, epsilon-greedy and random play in one store, so every action and
# every outcome the planners reach appears in the data.
MIXED_EPSILONS = (0.0, 0.1, 0.3, 1.0)


def policy_epsilon(policy: str, seed: int) -> float:
    """Probability of a random action at each step of episode `seed` under `policy`."""
    if policy == "mixed":
        return MIXED_EPSILONS[seed % len(MIXED_EPSILONS)]
    return 1.0 if policy == "random" else 0.0


@dataclass(frozen=True)
class RecordJob:
    """Everything a worker needs to produce episodes (picklable)."""

    env: EnvConfig
    out: str
    steps: int
    seed: int
    policy: str


def parse_shard(shard: str) -> tuple[int, int]:
    """'i/n' -> (i, n), checked."""
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise ValueError(f"shard={shard!r} is not of the form i/n (e.g. shard=0/4)") from None
    if not 0 <= i < n:
        raise ValueError(f"shard={shard!r} needs 0 <= i < n")
    return i, n


def _jsonable(action: Any) -> Any:
    if isinstance(action, dict):
        return {k: _jsonable(v) for k, v in action.items()}
    if isinstance(action, (np.ndarray, np.generic)):
        return action.tolist()
    return action


def _stack_truth(truths: list[FrameTruth]) -> dict[str, np.ndarray]:
    """Per-frame FrameTruth list -> Episode.truth arrays, each (T, ...)."""
    first = truths[0]
    out: dict[str, np.ndarray] = {}
    for key, dtype in (
        ("extrinsics", np.float32),
        ("intrinsics", np.float32),
        ("depth", np.float32),
        ("instance", np.int16),
    ):
        if getattr(first, key) is not None:
            out[key] = np.stack([getattr(t, key) for t in truths]).astype(dtype)
    if first.objects is not None:
        for key in ("position", "velocity", "visible", "centroid", "bbox"):
            out[f"obj_{key}"] = np.stack([getattr(t.objects, key) for t in truths]).astype(
                np.float32
            )
    for key in first.extras:
        out[EXTRA_PREFIX + key] = np.stack([np.asarray(t.extras[key]) for t in truths])
    return out


def collect_episode(env: Any, seed: int, steps: int, policy: str, env_cfg: EnvConfig) -> Episode:
    """Run one episode of at most `steps` frames from `env.reset(seed=seed)`."""
    base = env.unwrapped
    codec: ActionCodec = base.action_codec
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    noop = codec.noop()
    frames, actions, raw = [obs], [codec.encode(noop)], [_jsonable(noop)]
    rewards, terminated, truths = [0.0], [False], [info["truth"]]
    events = [e.to_dict(0) for e in info.get("events", [])]
    epsilon, explore = policy_epsilon(policy, seed), np.random.default_rng(seed)
    for t in range(1, steps):
        random_step = explore.random() < epsilon
        action = env.action_space.sample() if random_step else base.scripted_action()
        obs, reward, term, trunc, info = env.step(action)
        frames.append(obs)
        actions.append(codec.encode(action))
        raw.append(_jsonable(action))
        rewards.append(float(reward))
        terminated.append(bool(term))
        truths.append(info["truth"])
        events.extend(e.to_dict(t) for e in info.get("events", []))
        if term or trunc:
            break
    objects = [o.to_dict() for o in base.object_table()]
    meta = {
        "env_id": env_cfg.id,
        "env_config": asdict(env_cfg),
        "seed": seed,
        "fps": env.metadata.get("render_fps", 15),
        "policy": policy,
        "epsilon": epsilon,
        "schema_version": SCHEMA_VERSION,
        "action_codec": codec.describe(),
    }
    episode = Episode(
        frames=np.stack(frames).astype(np.uint8),
        actions=np.stack(actions).astype(np.float32),
        raw_actions=raw,
        rewards=np.asarray(rewards, np.float32),
        terminated=np.asarray(terminated, bool),
        truth=_stack_truth(truths),
        objects=objects,
        events=events,
        meta=meta,
    )
    record = {
        "frames": episode.frames,
        "actions": episode.actions,
        "truth": episode.truth,
        "objects": objects,
        "events": events,
        "meta": meta,
    }
    captions: Captions = base.caption(record)
    episode.captions = captions.to_dict()
    return episode


# ------------------------------------------------------------------ worker processes

_WORKER: dict[str, Any] = {}


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when its parent dies, so a killed job leaves no writer behind."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _init_worker(job: RecordJob, in_child: bool) -> None:
    if in_child:
        _die_with_parent()
    _WORKER["job"] = job
    _WORKER["env"] = make_env(job.env)


def _run_index(index: int) -> ManifestEntry:
    job: RecordJob = _WORKER["job"]
    episode = collect_episode(_WORKER["env"], job.seed + index, job.steps, job.policy, job.env)
    episode.meta["index"] = index
    return write_episode(job.out, episode_name(index), episode)


class RecordWorkerDied(JobFailed):
    """A recording worker died (a simulator crash kills it by a signal; an env that fails to
    start in it ends it): the job stops with this error instead of waiting for its episode."""


def _pooled(job: RecordJob, workers: int, todo: list[int]) -> Iterator[ManifestEntry]:
    """Each episode of `todo` recorded by `workers` spawned processes, its manifest entry yielded
    as it finishes. A process pool, not `multiprocessing.Pool`: that one replaces a dead worker
    and waits for ever for the episode it held (a ViZDoom build that segfaulted hung a GPU job
    for 8 minutes, game RESULTS 25)."""
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=(job, True)) as pool:
        futures = [pool.submit(_run_index, k) for k in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BrokenProcessPool as err:
            for future in futures:
                future.cancel()
            raise RecordWorkerDied(
                f"a recording worker of {job.env.id} died (its error, if any, is above); the "
                "finished episodes are kept: rerun with workers=1 to see the crash"
            ) from err


@dataclass
class RecordSummary:
    written: int
    skipped: int
    frames: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def phase_bar(
    progress: bool | tqdm, total: int, done: int = 0, **style: Any
) -> AbstractContextManager[tqdm]:
    """The bar one phase of a job counts its `total` units on, `done` of them done already: a bar
    of its own (hidden when `progress` is false), or, when `progress` is a tqdm, that bar: a
    stage's one bar, shared by its phases, which each phase starts over at its own count (its
    units, its rate and ETA) and which the stage closes."""
    if isinstance(progress, tqdm):
        restart(progress, total, done, style.get("unit", "it"))
        return nullcontext(progress)
    return progress_bar(total=total, initial=done, disable=not progress, **style)


def record_episodes(
    env: EnvConfig,
    out: str,
    episodes: int,
    steps: int,
    seed: int = 0,
    workers: int = 1,
    shard: str = "0/1",
    policy: str = "random",
    progress: bool | tqdm = True,
    checked: Callable[[], None] = lambda: None,
) -> RecordSummary:
    """Fill store `out` with episodes 0..episodes-1 of this shard, skipping finished ones;
    `checked` is called once the arguments are valid, before the store is touched; `progress`:
    see `phase_bar`."""
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r}; choose one of {', '.join(POLICIES)}")
    if steps < 1 or episodes < 0 or workers < 1:
        raise ValueError(
            f"need steps >= 1, episodes >= 0, workers >= 1 (got {steps}, {episodes}, {workers})"
        )
    shard_i, shard_n = parse_shard(shard)
    make_env(env).close()  # fail fast, in this process, on a bad env id or kwargs
    checked()
    store = EpisodeStore(out, create=True)
    mine = [k for k in range(episodes) if k % shard_n == shard_i]
    store.remove_unfinished({episode_name(k) for k in mine})
    done = set(store.names())
    todo = [k for k in mine if episode_name(k) not in done]
    job = RecordJob(env=env, out=str(out), steps=steps, seed=seed, policy=policy)
    start, frames = time.perf_counter(), 0
    skipped = len(mine) - len(todo)
    with phase_bar(progress, len(mine), skipped, desc=f"record {env.id}", unit="ep") as bar:
        if workers == 1 or len(todo) <= 1:
            _init_worker(job, in_child=False)
            results = map(_run_index, todo)
        else:
            results = _pooled(job, min(workers, len(todo)), todo)
        for entry in results:
            store.add([entry])
            frames += entry.length
            # drawn by the update, at its interval: a refresh per episode would flood a log
            bar.set_postfix(fps=f"{frames / (time.perf_counter() - start):.0f}", refresh=False)
            bar.update(1)
    _WORKER.clear()
    return RecordSummary(
        written=len(todo),
        skipped=skipped,
        frames=frames,
        seconds=time.perf_counter() - start,
    )
