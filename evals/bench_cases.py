"""Regenerating a spec's cases from the simulators and checking them against the shipped pack, so
every machine scores the same cases or is told which case differs and by how much.

Two files ship beside a spec: NAME.sha256 (each case's exact digest) and NAME.fingerprints.npz
(each array of each case reduced to FINGERPRINT_CHUNKS chunk means per frame). A case whose digest
matches is bit-exact. One whose digest differs is compared by fingerprint: within TOLERANCE on every
array it scores as the same case (simulator floats move in the last bits between MuJoCo releases
and CPUs; rendered pixels by a grey level), beyond it the run stops naming the case and the array.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evals.bench_spec import BenchSpec, CaseSpec
from evals.scenarios import Case, load_cases
from worldsim.data.store import episode_name


class CaseMismatchError(ValueError):
    """A regenerated case differs from the spec's checksum list."""


@dataclass
class BenchCase:
    """A spec case and its regenerated episode."""

    spec: CaseSpec
    case: Case

    @property
    def case_id(self) -> str:
        return self.spec.case_id


def case_sha256(case: Case) -> str:
    """sha256 of what a case is scored on: frames, actions, truth arrays (by name), object table."""
    h = hashlib.sha256()
    arrays = {"frames": case.frames, "actions": case.actions, **case.truth}
    for key in ["frames", "actions", *sorted(case.truth)]:
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    h.update(json.dumps(case.objects, sort_keys=True).encode())
    return h.hexdigest()


def regenerate(
    spec: BenchSpec, split: str, cache: str, workers: int = 1, progress: bool = False
) -> list[BenchCase]:
    """Record (or reuse from `cache`) every case of `split`, in spec order."""
    specs = spec.cases(split)
    out = []
    for group in spec.groups:
        wanted = [c for c in specs if c.group == group.name]
        scenario = group.scenario(len(wanted), cache, workers)
        by_name = {c.name: c for c in load_cases(scenario, progress=progress)}
        for c in wanted:
            case = by_name.get(episode_name(c.index))
            if case is None:
                raise CaseMismatchError(
                    f"case {c.case_id} (env {group.env.id}, seed {group.seed + c.index}) ended "
                    f"before {group.context + group.horizon} frames on this machine, where the "
                    "spec has a full episode: this simulator differs from the spec's"
                )
            out.append(BenchCase(c, case))
    return out


FINGERPRINT_CHUNKS = 8  # contiguous chunks of each frame's flattened values, one mean each
# Largest |difference| of two fingerprints that still counts as the same case, per array, in the
# array's unit (a chunk mean). Unlisted arrays (actions, Crafter's and ViZDoom's integer worlds)
# must match exactly. Measured drift, MuJoCo 3.17 against 4.0 on the small split: frames 1 grey
# level on single pixels, obj_position 8e-5 m, obj_velocity 3e-4 m/s, obj_visible 1.4e-4.
TOLERANCE = {
    "frames": 0.5,  # grey levels (a whole chunk of 1,536 values moving by a third of a level)
    "depth": 1e-3,  # metres
    "instance": 0.05,  # mean object id of a chunk (a few edge pixels changing owner)
    "obj_bbox": 0.5,  # pixels
    "obj_centroid": 0.25,  # pixels
    "obj_position": 1e-3,  # metres
    "obj_velocity": 1e-2,  # metres per second
    "obj_visible": 1e-2,  # visible fraction
    "extrinsics": 1e-4,  # camera pose entries
    "intrinsics": 1e-4,  # camera matrix entries
}


def fingerprint(case: Case) -> dict[str, np.ndarray]:
    """Each array of a case (frames, actions, truth) as (T, FINGERPRINT_CHUNKS) chunk means, and
    the object table as its sorted JSON (a 0-d string array)."""
    out = {"objects": np.array(json.dumps(case.objects, sort_keys=True))}
    for name, a in {"frames": case.frames, "actions": case.actions, **case.truth}.items():
        flat = np.asarray(a, np.float64).reshape(len(a), -1)  # (T, values per frame)
        chunks = np.array_split(flat, max(1, min(FINGERPRINT_CHUNKS, flat.shape[1])), axis=1)
        out[name] = np.stack([c.mean(1) for c in chunks], 1).astype(np.float32)  # (T, chunks)
    return out


def _difference(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Largest |a - b| of two fingerprints of one array; inf when one is missing, the shapes
    differ, or (object tables) the two differ at all."""
    if a is None or b is None or a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return np.inf
    if a.dtype.kind == "U":
        return 0.0 if a == b else np.inf
    with np.errstate(invalid="ignore"):  # equal infs, and NaN on both sides, are equal
        d = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.abs(a - b))
    return float(np.nan_to_num(d, nan=np.inf).max(initial=0.0))  # NaN on one side: differs


def deviation(case: Case, shipped: dict[str, np.ndarray]) -> dict[str, float]:
    """Largest |difference| per array between a case's fingerprint and the shipped one."""
    mine = fingerprint(case)
    return {n: _difference(mine.get(n), shipped.get(n)) for n in sorted(mine.keys() | shipped)}


@dataclass
class PackCheck:
    """How a machine's regenerated cases compare with the shipped pack."""

    exact: int = 0  # cases whose sha256 matches
    near: dict[str, dict[str, float]] = field(default_factory=dict)  # case -> array -> deviation

    def note(self) -> str | None:
        """One line for results.json and the terminal, or None when every case is bit-exact."""
        if not self.near:
            return None
        worst = {}
        for case_id, devs in self.near.items():
            for name, d in devs.items():
                if d > worst.get(name, (0.0, ""))[0]:
                    worst[name] = (d, case_id)
        largest = ", ".join(f"{n} {d:.3g} ({c})" for n, (d, c) in sorted(worst.items()))
        return (
            f"{len(self.near)} of {self.exact + len(self.near)} cases differ bit-wise from the "
            f"shipped pack, within tolerance (evals/bench_cases.py TOLERANCE); largest: {largest}"
        )


def read_checksums(spec: BenchSpec) -> dict[str, str]:
    """case_id -> sha256 from the spec's shipped list (`sha256  case_id` lines)."""
    if not spec.checksum_path.is_file():
        return {}
    lines = spec.checksum_path.read_text().split("\n")
    return {case_id: digest for digest, case_id in (line.split() for line in lines if line)}


def fingerprint_path(spec: BenchSpec) -> Path:
    return spec.path.with_suffix(".fingerprints.npz")


def read_fingerprints(spec: BenchSpec) -> dict[str, dict[str, np.ndarray]]:
    """case_id -> array name -> shipped fingerprint."""
    if not fingerprint_path(spec).is_file():
        return {}
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(fingerprint_path(spec)) as npz:
        for key in npz.files:
            case_id, name = key.split("/")
            out.setdefault(case_id, {})[name] = npz[key]
    return out


def write_checksums(spec: BenchSpec, cases: list[BenchCase]) -> None:
    """Write the sha256 list and the fingerprints of `cases` (make them from the full split:
    splits are prefixes)."""
    lines = [f"{case_sha256(c.case)}  {c.case_id}" for c in cases]
    spec.checksum_path.write_text("\n".join(lines) + "\n")
    prints = {f"{c.case_id}/{k}": v for c in cases for k, v in fingerprint(c.case).items()}
    np.savez_compressed(fingerprint_path(spec), **prints)


def check_checksums(spec: BenchSpec, cases: list[BenchCase]) -> PackCheck:
    """Compare every case with the shipped pack; raise CaseMismatchError naming the first case
    (and array) that differs beyond TOLERANCE."""
    shipped, prints = read_checksums(spec), read_fingerprints(spec)
    check = PackCheck()
    for c in cases:
        expected = shipped.get(c.case_id)
        if expected is None or c.case_id not in prints:
            raise CaseMismatchError(
                f"case {c.case_id} has no checksum in {spec.checksum_path.name} and "
                f"{fingerprint_path(spec).name}; a new spec's pack is written once by "
                f"`worldsim bench checksums {spec.name}`"
            )
        if case_sha256(c.case) == expected:
            check.exact += 1
            continue
        devs = deviation(c.case, prints[c.case_id])
        over = {n: d for n, d in devs.items() if d > TOLERANCE.get(n, 0.0)}
        if over:
            name, d = next(iter(over.items()))
            raise CaseMismatchError(
                f"case {c.case_id} differs from the shipped pack beyond tolerance: {name} by "
                f"{d:.3g} (tolerance {TOLERANCE.get(name, 0.0):g}; {len(over)} array(s) over): "
                f"this machine's simulator ({c.case.meta.get('env_id')}) differs from the spec's, "
                "or the cache holds stale episodes (delete the cache dir and rerun)"
            )
        check.near[c.case_id] = {n: d for n, d in devs.items() if d > 0}
    return check
