"""Scripted exploration for Doom that also returns to places it has seen (loop-closure data).

The explorer walks forward, turns away when blocked, and drops breadcrumbs along its path.
Every so often it walks its breadcrumbs back to an earlier spot and looks around there, so
the episode revisits views it recorded before (with a full turn, a loop closure in place).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ExplorerConfig:
    """Knobs of the exploration policy (distances in map units, durations in steps)."""

    crumb_spacing: float = 48.0  # distance between breadcrumbs
    blocked_distance: float = 2.0  # moving less than this in a forward step means blocked
    explore_steps: tuple[int, int] = (40, 90)  # range of steps between two returns
    return_crumbs: tuple[int, int] = (3, 10)  # how many breadcrumbs back a return goes
    reach_distance: float = 24.0  # a breadcrumb within this distance is reached
    wander_turn_prob: float = 0.08  # chance of a small random turn while exploring


@dataclass
class Explorer:
    """Stateful policy: `act(position_xy, yaw_deg, turn_deg)` -> action name."""

    rng: np.random.Generator
    cfg: ExplorerConfig = field(default_factory=ExplorerConfig)
    crumbs: list[np.ndarray] = field(default_factory=list)
    mode: str = "explore"  # explore | turn | return | look
    countdown: int = 0  # steps left in the current turn / look phase
    until_return: int = 0  # exploring steps left before the next return
    turn_action: str = "turn_left"
    target: int = -1  # breadcrumb index a return is heading to
    last_position: np.ndarray | None = None
    last_action: str = "noop"

    def __post_init__(self) -> None:
        self._enter_explore()

    def _enter_explore(self) -> None:
        self.mode, self.until_return = "explore", int(self.rng.integers(*self.cfg.explore_steps))

    def act(self, position_xy: np.ndarray, yaw_deg: float, turn_deg: float) -> str:
        """Next action given the player's pose and the env's turn per step."""
        pos = np.asarray(position_xy, np.float64)
        blocked = (
            self.last_action.startswith("forward")
            and self.last_position is not None
            and np.linalg.norm(pos - self.last_position) < self.cfg.blocked_distance
        )
        if not self.crumbs or np.linalg.norm(pos - self.crumbs[-1]) >= self.cfg.crumb_spacing:
            if self.mode == "explore":
                self.crumbs.append(pos.copy())
        action = getattr(self, f"_{self.mode}")(pos, yaw_deg, turn_deg, blocked)
        self.last_position, self.last_action = pos, action
        return action

    def _start_turn(self, turn_deg: float) -> str:
        """Turn away by a random 60-150 degrees (then explore again)."""
        self.mode = "turn"
        self.turn_action = "turn_left" if self.rng.random() < 0.5 else "turn_right"
        self.countdown = max(1, int(self.rng.uniform(60, 150) / turn_deg))
        return self._turn(None, 0.0, turn_deg, False)

    def _explore(self, pos, yaw, turn_deg, blocked) -> str:
        self.until_return -= 1
        if self.until_return <= 0 and len(self.crumbs) > self.cfg.return_crumbs[0]:
            back = int(self.rng.integers(*self.cfg.return_crumbs))
            self.target = max(0, len(self.crumbs) - 1 - back)
            self.mode = "return"
            return self._return(pos, yaw, turn_deg, False)
        if blocked:
            return self._start_turn(turn_deg)
        if self.rng.random() < self.cfg.wander_turn_prob:
            return "forward_left" if self.rng.random() < 0.5 else "forward_right"
        return "forward"

    def _turn(self, pos, yaw, turn_deg, blocked) -> str:
        self.countdown -= 1
        if self.countdown <= 0:
            self.mode = "explore"  # keeps the time left before the next return
        return self.turn_action

    def _return(self, pos, yaw, turn_deg, blocked) -> str:
        goal = self.crumbs[-1] if len(self.crumbs) - 1 > self.target else self.crumbs[self.target]
        if np.linalg.norm(goal - pos) < self.cfg.reach_distance:
            if len(self.crumbs) - 1 > self.target:
                self.crumbs.pop()  # walked back past this breadcrumb
                return self._return(pos, yaw, turn_deg, blocked)
            self.mode, self.countdown = "look", int(np.ceil(360.0 / turn_deg))
            return self._look(pos, yaw, turn_deg, blocked)
        bearing = np.degrees(np.arctan2(goal[1] - pos[1], goal[0] - pos[0]))
        error = (bearing - yaw + 180.0) % 360.0 - 180.0  # > 0: goal is to the left
        if abs(error) > turn_deg / 2:
            return "turn_left" if error > 0 else "turn_right"
        if blocked:  # a wall between breadcrumbs: give up this return
            return self._start_turn(turn_deg)
        return "forward"

    def _look(self, pos, yaw, turn_deg, blocked) -> str:
        self.countdown -= 1
        if self.countdown <= 0:
            self._enter_explore()
        return "turn_left"
