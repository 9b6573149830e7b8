"""Device-resident training windows: the same windows, values and captions as the loader path."""

from __future__ import annotations

import torch

from worldsim.cli import main
from worldsim.data.latent_datamodule import LatentDataModule
from worldsim.data.resident import ResidentWindows, WindowIds, bucket_keys, bucket_sizes
from worldsim.jobs.train import Config as TrainConfig
from worldsim.jobs.train import build_module


def tiny_config(cache, **data) -> TrainConfig:
    cfg = TrainConfig()
    cfg.data.roots, cfg.data.lengths, cfg.data.stride = [str(cache)], [2, 3], 1
    cfg.data.val_fraction = 0.0
    cfg.model.dim, cfg.model.depth, cfg.model.heads = 32, 1, 2
    for key, value in data.items():
        setattr(cfg.data, key, value)
    return cfg


def test_gathered_windows_equal_the_loader_windows(text_cache):
    cfg = tiny_config(text_cache)
    module = build_module(cfg)
    data = LatentDataModule(cfg.data, objects=True)
    data.setup()
    assert "objects" not in data.val_set[0]  # the validation loss stays unweighted
    windows = data.train_set
    resident = ResidentWindows(windows, "cpu", module.encode_text)
    assert resident.sizes() == bucket_sizes(windows.refs) and len(resident.sizes()) == 4
    for bucket, key in enumerate(bucket_keys(windows.refs)):
        members = [i for i, r in enumerate(windows.refs) if (r.length, r.height, r.width) == key]
        got = resident.gather(bucket, torch.arange(len(members)))
        for j in (0, len(members) // 2, len(members) - 1):
            item = windows[members[j]]
            assert torch.equal(got["latents"][j], item["latents"])
            assert torch.equal(got["actions"][j], item["actions"])
            assert torch.equal(got["clock"][j], item["clock"])
            assert torch.equal(got["objects"][j], item["objects"])  # (T', h, w)
            assert item["objects"].shape == (key[0], *item["latents"].shape[-2:])
            expected = module.encode_text([item["caption"]])
            assert torch.equal(got["text"].tokens[j], expected.tokens[0])
            assert torch.equal(got["text"].mask[j], expected.mask[0])
            assert torch.equal(got["text"].pooled[j], expected.pooled[0])
    assert got["objects"].max() > 0  # the synthetic episodes' box


def test_window_ids_are_seeded_per_rank_and_start_step():
    def draws(rank=0, step=0):
        stream = iter(WindowIds([5, 3], 4, seed=1, rank=rank, start_step=lambda: step))
        return [next(stream) for _ in range(6)]

    a, b = draws(), draws()
    assert all(x["bucket"] == y["bucket"] and torch.equal(x["ids"], y["ids"]) for x, y in zip(a, b))
    for other in (draws(rank=1), draws(step=100)):
        assert any(not torch.equal(x["ids"], y["ids"]) for x, y in zip(a, other))
    assert all(0 <= int(d["ids"].max()) < (5, 3)[d["bucket"]] for d in a)


def test_a_resident_run_trains_and_saves(text_cache, tmp_path):
    run = tmp_path / "run"
    args = [
        f"data.roots=[{text_cache}]",
        "data.lengths=[2]",
        "data.resident=true",
        "data.batch_size=2",
        "model.dim=32",
        "model.depth=1",
        "model.heads=2",
        "train.max_steps=3",
        "train.val_every=2",
        "train.limit_val_batches=1",
        f"out={run}",
    ]
    assert main(["train", *args]) == 0
    assert (run / "ema.ckpt").is_file()


def test_windows_read_through_the_open_episodes_equal_fresh_reads(text_cache, monkeypatch):
    import worldsim.data.latent_datamodule as latent_datamodule

    monkeypatch.setattr(latent_datamodule, "OPEN_EPISODES", 1)
    data = LatentDataModule(tiny_config(text_cache).data)
    data.setup()
    windows = data.train_set
    assert len({ref.episode for ref in windows.refs}) > 1
    for i in sorted(range(len(windows)), key=lambda i: i % 3):  # episodes interleave: reopened
        ref, item = windows.refs[i], windows[i]
        latents, actions = windows.episode_arrays(windows.cache.load(ref.episode))
        frames = slice(ref.start, ref.start + ref.length)
        assert torch.equal(item["latents"], latents[frames])
        assert torch.equal(item["actions"], actions[frames])
        assert list(windows._opened) == [ref.episode]  # one kept open, the last read


def test_a_clocked_run_grows_its_clock_from_a_clockless_init(text_cache, tmp_path, capsys):
    from worldsim.training.world_model import load_world_model

    args = [f"data.roots=[{text_cache}]", "data.lengths=[2]", "data.resident=true"]
    args += ["data.batch_size=2", "model.dim=32", "model.depth=1", "model.heads=2"]
    args += ["train.max_steps=2", "train.val_every=2", "train.limit_val_batches=1"]
    assert main(["train", *args, f"out={tmp_path / 'plain'}"]) == 0
    clocked = [f"init={tmp_path / 'plain' / 'ema.ckpt'}", "model.clock_period=12"]
    clocked += ["data.oversample_steps=[12,0,4]", "data.oversample_weight=2"]
    assert main(["train", *args, *clocked, "flow.rollout_share=0.5"]) == 2  # the bank: no clock
    assert "clock" in capsys.readouterr().err
    assert main(["train", *args, *clocked, f"out={tmp_path / 'clocked'}"]) == 0
    assert "has no clock: its layer starts silent" in capsys.readouterr().out
    module = load_world_model(str(tmp_path / "clocked" / "ema.ckpt"))
    assert module.model_cfg.clock_period == 12 and module.model.clock_embed is not None
