"""Spec of the world-model LightningModule, latent DataModule, checkpoints and predictor."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from worldsim.data.latent_datamodule import latent_actions, pixel_span
from worldsim.diffusion.flow import FlowConfig, region_shares
from worldsim.models.dit import DiT, DiTConfig
from worldsim.models.text import TextConfig
from worldsim.training.world_model import (
    LatentInfo,
    WorldModel,
    export_checkpoint,
    load_world_model,
)

C, S, T = 4, 8, 4


def moving_pattern() -> torch.Tensor:
    """A normalised (1, T, C, S, S) latent clip with structure in space, time and channels."""
    yy, xx = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    clip = torch.stack(
        [
            torch.stack(
                [
                    torch.sin(0.7 * xx + 0.5 * t + c) + torch.cos(0.5 * yy - 0.4 * t * c)
                    for c in range(C)
                ]
            )
            for t in range(T)
        ]
    ).float()[None]
    return (clip - clip.mean()) / clip.std()


def tiny_module(action_dim: int = 0, **sample) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(
        DiTConfig(latent_channels=C, dim=64, depth=2, heads=4, action_dim=action_dim),
        FlowConfig(),
        {},
        TextConfig(name="none"),
        {"sampler": {"steps": 20}, **sample},
        LatentInfo(mean=[0.1] * C, std=[2.0] * C),
    )


def test_latent_actions_group_the_pixel_frames_each_latent_frame_covers():
    actions = torch.arange(9 * 2, dtype=torch.float32).reshape(9, 2)  # 9 = 1 + 4 * 2 frames
    grouped = latent_actions(actions, 4)
    assert grouped.shape == (3, 8)
    assert (
        grouped[0].tolist() == [0] * 6 + actions[0].tolist()
    )  # frame 0 alone, zero-padded in front
    assert grouped[2].tolist() == actions[5:9].flatten().tolist()
    assert pixel_span(0, 3, 4) == (0, 9) and pixel_span(2, 1, 4) == (5, 9)
    with pytest.raises(ValueError, match="1 \\+ 4 k"):
        latent_actions(actions[:8], 4)


# 600 CPU training steps: ~12 s on two idle cores (the issue allows 2 minutes)
def test_tiny_model_overfits_one_clip_and_regenerates_it_from_noise():
    clip = moving_pattern()
    module = tiny_module()
    opt = torch.optim.Adam(module.model.parameters(), lr=2e-3)
    batch = {"latents": clip.expand(16, -1, -1, -1, -1)}
    for _ in range(600):
        loss = module.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    module.eval()
    with torch.no_grad():
        video = module.mode_runner(None).text(2, T, (C, S, S))
        rolled = module.mode_runner(None).rollout(
            clip[:, :1].expand(2, -1, -1, -1, -1), T - 1, None, 4, 1
        )
    assert (video - clip).pow(2).mean() < 0.05  # unit-variance data: noise alone would score ~2
    assert (rolled - clip).pow(2).mean() < 0.3


def test_context_estimate_trains_on_the_models_own_one_step_estimate_of_the_context():
    module = tiny_module()
    for param in module.model.final.parameters():  # a model whose estimates are not x_t itself
        torch.nn.init.normal_(param, std=0.1)
    module.flow = FlowConfig(context_prob=1.0, context_estimate=0.5)
    calls = []
    module.model.register_forward_hook(lambda m, args, out: calls.append((*args[:2], out)))
    clip = moving_pattern().expand(8, -1, -1, -1, -1)
    loss = module.loss({"latents": clip}, torch.Generator().manual_seed(0))
    (x_est, est_levels, v), (x_in, in_levels, _) = calls  # the no-grad pass, then the trained one
    assert x_est.shape[0] == 4  # the first half of the batch
    estimate = x_est - est_levels[..., None, None, None] * v
    context = in_levels == 0  # clean context as the trained pass sees it (no context_noise)
    head, tail = context[:4], context[4:]
    assert head.any() and tail.any() and (est_levels[head] > 0).all()
    assert torch.allclose(x_in[:4][head], estimate[head])
    assert (x_in[:4][head] - clip[:4][head]).abs().max() > 1e-2  # not the true context
    assert torch.equal(x_in[4:][tail], clip[4:][tail])  # the other samples keep theirs
    loss.backward()  # through the trained pass only
    assert module.model.final.linear.weight.grad is not None


def test_object_weight_weighs_the_loss_on_the_cells_the_batch_marks_as_objects():
    module = tiny_module()
    clip = moving_pattern().expand(2, -1, -1, -1, -1)  # (B, T, C, H, W)
    objects = torch.zeros(*clip.shape[:2], *clip.shape[-2:])  # (B, T, H, W)

    def loss(weight: float, objects: torch.Tensor | None = None) -> torch.Tensor:
        module.flow = FlowConfig(object_weight=weight)
        batch = {"latents": clip} if objects is None else {"latents": clip, "objects": objects}
        return module.loss(batch, torch.Generator().manual_seed(0))

    plain = loss(0.0)
    assert loss(4.0) == plain and loss(4.0, objects) == plain  # no objects: every cell alike
    assert loss(0.0, objects + 1) == plain  # the knob off: objects are ignored
    assert torch.allclose(loss(4.0, objects + 1), 5 * plain)  # every cell an object's: 1 + 4


def test_region_weight_weighs_the_training_loss_on_the_cells_inside_the_region():
    module = tiny_module()
    clip = moving_pattern().expand(2, -1, -1, -1, -1)  # (B, T, C, H, W)

    def loss(weight: float, region: list[float]) -> torch.Tensor:
        module.flow = FlowConfig(region_weight=weight, region=region)
        return module.loss({"latents": clip}, torch.Generator().manual_seed(0))

    whole, lower_half = [0.0, 1.0, 0.0, 1.0], [0.5, 1.0, 0.0, 1.0]
    plain = loss(0.0, whole)
    assert torch.allclose(loss(3.0, whole), 4 * plain)  # every cell inside: 1 + 3
    assert not torch.allclose(loss(3.0, lower_half), plain)
    module.eval()  # validation keeps the unweighted loss
    assert loss(3.0, whole) == plain


def test_region_shares_are_each_cells_overlap_with_the_region():
    # Crafter's status digits: pixel rows 49-56, columns 0-28 of 64, on a 16 x 16 latent grid
    shares = region_shares(16, 16, [49 / 64, 56 / 64, 0.0, 28 / 64])  # (H, W)
    assert shares[12, 0] == 0.75 and shares[13, 6] == 1.0
    assert shares[11].sum() == 0 and shares[14].sum() == 0 and shares[:, 7].sum() == 0


def test_training_step_puts_nothing_on_the_progress_bar(monkeypatch):
    """Lightning turns progress-bar values into floats every step: on CUDA a host sync that kept
    the host from queueing the next step (the training loop's overhead, benchmarks/README.md)."""
    module, logged = tiny_module(), []
    monkeypatch.setattr(module, "log", lambda name, value, **kw: logged.append((name, kw)))
    module.training_step({"latents": moving_pattern().expand(2, -1, -1, -1, -1)}, 0)
    assert [name for name, _ in logged] == ["train/loss"]
    assert not any(kw.get("prog_bar") for _, kw in logged)


def test_export_and_load_round_trip_in_fp16(tmp_path):
    module = tiny_module(action_dim=8, window=5)
    for p in module.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    path = export_checkpoint(module, str(tmp_path / "ema.ckpt"))
    loaded = load_world_model(path)
    assert loaded.sample_cfg.window == 5 and loaded.latent_info.std == [2.0] * C
    assert loaded.model_cfg.patch == (1, 2, 2)
    x, lv, a = torch.randn(1, 3, C, S, S), torch.rand(1, 3), torch.randn(1, 3, 8)
    with torch.no_grad():
        assert torch.allclose(
            loaded.model(x, lv, a), module.model.eval().half().float()(x, lv, a), atol=1e-4
        )


def test_normalise_inverts_denormalise():
    module = tiny_module()
    z = torch.randn(1, 2, C, 3, 3)
    assert torch.allclose(module.normalise(module.denormalise(z)), z, atol=1e-6)


def write_cache(
    root, vae_path: str, sizes=((8, 8), (8, 12)), episodes: int = 4, widths=(3, 1)
) -> str:
    """A latent cache of `episodes` episodes alternating between two latent sizes."""
    from worldsim.data.latent_cache import LatentCache, write_latent_episode

    cache = LatentCache(root, create=True)
    cache.set_autoencoder_info(
        {"checkpoint": vae_path, "time_factor": 4, "space_factor": 4, "latent_channels": C}
    )
    rng = np.random.default_rng(0)
    entries = []
    for k in range(episodes):
        h, w = sizes[k % len(sizes)]
        t = 6 + k
        doc = {
            "captions": {"long": f"episode {k}", "prompt": f"ep {k}", "windows": []},
            "meta": {"fps": 15},
        }
        entries.append(
            write_latent_episode(
                root,
                f"ep_{k:06d}",
                rng.standard_normal((t, C, h, w)) * 3 + 1,
                rng.standard_normal((1 + 4 * (t - 1), widths[k % len(widths)])),
                doc,
                4,
            )
        )
    cache.add(entries)
    return str(root)


def tiny_vae(path) -> str:
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder

    torch.manual_seed(0)
    vae = VideoAutoencoder(
        AutoencoderConfig(latent_channels=C, base_channels=8, channel_mult=[1, 1, 1], norm_groups=4)
    )
    return str(save_autoencoder(vae, path))


def test_datamodule_mixes_sizes_durations_and_action_widths_and_normalises(tmp_path):
    from worldsim.data.latent_datamodule import LatentDataConfig, LatentDataModule

    first = write_cache(tmp_path / "a", "none", sizes=((8, 8),), widths=(3,))
    second = write_cache(
        tmp_path / "b", "none", sizes=((8, 12),), widths=(1,)
    )  # another env in its own cache
    data = LatentDataModule(
        LatentDataConfig(
            roots=[first, second], lengths=[3, 5], stride=1, batch_size=4, val_fraction=0.0
        )
    )
    data.setup()
    shapes = set()
    every = []
    for batch in data.train_dataloader():
        b, t, c, h, w = batch["latents"].shape
        shapes.add((t, h, w))
        assert (
            batch["actions"].shape == (b, t, 4 * 3) and len(batch["caption"]) == b
        )  # widths 3 and 1 padded
        every.append(batch["latents"])
    assert {s[0] for s in shapes} == {3, 5} and {s[1:] for s in shapes} == {(8, 8), (8, 12)}
    z = torch.cat([x.flatten() for x in every])
    assert abs(z.mean()) < 0.3 and abs(z.std() - 1) < 0.3  # raw latents had mean 1, std 3


def test_learning_rate_warms_up_holds_then_cools_down_to_zero_at_the_last_step():
    from worldsim.training.lr_schedule import lr_factor

    factors = [lr_factor(s, warmup_steps=2, decay_steps=4, max_steps=10) for s in range(11)]
    assert factors == [0.5, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]
    assert lr_factor(10**6, warmup_steps=2) == 1  # no cool-down: constant after warm-up


def test_a_run_stopped_inside_its_cool_down_says_how_far_its_learning_rate_is_from_zero():
    from functools import partial
    from types import SimpleNamespace

    from worldsim.training.callbacks import unfinished_schedule
    from worldsim.training.lr_schedule import lr_factor

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    factor = partial(lr_factor, warmup_steps=1, decay_steps=4, max_steps=8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    trainer = SimpleNamespace(optimizers=[opt], max_steps=8)
    said = []
    for _ in range(9):  # the note at steps 0..8
        said.append(unfinished_schedule(trainer))
        opt.step()
        sched.step()
    assert said[:5] == [""] * 5 and said[8] == ""  # at its peak, and annealed at the last step
    assert said[5] == "; its learning rate is at 75% of its peak, and its schedule runs to step 8"


def test_train_job_fits_exports_ema_and_resumes(tmp_path):
    from worldsim.config import load_config, to_object
    from worldsim.jobs import train

    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"))
    args = [
        f"data.roots=[{root}]",
        "data.lengths=[3]",
        "data.batch_size=2",
        "model=dit_tiny",
        "text.name=none",
        "train.max_steps=3",
        "optim.warmup_steps=1",
        "optim.decay_steps=2",  # the rate falls to 0 at the last step, and again on resume
        "train.val_every=2",
        "train.limit_val_batches=1",
        "train.log_every=1",
        "train.ckpt_every=3",
        "sample.sampler.steps=2",
        f"out={tmp_path / 'run'}",
    ]
    train.run(to_object(load_config(train.Config, args)))
    module = load_world_model(str(tmp_path / "run" / "ema.ckpt"))
    assert module.model_cfg.action_dim == 12 and module.model_cfg.latent_channels == C
    assert list((tmp_path / "run").rglob("rollout_step*"))  # sample video decoded through the VAE
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)[
        "state_dict"
    ]
    assert not [
        k for k in saved if k.startswith(("_autoencoder", "_text_encoder"))
    ]  # frozen helpers stay out
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["lr_schedulers"][0]["_last_lr"] == [0.0, 0.0]  # both parameter groups annealed
    args[5] = "train.max_steps=5"
    train.run(
        to_object(
            load_config(
                train.Config,
                args + ["train.resume=" + str(tmp_path / "run" / "checkpoints" / "last.ckpt")],
            )
        )
    )
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 5


def test_train_job_without_ema_exports_the_training_weights(tmp_path):
    from worldsim.config import load_config, to_object
    from worldsim.jobs import train

    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"))
    train.run(
        to_object(
            load_config(
                train.Config,
                [
                    f"data.roots=[{root}]",
                    "data.lengths=[3]",
                    "data.batch_size=2",
                    "model=dit_tiny",
                    "text.name=none",
                    "train.max_steps=2",
                    "train.val_every=1000",
                    "train.sample_videos=false",
                    "train.ema_decay=0",
                    f"out={tmp_path / 'run'}",
                ],
            )
        )
    )
    exported = torch.load(tmp_path / "run" / "ema.ckpt", weights_only=False)["state_dict"]
    trained = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)[
        "state_dict"
    ]
    assert exported.keys() == trained.keys()
    for k, v in trained.items():
        torch.testing.assert_close(
            exported[k].float(), v.half().float()
        )  # fp16 export of the raw weights


def test_train_job_runs_data_parallel_on_two_cpu_processes(tmp_path):
    import subprocess
    import sys

    root = write_cache(tmp_path / "latents", tiny_vae(tmp_path / "vae.ckpt"), episodes=8)
    args = [
        f"data.roots=[{root}]",
        "data.lengths=[3]",
        "data.batch_size=2",
        "data.val_fraction=0",
        "model=dit_tiny",
        "text.name=none",
        "train.max_steps=3",
        "train.val_every=1000",
        "train.sample_videos=false",
        "train.accelerator=cpu",
        "train.devices=2",
        "train.strategy=ddp",
        "train.precision=32-true",
        f"out={tmp_path / 'run'}",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "worldsim.cli", "train", *args],
        capture_output=True,
        text=True,
        timeout=280,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "; 2 processes;" in done.stdout  # two ranks really joined (the world size)
    assert (
        torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)[
            "global_step"
        ]
        == 3
    )
    assert (
        load_world_model(str(tmp_path / "run" / "ema.ckpt")).model_cfg.latent_channels == C
    )  # rank 0 exported


def test_predictor_returns_horizon_frames_in_pixel_space(tmp_path):
    from worldsim.predictor import DiTPredictor

    module = tiny_module(action_dim=4 * 3)
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    for p in module.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    path = export_checkpoint(module, str(tmp_path / "dit.ckpt"))
    pred = DiTPredictor.from_checkpoint(path, steps=2, window=3)
    context = torch.rand(2, 7, 3, 16, 16) * 2 - 1  # 7 frames: the latest 5 = 1 + 4 are encoded
    out = pred.predict(context, torch.randn(2, 7 + 6, 3), ["a", "b"], horizon=6)
    assert out.shape == (2, 6, 3, 16, 16) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="overrides"):
        DiTPredictor.from_checkpoint(path, stepz=2)
    module.sample_cfg.context_level = 0.2  # a file's own sampling reaches the predictor
    path = export_checkpoint(module, str(tmp_path / "dit_ctx.ckpt"))
    assert DiTPredictor.from_checkpoint(path).sample.context_level == 0.2
    assert DiTPredictor.from_checkpoint(path, context_level=0.0).sample.context_level == 0.0
    missing = str(tmp_path / "missing.ckpt")  # the loader warns, then the predictor refuses
    with pytest.warns(UserWarning, match="cannot decode"):
        with pytest.raises(FileNotFoundError, match="autoencoder"):
            DiTPredictor.from_checkpoint(path, autoencoder=missing)


@pytest.mark.parametrize("clock_period", [0, 12])  # a clocked DiT refuses a clock not its frames'
def test_sample_job_writes_a_video_for_every_mode(tmp_path, small_store, clock_period):
    from worldsim.config import load_config, to_object
    from worldsim.diffusion.modes import MODES
    from worldsim.jobs import sample
    from worldsim.video import read_video

    module = tiny_module(action_dim=4 * 3)
    module.model_cfg.clock_period = clock_period
    module.model = DiT(module.model_cfg)
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    ckpt = export_checkpoint(module, str(tmp_path / "dit.ckpt"))
    for mode in MODES:
        cfg = load_config(
            sample.Config,
            [
                f"ckpt={ckpt}",
                f"mode={mode}",
                f"input={small_store.root}",
                "frames=8",
                "sampler.steps=2",
                "height=16",
                "width=20",
                "guidance.action_scale=2.0",
                "window=3",
                f"out={tmp_path / 'out'}",
            ],
        )
        sample.run(to_object(cfg))
    videos = [mode for mode in MODES if mode != "image"]  # each with its frame strip
    names = ["image_00.png", *(f"{mode}_00.{ext}" for mode in videos for ext in ("mp4", "png"))]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)
    written = {mode: tmp_path / "out" / f"{mode}_00.mp4" for mode in videos}
    assert read_video(written["rollout"]).shape == (
        5 + 8,
        16,
        20,
        3,
    )  # 5 context + 8 generated frames
    assert read_video(written["extend_backward"]).shape[0] == 5 + 8
    with pytest.raises(Exception, match="mode"):
        sample.run(to_object(load_config(sample.Config, [f"ckpt={ckpt}", "mode=dream"])))


def test_gradient_clipping_under_fsdp_goes_through_the_sharded_model(monkeypatch):
    """Lightning's FSDP precision plugin refuses 'norm' clipping (train=dit_fsdp died at its first
    step on two H200s): the sharded model clips its own global norm instead."""
    from types import SimpleNamespace

    from lightning.pytorch.strategies import FSDPStrategy

    clipped = []
    sharded = SimpleNamespace(clip_grad_norm_=clipped.append)
    module = tiny_module()
    trainer = SimpleNamespace(strategy=FSDPStrategy.__new__(FSDPStrategy), model=sharded)
    monkeypatch.setattr(type(module), "trainer", property(lambda self: trainer))
    module.configure_gradient_clipping(None, 1.0, "norm")
    assert clipped == [1.0]


def test_context_estimate_rounds_estimate_back_from_the_last_rounds_estimate():
    module = tiny_module()
    for param in module.model.final.parameters():
        torch.nn.init.normal_(param, std=0.1)
    module.flow = FlowConfig(context_prob=1.0, context_estimate=0.5, context_estimate_rounds=2)
    calls = []
    module.model.register_forward_hook(lambda m, args, out: calls.append((*args[:2], out)))
    clip = moving_pattern().expand(8, -1, -1, -1, -1)
    module.loss({"latents": clip}, torch.Generator().manual_seed(0))
    (x1, levels1, v1), (x2, levels2, v2), (x_in, in_levels, _) = calls  # two rounds, then training
    context = (in_levels == 0)[:4]
    first = x1 - levels1[..., None, None, None] * v1  # round 1's estimate
    second = x2 - levels2[..., None, None, None] * v2
    assert torch.allclose(x_in[:4][context], second[context])  # training sees round 2's
    assert not torch.allclose(second[context], first[context])
    # round 2 noised round 1's estimate, not the true context: x2 - (1 - t) first is t * noise
    t = levels2[..., None, None, None].expand_as(x2)[context]
    noise_from_first = (x2[context] - (1 - t) * first[context]) / t
    noise_from_truth = (x2[context] - (1 - t) * clip[:4][context]) / t
    assert abs(noise_from_first.std().item() - 1.0) < 0.1  # the unit-variance training noise
    assert noise_from_truth.std() > 1.4  # from the true context, the estimate's error shows


def test_validation_scores_the_next_frame_with_another_windows_actions_too():
    module = tiny_module(action_dim=2)
    clip = moving_pattern().expand(3, -1, -1, -1, -1)
    batch = {
        "latents": clip,
        "actions": torch.randn(3, T, 2, generator=torch.Generator().manual_seed(0)),
    }
    errors = module.next_frame_error(batch)
    assert set(errors) == {"next_frame_mse", "copy_last_mse", "shuffled_actions_mse"}
    # a fresh DiT's zero-initialised modulation ignores its actions: the same noise, the same error
    assert errors["shuffled_actions_mse"] == errors["next_frame_mse"]
    for param in module.model.parameters():  # a model whose output follows its actions
        torch.nn.init.normal_(param, std=0.2)
    errors = module.next_frame_error(batch)
    assert errors["shuffled_actions_mse"] != errors["next_frame_mse"]
    assert "shuffled_actions_mse" not in tiny_module().next_frame_error({"latents": clip})
