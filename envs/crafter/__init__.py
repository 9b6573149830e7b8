"""Crafter environments (registered with Gymnasium on import; crafter is imported when one is made).

The ids differ by the task of their scripted policy (and caption prompt); the world is the same.
"""

import gymnasium as gym

TASK_IDS = {  # env id suffix -> scripted task
    "Reward": "collect_wood",
    "CollectWood": "collect_wood",
    "PlaceTable": "place_table",
    "MakeWoodPickaxe": "make_wood_pickaxe",
    "CollectStone": "collect_stone",
    "CollectDrink": "collect_drink",
    "PlacePlant": "place_plant",
    "EatCow": "eat_cow",
}

for _name, _task in TASK_IDS.items():
    gym.register(
        id=f"worldsim/Crafter{_name}-v0",
        entry_point="envs.crafter.env:CrafterEnv",
        kwargs={"task": _task},
        max_episode_steps=10000,
    )
