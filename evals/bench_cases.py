"""Regenerating a spec's cases from the simulators and checking them against the shipped sha256
list, so every machine scores the same pack or is told which case differs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

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


def read_checksums(spec: BenchSpec) -> dict[str, str]:
    """case_id -> sha256 from the spec's shipped list (`sha256  case_id` lines)."""
    if not spec.checksum_path.is_file():
        return {}
    lines = spec.checksum_path.read_text().split("\n")
    return {case_id: digest for digest, case_id in (line.split() for line in lines if line)}


def write_checksums(spec: BenchSpec, cases: list[BenchCase]) -> None:
    """Write the checksum list of `cases` (make it from the full split: splits are prefixes)."""
    lines = [f"{case_sha256(c.case)}  {c.case_id}" for c in cases]
    spec.checksum_path.write_text("\n".join(lines) + "\n")


def check_checksums(spec: BenchSpec, cases: list[BenchCase]) -> None:
    """Raise CaseMismatchError naming the first case whose sha256 is not the shipped one."""
    shipped = read_checksums(spec)
    for c in cases:
        expected = shipped.get(c.case_id)
        actual = case_sha256(c.case)
        if expected is None:
            raise CaseMismatchError(
                f"case {c.case_id} has no checksum in {spec.checksum_path.name}; a new spec's "
                f"list is written once by `worldsim bench checksums {spec.name}`"
            )
        if actual != expected:
            raise CaseMismatchError(
                f"case {c.case_id} regenerated with sha256 {actual[:12]}..., the spec lists "
                f"{expected[:12]}... ({spec.checksum_path.name}): this machine's simulator "
                f"({c.case.meta.get('env_id')}) renders it differently, or the cache "
                "holds stale episodes (delete the cache dir and rerun)"
            )
