"""train-vae end to end on a tiny store: EMA export, held-out metrics, resume, adversarial, object
weights."""

from __future__ import annotations

import json

import lightning as L
import torch

from tests.conftest import synthetic_episode
from tests.test_bad_inputs import one_line_error
from worldsim.cli import main
from worldsim.data.clips import ClipConfig
from worldsim.data.datamodule import DataConfig, EpisodeDataModule
from worldsim.data.store import EpisodeStore, episode_name, write_episode
from worldsim.models.autoencoder import AutoencoderConfig, load_autoencoder
from worldsim.training.autoencoder import LossConfig, OptimConfig, VAETask

TINY = [
    "model.base_channels=8",
    "model.latent_channels=4",
    "model.norm_groups=4",
    "loss.perceptual=none",
    "trainer.precision=32",
    "trainer.accelerator=cpu",
    "trainer.val_every_steps=2",
    "trainer.limit_val_batches=1",
    "trainer.log_every_steps=1",
    "data.batch_size=2",
    "data.clips.lengths=[9]",
    "data.val_fraction=0.34",
]


def test_train_vae_exports_ema_weights_held_out_metrics_and_resumes(small_store, tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train-vae",
                f"data.root={small_store.root}",
                f"out={out}",
                "trainer.max_steps=4",
                "trainer.ema_decay=0.9",
                *TINY,
            ]
        )
        == 0
    )
    metrics = json.loads((out / "eval.json").read_text())
    assert metrics["steps"] == 4 and metrics["episodes"] >= 1 and 0 < metrics["psnr"] < 60
    assert all(e["frames"] % 4 == 1 for e in metrics["per_episode"])
    exported = load_autoencoder(out / "vae.ckpt")
    last = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    ema = last["callbacks"]["EMA"]["ema"]
    for name, p in exported.named_parameters():
        torch.testing.assert_close(
            p, ema[name]
        )  # the export holds the EMA average, not the raw weights
    assert not any(k.startswith("lpips.") for k in last["state_dict"])
    assert sorted(p.name for p in out.glob("logs/version_0/videos/*.gif"))[0].startswith(
        "recon_0_step0000002"
    )

    assert (
        main(
            [
                "train-vae",
                f"data.root={small_store.root}",
                f"out={out}",
                "trainer.max_steps=6",
                "trainer.ema_decay=0.9",  # the run's own config: another one is refused
                "resume=last",
                *TINY,
            ]
        )
        == 0
    )
    assert json.loads((out / "eval.json").read_text())["steps"] == 6


def test_adversarial_loss_starts_after_its_warm_up(small_store, tmp_path):
    data = EpisodeDataModule(
        DataConfig(root=str(small_store.root), clips=ClipConfig(lengths=[5]), batch_size=2)
    )
    task = VAETask(
        AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4),
        LossConfig(perceptual="none", adversarial_weight=0.5, adversarial_start=2),
        OptimConfig(),
    )
    seen: list[set[str]] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen.append({k for k in trainer.callback_metrics if k.startswith("train/")})

    L.Trainer(
        max_steps=4,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[Record()],
        default_root_dir=tmp_path,
    ).fit(task, datamodule=data)
    assert "train/d_loss" not in seen[1] and {"train/d_loss", "train/g_adv"} <= seen[2]


def test_decoder_only_keeps_the_encoder_and_export_bundles_the_new_decoder(small_store, tmp_path):
    """A decoder fine-tune for a world model's latents: the encoder stays bit for bit, export
    bundles the new decoder into the model, and a VAE with another encoder is refused."""
    from tests.test_world_model import tiny_module, tiny_vae
    from worldsim.training.world_model import export_checkpoint, load_world_model

    module = tiny_module()
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    model = export_checkpoint(module, str(tmp_path / "model.pt"), bundle_autoencoder=True)
    shape = ["trainer.max_steps=2", *TINY]  # the shape comes from init
    args = ["train-vae", f"data.root={small_store.root}", f"init={model}", *shape]
    assert main([*args, f"out={tmp_path / 'dec'}", "decoder_only=true"]) == 0
    before, after = load_autoencoder(model), load_autoencoder(tmp_path / "dec" / "vae.ckpt")
    for k, v in before.encoder.state_dict().items():
        assert torch.equal(v, after.encoder.state_dict()[k]), k
    new = after.decoder.state_dict()
    assert not all(torch.equal(v, new[k]) for k, v in before.decoder.state_dict().items())

    out = tmp_path / "model_dec.pt"
    assert main(["export", f"ckpt={model}", f"autoencoder={tmp_path / 'dec' / 'vae.ckpt'}",
                 f"out={out}"]) == 0  # fmt: skip
    bundled = load_world_model(str(out)).autoencoder().decoder.state_dict()
    for k, v in after.decoder.state_dict().items():
        assert torch.equal(v.half().float(), bundled[k]), k

    assert main([*args, f"out={tmp_path / 'all'}"]) == 0  # the encoder trained too
    assert main(["export", f"ckpt={model}", f"autoencoder={tmp_path / 'all' / 'vae.ckpt'}",
                 f"out={tmp_path / 'refused.pt'}"]) == 2  # fmt: skip
    assert not (tmp_path / "refused.pt").exists()


def test_decoder_only_needs_init_and_init_brings_its_shape(small_store, tmp_path, capsys):
    from tests.test_world_model import tiny_vae

    init = tiny_vae(tmp_path / "vae.ckpt")  # channel_mult [1, 1, 1]
    base = ["train-vae", f"data.root={small_store.root}", "trainer.max_steps=1", *TINY]
    assert main([*base, f"out={tmp_path / 'run'}", "decoder_only=true"]) == 2
    assert "give it as init=" in capsys.readouterr().err and not (tmp_path / "run").exists()
    assert main([*base, f"out={tmp_path / 'run'}", f"init={init}"]) == 0  # [1, 2, 2] configured
    assert "model.channel_mult=[1, 1, 1] (not [1, 2, 2])" in capsys.readouterr().out
    assert load_autoencoder(tmp_path / "run" / "vae.ckpt").cfg.channel_mult == [1, 1, 1]


def test_object_weight_trains_on_instance_truth_and_scores_the_objects_pixels(
    small_store, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["train-vae", f"data.root={small_store.root}", f"out={out}", "trainer.max_steps=1"]
    assert main([*argv, "loss.object_weight=2", "trainer.video_every_vals=0", *TINY]) == 0
    record = json.loads((out / "stages" / "train-vae.json").read_text())["config"]
    assert record["data"]["clips"]["truth_keys"] == ["instance"]  # the batches carried the maps
    metrics = json.loads((out / "eval.json").read_text())
    assert 0 < metrics["object_psnr"] <= 100 and metrics["object_episodes"] == metrics["episodes"]
    assert all("object_psnr" in e for e in metrics["per_episode"])  # the square is always seen
    assert f"objects' pixels {metrics['object_psnr']:.2f} dB;" in capsys.readouterr().out


def test_object_weight_on_a_store_without_instance_truth_is_one_line_writing_nothing(
    tmp_path, capsys
):
    store = EpisodeStore(tmp_path / "store", create=True)
    episodes = [synthetic_episode(length=12, seed=k) for k in range(2)]
    for ep in episodes:
        del ep.truth["instance"]
    store.add([write_episode(store.root, episode_name(k), ep) for k, ep in enumerate(episodes)])
    out = tmp_path / "run"
    argv = ["train-vae", f"data.root={store.root}", f"out={out}", "loss.object_weight=2", *TINY]
    error = one_line_error(capsys, argv)
    assert "loss.object_weight=2.0" in error and "2 of 2 episodes" in error
    assert "leave loss.object_weight=0" in error and not out.exists()
