"""worldsim environments: importing this package registers every env id with Gymnasium."""

from envs import crafter, doom, minerl, mujoco  # noqa: F401  (each registers its ids on import)
from envs.make import EnvConfig, make_env

__all__ = ["EnvConfig", "make_env"]
