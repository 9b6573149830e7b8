"""Crafter as a worldsim env: top-down frames; semantic map, inventory and achievements as truth."""

from __future__ import annotations

import collections
from typing import Any

import gymnasium as gym
import numpy as np

from envs.base import (
    BACKGROUND_ID,
    Captions,
    DiscreteCodec,
    Event,
    FrameTruth,
    ObjectInfo,
    ObjectStates,
    WorldsimEnv,
)
from envs.crafter.captions import caption_sentences, describe_episode
from envs.crafter.scripted import TASKS, scripted_action

VIEW = (9, 9)  # crafter's view in cells, of which the bottom rows show the inventory
CREATURES = ("Player", "Cow", "Zombie", "Skeleton")
MIX = "mix"  # task value: a task drawn per episode


class _OrderedSet(dict):
    """A set iterating in insertion order (crafter's chunk sets iterate in memory-address order)."""

    def add(self, item: Any) -> None:
        self[item] = None

    def remove(self, item: Any) -> None:
        del self[item]


def make_deterministic(env: Any) -> Any:
    """Patch a crafter.Env so a seed fixes its episodes.

    crafter keeps the creatures of each chunk in a `set`, whose order depends on memory addresses,
    and picks creatures to despawn by index into it: two runs of one seed drift apart. Keeping
    the chunks in insertion order makes every run of a seed identical.
    """
    world = env._world
    original_reset = world.reset

    def reset(*args: Any, **kwargs: Any) -> None:
        original_reset(*args, **kwargs)
        world._chunks = collections.defaultdict(_OrderedSet)

    world.reset = reset
    return env


class CrafterEnv(WorldsimEnv):
    """crafter.Env behind the worldsim truth API; `task` picks the scripted policy (scripted.py).

    task="mix" draws one of the tasks per episode from the reset seed (a data mix of every plan).
    hits=True records each hit of the player on a creature as a "hit" event, and the captions say
    it ("The player hits a cow."): a cow takes three hits without a sword and the first two change
    nothing on screen, so only the text can tell a model of them. Off by default: the frozen
    held-out stores' checksums (experiments/game_world_models/evaluate.py) fix today's episodes.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        width: int = 64,
        height: int = 64,
        render_mode: str = "rgb_array",
        task: str = "collect_wood",
        area: tuple[int, int] = (64, 64),
        reward: bool = True,
        hits: bool = False,
    ):
        import crafter

        if task not in (*TASKS, MIX):
            raise ValueError(
                f"unknown crafter task {task!r}; choose one of {', '.join(TASKS)} or {MIX}"
            )
        if width < VIEW[0] or height < VIEW[1]:
            raise ValueError(f"crafter frames need at least {VIEW} pixels, got {width}x{height}")
        self.width, self.height, self.render_mode, self.task = width, height, render_mode, task
        self.hits = hits
        self.episode_task = task  # the task of the current episode (drawn per episode for "mix")
        self._crafter = crafter
        self._env = make_deterministic(
            crafter.Env(
                area=tuple(area), view=VIEW, size=(width, height), reward=reward, length=None
            )
        )
        self.actions = list(crafter.constants.actions)
        self.items = list(crafter.constants.items)
        self.achievements = list(crafter.constants.achievements)
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(self.actions))
        self.action_codec = DiscreteCodec(
            len(self.actions), self.actions, noop_index=self.actions.index("noop")
        )
        self._objects: list[ObjectInfo] = []
        self._tracked: list[Any] = []  # crafter objects of the table, in table order

    # ------------------------------------------------------------------ gymnasium API

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        # crafter seeds episode e of seed s with hash((s, e)); restart the count so that a seed
        # fixes the world.
        self._env._seed, self._env._episode = int(self.np_random.integers(2**31 - 1)), 0
        obs = self._env.reset()
        if self.task == MIX:
            self.episode_task = TASKS[int(self.np_random.integers(len(TASKS)))]
        world = self._env._world
        self._tracked = [o for o in world.objects if type(o).__name__ in CREATURES]
        counts: dict[str, int] = {}
        self._objects = []
        for i, obj in enumerate(self._tracked):
            kind = type(obj).__name__.lower()
            counts[kind] = counts.get(kind, 0) + 1
            self._objects.append(ObjectInfo(id=i, name=f"{kind}_{counts[kind]}", category=kind))
        self._position = np.zeros((len(self._tracked), 3), np.float32)
        self._was_alive = self._alive()
        self._position = self._positions(self._was_alive)
        self._inventory = dict(self._env._player.inventory)
        self._achieved = dict(self._env._player.achievements)
        truth, events = self._truth(obs)
        return obs, {"truth": truth, "events": events}

    def step(self, action):
        struck = self._struck(int(action)) if self.hits else None
        obs, reward, _, _ = self._env.step(int(action))
        terminated = self._env._player.health <= 0
        truth, events = self._truth(obs)
        if struck is not None and struck[0].health < struck[1]:
            events.append(self._hit(struck[0]))
        return obs, float(reward), bool(terminated), False, {"truth": truth, "events": events}

    def render(self):
        return self._env.render()

    # ------------------------------------------------------------------ worldsim API

    def object_table(self) -> list[ObjectInfo]:
        return list(self._objects)

    @property
    def sleeping(self) -> bool:
        """Whether the player sleeps now: crafter then ignores the action taken and draws the
        view dark until the energy is full (not in the recorded truth, whose frozen stores'
        checksums fix its keys; read by replaying an episode, experiments' sleep_count.py)."""
        return bool(self._env._player.sleeping)

    def scripted_action(self) -> int:
        """The action the scripted policy of `task` takes now."""
        world, player = self._env._world, self._env._player
        name = scripted_action(self.episode_task, world, player, self.np_random)
        return self.actions.index(name)

    def caption(self, record: dict[str, Any]) -> Captions:
        return describe_episode(record, self.episode_task, self.items, self.achievements)

    def semantic_names(self) -> list[str]:
        """The legend of truth extras["semantic"]: entry i names id i, a material ("" for the
        void outside the world) or a creature kind ("cow", "zombie", ...)."""
        view = self._env._sem_view
        names = {i: m or "" for m, i in view._mat_ids.items()}
        names |= {i: kind.__name__.lower() for kind, i in view._obj_ids.items()}
        return [names[i] for i in range(len(names))]

    def caption_sentences(self) -> list[str]:
        """Every sentence a window caption can hold (a closed set: see captions.py)."""
        return caption_sentences(self.achievements, self.hits)

    # ------------------------------------------------------------------ truth

    def _facing(self) -> tuple[str | None, Any]:
        """(material, object) of the cell the player faces ((None, None) past the world's edge)."""
        player = self._env._player
        return self._env._world[tuple(np.add(player.pos, player.facing))]

    def faced(self) -> str:
        """What the player faces now: an object's kind ("cow", "plant", ...), else the cell's
        material ("tree", "water", ...); "" past the world's edge."""
        material, obj = self._facing()
        return type(obj).__name__.lower() if obj is not None else material or ""

    def _struck(self, action: int) -> tuple[Any, int] | None:
        """(creature, its health) that `do` now strikes, if any: the one on the cell the player
        faces. The step hit it if its health then falls (a sleeping player's `do` does nothing)."""
        if self.actions[action] != "do":
            return None
        target = self._facing()[1]
        if type(target).__name__ not in CREATURES[1:]:
            return None
        return target, target.health

    def _hit(self, creature: Any) -> Event:
        """The "hit" event of `creature`: its table index, or none for one spawned after reset
        (crafter respawns cows and zombies; the object table is fixed at reset)."""
        index = next((i for i, o in enumerate(self._tracked) if o is creature), None)
        ids = () if index is None else (index,)
        return Event("hit", ids, {"kind": type(creature).__name__.lower()})

    def _alive(self) -> np.ndarray:
        """(N,) bool: which creatures of the table are still in the world."""
        world = self._env._world
        return np.array(
            [
                o.health > 0 and world._objects[world._obj_map[tuple(o.pos)]] is o
                for o in self._tracked
            ],
            bool,
        )

    def _positions(self, alive: np.ndarray) -> np.ndarray:
        """(N, 3) cells (x right, y down, 0) of the table's creatures; the last known when gone."""
        out = self._position.copy()
        for i in np.nonzero(alive)[0]:
            out[i, :2] = self._tracked[i].pos
        return out

    def view_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel origin (x, y) of the local view, pixels per cell (x, y), its top-left cell."""
        size = np.array([self.width, self.height])
        unit = size // np.array(VIEW)
        border = (size - unit * np.array(VIEW)) // 2
        local = self._env._local_view
        return border, unit, np.array(self._env._player.pos) - local._offset

    def _instance_map(self, alive: np.ndarray) -> np.ndarray:
        """(H, W) int16 table ids over the cells of the local view holding a tracked creature."""
        instance = np.full((self.height, self.width), BACKGROUND_ID, np.int16)
        border, unit, corner = self.view_cells()
        grid = self._env._local_view._grid
        for i, obj in enumerate(self._tracked):
            cell = np.array(obj.pos) - corner
            if alive[i] and (0 <= cell).all() and (cell < grid).all():
                x0, y0 = border + cell * unit
                instance[y0 : y0 + unit[1], x0 : x0 + unit[0]] = i
        return instance

    def _truth(self, obs: np.ndarray) -> tuple[FrameTruth, list[Event]]:
        env, player, fps = self._env, self._env._player, self.metadata["render_fps"]
        world = env._world
        alive = self._alive()
        position = self._positions(alive)
        velocity = (position - self._position) * fps * alive[:, None]  # cells per second
        events = [
            Event("removed", (int(i),), {"name": self._objects[i].name})
            for i in np.nonzero(self._was_alive & ~alive)[0]
        ]
        self._position, self._was_alive = position, alive
        for name, count in player.achievements.items():
            if count > self._achieved.get(name, 0):
                events.append(Event("achievement", (), {"name": name}))
        if player.inventory["health"] < self._inventory["health"]:
            events.append(Event("damage", (), {"health": int(player.inventory["health"])}))
        self._inventory, self._achieved = dict(player.inventory), dict(player.achievements)
        instance = self._instance_map(alive)
        objects = ObjectStates.from_instance_map(
            instance, list(range(len(self._tracked))), position, velocity
        )
        extras = {
            "semantic": env._sem_view().astype(
                np.int16
            ),  # (area) material / creature ids, as info["semantic"]
            "inventory": np.array([player.inventory[k] for k in self.items], np.int16),
            "achievements": np.array([player.achievements[k] for k in self.achievements], np.int16),
            "player_pos": np.array(player.pos, np.int16),
            "facing": np.array(player.facing, np.int16),
            "daylight": np.array([world.daylight], np.float32),
            "alive": alive.astype(np.float32),
        }
        return FrameTruth(instance=instance, objects=objects, extras=extras), events
