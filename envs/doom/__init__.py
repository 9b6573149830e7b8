"""ViZDoom environments (registered with Gymnasium on import; vizdoom is imported when one is
made)."""

from envs.registration import register_family

# ViZDoom's bundled scenarios; the env id is their CamelCase name: worldsim/DoomMyWayHome-v0.
SCENARIOS = ("my_way_home", "health_gathering", "deathmatch", "defend_the_center")

register_family(
    "Doom",
    "envs.doom.env:DoomEnv",
    {s.title().replace("_", ""): {"scenario": s} for s in SCENARIOS},
    max_episode_steps=1000,
)
