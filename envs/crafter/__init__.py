"""Crafter environments (registered with Gymnasium on import; crafter is imported when one is made).

The ids differ by the task of their scripted policy (and caption prompt); the world is the same.
"""

from envs.registration import register_family

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

register_family(
    "Crafter",
    "envs.crafter.env:CrafterEnv",
    {name: {"task": task} for name, task in TASK_IDS.items()},
    max_episode_steps=10000,
)
