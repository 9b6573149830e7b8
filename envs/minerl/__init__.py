"""MineRL environments (registered with Gymnasium on import, without importing minerl)."""

from envs.registration import register_family

MINERL_IDS = {  # worldsim id suffix -> MineRL 1.0 env id
    "FindCave": "MineRLBasaltFindCave-v0",
    "MakeWaterfall": "MineRLBasaltMakeWaterfall-v0",
    "AnimalPen": "MineRLBasaltCreateVillageAnimalPen-v0",
    "VillageHouse": "MineRLBasaltBuildVillageHouse-v0",
    "ObtainDiamondShovel": "MineRLObtainDiamondShovel-v0",
}

register_family(
    "MineRL",
    "envs.minerl.env:MineRLEnv",
    {name: {"minerl_id": minerl_id} for name, minerl_id in MINERL_IDS.items()},
)
