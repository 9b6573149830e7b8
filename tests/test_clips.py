"""Clip datasets and the DataModule: windows, buckets, splits, corrupt-episode skipping."""

import warnings

import lightning as L
import pytest
import torch

from worldsim.cli import main
from worldsim.data.clips import ClipConfig, ClipDataset, clip_index, split_of
from worldsim.data.datamodule import DataConfig, EpisodeDataModule
from worldsim.data.episode import EpisodeError
from worldsim.data.store import EpisodeStore


def test_clip_windows_follow_length_stride_and_frame_skip(small_store):
    cfg = ClipConfig(lengths=[5], stride=4, frame_skip=2)
    refs = clip_index(small_store, ["ep_000000"], cfg)  # 24 frames, span 9
    assert [r.start for r in refs] == [0, 4, 8, 12]
    item = ClipDataset(small_store, ["ep_000000"], cfg)[1]
    ep = small_store.load("ep_000000")
    expected = torch.from_numpy(ep.frames[4:13:2].copy()).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert item["frames"].shape == (5, 3, 16, 20)  # (T, C, H, W)
    torch.testing.assert_close(item["frames"], expected)
    assert item["frames"].min() >= -1 and item["frames"].max() <= 1
    assert item["actions"].shape == (5, 3) and item["caption"] == "A red box slides right."


def test_selected_truth_comes_with_the_clip(small_store):
    item = ClipDataset(
        small_store, ["ep_000000"], ClipConfig(lengths=[4], truth_keys=["depth", "instance"])
    )[0]
    assert item["depth"].shape == (4, 16, 20) and item["instance"].dtype == torch.int16


def test_missing_truth_key_names_the_fix(small_store):
    ds = ClipDataset(small_store, ["ep_000000"], ClipConfig(lengths=[4], truth_keys=["extrinsics"]))
    with pytest.raises(KeyError, match="fix data.clips.truth_keys"):
        ds[0]


def test_split_is_by_episode_and_stable():
    names = [f"ep_{k:06d}" for k in range(200)]
    val = [n for n in names if split_of(n, 0.2, seed=0) == "val"]
    assert 20 < len(val) < 60
    assert val == [n for n in names if split_of(n, 0.2, seed=0) == "val"]


class NextFramePredictor(L.LightningModule):
    """A tiny conv net predicting frame t+1 from frame t: enough to run a real epoch."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.steps = 0

    def training_step(self, batch, _):
        frames = batch["frames"]  # (B, T, C, H, W)
        pred = self.net(frames[:, :-1].flatten(0, 1))
        self.steps += 1
        return torch.nn.functional.mse_loss(pred, frames[:, 1:].flatten(0, 1))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_corrupt_episode_is_named_skipped_and_training_completes(small_store, capsys):
    root = small_store.root
    (root / "ep_000002" / "frames.npy").write_bytes(b"\x93NUMPY garbage")  # unreadable
    with open(root / "ep_000003" / "frames.npy", "r+b") as fh:  # readable header, truncated data
        fh.truncate(300)
    assert main(["data", "verify", str(root)]) == 1
    out = capsys.readouterr().out
    assert "BAD  ep_000002" in out and "BAD  ep_000003" in out

    dm = EpisodeDataModule(
        DataConfig(
            root=str(root), clips=ClipConfig(lengths=[4], stride=4), val_fraction=0.0, batch_size=2
        )
    )
    with pytest.raises(EpisodeError, match="2 of 6 listed episodes cannot be read"):
        dm.setup("fit")  # strict by default
    EpisodeStore(root).check(strict=False)  # what a job with strict=false does first
    warned = capsys.readouterr().err
    assert "WARNING (strict=false)" in warned and "ep_000002, ep_000003" in warned
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.setup("fit")
        model = NextFramePredictor()
        trainer = L.Trainer(
            max_epochs=1,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
        )
        trainer.fit(model, datamodule=dm)
    assert not [w for w in caught if "ep_000002" in str(w.message)]  # warned once, above
    assert "WARNING" not in capsys.readouterr().err
    assert trainer.current_epoch == 1 and model.steps > 0
    assert all(r.episode != "ep_000002" for r in dm.train_set.refs)
