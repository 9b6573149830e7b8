"""A world-model file whose DiT weights lie on the line between two files of one architecture:
teacher + FRACTION * (student - teacher), everything else (sampling, latent statistics, VAE,
text table) the student's. WiSE-FT's weight-space ensembling (Wortsman et al., 2022), here
between a flow teacher and its distribution-matched student (RESULTS.md section 59).

Usage: python experiments/game_world_models/blend.py STUDENT TEACHER FRACTION OUT
FRACTION 1 is the student, 0 the teacher's weights under the student's sampling. OUT is written
in the files' own dtype (fp16 for exports), atomically.
"""

import hashlib
import sys
from pathlib import Path

import torch

from worldsim.config import ConfigError
from worldsim.models.checkpoint import read_checkpoint
from worldsim.models.pretrained import resolve_checkpoint

HOW = "pass a world-model export (`worldsim export`, or a pretrained: name)"


def load(name: str) -> dict:
    """A world-model export's dict; a missing or foreign file: one line."""
    path = resolve_checkpoint(name)
    return read_checkpoint(path, path, "world-model", HOW, ("state_dict",))


def blend(student: dict, teacher: dict, fraction: float) -> dict:
    """The student's checkpoint dict with each floating DiT weight moved to the blend."""
    s, t = student["state_dict"], teacher["state_dict"]
    if s.keys() != t.keys() or any(s[k].shape != t[k].shape for k in s):
        raise ConfigError("the two files' DiTs differ in architecture; blend files of one model")
    weights = {
        k: (t[k].float() + fraction * (s[k].float() - t[k].float())).to(s[k].dtype)
        if s[k].is_floating_point()
        else s[k]
        for k in s
    }
    return {**student, "state_dict": weights, "blend": {"fraction": fraction}}


def main(student: str, teacher: str, fraction: str, out: str) -> None:
    try:
        f = float(fraction)
    except ValueError:
        raise ConfigError(f"FRACTION must be a number in [0, 1], got {fraction!r}") from None
    if not 0.0 <= f <= 1.0:
        raise ConfigError(f"FRACTION must be in [0, 1], got {f}")
    ckpt = blend(load(student), load(teacher), f)
    target = Path(out)
    tmp = target.with_name(f".tmp-{target.name}")
    torch.save(ckpt, tmp)
    tmp.replace(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"blend: {f:g} of {student} over {teacher} -> {target} (sha256 {digest[:8]}...)")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(f"blend: {__doc__.strip().splitlines()[-3]}", file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:
        print(f"blend: {err}", file=sys.stderr)
        sys.exit(2)
