"""`worldsim rollout`: generate episodes from an env into an episode store."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.make import EnvConfig
from worldsim.config import ConfigError


@dataclass
class Config:
    """Rollout job: env, how many episodes of how many frames, where, and how in parallel."""

    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 8
    steps: int = 64  # frames per episode (fewer if the env terminates)
    seed: int = 0  # episode k uses seed + k
    workers: int = 1
    shard: str = "0/1"  # i/n: this process makes episodes k with k % n == i
    policy: str = "random"  # random | scripted
    out: str = "data/rollouts"
    progress: bool = True


def run(cfg: Config) -> None:
    from envs.rollout import rollout

    try:
        summary = rollout(
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
        f"rollout: wrote {summary.written} episodes ({summary.frames} frames, "
        f"{summary.frames_per_second:.0f} frames/s), {summary.skipped} already done -> {cfg.out}"
    )
