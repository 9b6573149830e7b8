"""LPIPS: torchvision-compatible trunks, shipped heads, clear errors when weights are missing."""

from __future__ import annotations

import pytest
import torch

from worldsim.models.autoencoder import AutoencoderConfig
from worldsim.models.lpips import (
    LPIPS,
    TRUNK_FILES,
    VGG16,
    AlexNet,
    MissingWeightsError,
    trunk_weights_path,
)
from worldsim.training.autoencoder import LossConfig, OptimConfig, VAETask

# torchvision's state_dict keys and shapes (alexnet-owt-7be5be79.pth, vgg16-397923af.pth).
ALEX_KEYS = {
    "features.0.weight": (64, 3, 11, 11),
    "features.3.weight": (192, 64, 5, 5),
    "features.6.weight": (384, 192, 3, 3),
    "features.8.weight": (256, 384, 3, 3),
    "features.10.weight": (256, 256, 3, 3),
    "classifier.1.weight": (4096, 9216),
    "classifier.4.weight": (4096, 4096),
    "classifier.6.weight": (1000, 4096),
}
VGG_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
VGG_KEYS = {
    "features.28.weight": (512, 512, 3, 3),
    "classifier.0.weight": (4096, 25088),
    "classifier.3.weight": (4096, 4096),
    "classifier.6.weight": (1000, 4096),
}


def test_trunks_have_torchvision_state_dict_layout():
    with torch.device("meta"):
        alex = {k: tuple(v.shape) for k, v in AlexNet().state_dict().items()}
        vgg = {k: tuple(v.shape) for k, v in VGG16().state_dict().items()}
    assert ALEX_KEYS.items() <= alex.items() and len(alex) == 16
    assert VGG_KEYS.items() <= vgg.items() and len(vgg) == 32
    assert {f"features.{i}.bias" for i in VGG_CONVS} <= set(vgg)


def test_pretrained_trunk_loads_from_torch_home(tmp_path, monkeypatch):
    net = "alex"  # VGG16 takes the same path (its layout is checked above) at 20x the size
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    trunk = AlexNet()
    path = trunk_weights_path(net)
    assert path == tmp_path / "hub" / "checkpoints" / TRUNK_FILES[net]
    path.parent.mkdir(parents=True)
    torch.save(trunk.state_dict(), path)
    lpips = LPIPS(net, pretrained=True)
    assert torch.equal(lpips.taps[0][0].weight, trunk.features[0].weight)
    heads = torch.load(f"worldsim/assets/lpips/{net}.pth", map_location="cpu", weights_only=True)
    assert torch.equal(lpips.lins[4].model[1].weight, heads["lin4.model.1.weight"])


def test_missing_trunk_weights_error_names_file_place_and_opt_out(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as err:
        LPIPS("alex")
    msg = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in msg and str(tmp_path / "hub" / "checkpoints") in msg
    assert "loss.perceptual" not in msg  # a training knob: eval, say, has no such thing
    with pytest.raises(MissingWeightsError) as err:
        VAETask(
            AutoencoderConfig(base_channels=8, norm_groups=4),
            LossConfig(perceptual="alex"),
            OptimConfig(),
        )
    assert str(err.value).startswith(msg) and str(err.value).endswith("loss.perceptual=none")
    task = VAETask(
        AutoencoderConfig(base_channels=8, norm_groups=4),
        LossConfig(perceptual="none"),
        OptimConfig(),
    )
    assert task.lpips is None


def test_distance_is_zero_for_identical_images_and_grows_with_corruption():
    torch.manual_seed(0)
    lpips = LPIPS("alex", pretrained=False)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    noise = torch.randn_like(x)
    d = [lpips(x, (x + s * noise).clamp(-1, 1)) for s in (0.0, 0.1, 0.5)]
    assert d[0].shape == (4,) and torch.allclose(d[0], torch.zeros(4))
    assert (d[1] > 0).all() and (d[2] > d[1]).all()
    assert not any(p.requires_grad for p in lpips.parameters())
    lpips.train()
    assert not lpips.training  # the heads' dropout never switches on


def test_gradient_flows_to_the_input():
    lpips = LPIPS("vgg", pretrained=False)
    x = torch.zeros(1, 3, 32, 32, requires_grad=True)
    lpips(x, torch.rand(1, 3, 32, 32)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
