"""A job output records the config that made it (`<out>/stages/<job>.json`): a run into it with
another config is one line naming both, before any work, unless overwrite=true."""

import json

import pytest

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0)
from tests.test_world_model import tiny_vae, write_cache
from worldsim.cli import main
from worldsim.config import ConfigError, load_config, to_object
from worldsim.data.manifest import write_record
from worldsim.data.store import EpisodeStore
from worldsim.jobs import quickstart, train, train_vae
from worldsim.jobs.pipeline import Runner, as_stored, claim_output

TOY = ["env.id=worldsim/EvalToy-v0", "env.width=16", "env.height=16", "steps=3", "progress=false"]
BOUNCE = ["env=bounce", "env.width=16", "env.height=16", "steps=3", "progress=false"]


def test_record_into_a_store_of_another_env_is_refused_unless_overwrite(tmp_path, capsys):
    out = f"out={tmp_path / 'store'}"
    assert main(["record", *TOY, "episodes=2", out]) == 0
    assert main(["record", *TOY, "episodes=3", "workers=2", out]) == 0  # more episodes: fine
    manifest = (tmp_path / "store" / "manifest.json").read_text()
    capsys.readouterr()
    assert main(["record", *BOUNCE, "episodes=3", out]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "made by another record config" in err
    assert "env.id: worldsim/EvalToy-v0 -> worldsim/MujocoBounce-v0" in err
    assert "stages/record.json" in err and "overwrite=true" in err
    assert (tmp_path / "store" / "manifest.json").read_text() == manifest  # untouched

    assert main(["record", *BOUNCE, "episodes=2", out, "overwrite=true"]) == 0
    store = EpisodeStore(tmp_path / "store")
    assert store.names() == ["ep_000000", "ep_000001"]  # the old third episode is gone too
    assert {store.entry(n).env_id for n in store.names()} == {"worldsim/MujocoBounce-v0"}
    record = json.loads((tmp_path / "store" / "stages" / "record.json").read_text())
    assert record["config"]["env"]["id"] == "worldsim/MujocoBounce-v0" and record["episodes"] == 2


def test_encode_into_a_cache_of_another_vae_at_the_same_path_is_refused(
    small_store, tmp_path, capsys
):
    vae = tiny_vae(tmp_path / "vae.ckpt")
    args = [f"store={small_store.root}", f"checkpoint={vae}", f"out={tmp_path / 'lat'}"]
    args += ["device=cpu", "text.name=none", "max_frames=5"]
    assert main(["encode", *args]) == 0
    (tmp_path / "vae.ckpt").write_bytes((tmp_path / "vae.ckpt").read_bytes() + b"retrained")
    capsys.readouterr()
    assert main(["encode", *args]) == 2  # its latents are stale: every episode is "done"
    assert "checkpoint_sha256" in capsys.readouterr().err


def _vae_config(store, out, *extra) -> train_vae.Config:
    args = [f"data.root={store}", f"out={out}", "model.base_channels=8", "model.norm_groups=4"]
    args += ["loss.perceptual=none"]  # LPIPS weights may be absent (named before out= is claimed)
    return to_object(load_config(train_vae.Config, [*args, *extra]))


def test_train_vae_in_the_out_of_another_config_is_refused_before_training(small_store, tmp_path):
    out = tmp_path / "vae"
    claim_output("train-vae", _vae_config(small_store.root, out), train_vae.FREE)  # an earlier run
    longer = _vae_config(small_store.root, out, "trainer.max_steps=99", "trainer.max_minutes=5")
    assert not claim_output("train-vae", longer, train_vae.FREE)  # continuing it: fine
    with pytest.raises(ConfigError, match=r"model.base_channels: 8 -> 16; .*overwrite=true"):
        train_vae.run(_vae_config(small_store.root, out, "model.base_channels=16"))
    assert not (out / "checkpoints").exists()


def test_train_in_the_out_of_another_config_is_refused_before_training(tmp_path):
    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"))
    args = [f"data.roots=[{root}]", "model=dit_tiny", "text.name=none", f"out={tmp_path / 'run'}"]
    first = to_object(load_config(train.Config, [*args, "data.lengths=[3]"]))
    claim_output("train", first, train.FREE)
    with pytest.raises(ConfigError, match=r"data.lengths: \[3\] -> \[4\]"):
        train.run(to_object(load_config(train.Config, [*args, "data.lengths=[4]"])))


def test_quickstart_with_another_env_is_refused_before_any_stage_runs(tmp_path, capsys):
    out = tmp_path / "qs"
    orbit = to_object(load_config(quickstart.Config, [f"out={out}"]))
    runner = Runner(out / "stages", "cpu")
    for name, stage, _, cfg in runner.plan(quickstart.stages(orbit)):  # an Orbit run's records
        (tmp_path / stage.out).mkdir(parents=True, exist_ok=True)
        write_record(out / "stages" / f"{name}.json", stage.job, as_stored(cfg))
    assert main(["quickstart", "env=bounce", f"out={out}"]) == 2
    err = capsys.readouterr().err
    assert "stage 'rollout'" in err and "MujocoOrbit-v0 -> worldsim/MujocoBounce-v0" in err
    assert not (out / "data" / "episodes" / "manifest.json").exists()  # nothing ran


def test_a_pipeline_stage_reruns_in_place_when_only_a_free_knob_changed(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "vars: {episodes: 2}\nstages:\n  data:\n    job: record\n    out: ${out}/store\n"
        "    args: [env.id=worldsim/EvalToy-v0, env.width=16, env.height=16, steps=3,\n"
        '           "episodes=${vars.episodes}", progress=false]\n'
    )
    out = tmp_path / "run"
    assert main(["pipeline", str(spec), f"out={out}"]) == 0
    capsys.readouterr()
    assert main(["pipeline", str(spec), f"out={out}", "vars.episodes=3"]) == 0
    assert "wrote 1 episode (" in capsys.readouterr().out  # extended, not refused nor redone
    assert len(EpisodeStore(out / "store")) == 3
