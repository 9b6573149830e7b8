"""`worldsim record` (alias `worldsim rollout`): record episodes from an env into a store."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.make import EnvConfig
from worldsim.config import ConfigError
from worldsim.data.record import record_episodes


@dataclass
class Config:
    """Record job: env, how many episodes of how many frames, where, and how in parallel."""

    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 8
    steps: int = 64  # frames per episode (fewer if the env terminates)
    seed: int = 0  # episode k uses seed + k
    workers: int = 1
    shard: str = "0/1"  # i/n: this process makes episodes k with k % n == i
    policy: str = "random"  # random | scripted | mixed (epsilon-greedy mix of both, by seed)
    out: str = "data/rollouts"
    progress: bool = True


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
        )
    except ValueError as err:
        raise ConfigError(str(err)) from err
    print(
        f"record: wrote {summary.written} episodes ({summary.frames} frames, "
        f"{summary.frames_per_second:.0f} frames/s), {summary.skipped} already done -> {cfg.out}"
    )
