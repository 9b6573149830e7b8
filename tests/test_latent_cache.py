"""Latent cache: the shared on-disk format, sharded and resumable encode, stats, decode to video."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from worldsim.cli import main
from worldsim.data.latent_cache import LatentCache, channel_moments, object_shares, pooled_stats
from worldsim.models.autoencoder import (
    AutoencoderConfig,
    VideoAutoencoder,
    load_autoencoder,
    save_autoencoder,
)


@pytest.fixture
def vae_ckpt(tmp_path):
    torch.manual_seed(0)
    model = VideoAutoencoder(
        AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4, encode_chunk=8)
    )
    return save_autoencoder(model, tmp_path / "vae.ckpt")


def _encode(store, ckpt, out, *extra):
    """encode without caption embeddings (tests/test_text_cache.py covers those)."""
    args = [f"store={store.root}", f"checkpoint={ckpt}", f"out={out}", "device=cpu"]
    assert main(["encode", *args, "text.name=none", *extra]) == 0
    return LatentCache(out)


def test_encode_writes_the_shared_cache_format(small_store, vae_ckpt, tmp_path):
    cache = _encode(small_store, vae_ckpt, tmp_path / "lat")
    assert cache.names() == small_store.names()
    assert cache.autoencoder_info() == {
        "checkpoint": str(vae_ckpt.resolve()),
        "time_factor": 4,
        "space_factor": 4,
        "latent_channels": 4,
    }
    manifest = json.loads((cache.root / "manifest.json").read_text())["episodes"]
    assert {"name", "frames", "latent_frames", "shape", "checksum"} <= set(manifest[0])
    model = load_autoencoder(vae_ckpt)
    for name in cache.names():
        src, ep, entry = small_store.load(name), cache.load(name), cache.entry(name)
        t = (
            1 + (src.length - 1) // 4 * 4
        )  # trailing frames that do not fill a latent frame are dropped
        assert entry.frames == t and entry.latent_frames == 1 + (t - 1) // 4
        assert ep.latents.dtype == np.float16 and ep.latents.shape == tuple(entry.shape)
        assert ep.latents.shape == (
            entry.latent_frames,
            4,
            src.resolution[0] // 4,
            src.resolution[1] // 4,
        )
        np.testing.assert_array_equal(ep.actions, src.actions[:t])
        assert ep.captions == src.captions and ep.meta["seed"] == src.meta["seed"]
        assert json.loads((cache.root / name / "episode.json").read_text())["env_id"] == "synthetic"
        assert cache.verify(name) is None
    # latents are the posterior means of the whole (unchunked) clip, stored in float16
    src = small_store.load("ep_000005")
    x = (
        torch.from_numpy(np.array(src.frames[: entry.frames])).permute(3, 0, 1, 2)[None].float()
        / 127.5
        - 1
    )
    with torch.no_grad():
        want = model.encode(x, chunk=1000)[0].permute(1, 0, 2, 3).numpy()
    np.testing.assert_allclose(
        cache.load("ep_000005").latents.astype(np.float32), want, atol=2e-3, rtol=2e-3
    )


def test_stats_are_per_channel_mean_and_std_over_all_latents(small_store, vae_ckpt, tmp_path):
    cache = _encode(small_store, vae_ckpt, tmp_path / "lat")
    everything = np.concatenate(
        [
            cache.load(n).latents.astype(np.float64).transpose(1, 0, 2, 3).reshape(4, -1)
            for n in cache.names()
        ],
        axis=1,
    )
    stats = cache.stats()
    np.testing.assert_allclose(stats["mean"], everything.mean(1), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(stats["std"], everything.std(1), rtol=1e-6, atol=1e-9)
    parts = [
        channel_moments(np.random.default_rng(k).normal(k, 1 + k, (3, 2, 4, 4))) for k in range(2)
    ]
    assert np.allclose(pooled_stats(parts)["mean"], [0.5, 0.5], atol=0.6)


def test_sharded_encode_fills_one_cache_and_a_rerun_skips_finished(
    small_store, vae_ckpt, tmp_path, capsys
):
    whole = _encode(small_store, vae_ckpt, tmp_path / "whole")
    _encode(small_store, vae_ckpt, tmp_path / "sharded", "shard=1/2")
    assert LatentCache(tmp_path / "sharded").names() == small_store.names()[1::2]
    capsys.readouterr()
    sharded = _encode(small_store, vae_ckpt, tmp_path / "sharded", "shard=0/2", "chunk=4")
    assert "3 episodes" in capsys.readouterr().out
    _encode(small_store, vae_ckpt, tmp_path / "sharded")
    assert "0 episodes (0 frames" in capsys.readouterr().out
    assert sharded.names() == whole.names()
    np.testing.assert_allclose(sharded.stats()["mean"], whole.stats()["mean"], atol=1e-3)


def test_killed_encode_leaves_nothing_listed_and_resumes_to_the_same_cache(
    small_store, vae_ckpt, tmp_path
):
    clean = _encode(small_store, vae_ckpt, tmp_path / "clean")
    out = tmp_path / "killed"
    _encode(small_store, vae_ckpt, out, "shard=0/2")
    (out / ".tmp-ep_000001-999").mkdir()  # a write in progress when the job died
    (out / ".tmp-stats.json-999").write_text("{")  # killed while refreshing the stats
    (out / "ep_000003").mkdir()  # renamed into place, but the manifest update never happened
    (out / "ep_000003" / "latents.npy").write_bytes(b"truncated")
    resumed = _encode(small_store, vae_ckpt, out)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert [resumed.entry(n).checksum for n in resumed.names()] == [
        clean.entry(n).checksum for n in clean.names()
    ]


def test_cache_refuses_latents_of_a_different_autoencoder(small_store, vae_ckpt, tmp_path, capsys):
    _encode(small_store, vae_ckpt, tmp_path / "lat", "shard=0/2")
    other = save_autoencoder(
        VideoAutoencoder(AutoencoderConfig(base_channels=8, latent_channels=8, norm_groups=4)),
        tmp_path / "other.ckpt",
    )
    args = [f"store={small_store.root}", f"checkpoint={other}", f"out={tmp_path / 'lat'}"]
    assert main(["encode", *args, "device=cpu", "text.name=none", "shard=1/2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "made by another encode config" in err and "overwrite=true" in err
    assert f"{vae_ckpt} -> {other}" in err and "checkpoint_sha256" in err


def test_decode_turns_cached_latents_into_videos(small_store, vae_ckpt, tmp_path):
    from worldsim.video import read_video

    _encode(small_store, vae_ckpt, tmp_path / "lat")
    assert (
        main(
            [
                "decode",
                f"cache={tmp_path / 'lat'}",
                f"out={tmp_path / 'vid'}",
                "limit=2",
                "ext=gif",
                "device=cpu",
            ]
        )
        == 0
    )
    video = read_video(tmp_path / "vid" / "ep_000001.gif")
    assert video.shape == (LatentCache(tmp_path / "lat").entry("ep_000001").frames, 24, 32, 3)


def test_a_cache_records_a_shipped_vae_by_its_name_and_a_path_absolute(tmp_path, monkeypatch):
    from worldsim.jobs.encode import recorded_checkpoint

    monkeypatch.chdir(tmp_path)  # `decode` and `train` read the record from any folder
    assert recorded_checkpoint("pretrained:mujoco") == "pretrained:mujoco"
    assert recorded_checkpoint("https://host/vae.pt") == "https://host/vae.pt"
    assert recorded_checkpoint("runs/vae.ckpt") == str(tmp_path / "runs" / "vae.ckpt")


def test_object_shares_pool_each_latent_cells_source_block_in_the_vaes_time_groups():
    instance = np.full((5, 2, 4), -1, np.int16)  # 1 + 2 k frames, two 2x2 cells a frame
    instance[0, 0, 0] = 3  # latent frame 0 is source frame 0 alone
    instance[1, :, :2] = 0  # latent frame 1 is source frames 1, 2
    instance[2, 1, 3] = 7
    instance[3, :, 2:] = 1  # latent frame 2 is source frames 3, 4
    instance[4, 0, 2] = 2
    want = [[[1 / 4, 0]], [[4 / 8, 1 / 8]], [[0, 5 / 8]]]  # (T', h, w)
    np.testing.assert_array_equal(object_shares(instance, 2, 2), np.array(want, np.float32))


def test_encode_writes_objects_for_episodes_with_instance_truth_only(vae_ckpt, tmp_path):
    from tests.conftest import synthetic_episode
    from worldsim.data.store import EpisodeStore, episode_name, write_episode

    store = EpisodeStore(tmp_path / "store", create=True)
    plain = synthetic_episode(length=9, seed=1)
    del plain.truth["instance"]
    episodes = [synthetic_episode(length=9), plain]
    store.add([write_episode(store.root, episode_name(k), e) for k, e in enumerate(episodes)])
    cache = _encode(store, vae_ckpt, tmp_path / "lat")
    with_objects, without = (cache.load(n) for n in cache.names())
    assert with_objects.objects.dtype == np.float16
    assert with_objects.objects.shape == (3, 4, 5)  # (T', h, w) of latents (3, 4, 4, 5)
    assert 0 < with_objects.objects.max() <= 1 and with_objects.objects.min() == 0
    assert without.objects is None and not (cache.root / without.name / "objects.npy").exists()
    assert cache.open_problem(with_objects.name) is None
    np.save(cache.root / with_objects.name / "objects.npy", np.zeros((3, 4, 4), np.float16))
    assert "objects.npy is [3, 4, 4], its latents need [3, 4, 5]" in cache.open_problem(
        with_objects.name
    )
