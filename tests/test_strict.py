"""An incomplete or corrupt store or latent cache is named at the start of every job that reads it,
with the count and the fix: refused by default (strict=true), one loud warning with strict=false."""

import numpy as np
import pytest

from tests.test_world_model import tiny_vae, write_cache
from worldsim.cli import main
from worldsim.data.episode import EpisodeError
from worldsim.data.latent_cache import LatentCache
from worldsim.data.latent_datamodule import LatentCaches, LatentDataConfig, LatentDataModule
from worldsim.data.manifest import record_path, write_record
from worldsim.data.store import EpisodeStore
from worldsim.jobs.sample import _read_input


def _corrupt(store: EpisodeStore) -> None:
    with open(store.root / "ep_000003" / "frames.npy", "r+b") as fh:  # a truncated write
        fh.truncate(200)


def test_a_corrupt_store_is_refused_by_every_reader_and_accepted_loudly_once(
    small_store, tmp_path, capsys
):
    _corrupt(small_store)
    vae = tiny_vae(tmp_path / "vae.ckpt")
    encode = ["encode", f"store={small_store.root}", f"checkpoint={vae}", "device=cpu"]
    encode += ["text.name=none", "max_frames=5", f"out={tmp_path / 'lat'}"]
    assert main(encode) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1 of 6 listed episodes cannot be read (ep_000003" in err
    assert "strict=false" in err and "worldsim data verify" in err
    assert not (tmp_path / "lat").exists()  # refused before any work
    assert main(["train-vae", f"data.root={small_store.root}", f"out={tmp_path / 'v'}"]) == 2
    assert "1 of 6 listed episodes cannot be read" in capsys.readouterr().err
    with pytest.raises(EpisodeError, match="cannot be read"):
        _read_input(str(small_store.root), "")  # sample input=STORE

    assert main([*encode, "strict=false"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("WARNING (strict=false)") == 1 and "5 readable" in captured.err
    assert "5 episodes" in captured.out
    assert LatentCache(tmp_path / "lat").names() == [f"ep_00000{k}" for k in (0, 1, 2, 4, 5)]

    # the cache knows it holds 5 of the store's 6 episodes: training on it is refused
    assert main(["train", f"data.roots=[{tmp_path / 'lat'}]", f"out={tmp_path / 'w'}"]) == 2
    assert "only 5 of the 6 episodes it was made for are done" in capsys.readouterr().err


def test_a_partial_cache_is_named_by_the_data_module_and_strict_false_goes_on(tmp_path, capsys):
    root = write_cache(tmp_path / "lat", "none", episodes=3)
    write_record(record_path(root, "encode"), "encode", {}, episodes=8)  # a killed encode
    (tmp_path / "lat" / ".tmp-ep_000003-123").mkdir()
    data = LatentDataModule(LatentDataConfig(roots=[root], lengths=[3], val_fraction=0.0))
    with pytest.raises(EpisodeError) as refused:
        data.setup()
    message = str(refused.value)
    assert "latent cache" in message and "only 3 of the 8 episodes" in message
    assert "1 unfinished episode folders" in message and "`worldsim encode`" in message
    assert main(["decode", f"cache={root}", f"out={tmp_path / 'videos'}"]) == 2  # decode too
    assert "only 3 of the 8 episodes" in capsys.readouterr().err
    assert not (tmp_path / "videos").exists()

    LatentCaches([root]).check(strict=False)  # what `worldsim train strict=false` does first
    data.setup()
    assert len(data.train_set) > 0
    assert capsys.readouterr().err.count("WARNING (strict=false)") == 1


def test_a_store_a_killed_record_left_is_named_with_its_leftovers(small_store):
    (small_store.root / "ep_000009").mkdir()  # renamed into place, never listed
    (small_store.root / "ep_000009" / "frames.npy").write_bytes(np.zeros(3).tobytes())
    with pytest.raises(EpisodeError, match=r"1 unfinished episode folders \(ep_000009\)"):
        EpisodeStore(small_store.root).check()
