"""`worldsim data info|verify|preview` know a latent cache: they check it, and never read or
repair it as an episode store (a rebuild once emptied a latent cache's manifest)."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.cli import main
from worldsim.data.latent_cache import LatentCache, write_latent_episode
from worldsim.models.text import TextTable


@pytest.fixture
def cache(tmp_path) -> LatentCache:
    """A latent cache of 3 episodes of (2, 4, 3, 3) latents with a one-sentence text table."""
    cache = LatentCache(tmp_path / "latents", create=True)
    cache.set_autoencoder_info(
        {"checkpoint": "vae.ckpt", "time_factor": 4, "space_factor": 4, "latent_channels": 4}
    )
    rng = np.random.default_rng(0)
    entries = [
        write_latent_episode(
            cache.root, f"ep_{k:06d}", rng.standard_normal((2, 4, 3, 3)), np.zeros((5, 2)), {}, 4
        )
        for k in range(3)
    ]
    text = TextTable("toy", 2)
    text.add("a red box", np.zeros((1, 2), np.float32), np.zeros(2, np.float32))
    cache.add(entries, text)
    return cache


def snapshot(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_data_info_and_verify_check_a_latent_cache(cache, capsys):
    assert main(["data", "info", str(cache.root)]) == 0
    out = capsys.readouterr().out
    assert "latent cache" in out and "episodes     3" in out and "4x3x3" in out
    assert main(["data", "verify", str(cache.root)]) == 0
    assert "3/3 episodes OK, text table OK" in capsys.readouterr().out


def test_data_verify_names_a_corrupt_latent_episode_and_text_table(cache, capsys):
    (cache.root / "ep_000001" / "latents.npy").write_bytes(b"truncated")
    (cache.root / "text.npz").write_bytes(b"truncated")
    assert main(["data", "verify", str(cache.root)]) == 1
    out = capsys.readouterr().out
    assert "BAD  ep_000001: checksum mismatch" in out and "2/3 episodes OK, text table BAD" in out
    assert "worldsim encode" in out


def test_rebuild_and_preview_refuse_a_latent_cache_and_change_nothing(cache, capsys):
    before = snapshot(cache.root)
    assert main(["data", "verify", str(cache.root), "rebuild=true"]) == 2
    assert main(["data", "preview", str(cache.root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("is a latent cache" in line for line in err)
    assert snapshot(cache.root) == before


def test_rebuild_refuses_a_directory_that_holds_no_store(tmp_path, capsys):
    assert main(["data", "verify", str(tmp_path), "rebuild=true"]) == 2
    assert "holds no episode store" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_rebuild_of_an_episode_store_keeps_the_previous_manifest(small_store, capsys):
    before = (small_store.root / "manifest.json").read_bytes()
    assert main(["data", "verify", str(small_store.root), "rebuild=true"]) == 0
    assert (small_store.root / "manifest.json.bak").read_bytes() == before
    assert "previous manifest kept as" in capsys.readouterr().out
