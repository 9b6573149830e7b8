"""`worldsim control`: the whole receding-horizon loop with tiny random models (no success tested),
its outputs, and the pieces it is made of (prompt expansion, tasks, intervals, the planner)."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from types import SimpleNamespace

import gymnasium
import numpy as np
import pytest
import torch
from einops import rearrange

from envs.base import BoxCodec, DiscreteCodec
from envs.crafter.captions import caption_sentences
from envs.make import EnvConfig
from worldsim.control.candidates import candidates
from worldsim.control.grid import about
from worldsim.control.likelihood import (
    LikelihoodConfig,
    LikelihoodPolicy,
    context_actions,
    pack_actions,
    prompt_errors,
)
from worldsim.control.policies import consensus
from worldsim.control.prompts import expand_crafter, expand_push, without_events
from worldsim.control.tasks import CRAFTER_TASKS, named_task, task_from_prompt
from worldsim.data.actions import pad_actions
from worldsim.data.latent_datamodule import latent_actions
from worldsim.diffusion.flow import FlowConfig
from worldsim.intervals import wilson
from worldsim.models.action_ages import action_ages
from worldsim.models.dit import DiT, DiTConfig, TextBatch
from worldsim.models.idm import IDMConfig, InverseDynamics
from worldsim.models.text import TextConfig, TextTable, split_sentences
from worldsim.training.world_model import LatentInfo, WorldModel, export_checkpoint

C = 4  # latent channels of the tiny models


def tiny_checkpoints(tmp_path, action_dim: int, idm: IDMConfig, text_dim=0) -> tuple[str, str]:
    """A random tiny world model with its VAE, and a random IDM, saved. `text_dim`: the model
    reads captions (random embeddings of Crafter's caption sentences) and all its weights are
    random (its zero-initialised output layers would score every prompt 0)."""
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder

    torch.manual_seed(0)
    vae = VideoAutoencoder(
        AutoencoderConfig(latent_channels=C, base_channels=8, channel_mult=[1, 1, 1], norm_groups=4)
    )
    dit = DiTConfig(latent_channels=C, dim=32, depth=1, heads=2, action_dim=4 * action_dim)
    module = WorldModel(
        replace(dit, text_dim=text_dim),
        FlowConfig(),
        {},
        TextConfig(name="minilm" if text_dim else "none"),
        {"sampler": {"steps": 2}},
        LatentInfo(
            mean=[0.0] * C,
            std=[1.0] * C,
            autoencoder=str(save_autoencoder(vae, tmp_path / "vae.ckpt")),
        ),
    )
    if text_dim:
        table, rng = TextTable("toy", text_dim), np.random.default_rng(0)
        for sentence in caption_sentences(list(CRAFTER_TASKS)):
            table.add(sentence, rng.normal(size=(3, text_dim)), rng.normal(size=text_dim))
        module.set_text_table(table)
        for p in module.model.parameters():
            p.data.normal_(0, 0.2)
    ckpt = export_checkpoint(module, str(tmp_path / "wm.pt"), bundle_autoencoder=True)
    InverseDynamics(idm).save(tmp_path / "idm.pt")
    return ckpt, str(tmp_path / "idm.pt")


def run_control(tmp_path, ckpt: str, idm: str, *args: str, out: str = "out") -> dict:
    from worldsim.config import load_config, to_object
    from worldsim.jobs import control

    out = tmp_path / out
    overrides = [f"ckpt={ckpt}", f"idm={idm}", f"out={out}", "device=cpu", "episodes=1",
                 "env.width=32", "env.height=32", "control.max_steps=6", "control.execute=2",
                 "control.futures=2", "control.imagine.horizon=1", *args]  # fmt: skip
    torch.set_num_threads(1)
    control.run(to_object(load_config(control.Config, overrides)))
    return json.loads((out / "results.json").read_text())


def check_outputs(tmp_path, results: dict, valid) -> None:
    from worldsim.video import read_video

    out = tmp_path / "out"
    assert (out / "summary.html").read_text().count("<tr>") == 1 + len(results["cells"])
    first_cell = next(iter(next(iter(results["cells"].values())).values()))
    asked = first_cell["episodes"][0]["asked"]
    assert f'"{html.escape(asked)}"' in (out / "summary.html").read_text()  # under its task
    for cells in results["cells"].values():
        for policy, cell in cells.items():
            (episode,) = cell["episodes"]
            assert cell["n"] == 1 and 0 <= cell["ci95"][0] <= cell["ci95"][1] <= 1
            assert 1 <= episode["steps"] == len(episode["actions"]) <= 6
            assert all(valid(a) for a in episode["actions"]), (policy, episode["actions"])
            video = read_video(out / episode["video"])  # real | imagined, headed by text
            assert video.shape[0] == episode["steps"] + 1 and video.shape[2] > 2 * 32 * 3
            if policy != "random":
                assert episode["diagnostics"]["imagined_change"] >= 0
                assert len(episode["plans"]) == -(-episode["steps"] // 2)


def test_crafter_loop_with_tiny_models_plays_valid_actions_and_writes_outputs(tmp_path):
    ckpt, idm = tiny_checkpoints(tmp_path, 17, IDMConfig(action_dim=17, width=4, loss="ce"))
    results = run_control(tmp_path, ckpt, idm, "tasks=[collect_wood]", "env.kwargs.area=[16,16]",
                          "policies=[prompt,consensus,random]")  # fmt: skip
    check_outputs(tmp_path, results, lambda a: isinstance(a, int) and 0 <= a < 17)
    episode = results["cells"]["collect_wood"]["prompt"]["episodes"][0]
    assert "The player achieves collect wood." in episode["prompt"]
    assert episode["asked"] == "collect wood from a tree"  # the short prompt it expands


def test_likelihood_planner_with_tiny_models_plays_scored_candidates_and_writes_outputs(tmp_path):
    ckpt, idm = tiny_checkpoints(tmp_path, 17, IDMConfig(action_dim=17, width=4, loss="ce"), 8)
    results = run_control(tmp_path, ckpt, idm, "tasks=[place_table]", "env.kwargs.area=[16,16]",
                          "policies=[likelihood,likelihood_no_prompt]",
                          "control.likelihood.candidates=20", "control.likelihood.steps=1",
                          "control.likelihood.levels=[0.5,0.9]")  # fmt: skip
    check_outputs(tmp_path, results, lambda a: isinstance(a, int) and 0 <= a < 17)
    cells = results["cells"]["place_table"]
    for policy, cell in cells.items():
        for plan in cell["episodes"][0]["plans"]:
            assert plan["candidates"] == 20 and 0 <= plan["chosen"] < 20
            assert plan["family"] == ("constant" if plan["chosen"] < 17 else "move_do")
            spread = plan["scores"]
            assert np.isfinite(plan["score"]) and spread["best"] <= spread["median"]
            if policy == "likelihood":  # the prompt's pick: the lowest score
                assert plan["score"] == spread["best"] < spread["worst"]
            else:  # an empty prompt scores 0 by construction
                assert plan["score"] == spread["best"] == spread["worst"] == 0
            assert len(plan["read"]) == 2 and len(set(plan["read"])) == 1 + (plan["chosen"] >= 17)
    assert "The player achieves place table." in cells["likelihood"]["episodes"][0]["prompt"]
    diagnostics = cells["likelihood"]["diagnostics"]
    assert sum(diagnostics["families"].values()) == len(cells["likelihood"]["episodes"][0]["plans"])
    assert diagnostics["score_spread"] > 0
    assert cells["likelihood_no_prompt"]["diagnostics"]["score_spread"] == 0


def test_grid_resumes_finished_episodes_and_merges_grids_run_apart(tmp_path, monkeypatch, capsys):
    from worldsim.control.grid import Harness, merge_results

    played = []
    episodes = Harness.episodes
    monkeypatch.setattr(Harness, "episodes", lambda *a: played.extend(a[3]) or episodes(*a))
    args = "tasks=[collect_wood]", "env.kwargs.area=[16,16]", "policies=[random]", "episodes=2"
    models = tmp_path, "none", "none"  # no policy imagines: no model is loaded
    whole = run_control(*models, *args)
    assert "reused" not in capsys.readouterr().out
    (tmp_path / "out" / "episodes" / "collect_wood_random_200001.json").unlink()  # interrupted
    assert run_control(*models, *args) == whole  # replays seed 200001 only
    assert played == [200000, 200001, 200001]
    said = f"control: reused 1 finished episode of {tmp_path / 'out' / 'episodes'} (same knobs"
    assert said in capsys.readouterr().out
    parts = {"a": run_control(*models, *args[:-1], out="a"),  # seed 200000
             "b": run_control(*models, *args[:-1], "seed=200001", out="b")}  # fmt: skip
    merged = merge_results(parts)["cells"]["collect_wood"]["random"]
    cell = whole["cells"]["collect_wood"]["random"]
    assert [e["video"] for e in merged["episodes"]] == [
        "a/videos/collect_wood_random_200000.mp4",
        "b/videos/collect_wood_random_200001.mp4",
    ]
    assert [e["actions"] for e in merged["episodes"]] == [e["actions"] for e in cell["episodes"]]
    assert {k: merged[k] for k in ("n", "successes", "ci95")} == {
        k: cell[k] for k in ("n", "successes", "ci95")
    }


def test_push_loop_with_tiny_models_plays_actions_inside_the_box(tmp_path):
    idm = IDMConfig(action_dim=2, width=4, frames=3, after=1)
    ckpt, idm = tiny_checkpoints(tmp_path, 2, idm)
    results = run_control(tmp_path, ckpt, idm, "prompt=push the pink ball left",
                          "policies=[prompt,short_prompt,likelihood]", "env=push",
                          "control.full_speed=true")  # fmt: skip
    check_outputs(
        tmp_path, results, lambda a: np.shape(a) == (2,) and np.all(np.abs(np.asarray(a)) <= 1)
    )
    episode = results["cells"]["push_left"]["prompt"]["episodes"][0]
    assert episode["asked"] == "push the pink ball left"  # as typed; "prompt" is its expansion
    read = np.array([a for plan in episode["plans"] for a in plan["read"]])  # (steps, 2)
    executed = np.array(episode["actions"])  # full_speed: the read direction at full command
    np.testing.assert_allclose(np.abs(executed).max(1), 1, atol=1e-6)
    np.testing.assert_allclose(executed * np.abs(read).max(1, keepdims=True), read, atol=1e-6)


def test_expanded_crafter_prompts_use_only_training_sentences():
    known = set(caption_sentences(["collect_wood", "place_table", "collect_drink", "eat_cow"]))
    for task in CRAFTER_TASKS:
        for seed in range(5):
            with_heading = split_sentences(expand_crafter(task, seed))
            assert set(with_heading) <= known
            # heading=False drops the movement sentence alone
            assert split_sentences(expand_crafter(task, seed, heading=False)) == with_heading[1:]
    # hits=True: eat cow's plan also says its strikes, a sentence of captions recorded with hits
    hunt = split_sentences(expand_crafter("eat_cow", 0, hits=True))
    assert hunt[1] == "The player hits a cow." and hunt[:1] + hunt[2:] == split_sentences(
        expand_crafter("eat_cow", 0)
    )
    assert set(hunt) <= set(caption_sentences(["eat_cow"], hits=True))
    assert without_events(" ".join(hunt)) == " ".join(hunt[:1] + hunt[3:])  # both events gone
    assert expand_crafter("collect_wood", 0, hits=True) == expand_crafter("collect_wood", 0)


def test_short_prompts_pick_the_task_and_push_prompts_name_colour_and_direction():
    crafter = EnvConfig(id="worldsim/CrafterReward-v0")
    assert task_from_prompt(crafter, "get wood").name == "collect_wood"
    assert task_from_prompt(crafter, "collect wood and place a table").name == "place_table"
    assert task_from_prompt(crafter, "drink some water").env.kwargs["task"] == "collect_drink"
    push = task_from_prompt(EnvConfig(id="worldsim/MujocoPush-v0"), "push the red ball left")
    assert push.target == {"colour": "red", "direction": "left"}
    with pytest.raises(ValueError, match="names no crafter task"):
        task_from_prompt(crafter, "dance")
    assert named_task("push_back").family == "push"


def test_episodes_in_lockstep_play_as_they_play_alone(tmp_path, monkeypatch):
    from worldsim.control.imagine import Imaginer

    encoded, encode = [], Imaginer.encode  # the episodes each batch of imagination encoded
    monkeypatch.setattr(Imaginer, "encode", lambda m, e: encoded.append(len(e)) or encode(m, e))
    idm = IDMConfig(action_dim=17, width=4, loss="ce")
    ckpt, idm = tiny_checkpoints(tmp_path, 17, idm, 8)
    policies = "prompt", "consensus", "likelihood"
    args = ("tasks=[collect_wood]", "env.kwargs.area=[16,16]", f"policies=[{','.join(policies)}]",
            "control.likelihood.candidates=20", "control.likelihood.steps=1",
            "control.likelihood.levels=[0.5]", "episodes=3",
            "control.imagine.guidance=2", "control.imagine.contrast=event",
            "control.imagine.shared_scale=0.5", "control.heading=false")  # fmt: skip
    sizes = {}
    for b in (1, 3):
        encoded.clear()
        results = run_control(tmp_path, ckpt, idm, *args, f"control.batch={b}", out=f"b{b}")
        sizes[b] = set(encoded)
        if b == 1:
            alone = results
    together = results
    assert sizes == {1: {1}, 3: {3}}  # in lockstep, every plan imagined three episodes at once
    for policy in policies:
        one, three = (r["cells"]["collect_wood"][policy]["episodes"] for r in (alone, together))
        assert [e["seed"] for e in three] == [200000, 200001, 200002]
        assert [e["actions"] for e in three] == [e["actions"] for e in one]
        for a, b in zip(three, one, strict=True):  # batched kernels round differently
            assert close(a["plans"], b["plans"]), (a["plans"], b["plans"])


def test_every_imagining_policy_imagines_with_the_loops_knobs():
    from worldsim.control.control_config import IMAGINING, ControlConfig, ImagineConfig
    from worldsim.control.grid import Harness

    cfg = ControlConfig(imagine=ImagineConfig(context=9, horizon=3, guidance=2.5), futures=6)
    module = SimpleNamespace(latent_info=SimpleNamespace(time_factor=4))
    harness = Harness(module, None, cfg)
    for name in IMAGINING:
        imaginer = harness.policy(name, named_task("collect_wood")).imaginer
        futures = 6 if name == "consensus" else 1
        assert imaginer.cfg == replace(cfg.imagine, futures=futures), name


def close(a, b) -> bool:
    """JSON values equal, floats to 1e-3 relative (a batch's kernels round otherwise)."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-3, abs=1e-4)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(close, a, b))
    return a == b


def test_every_short_prompt_a_task_gives_is_in_the_short_prompt_table_list():
    from envs.make import make_env
    from worldsim.control.tasks import PROMPTS, short_prompts

    listed = set(short_prompts())
    assert set(PROMPTS.values()) <= listed
    env_cfg = EnvConfig(id="worldsim/MujocoPush-v0", width=16, height=16)
    env = make_env(env_cfg)
    for seed in range(6):  # scenes of 1-3 objects of every shape and many colours
        env.reset(seed=seed)
        for direction in ("left", "right", "forward", "back"):
            assert named_task(f"push_{direction}", env_cfg).episode_prompt(env) in listed
    env.close()


def test_wilson_interval_and_consensus_medoid():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 50)[0] == 0 and wilson(0, 50)[1] == pytest.approx(0.0714, abs=1e-3)
    plans = np.eye(3)[[[0, 1], [0, 1], [2, 2], [0, 2]]]  # (4 futures, 2 actions, 3) one-hot
    assert consensus(plans) in (0, 1)


def test_context_actions_are_packed_as_training_packs_a_recorded_episode():
    """Clip frame i >= 1 follows executed action i - 1 of the clip; latent frame k >= 1 holds the
    actions that led to pixel frames 1 + 4 (k - 1) .. 4 k; the clip's first frame gets the no-op."""
    eye = np.eye(17, dtype=np.float32)
    executed = [eye[1 + i % 16] for i in range(9)]  # 10 frames so far: frame i + 1 follows i
    past = context_actions(executed, eye[0], 5)  # the last 5 frames (5..9)
    assert [int(a.argmax()) for a in past] == [0, 6, 7, 8, 9]  # frame 6 follows executed[5]
    plans = eye[[[10, 11, 12, 13, 14, 15, 16, 1]]]  # (1 candidate, 8 steps, 17)
    packed = pack_actions(past, plans, 68, 4)  # (1, 2 context + 2 new latent frames, 68)
    slots = rearrange(packed[0], "t (s a) -> t s a", s=4)  # (4, 4, 17)
    read = [[int(v.argmax()) if v.any() else None for v in t] for t in slots]
    assert read == [[None, None, None, 0], [6, 7, 8, 9], [10, 11, 12, 13], [14, 15, 16, 1]]

    # told the actions' ages, the candidates' count from the episode's reset, as training's do
    history = np.stack([eye[0], *executed])  # (10, 17): the action that led to each frame
    aged = pack_actions(past, plans, 68, 4, ages=16, history=history)  # (1, 4, 2 x 68)
    torch.testing.assert_close(aged[..., :68], packed)
    whole = torch.from_numpy(np.concatenate([history, plans[0]]))[None]  # (1, 18, 17)
    from_reset = action_ages(pad_actions(whole, 17), 16)[:, 5:]  # the clip's frames 5..17
    torch.testing.assert_close(aged[..., 68:], latent_actions(from_reset, 4))
    clip_only = pack_actions(past, plans, 68, 4, ages=16, history=past)
    assert not torch.allclose(clip_only, aged)  # the history before the clip counts


def prompt_scores(*args, **kwargs) -> torch.Tensor:
    """The likelihood planner's score: the prompt's error minus the contrast caption's."""
    err = prompt_errors(*args, **kwargs)  # (2, N)
    return err[0] - err[1]


def test_prompt_scores_share_noise_across_candidates_and_are_zero_for_the_empty_prompt():
    torch.manual_seed(0)
    model = DiT(DiTConfig(latent_channels=C, dim=32, depth=1, heads=2, text_dim=8))
    for p in model.parameters():
        p.data.normal_(0, 0.2)
    context, future = torch.randn(1, 2, C, 4, 4), torch.randn(2, 1, C, 4, 4)
    futures = torch.cat([future, future[:1]])  # candidates 0 and 2 imagine the same future
    tokens = torch.randn(2, 3, 8)
    texts = TextBatch(tokens, torch.ones(2, 3, dtype=torch.bool), torch.randn(2, 8))
    scores = prompt_scores(model, context, futures, texts, [0.5, 0.9], seed=1)
    assert scores.shape == (3,) and scores[0] == scores[2] != scores[1]
    same = TextBatch(*(t[:1].expand(2, *t.shape[1:]) for t in texts))
    assert prompt_scores(model, context, futures, same, [0.5], seed=1).abs().max() < 1e-6
    more = prompt_scores(model, context, futures, texts, [0.5, 0.9], seed=1, draws=3)
    assert more[0] == more[2] != more[1] and not torch.allclose(more, scores)  # new draws, shared
    errs = prompt_errors(model, context, futures, texts, [0.5, 0.9], seed=1)  # (2, N)
    assert (errs > 0).all()
    ratio = errs[0].log() - errs[1].log()  # likelihood_checks.py's `relative`
    assert ratio[0] == ratio[2] != ratio[1] and torch.equal(ratio.sign(), scores.sign())


def test_event_contrast_compares_the_prompt_with_itself_without_its_event_sentences():
    prompt = "The player moves 2 cells north. The player achieves collect wood. It is daytime."
    assert without_events(prompt) == "The player moves 2 cells north. It is daytime."
    imaginer = SimpleNamespace(cfg=SimpleNamespace(horizon=2), time_factor=4)  # no model needed
    push = expand_push("red", "ball", "left")  # the push sentence is a Push prompt's event
    assert push == "The puck moves left. The puck pushes the red ball left."
    scene = "The black puck pushes the red ball. The view is fixed."  # no event sentence
    for contrast, said, base in [
        ("empty", prompt, ""),
        ("event", prompt, "The player moves 2 cells north. It is daytime."),
        ("event", push, "The puck moves left."),
        ("event", scene, ""),
    ]:
        policy = LikelihoodPolicy("likelihood", imaginer, LikelihoodConfig(contrast=contrast),
                                  lambda env, seed: "", 4)  # fmt: skip
        policy.prompt = said
        assert policy.baseline() == base
    with pytest.raises(ValueError, match="contrast"):
        LikelihoodPolicy("likelihood", imaginer, LikelihoodConfig(contrast="x"), lambda e, s: "", 4)


def test_candidates_hold_each_action_then_walk_and_act_then_random_or_two_held_legs():
    codec = DiscreteCodec(6, ["noop", "move_left", "move_right", "do", "sleep", "x"])
    plans, families = candidates(codec, 4, 16, seed=0)
    assert plans.shape == (16, 4, 6) and (plans.sum(-1) == 1).all()
    actions = plans.argmax(-1)
    assert actions[:6].tolist() == [[a] * 4 for a in range(6)]
    assert actions[6:10].tolist() == [[1, 3, 3, 3], [2, 3, 3, 3], [1, 1, 3, 3], [2, 2, 3, 3]]
    assert families == ["constant"] * 6 + ["move_do"] * 4 + ["random"] * 6
    assert (candidates(codec, 4, 16, seed=0)[0] == plans).all()
    box = BoxCodec(gymnasium.spaces.Box(-1, 1, (2,), np.float32))
    plans, families = candidates(box, 3, 10, seed=0)
    assert plans.shape == (10, 3, 2) and np.abs(plans).max() <= 1
    assert families == ["compass"] * 8 + ["two_legs"] * 2
    legs = candidates(box, 6, 40, seed=1)[0][8:]  # (32, 6, 2): each a held command, then another
    changes = (np.abs(np.diff(legs, axis=1)).max(-1) > 0).sum(1)  # (32,) switches per sequence
    assert (changes == 1).all()
    assert np.allclose(plans[:8, 0], [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1],
                                      [0, -1], [1, -1]], atol=1e-6)  # fmt: skip


def test_a_machine_without_ffmpeg_is_refused_before_any_episode_and_gif_still_writes(
    tmp_path, monkeypatch
):
    import sys

    from worldsim.config import ConfigError
    from worldsim.video import write_video

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as on the GPU image: no ffmpeg
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ConfigError, match="imageio-ffmpeg"):
        write_video(tmp_path / "a.mp4", frames)
    assert not (tmp_path / "a.mp4").exists()
    write_video(tmp_path / "a.gif", frames)
    args = "tasks=[collect_wood]", "env.kwargs.area=[16,16]", "policies=[random]"
    with pytest.raises(ConfigError, match="control.video=gif"):
        run_control(tmp_path, "none", "none", *args)
    assert not (tmp_path / "out").exists()
    run_control(tmp_path, "none", "none", *args, "control.video=gif")
    assert (tmp_path / "out" / "videos" / "collect_wood_random_200000.gif").is_file()


def test_a_grid_counts_its_steps_on_a_bar_and_says_what_its_rates_are(tmp_path, capsys):
    args = "tasks=[collect_wood]", "env.kwargs.area=[16,16]", "policies=[random]", "episodes=2"
    run_control(tmp_path, "none", "none", *args)  # no policy imagines: no model is loaded
    printed = capsys.readouterr()
    bars = [line for line in printed.err.splitlines() if "%|" in line]  # stderr is a log here
    assert bars and bars[-1].startswith("control collect_wood random: 100%") and "12/12" in bars[-1]
    assert (
        "control: collect_wood random: " in printed.out
        and " of 2 succeeded (95% interval" in printed.out
    )
    # the planner collects wood within 40 steps: its episodes' steps left count as done
    run_control(tmp_path, "none", "none", *args[:2], "policies=[scripted]", "episodes=2",
                "control.max_steps=40", out="scripted")  # fmt: skip
    printed = capsys.readouterr()
    assert "2 of 2 succeeded" in printed.out and "80/80" in printed.err.splitlines()[-1]


def test_a_long_prompt_is_wrapped_whole_into_the_video_header():
    from PIL import ImageFont

    from worldsim.control.report import wrap

    font = ImageFont.load_default()
    prompt = expand_crafter("eat_cow", 0, hits=True)
    lines = wrap(prompt, font, 190)
    assert len(lines) > 1 and " ".join(lines) == prompt
    assert all(font.getlength(line) <= 190 for line in lines)


def test_episode_video_says_why_an_imagined_panel_is_black():
    from worldsim.control.episode import EpisodeResult
    from worldsim.control.report import VIDEO_SCALE, episode_video

    frames = np.full((3, 8, 8, 3), 90, np.uint8)  # (steps + 1, H, W, 3)
    imagined = np.zeros_like(frames)
    imagined[1] = 200  # a plan from step 1 on; step 2 a policy step that imagined nothing
    result = EpisodeResult(
        "collect_wood", "prompt", 0, "", "", False, 2, 0.0, [0, 0], [], frames, imagined
    )
    video = episode_video(result)  # (T, h, w, 3)
    panel = video[:, -8 * VIDEO_SCALE :, -8 * VIDEO_SCALE :]  # the imagined half
    assert panel[0].any() and panel[2].any()  # "no plan yet", "nothing imagined": not bare black
    assert (panel[1] == 200).all()  # a real plan is drawn as it is, no note on it
    assert not np.array_equal(panel[0], panel[2])  # two different notes


def test_the_results_line_counts_its_seeds_in_words():
    assert about([200000], 12).startswith("1 seed (200000) per cell, at most 12 env steps")
    assert about([0, 1, 2], 300).startswith("3 seeds (0..2) per cell")
