"""Spec of shipped checkpoints: every one loads on a CPU, is sha256-checked and generates frames."""

from __future__ import annotations

import shutil

import pytest
import torch

from worldsim.data.manifest import file_sha256
from worldsim.models import pretrained
from worldsim.models.checkpoint import CheckpointError
from worldsim.models.pretrained import PRETRAINED, Pretrained, resolve_checkpoint
from worldsim.predictor import DiTPredictor


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_every_shipped_model_loads_checks_its_sha256_and_generates_two_frames(name):
    path = resolve_checkpoint(f"pretrained:{name}")
    assert file_sha256(pretrained.ASSETS / PRETRAINED[name].file) == PRETRAINED[name].sha256
    model = DiTPredictor.from_checkpoint(path, steps=2)
    h, w = (48, 64) if name == "doom" else (64, 64)
    context = torch.rand(1, 1, 3, h, w) * 2 - 1  # (B, Tc, C, H, W)
    width = model.module.model_cfg.action_dim // model.module.latent_info.time_factor
    actions = torch.zeros(1, 3, width)
    model.at_step([0])  # the episode's first step: a model told the game clock needs it
    frames = model.predict(context, actions, ["The player moves 2 cells east."], horizon=2)
    assert frames.shape == (1, 2, 3, h, w) and torch.isfinite(frames).all()


def test_a_damaged_shipped_file_is_refused_with_the_fix(tmp_path, monkeypatch):
    name = sorted(PRETRAINED)[0]
    damaged = tmp_path / "damaged.pt"
    shutil.copy(pretrained.ASSETS / PRETRAINED[name].file, damaged)
    with open(damaged, "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 1]))
    monkeypatch.setattr(pretrained, "ASSETS", tmp_path)
    entry = Pretrained("damaged.pt", PRETRAINED[name].sha256, "", PRETRAINED[name].envs)
    monkeypatch.setitem(PRETRAINED, "damaged", entry)
    with pytest.raises(CheckpointError, match="sha256"):  # one line at the CLI, exit 2
        resolve_checkpoint("pretrained:damaged")


def test_unknown_names_and_unreachable_urls_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="shipped models: pretrained:"):
        resolve_checkpoint("pretrained:nonexistent")
    monkeypatch.setenv("WORLDSIM_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="without the network"):
        resolve_checkpoint("http://127.0.0.1:9/model.pt")  # nothing listens on port 9
    assert resolve_checkpoint("runs/some/local.ckpt") == "runs/some/local.ckpt"


def test_require_checkpoint_takes_a_split_world_model_and_leaves_urls_to_the_loader(tmp_path):
    from worldsim.models.pretrained import require_autoencoder, require_world_model

    split = tmp_path / "model.pt"
    (tmp_path / "model.pt.part0").write_bytes(b"")  # an export written in parts
    require_world_model(str(split))
    with pytest.raises(FileNotFoundError, match=f"no autoencoder checkpoint at {split}; train"):
        require_autoencoder(str(split))  # a VAE loads from one file
    require_world_model("http://127.0.0.1:9/model.pt")  # no download here: the loader's
    with pytest.raises(FileNotFoundError, match="did you mean pretrained:crafter"):
        require_world_model("pretraind:crafter")
