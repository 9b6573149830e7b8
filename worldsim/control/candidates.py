"""Candidate action sequences for the likelihood planner: a few structured families, then seeded
random ones, as codec vectors.

Discrete codecs (Crafter): every action held for the whole plan ("constant"), then "move in a
direction for k steps, then `do`" ("move_do": walk to a tree, water or cow and act on it),
then uniform random sequences. Continuous codecs (MuJoCo Push): a constant command towards each
of 8 compass directions ("compass"), then random "two legs": a uniform random command held up to
a random step, then another held to the end. Commands drawn afresh every step average out to a
puck that barely moves, while two held legs can go round an object and then push it. The first
`count` of that list are the candidates.
"""

from __future__ import annotations

import numpy as np


def discrete_structured(names: list[str], length: int) -> tuple[list[list[int]], list[str]]:
    """Action-index sequences of `length`: each action held, then each `move_*` for k steps
    (k = 1 and length / 2) followed by `do` (when the codec has one)."""
    seqs = [[a] * length for a in range(len(names))]
    families = ["constant"] * len(names)
    if "do" in names:
        moves = [i for i, n in enumerate(names) if n.startswith("move_")]
        for k in sorted({1, length // 2} - {0, length}):
            for m in moves:
                seqs.append([m] * k + [names.index("do")] * (length - k))
                families.append("move_do")
    return seqs, families


def compass(low: np.ndarray, high: np.ndarray, length: int) -> np.ndarray:
    """(8, length, 2) constant commands towards the 8 compass directions, as far as the box
    allows (diagonals reach its corners)."""
    angles = np.arange(8) * np.pi / 4
    unit = np.stack([np.cos(angles), np.sin(angles)], -1)  # (8, 2)
    unit = unit / np.abs(unit).max(-1, keepdims=True)  # onto the square's edge
    command = np.where(unit >= 0, unit * high, -unit * low)  # (8, 2) inside [low, high]
    return np.repeat(command[:, None], length, axis=1).astype(np.float32)


def two_legs(
    rng: np.random.Generator, low: np.ndarray, high: np.ndarray, length: int, count: int
) -> np.ndarray:
    """(count, length, A) sequences of two held commands, uniform in [low, high]: the first until
    a uniform random step in 1..length-1, the second after it (one leg when length is 1)."""
    legs = rng.uniform(low, high, (count, 2, len(low)))  # (count, 2, A)
    switch = rng.integers(1, max(length, 2), (count, 1))  # (count, 1): first step of leg 2
    second = np.arange(length)[None] >= switch  # (count, length)
    return np.where(second[..., None], legs[:, 1:], legs[:, :1])


def candidates(codec, length: int, count: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """`count` candidate sequences of `length` actions as codec vectors (count, length, A), and
    the family of each ("constant", "move_do", "random", "compass" or "two_legs")."""
    rng = np.random.default_rng(seed)
    if hasattr(codec, "noop_index"):  # discrete: one-hot vectors
        seqs, families = discrete_structured(codec.names, length)
        seqs += rng.integers(0, codec.dim, (max(0, count - len(seqs)), length)).tolist()
        vectors = np.eye(codec.dim, dtype=np.float32)[np.array(seqs[:count])]
        rest = "random"  # the family of the candidates after the structured ones
    else:
        low = np.asarray(codec.space.low, np.float32).reshape(-1)
        high = np.asarray(codec.space.high, np.float32).reshape(-1)
        structured = (
            compass(low, high, length)
            if codec.dim == 2
            else np.zeros((0, length, codec.dim), np.float32)
        )
        random = two_legs(rng, low, high, length, max(0, count - len(structured)))
        vectors = np.concatenate([structured, random]).astype(np.float32)[:count]
        families, rest = ["compass"] * len(structured), "two_legs"
    families = (families + [rest] * count)[:count]
    return vectors, families
