"""Prompt expansion: a short user prompt -> the long caption style the world model was trained on.

As Sora expands prompts, but with a seeded grammar instead of a language model: the Crafter
model saw window captions made of a closed set of sentences (envs/crafter/captions.py), so a
short prompt ("get wood") becomes such a caption: a movement sentence drawn by the seed, the
achievements of the task's plan, the creature the task needs, daylight. `env=push_control`'s
captions (envs/captions.py) are a closed set too: where the puck went and what it pushed where.
"""

from __future__ import annotations

from envs.captions import PUSHES, Grammar, short_name
from envs.crafter.captions import (
    ACHIEVES,
    AXES,
    HITS,
    STILL,
    achievement_sentence,
    creature_sentence,
    hit_sentence,
    light_sentence,
    move_sentence,
)
from worldsim.control.tasks import STRIKES, Task, push_target
from worldsim.models.text import split_sentences

MAX_MOVE = 4  # cells of the drawn movement sentence: a plan's few steps towards its target
# achievements a crafter task's plan unlocks on the way, in order, and a creature it needs
PLAN_ACHIEVEMENTS = {
    "collect_wood": ("collect_wood",),
    "place_table": ("collect_wood", "place_table"),
    "make_wood_pickaxe": ("place_table", "make_wood_pickaxe"),
    "collect_stone": ("make_wood_pickaxe", "collect_stone"),
    "collect_drink": ("collect_drink",),
    "collect_sapling": ("collect_sapling",),
    "place_plant": ("collect_sapling", "place_plant"),
    "eat_cow": ("eat_cow",),
}
NEEDS_CREATURE = {"eat_cow": "cow"}


def expand_crafter(task: str, seed: int, heading: bool = True, hits: bool = False) -> str:
    """A window caption of the crafter task's plan: 'The player moves 2 cells west. The player
    achieves collect wood. It is daytime.' Without `heading`, no movement sentence: a heading
    drawn before the episode cannot know where a cow will walk, so the model chooses the way.
    With `hits`, the creature the plan strikes: 'The player hits a cow.' (the captions of
    episodes recorded with hits=True; envs/crafter/env.py)."""
    g = Grammar(seed, f"expand-{task}")
    moves = [STILL] + [
        move_sentence(n, d) for pair in AXES for d in pair for n in range(1, MAX_MOVE + 1)
    ]
    sentences = [g.pick(moves)] if heading else []
    sentences += [hit_sentence(STRIKES[task])] if hits and task in STRIKES else []
    sentences += [achievement_sentence(a) for a in PLAN_ACHIEVEMENTS[task]]
    if task in NEEDS_CREATURE:
        sentences.append(creature_sentence(NEEDS_CREATURE[task]))
    sentences.append(light_sentence(1.0))
    return " ".join(sentences)


def without_events(caption: str) -> str:
    """The caption without its event sentences ("The player hits a cow.", "The player achieves
    collect wood.", "The puck pushes the red ball left."): what the likelihood planner's
    `contrast=event` compares the prompt against, so that only the event's words are scored, not
    the movement, creature and daylight sentences drawn around them."""
    events = (HITS, ACHIEVES, PUSHES)
    return " ".join(s for s in split_sentences(caption) if not s.startswith(events))


def contrast_caption(prompt: str, contrast: str) -> str:
    """What `prompt` is compared against, by the likelihood planner's score and by the loop's
    text guidance: the empty caption, or (`contrast="event"`) the prompt without its event
    sentences (a Push prompt: its movement sentence), empty when it has none."""
    stripped = without_events(prompt)
    return stripped if contrast == "event" and stripped != prompt else ""


def expand_push(colour: str, shape: str, direction: str) -> str:
    """'The puck moves left. The puck pushes the red ball left.': the task in the closed
    vocabulary of `env=push_control`'s captions (envs/captions.py, `push_sentences`)."""
    name = short_name({"shape": shape, "colour": colour})
    return f"The puck moves {direction}. The puck pushes the {name} {direction}."


def expand(task: Task, env, seed: int, heading: bool = True, hits: bool = False) -> str:
    """The training-style caption of `task` in this episode (`env` after reset); `heading` and
    `hits`: see `expand_crafter` (a Push caption names its direction in any case)."""
    if task.family == "crafter":
        return expand_crafter(task.name, seed, heading, hits)
    obj = push_target(env, task.target)
    return expand_push(obj.colour, obj.category, task.target["direction"])
