"""The rollout bank: contexts are the model's own rollouts, targets the episode's true frames."""

from __future__ import annotations

import csv

import torch

from worldsim.cli import main
from worldsim.data.resident import Bucket, ResidentWindows
from worldsim.diffusion.flow import FlowConfig
from worldsim.training.rollout_bank import RolloutBank, rollout_seeds
from worldsim.training.world_model import WorldModel

T, FRAMES, C, H, W = 3, 4, 2, 2, 2
EPISODES = (10, 8)  # latent frames of the two episodes


def resident_rows() -> ResidentWindows:
    """Two episodes' windows of T frames (stride 1), every latent frame, action and object share
    filled with its row number, so a test reads off where each frame came from."""
    rows = sum(EPISODES)
    resident = object.__new__(ResidentWindows)  # the windows without a latent cache behind them
    starts, first = [], 0
    for n in EPISODES:
        starts += range(first, first + n - T + 1)
        first += n
    value = torch.arange(rows, dtype=torch.float32)
    resident.buckets = [
        Bucket(
            value[:, None, None, None].expand(rows, C, H, W).clone(),
            value[:, None].expand(rows, 3).clone(),
            torch.tensor(starts),
            torch.zeros(len(starts), dtype=torch.long),  # every window's caption: row 0
            torch.zeros(len(starts), dtype=torch.long),  # first steps: no model here reads them
            T,
            value[:, None, None].expand(rows, H, W).clone(),  # objects
        )
    ]
    resident.text, resident.time_factor = None, 4
    return resident


def marked_rollout(calls: list):
    """A stand-in model's rollout: generated frame k of a rollout is -(k + 1) everywhere."""

    def rollout(context, frames, actions, text, seed):
        calls.append((context, actions, seed))
        new = -torch.arange(1, frames + 1, dtype=context.dtype)
        new = new[None, :, None, None, None].expand(context.shape[0], -1, *context.shape[2:])
        return torch.cat([context, new], dim=1)

    return rollout


def test_rollout_seeds_stay_inside_one_episode():
    starts = resident_rows().buckets[0].starts  # episode A's windows: ids 0-7, B's: 8-13
    assert rollout_seeds(starts, FRAMES).tolist() == [0, 1, 2, 3, 8, 9]


def test_bank_contexts_are_the_models_rollouts_and_targets_the_episodes_frames():
    resident, calls = resident_rows(), []
    bank = RolloutBank(FRAMES, pool=6, seed=0, chunk=4)
    bank.refresh(resident, marked_rollout(calls), index=0)
    assert [c[0].shape[0] for c in calls] == [4, 2]  # the pool, rolled in chunks
    for context, actions, _ in calls:  # rolled from the episode's true frames and actions
        seed_rows = context[:, :, 0, 0, 0]  # (P, T-1)
        assert torch.equal(seed_rows - seed_rows[:, :1], torch.arange(T - 1.0).expand_as(seed_rows))
        span = seed_rows[:, :1] + torch.arange(T - 1.0 + FRAMES)
        assert torch.equal(actions[:, :, 0], span)
    batch = resident.gather(0, torch.arange(5))
    mixed = bank.mix(resident, batch, rows=3)
    assert mixed["rollout_rows"] == 3
    assert torch.equal(mixed["latents"][:2], batch["latents"][:2])  # the first rows kept
    rolled = mixed["latents"][2:]  # (3, T, C, H, W)
    # context: the rollout's last T - 1 generated frames
    expected = -torch.arange(FRAMES - T + 2.0, FRAMES + 1.0)
    assert torch.equal(rolled[:, :-1, 0, 0, 0], expected.expand(3, -1))
    # target: the episode's true frame right after the rollout, with its window's actions
    target_rows = rolled[:, -1, 0, 0, 0]
    assert torch.equal(mixed["actions"][2:, -1, 0], target_rows)
    # and its objects (flow.object_weight): every row's last frame's are its target's
    assert torch.equal(mixed["objects"][:, -1, 0, 0], mixed["latents"][:, -1, 0, 0, 0])
    seeds = {float(c[0][i, 0, 0, 0, 0]) for c in calls for i in range(c[0].shape[0])}
    assert all(float(r) - (T - 1 + FRAMES) in seeds for r in target_rows)


def test_a_refresh_rolls_new_windows_and_a_resumed_run_rolls_the_same_ones():
    resident = resident_rows()

    def picks(index):
        calls = []
        RolloutBank(FRAMES, pool=6, seed=3).refresh(resident, marked_rollout(calls), index)
        return torch.cat([c[0][:, 0, 0, 0, 0] for c in calls]), [c[2] for c in calls]

    first, again, later = picks(0), picks(0), picks(1)
    assert torch.equal(first[0], again[0]) and first[1] == again[1]
    assert not torch.equal(first[0], later[0]) and first[1] != later[1]


def test_carried_rollouts_go_on_from_the_last_banks_contexts_and_age():
    resident, calls = resident_rows(), []

    def rollout(context, frames, actions, text, seed):  # frame k: the last one + 100 (k + 1)
        calls.append(context)
        steps = 100 * torch.arange(1, frames + 1, dtype=context.dtype)[None, :, None, None, None]
        return torch.cat([context, context[:, -1:] + steps], dim=1)

    bank = RolloutBank(FRAMES, pool=6, seed=0, chunk=4, carry=0.5)
    bank.refresh(resident, rollout, index=0)
    assert bank.ages().tolist() == [FRAMES] * 6  # nothing to carry at the first refresh
    for index in (1, 2):
        last = bank.pools[(T, H, W)]
        calls.clear()
        bank.refresh(resident, rollout, index)
        context, age = torch.cat(calls), bank.pools[(T, H, W)].age  # (6, T-1, ...), (6,)
        for row in range(3):  # carried: some last row's context, with that row's age + FRAMES
            same = (last.context == context[row]).flatten(1).all(1)  # (6,)
            assert (age[row] == last.age[same] + FRAMES).any()
        assert (context[3:] < 100).all() and (age[3:] == FRAMES).all()  # from true windows


def test_bank_rows_train_on_their_last_frame_only():
    torch.manual_seed(0)
    module = WorldModel(
        {"latent_channels": C, "dim": 32, "depth": 1, "heads": 2},
        {},
        {},
        {"name": "none"},
        {},
        {"mean": [0.0] * C, "std": [1.0] * C},
    )
    module.flow = FlowConfig(context_prob=0.0)
    seen = []
    module.model.register_forward_hook(lambda m, args, out: seen.append(args[1]))
    latents = torch.randn(6, T, C, 4, 4)
    module.loss({"latents": latents, "rollout_rows": 2}, torch.Generator().manual_seed(0))
    (levels,) = seen  # (6, T)
    assert (levels[:4] > 0).all()  # context_prob 0: no context in the other rows
    assert (levels[4:, :-1] == 0).all() and (levels[4:, -1] > 0).all()


def test_a_resident_run_trains_on_the_bank_and_refuses_it_without_resident(
    small_store, tmp_path, capsys, monkeypatch
):
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder

    torch.manual_seed(0)
    vae = VideoAutoencoder(AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4))
    ckpt = save_autoencoder(vae, tmp_path / "vae.ckpt")
    cache = tmp_path / "lat"
    assert (
        main(
            [
                "encode",
                f"store={small_store.root}",
                f"checkpoint={ckpt}",
                f"out={cache}",
                "device=cpu",
            ]
        )
        == 0
    )
    args = [
        f"data.roots=[{cache}]",
        "data.stride=1",
        "data.lengths=[2]",
        "data.batch_size=4",
        "model.dim=32",
        "model.depth=1",
        "model.heads=2",
        "train.max_steps=3",
        "train.val_every=3",
        "train.limit_val_batches=1",
        "flow.rollout_share=0.5",
        "flow.rollout_frames=2",
        "flow.rollout_pool=4",
        "flow.rollout_refresh=2",
        "sample.sampler.steps=2",
    ]
    capsys.readouterr()  # the encoder's progress
    assert main(["train", *args, f"out={tmp_path / 'refused'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.resident=true" in err[0]
    assert not (tmp_path / "refused").exists()
    short = [*args, "data.resident=true", "data.lengths=[4]", f"out={tmp_path / 'short'}"]
    assert main(["train", *short]) == 2  # 2 rolled frames cannot make a 3-frame context
    assert "flow.rollout_frames=2" in capsys.readouterr().err
    refreshes, mixed = [], []
    real_refresh, real_mix = RolloutBank.refresh, RolloutBank.mix

    def refresh(bank, resident, rollout, index):
        refreshes.append(index)
        real_refresh(bank, resident, rollout, index)
        assert all(pool.context.shape[0] == 4 for pool in bank.pools.values())

    def mix(bank, resident, batch, rows):
        out = real_mix(bank, resident, batch, rows)
        mixed.append(out["rollout_rows"])
        return out

    monkeypatch.setattr(RolloutBank, "refresh", refresh)
    monkeypatch.setattr(RolloutBank, "mix", mix)
    run = [*args, "data.resident=true", "logger=csv", f"out={tmp_path / 'run'}"]
    assert main(["train", *run]) == 0
    assert refreshes == [0, 1]  # steps 0 and 2
    (metrics,) = (tmp_path / "run").rglob("metrics.csv")
    timed = [r for r in csv.DictReader(metrics.open()) if r.get("perf/bank_refresh_s")]
    assert [int(r["step"]) for r in timed] == [0, 2]  # each refresh timed, at its step
    assert all(float(r["perf/bank_refresh_s"]) > 0 for r in timed)
    assert len(mixed) == 3 and sum(mixed) > 0  # a step of the other bucket may draw none
    assert (tmp_path / "run" / "ema.ckpt").is_file()
