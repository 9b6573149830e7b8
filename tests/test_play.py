"""Spec of `worldsim play`: the headless loop steps a scripted action file through a tiny model and
writes the video and per-step latency; keys bind to the env's actions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.test_world_model import tiny_module, tiny_vae
from worldsim.config import ConfigError, load_config, to_object
from worldsim.interactive import action_table, key_map
from worldsim.jobs import play
from worldsim.training.world_model import export_checkpoint


@pytest.fixture
def causal_ckpt(tmp_path) -> str:
    module = tiny_module(action_dim=4 * 3)  # the synthetic store's 3-wide actions, 4 per latent
    module.model_cfg.attention = module.model.cfg.attention = "causal"
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    for p in module.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    return export_checkpoint(module, str(tmp_path / "dit.ckpt"))


def test_headless_play_writes_the_video_and_a_latency_per_scripted_step(
    tmp_path, small_store, causal_ckpt
):
    from worldsim.video import read_video

    script = tmp_path / "actions.txt"
    script.write_text("a0+\n# back\n2\n\na2-\nnoop\n")
    overrides = [f"ckpt={causal_ckpt}", f"input={small_store.root}", "headless=true"]
    overrides += [f"actions={script}", "sampler.steps=2", "window=3", f"out={tmp_path / 'play'}"]
    play.run(to_object(load_config(play.Config, overrides)))
    report = json.loads((tmp_path / "play" / "latency.json").read_text())
    assert report["actions"] == ["a0+", "a0-", "a2-", "noop"] and report["kv_cache"]
    assert report["sampler_steps"] == 2  # the command line's, not the checkpoint's 20
    assert report["cuda_graphs"] is False  # the knob is on, but a CPU never replays a graph
    assert len(report["latency_ms"]) == 4 and report["video_fps"] > 0
    assert read_video(tmp_path / "play" / "play.mp4").shape == (4 * 4, 16, 20, 3)


def test_a_bad_action_file_is_one_line_naming_the_action(tmp_path, small_store, causal_ckpt):
    script = tmp_path / "actions.txt"
    script.write_text("jump\n")
    cfg = load_config(
        play.Config,
        [f"ckpt={causal_ckpt}", f"input={small_store.root}", "headless=true", f"actions={script}"],
    )
    with pytest.raises(ConfigError, match="unknown action 'jump'"):
        play.run(to_object(cfg))


def test_an_episode_the_store_lacks_is_one_line_naming_its_episodes(tmp_path, small_store):
    script = tmp_path / "actions.txt"
    script.write_text("noop\n")
    argv = [f"input={small_store.root}", "episode=nope", "headless=true", f"actions={script}"]
    fix = r"give one of its 6 episodes \(ep_000000 .. ep_000005\) or leave episode empty"
    with pytest.raises(ConfigError, match=fix):
        play.run(to_object(load_config(play.Config, [*argv, f"out={tmp_path / 'play'}"])))
    assert not (tmp_path / "play").exists()


def test_keys_bind_arrows_to_moves_and_leave_the_noop_unbound():
    names = ["noop", "move_left", "move_right", "move_up", "move_down", "do", "sleep"]
    codec = {"type": "discrete", "dim": len(names), "names": names, "noop": 0}
    table, noop = action_table(codec)
    keys = key_map(list(table), noop)
    assert keys["ArrowLeft"] == "move_left" and keys[" "] == "do" and keys["1"] == "sleep"
    assert noop == "noop" and "noop" not in keys.values()
    assert np.array_equal(table["do"], np.eye(7, dtype=np.float32)[5])


def test_step_times_split_each_step_into_its_phases():
    from worldsim.interactive import StepTimes

    times = StepTimes()
    times.add([0.0, 0.010, 0.012, 0.030])  # start, denoise launched, decode launched, on the host
    times.add([1.0, 1.020, 1.021, 1.040])
    summary = times.summary(4, skip=0)
    assert times.seconds == pytest.approx([0.030, 0.040])
    assert summary["latency_ms_p50"] == pytest.approx(35.0)
    assert summary["phase_ms"]["denoise"]["p50"] == pytest.approx(15.0)
    assert summary["phase_ms"]["decode"]["p50"] == pytest.approx(1.5)
    assert summary["phase_ms"]["to_host"]["p50"] == pytest.approx(18.5)


def test_the_web_page_binds_keys_to_the_held_action_and_reports_stats():
    from types import SimpleNamespace

    from worldsim.interactive import StepTimes
    from worldsim.interactive_web import Player, web_app

    table, noop = action_table({"type": "discrete", "dim": 3, "names": ["noop", "do", "sleep"]})
    keys = key_map(list(table), noop)
    session = SimpleNamespace(tf=4, times=StepTimes([0.05, 0.05]))
    player = Player(session, table, noop)
    client = web_app(player, keys, fps=15).test_client()
    assert "[space] do" in client.get("/").get_data(as_text=True)
    assert client.post("/key", json={"key": " ", "down": True}).json == {"action": "do"}
    assert client.get("/stats").json["fps"] == pytest.approx(80.0)
    assert client.post("/key", json={"key": " ", "down": False}).json == {"action": "noop"}
    assert client.post("/key", json={"key": "F13", "down": True}).status_code == 400


@pytest.mark.parametrize("clock_period", [0, 12])
def test_session_frames_are_the_whole_generated_video_decoded_at_once(tmp_path, clock_period):
    from worldsim.diffusion.samplers import SamplerConfig
    from worldsim.interactive import Session
    from worldsim.models.dit import DiT
    from worldsim.training.world_model import SampleConfig
    from worldsim.video import to_uint8

    module = tiny_module(action_dim=4 * 3)
    module.model_cfg.clock_period = clock_period
    module.model = DiT(module.model_cfg)
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    start = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    session = Session(module, start, SampleConfig(SamplerConfig("euler", 2), window=8))
    streamed = np.concatenate([session.step(np.eye(3, dtype=np.float32)[i]) for i in range(3)])
    assert session.latents.shape[1] == 2 + 3  # the start's 2 latent frames, then 3 generated
    whole = to_uint8(module.decode(session.latents)[0, -12:].float().numpy())
    assert np.abs(streamed.astype(int) - whole.astype(int)).max() <= 1  # rounding at most
    if clock_period:  # the start's latent frames end at steps 0 and 4, each new one 4 later
        assert session.clock.tolist() == [[0, 4, 8, 12, 16]]


@pytest.mark.parametrize(
    "script, model_width, refusal",
    [("# nothing yet\n\n", 3, "holds no action"), ("noop\n", 1, "takes 1 action values per frame")],
    ids=["empty-action-file", "env-wider-than-model"],
)
def test_a_script_or_env_the_model_cannot_play_is_refused_before_any_step(
    script, model_width, refusal, tmp_path, small_store
):
    module = tiny_module(action_dim=4 * model_width)  # the store's actions are 3 wide
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    ckpt = export_checkpoint(module, str(tmp_path / "dit.ckpt"))
    (tmp_path / "actions.txt").write_text(script)
    overrides = [f"ckpt={ckpt}", f"input={small_store.root}", "headless=true"]
    overrides += [f"actions={tmp_path / 'actions.txt'}", f"out={tmp_path / 'play'}"]
    with pytest.raises(ConfigError, match=refusal):
        play.run(to_object(load_config(play.Config, overrides)))
    assert not (tmp_path / "play").exists()
