"""`worldsim record` (alias `worldsim rollout`): record episodes from an env into a store."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.make import EnvConfig
from worldsim.config import ConfigError
from worldsim.data.record import record_episodes
from worldsim.data.store import EpisodeStore
from worldsim.jobs.pipeline import claim_output

# knobs that may change between runs into one store: how many episodes, and how they are made
FREE = ("out", "episodes", "workers", "shard", "progress", "overwrite")


@dataclass
class Config:
    """Record job: env, how many episodes of how many frames, where, and how in parallel."""

    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 8  # episodes k = 0 .. episodes - 1 (finished ones are skipped)
    steps: int = 64  # frames per episode (fewer if the env terminates)
    seed: int = 0  # episode k uses seed + k
    workers: int = 1  # recording processes (the same dataset for any count)
    shard: str = "0/1"  # i/n: this process makes episodes k with k % n == i
    policy: str = "random"  # random | scripted | mixed (epsilon-greedy mix of both, by seed)
    out: str = "data/rollouts"  # the episode store (created, or extended on a rerun)
    progress: bool = True  # show a progress bar
    overwrite: bool = False  # replace a store that another env/steps/seed/policy recorded


def _claim(cfg: Config) -> None:
    """Refuse a store another config made (clear it under overwrite=true), then record this one."""
    store = EpisodeStore(cfg.out, create=True)  # a latent cache there: refused, its files kept
    if claim_output("record", cfg, FREE, episodes=cfg.episodes):
        store.clear()


def run(cfg: Config) -> None:
    try:
        summary = record_episodes(
            cfg.env,
            cfg.out,
            cfg.episodes,
            cfg.steps,
            cfg.seed,
            cfg.workers,
            cfg.shard,
            cfg.policy,
            cfg.progress,
            checked=lambda: _claim(cfg),
        )
    except ValueError as err:
        raise ConfigError(str(err)) from err
    print(
        f"record: wrote {summary.written} episode{'s' * (summary.written != 1)} "
        f"({summary.frames} frames, "
        f"{summary.frames_per_second:.0f} frames/s), {summary.skipped} already done -> {cfg.out}"
    )
