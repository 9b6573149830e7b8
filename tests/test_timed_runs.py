"""The two-run timing of bench_train_loop and bench_ddp: the untimed warm-up run comes first."""

from __future__ import annotations

import pytest

from benchmarks.bench_train_loop import timed_runs


@pytest.mark.parametrize("warm_up", [False, True])
def test_a_warm_up_run_is_untimed_and_first(warm_up):
    calls = []

    def run(n: int) -> float:  # the first call compiles cold: 60 s more
        calls.append(n)
        return 2.0 + 0.1 * n + (60.0 if len(calls) == 1 else 0.0)

    timed = timed_runs(run, (30, 130), warm_up)
    assert calls == ([30] if warm_up else []) + [30, 130]
    assert timed["step_s"] == pytest.approx(0.1 if warm_up else -0.5)
    assert set(timed["runs_s"]) == {30, 130}


def test_synthetic_cache_trains_at_the_issue_shapes(tmp_path):
    from benchmarks.bench_train_loop import SYNTHETIC, synthetic_cache
    from worldsim.data.latent_datamodule import LatentDataConfig, LatentDataModule

    root = synthetic_cache(tmp_path / "latents", episodes=2)
    data = LatentDataModule(LatentDataConfig(roots=[root], lengths=[8], batch_size=2))
    data.setup()
    batch = next(iter(data.train_dataloader()))
    s = SYNTHETIC["size"]
    assert tuple(batch["latents"].shape) == (2, 8, SYNTHETIC["channels"], s, s)
    assert batch["actions"].shape[-1] == 4 * SYNTHETIC["actions"]  # 4 pixel frames a latent one


def test_the_bare_model_step_needs_no_trainer(tmp_path):
    """bench_train_loop times bare steps with the module's optimizer, outside any Trainer (its
    learning-rate schedule reads the Trainer's max_steps; the bare step broke on that once)."""
    from benchmarks.bench_train_loop import model_seconds, synthetic_cache

    root = synthetic_cache(tmp_path / "latents", episodes=2)
    tiny = ["model=dit_tiny", "data.batch_size=2", "data.lengths=[4]", "text.name=none"]
    timed = model_seconds(root, 1, tiny, "cpu")
    assert timed["step_s"] > 0
