"""Shared fixtures: small synthetic episodes and stores (no simulator needed)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

from worldsim.data.episode import Episode  # noqa: E402
from worldsim.data.store import EpisodeStore, episode_name, write_episode  # noqa: E402


def synthetic_episode(
    length: int = 24, height: int = 16, width: int = 20, seed: int = 0, action_dim: int = 3
) -> Episode:
    """A schema-valid episode with a moving square, depth, instance map and one object."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((length, height, width, 3), np.uint8)
    instance = np.full((length, height, width), -1, np.int16)
    for t in range(length):
        x = (seed + t) % max(width - 4, 1)
        frames[t, 4:8, x : x + 4] = (255, 0, 0)
        instance[t, 4:8, x : x + 4] = 0
    return Episode(
        frames=frames,
        actions=rng.standard_normal((length, action_dim)).astype(np.float32),
        raw_actions=[[0.0] * action_dim for _ in range(length)],
        rewards=np.zeros(length, np.float32),
        terminated=np.zeros(length, bool),
        truth={
            "depth": np.ones((length, height, width), np.float32),
            "instance": instance,
            "obj_position": rng.standard_normal((length, 1, 3)).astype(np.float32),
        },
        objects=[
            {"id": 0, "name": "red box", "category": "box", "colour": "red", "rgb": [255, 0, 0]}
        ],
        events=[{"frame": 3, "kind": "bounce", "objects": [0], "detail": {}}],
        captions={
            "long": "A red box slides right.",
            "prompt": "red box",
            "windows": [{"start": 0, "end": length, "text": "A red box slides right."}],
        },
        meta={"env_id": "synthetic", "seed": seed, "fps": 15},
    )


@pytest.fixture(autouse=True)
def quiet_lightning_in_every_test():
    """pytest sets each test's warning filters afresh, dropping those `quiet_lightning` installs
    on import: install them inside the test, as every job has them."""
    from worldsim.training.trainer import quiet_lightning

    quiet_lightning()


@pytest.fixture
def small_store(tmp_path) -> EpisodeStore:
    """A store of 6 synthetic episodes of two resolutions and lengths."""
    store = EpisodeStore(tmp_path / "store", create=True)
    entries = []
    for k in range(6):
        size = (16, 20) if k % 2 == 0 else (24, 32)
        ep = synthetic_episode(length=24 + 4 * k, height=size[0], width=size[1], seed=k)
        entries.append(write_episode(store.root, episode_name(k), ep))
    store.add(entries)
    return store


@pytest.fixture
def text_cache(small_store, tmp_path):
    """A latent cache of the small store with caption embeddings (a random table, no encoder)."""
    import torch

    from worldsim.cli import main
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder
    from worldsim.models.text import TextTable

    torch.manual_seed(0)
    vae = VideoAutoencoder(AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4))
    ckpt = save_autoencoder(vae, tmp_path / "vae.ckpt")
    table = TextTable("minilm", 384)
    rng = np.random.default_rng(0)
    table.add("A red box slides right.", rng.standard_normal((7, 384)), rng.standard_normal(384))
    table.save(tmp_path / "text.npz")
    out = tmp_path / "lat"
    args = [f"store={small_store.root}", f"checkpoint={ckpt}", f"out={out}", "device=cpu"]
    assert main(["encode", *args, f"text.table={tmp_path / 'text.npz'}"]) == 0
    return out
