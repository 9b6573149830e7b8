"""MuJoCo physics scenes with exact truth; importing this package registers their Gymnasium ids."""

import gymnasium as gym

SCENARIOS = {
    "worldsim/MujocoBounce-v0": "envs.mujoco.scenarios:BounceEnv",
    "worldsim/MujocoCollide-v0": "envs.mujoco.scenarios:CollideEnv",
    "worldsim/MujocoOcclude-v0": "envs.mujoco.scenarios:OccludeEnv",
    "worldsim/MujocoOrbit-v0": "envs.mujoco.scenarios:OrbitEnv",
    "worldsim/MujocoPush-v0": "envs.mujoco.scenarios:PushEnv",
}

for _id, _entry in SCENARIOS.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_entry, disable_env_checker=True)
