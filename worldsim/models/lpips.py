"""LPIPS perceptual distance (Zhang et al. 2018) in plain torch, without torchvision.

The trunks (AlexNet, VGG16) copy torchvision's module layout, so torchvision's ImageNet
checkpoints load by `state_dict` from `$TORCH_HOME/hub/checkpoints`; the linear heads are the
`lpips` package's v0.1 weights shipped in `worldsim/assets/lpips` (BSD-2, see LICENSE there).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "lpips"
TRUNK_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class MissingWeightsError(FileNotFoundError):
    """A pretrained file that cannot be downloaded here is absent."""


class AlexNet(nn.Module):
    """torchvision.models.alexnet's layout (features / avgpool / classifier)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(),
            nn.Linear(256 * 36, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 1000),
        )

    slices = [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)]  # relu1..relu5 taps used by LPIPS
    channels = [64, 192, 384, 256, 256]


class VGG16(nn.Module):
    """torchvision.models.vgg16's layout (features / avgpool / classifier)."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        )

    slices = [
        (0, 4),
        (4, 9),
        (9, 16),
        (16, 23),
        (23, 30),
    ]  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    channels = [64, 128, 256, 512, 512]


TRUNKS = {"alex": AlexNet, "vgg": VGG16}


def trunk_weights_path(net: str) -> Path:
    """Where torchvision keeps (and we look for) the ImageNet weights of trunk `net`."""
    home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    return home / "hub" / "checkpoints" / TRUNK_FILES[net]


class NetLinLayer(nn.Module):
    """1x1 conv weighting the squared feature differences of one tap (lpips' key layout)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))


class LPIPS(nn.Module):
    """LPIPS distance of images in [-1, 1]; frozen; `pretrained=False`: a random trunk (tests)."""

    def __init__(self, net: str = "alex", pretrained: bool = True):
        super().__init__()
        if net not in TRUNKS:
            raise ValueError(f"LPIPS net '{net}' unknown; use one of {sorted(TRUNKS)}")
        with torch.device("meta"):  # no memory or init time for the classifier LPIPS never uses
            trunk = TRUNKS[net]()
        if pretrained:
            path = trunk_weights_path(net)
            if not path.is_file():
                raise MissingWeightsError(
                    f"LPIPS needs its torchvision ImageNet weights at {path} (copy the file "
                    "there from a machine with internet, or set TORCH_HOME)"
                    # callers add what the user can do without it
                )
            trunk.load_state_dict(
                torch.load(path, map_location="cpu", weights_only=True), assign=True
            )
        else:
            trunk.features.to_empty(device="cpu")
            for layer in trunk.features:
                if isinstance(layer, nn.Conv2d):
                    layer.reset_parameters()
        self.taps = nn.ModuleList(trunk.features[a:b] for a, b in trunk.slices)
        self.lins = nn.ModuleList(NetLinLayer(c) for c in trunk.channels)
        heads = torch.load(ASSETS / f"{net}.pth", map_location="cpu", weights_only=True)
        for k, lin in enumerate(self.lins):
            lin.model[1].weight.data.copy_(heads[f"lin{k}.model.1.weight"])
        self.register_buffer(
            "shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False
        )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LPIPS:
        return super().train(False)  # always eval: the heads' dropout must stay off

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distance per image (N,) for x, y (N, 3, H, W) in [-1, 1]."""
        hx, hy = (x - self.shift) / self.scale, (y - self.shift) / self.scale
        total = x.new_zeros(x.shape[0])
        for tap, lin in zip(self.taps, self.lins):
            hx, hy = tap(hx), tap(hy)
            diff = (_unit(hx) - _unit(hy)).pow(2)
            total = total + lin.model[1](diff).mean(dim=(1, 2, 3))
        return total


def _unit(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Normalise each feature vector to unit length over channels."""
    return feat / (feat.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)
