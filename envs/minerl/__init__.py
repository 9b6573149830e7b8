"""MineRL environments (registered with Gymnasium on import, without importing minerl)."""

import gymnasium as gym

MINERL_IDS = {  # worldsim id suffix -> MineRL 1.0 env id
    "FindCave": "MineRLBasaltFindCave-v0",
    "MakeWaterfall": "MineRLBasaltMakeWaterfall-v0",
    "AnimalPen": "MineRLBasaltCreateVillageAnimalPen-v0",
    "VillageHouse": "MineRLBasaltBuildVillageHouse-v0",
    "ObtainDiamondShovel": "MineRLObtainDiamondShovel-v0",
}

for _name, _minerl_id in MINERL_IDS.items():
    gym.register(
        id=f"worldsim/MineRL{_name}-v0",
        entry_point="envs.minerl.env:MineRLEnv",
        kwargs={"minerl_id": _minerl_id},
    )
