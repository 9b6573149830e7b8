"""Episode store: atomic writes, manifest, lazy reads, verification."""

import json

import numpy as np
import pytest

from tests.conftest import synthetic_episode
from worldsim.cli import main
from worldsim.data.episode import EpisodeError
from worldsim.data.store import EpisodeStore, episode_name, write_episode


def test_episode_round_trips_through_the_store(tmp_path):
    store = EpisodeStore(tmp_path, create=True)
    ep = synthetic_episode(length=10, height=12, width=18)
    store.add([write_episode(tmp_path, "ep_000000", ep)])
    back = EpisodeStore(tmp_path).load("ep_000000")
    assert isinstance(back.frames, np.memmap)  # lazy: nothing read until sliced
    np.testing.assert_array_equal(back.frames, ep.frames)
    np.testing.assert_array_equal(back.truth["instance"], ep.truth["instance"])
    assert back.captions == ep.captions and back.objects == ep.objects and back.events == ep.events
    entry = store.entry("ep_000000")
    assert (entry.length, entry.height, entry.width, entry.env_id) == (10, 12, 18, "synthetic")


def test_manifest_lists_only_finished_episodes_and_leftovers_are_removed(tmp_path):
    store = EpisodeStore(tmp_path, create=True)
    write_episode(tmp_path, "ep_000001", synthetic_episode())  # finished but never recorded
    (tmp_path / ".tmp-ep_000002-123").mkdir()  # a writer killed mid-episode
    assert store.names() == []
    removed = store.remove_unfinished({"ep_000001", "ep_000002"})
    assert sorted(removed) == [".tmp-ep_000002-123", "ep_000001"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".manifest")) == []


def test_cleanup_spares_other_shards_work_in_progress(tmp_path):
    store = EpisodeStore(tmp_path, create=True)
    (tmp_path / ".tmp-ep_000003-99").mkdir()
    store.remove_unfinished({"ep_000002"})
    assert (tmp_path / ".tmp-ep_000003-99").exists()


def test_schema_violations_are_named():
    ep = synthetic_episode()
    ep.truth["depth"] = ep.truth["depth"][:, :5]
    with pytest.raises(EpisodeError, match=r"ep_x: truth\['depth'\] has shape"):
        ep.validate("ep_x")
    ep = synthetic_episode()
    ep.truth["nonsense"] = ep.truth["depth"]
    with pytest.raises(EpisodeError, match="unknown truth key 'nonsense'"):
        ep.validate("ep_x")


def test_verify_names_every_bad_episode(small_store, capsys):
    root = small_store.root
    with open(root / "ep_000001" / "frames.npy", "r+b") as fh:  # bit rot
        fh.seek(200)
        fh.write(b"\xff\xfe")
    (root / "ep_000004" / "actions.npy").write_bytes(b"truncated")
    assert main(["data", "verify", str(root)]) == 1
    out = capsys.readouterr().out
    assert "BAD  ep_000001: checksum mismatch" in out and "BAD  ep_000004" in out
    assert "4/6 episodes OK" in out


def test_data_info_and_missing_store_error(small_store, tmp_path, capsys):
    assert main(["data", "info", str(small_store.root)]) == 0
    out = capsys.readouterr().out
    assert "episodes     6" in out and "16x20 (HxW): 3 episodes" in out
    assert main(["data", "info", str(tmp_path / "nope")]) == 2
    assert "no episode store" in capsys.readouterr().err


def test_preview_writes_a_grid_video(small_store, tmp_path):
    out = tmp_path / "preview.gif"
    assert main(["data", "preview", str(small_store.root), f"out={out}", "episodes=4"]) == 0
    from worldsim.video import read_video

    video = read_video(out)
    assert video.shape[0] == max(small_store.entry(n).length for n in small_store.names()[:4])


def test_rebuild_manifest_recovers_from_a_lost_manifest(small_store):
    before = json.loads((small_store.root / "manifest.json").read_text())
    (small_store.root / "manifest.json").write_text("{}")
    assert main(["data", "verify", str(small_store.root), "rebuild=true"]) == 0
    assert json.loads((small_store.root / "manifest.json").read_text()) == before


def test_episode_names_sort_by_index():
    assert sorted([episode_name(10), episode_name(9)]) == [episode_name(9), episode_name(10)]
