"""ViZDoom environments (registered with Gymnasium on import; vizdoom is imported when one is made)."""

import gymnasium as gym

SCENARIOS = {  # env id suffix -> ViZDoom scenario
    "MyWayHome": "my_way_home",
    "HealthGathering": "health_gathering",
    "Deathmatch": "deathmatch",
    "DefendTheCenter": "defend_the_center",
}

for _name, _scenario in SCENARIOS.items():
    gym.register(
        id=f"worldsim/Doom{_name}-v0",
        entry_point="envs.doom.env:DoomEnv",
        kwargs={"scenario": _scenario},
        max_episode_steps=1000,
    )
