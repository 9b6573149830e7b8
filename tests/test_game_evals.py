"""The game world model's eval helpers: prompt-motion sign convention and long-rollout drift."""

import numpy as np
import pytest
import torch

import evals.long_rollout as long_rollout
from evals.camera import image_shift
from evals.latent_rollout import LatentEpisode, changed_window_summary, idm_reads, new_frames
from evals.long_rollout import calibrate, drift, judge, reference_limits
from evals.prompt_motion import follows, net_shift
from worldsim.metrics import psnr
from worldsim.models.idm import IDMConfig, InverseDynamics


def test_net_shift_reads_world_sliding_west_as_negative_x():
    frame = torch.rand(3, 48, 64)
    video = torch.stack([torch.roll(frame, -2 * t, dims=-1) for t in range(9)])  # (T, C, H, W)
    assert net_shift(video, "x") == -16  # 8 frames x 2 px
    assert follows(-16.0, 16.0, "x")  # player east: world west; player west: world east
    assert not follows(0.0, 0.0, "x")  # a tie does not follow


def test_net_shift_reads_crafter_like_cell_jumps_on_both_axes_past_a_static_player():
    """The world jumps 7 px (one cell) at some frames, east and south together, while the player
    sprite in the middle stays put: the row-mean x_shift read 0 on real Crafter frames."""
    gen = torch.Generator().manual_seed(0)  # a colour per 7-px cell, like Crafter's tiles
    world = torch.rand(3, 14, 14, generator=gen).repeat_interleave(7, -1).repeat_interleave(7, -2)
    cells = [(0, 0), (1, 0), (1, 0), (2, 1), (3, 1), (3, 2), (4, 2)]  # (east, south) per frame
    video = torch.stack([torch.roll(world, (-7 * s, -7 * e), dims=(-2, -1)) for e, s in cells])
    video = video[..., 16:64, 16:80].clone()  # (T, C, 48, 64) view of the world
    video[..., 20:28, 28:36] = 1.0  # the player, fixed in the middle of the view
    assert net_shift(video, "x") == -28 and net_shift(video, "y") == -14


def test_image_shift_reads_a_soft_world_past_a_faint_static_pattern_as_decoded_frames_have():
    """A VAE decoder softens the tiles and leaves a faint pattern fixed to the pixel grid;
    whitened, its many high frequencies outvote the scene and pin the plain phase correlation
    at 0 (it read 0 px on every decoded true Crafter window)."""
    gen = torch.Generator().manual_seed(0)
    world = torch.rand(3, 14, 14, generator=gen).repeat_interleave(7, -1).repeat_interleave(7, -2)
    world = torch.nn.functional.avg_pool2d(world[None], 5, 1, 2)[0]  # soft tile edges
    video = torch.stack([torch.roll(world, (0, -7 * t), dims=(-2, -1)) for t in range(5)])
    video = video[..., 16:64, 16:80] + 0.05 * torch.rand(3, 48, 64, generator=gen)  # (T, C, H, W)
    assert image_shift(video, 10, lowpass=0.0)[:, 1].tolist() == [0, 0, 0, 0]
    assert image_shift(video, 10)[:, 1].tolist() == [-7, -7, -7, -7]


def test_drift_of_the_truth_is_zero_and_keeps_contrast():
    frames = np.random.default_rng(0).integers(0, 256, (31, 8, 8, 3), dtype=np.uint8)
    out = drift(frames, frames, every=10)
    assert out["block_start"] == [1, 11, 21]  # frame 0 is given, not generated
    assert out["histogram_distance"] == [0.0, 0.0, 0.0]
    assert out["contrast_within_20pct"] == [1.0, 1.0, 1.0]


def _tile_game(seed: int, frames: int = 41) -> np.ndarray:
    """A toy game: a view of 16x16 px walking over a world of 4-px tiles in 6 colours, one world
    for every episode (`seed` picks the walk): worlds this small differ in sharpness far more
    than two Crafter maps, beyond rule v2's band."""
    rng = np.random.default_rng(seed)
    palette = np.array([[40, 140, 40], [30, 90, 200], [200, 190, 120], [90, 60, 30], [120] * 3,
                        [20, 20, 20]], np.uint8)  # fmt: skip
    tiles = np.random.default_rng(0).choice(6, (24, 24), p=[0.4, 0.15, 0.15, 0.1, 0.1, 0.1])
    world = palette[tiles]
    world = world.repeat(4, 0).repeat(4, 1)  # (96, 96, 3)
    pos, out = np.array([40, 40]), []
    for _ in range(frames):
        pos = np.clip(pos + rng.integers(-2, 3, 2), 0, 80)
        out.append(world[pos[0] : pos[0] + 16, pos[1] : pos[1] + 16])
    return np.stack(out)


def _toy_calibration():
    eps = [_tile_game(s) for s in range(5)]  # truth, 3 references, 1 more for the bank
    return eps[0], calibrate(eps[0], eps[1:4], eps, [[1], [2], [3]], every=10)


def test_game_distance_is_the_total_variation_to_the_nearest_bank_frame():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    bank = rng.integers(0, 256, (300, 8, 8, 3), dtype=np.uint8)
    hist = long_rollout._flat_histograms
    tv = np.abs(hist(frames)[:, None] - hist(bank)[None]).sum(-1).min(1) / 6  # brute force
    got = long_rollout.game_distance(frames, bank, chunk=2)  # chunks cut mid-sequence too
    assert np.allclose(got, tv, atol=1e-6)
    assert np.allclose(long_rollout.game_distance(frames, np.concatenate([bank, frames])), 0)


def test_collapse_verdict_passes_other_true_episodes_and_fails_grey():
    true, cal = _toy_calibration()
    assert [r["collapsed"] for r in cal["references"]] == [False] * 3  # leave-one-out
    grey = cal["corruptions"]["grey"]
    assert grey["collapsed"] and grey["first_collapsed_block"] == 0
    assert all("off_game" in r for r in grey["reasons"])


def test_the_light_gap_reads_a_video_darker_than_the_truth_and_no_test_reads_it():
    true, cal = _toy_calibration()
    dimmed = cal["corruptions"]["dimmed"]  # half brightness: the gap is half the truth's level
    half = (true - true // 2).mean(axis=(1, 2, 3))  # (T,)
    assert np.allclose(dimmed["light_gap"], long_rollout.block_means(half, 10))
    assert max(dimmed["light_gap"]) > max(cal["limits"]["band_light_gap"][1])  # references' band
    assert judge(drift(true, true, 10, cal["bank"]), cal["limits"])["collapsed"] is False
    assert drift(true, true, 10)["light_gap"] == [0.0] * 4  # frames 1-10, ..., 31-40


def test_collapse_verdict_names_the_first_collapsed_block():
    true, cal = _toy_calibration()
    pred = _tile_game(7)  # another true episode, then grey from frame 21 (block 2)
    pred[21:] = pred[21:].mean(axis=(1, 2), keepdims=True).astype(np.uint8)
    verdict = judge(drift(pred, true, 10, cal["bank"]), cal["limits"])
    assert verdict["collapsed_blocks"] == [False, False, True, True]
    assert (verdict["first_collapsed_block"], verdict["first_collapsed_frame"]) == (2, 21)


def _blocks(motion, sharpness):
    """Per-block measures that pass tests 1-3, with the given motion and sharpness."""
    n = len(motion)
    return {"block_start": list(range(1, 100 * n, 100)), "histogram_distance": [0.5] * n,
            "contrast_within_20pct": [0.5] * n, "game_distance": [0.1] * n,
            "motion": motion, "sharpness": sharpness, "light_gap": [3.0] * n}  # fmt: skip


def test_slow_smear_inside_the_first_rules_floors_collapses_under_the_references_band(
    monkeypatch,
):
    """Session 7's ViZDoom model became a slowly moving smear (motion 2.5 against the references'
    least 6.0, sharpness 1.2 against 2.1) and passed rule v1's floors (0.1 x, 0.5 x)."""
    refs = [_blocks([6.0, 20.0], [2.1, 10.0]), _blocks([9.0, 30.0], [3.0, 12.0])]
    smear, true = _blocks([6.5, 2.5], [2.2, 1.2]), _blocks([6.0, 30.0], [2.1, 12.0])
    assert judge(smear, reference_limits(refs))["reasons"] == [[], ["still", "smeared"]]
    assert not judge(true, reference_limits(refs))["collapsed"]
    monkeypatch.setattr(long_rollout, "MOTION_RANGE", (0.1, 2.0))  # rule v1
    monkeypatch.setattr(long_rollout, "SHARPNESS_RANGE", (0.5, 2.0))
    assert not judge(smear, reference_limits(refs))["collapsed"]


def test_changed_window_summary_counts_only_changed_windows_and_the_vae_ceiling():
    """Four windows, the last unchanged (copy-last above the threshold): the model wins 2 of the 3
    changed ones, its VAE's reconstruction 1 (the ceiling), the decoded last frame loses to it in
    all 3."""
    true = {
        "model": np.array([22.0, 20.0, 30.0, 40.0]),
        "copy_last": np.array([21.0, 21.0, 25.0, 99.0]),
        "copy_last_vae": np.array([19.0, 19.0, 24.0, 30.0]),
        "vae": np.array([20.0, 20.0, 31.0, 35.0]),
    }
    true["changed"] = true["copy_last"] < 30
    shuffled = {**true, "model": true["model"] - 1.0}
    s = changed_window_summary(true, shuffled)
    assert (s["windows"], s["changed"]) == (4, 3)
    assert s["beats_copy_last_pct"] == pytest.approx(100 * 2 / 3)
    assert s["vae_beats_copy_last_pct"] == pytest.approx(100 / 3)
    assert s["beats_copy_last_vae_pct"] == 100.0
    assert s["model"] == 24.0 and s["delta_true_minus_shuffled"] == 1.0


def test_new_frames_of_a_latent_frame():
    assert new_frames(7, 4) == slice(25, 29)


def test_idm_reads_the_true_frames_and_the_same_frames_given_as_generated_alike():
    torch.manual_seed(0)
    tf, length, actions = 4, 3, torch.eye(3)[torch.randint(0, 3, (9,))]  # (9 pixel frames, A)
    frames = torch.rand(9, 3, 16, 16) * 2 - 1  # (T, C, H, W): 1 + tf (3 - 1) frames
    grouped = torch.cat([torch.zeros(1, tf * 3), actions[1:].reshape(2, tf * 3)])  # (T', f A)
    ep = LatentEpisode(frames, torch.zeros(3, 4, 4, 4), grouped, None)
    idm = InverseDynamics(IDMConfig(action_dim=3, width=4, loss="ce"))
    generated = frames[None, new_frames(2, tf)]  # (1, tf, C, H, W): the truth itself
    reads = idm_reads(idm, [ep], [(0, 0)], generated, length, tf * 3)
    assert reads["actions"] == tf and reads["generated"] == reads["true"]


@pytest.mark.parametrize("ages", [0, 16])
def test_idm_reads_score_a_reader_of_the_true_actions_perfect_with_the_ages_after_them(ages):
    from types import SimpleNamespace

    from worldsim.data.latent_datamodule import latent_actions

    torch.manual_seed(0)
    tf, length, actions = 4, 3, torch.eye(3)[torch.randint(0, 3, (9,))]  # (9 pixel frames, A)
    frames = torch.rand(9, 3, 16, 16) * 2 - 1  # (T, C, H, W)
    grouped = latent_actions(actions, tf, ages)  # (T', f A), with ages (T', 2 f A)
    ep = LatentEpisode(frames, torch.zeros(3, 4, 4, 4), grouped, None)
    # reads the new frames' true actions whatever frames it is shown: (tf, A)
    truth = SimpleNamespace(read_actions=lambda video: actions[new_frames(2, tf)].numpy())
    generated = frames[None, new_frames(2, tf)]  # (1, tf, C, H, W)
    reads = idm_reads(truth, [ep], [(0, 0)], generated, length, tf * 3)
    assert reads["true"] == reads["generated"] == 1.0


def test_mean_prediction_error_shuffles_captions_half_a_batch_away_and_nulls_them():
    from types import SimpleNamespace

    from evals.latent_rollout import mean_prediction_error

    seen = []
    module = SimpleNamespace(
        model=lambda x, levels, actions, text, clock: torch.zeros_like(x),
        encode_text=lambda captions: seen.append(captions),
        clock=lambda first_steps, frames: None,
    )
    captions = ["a", "b", "c", "d"]
    windows = (torch.zeros(4, 3, 2, 2, 2), torch.zeros(4, 3, 5), captions, [0, 4, 8, 12])
    for text in ("true", "shuffled", "null"):
        mean_prediction_error(module, windows, 1.0, "null", text=text)
    assert seen == [["a", "b", "c", "d"], ["c", "d", "a", "b"], ["", "", "", ""]]


def test_only_a_model_that_keeps_some_caption_sentences_is_given_the_true_captions():
    from types import SimpleNamespace

    from evals.latent_rollout import reads_scene_only
    from worldsim.models.text_config import TextConfig

    def model(text_dim, keep):
        return SimpleNamespace(
            model_cfg=SimpleNamespace(text_dim=text_dim), text_cfg=TextConfig(keep=keep)
        )

    assert reads_scene_only(model(384, ("First-person",)))  # a Doom scene: known in advance
    assert not reads_scene_only(model(384, ()))  # whole captions describe the future
    assert not reads_scene_only(model(0, ("First-person",)))  # no text at all


def test_a_rollout_of_several_noise_seeds_in_one_batch_draws_what_each_draws_alone():
    from evals.latent_rollout import rollout
    from tests.test_world_model import C, S, moving_pattern, tiny_module

    module = tiny_module(action_dim=2, sampler={"name": "renoise", "steps": 2}).eval()
    first = moving_pattern()[:, :1]  # (1, 1, C, S, S)
    actions = torch.randn(1, 4, 2)  # (1, 1 + 3, A')
    with torch.no_grad():
        alone = [rollout(module, first, actions, [""], 3, 3, s, first_step=0) for s in (4, 9)]
        together = rollout(
            module, first.expand(2, -1, -1, -1, -1), actions.expand(2, -1, -1), [""] * 2, 3,
            window=3, seed=[4, 9], first_step=0,
        )  # fmt: skip
    assert together.shape == (2, 4, C, S, S)
    torch.testing.assert_close(together, torch.cat(alone), rtol=0, atol=1e-5)
    assert not torch.allclose(alone[0], alone[1])  # the seeds draw different rollouts


def test_a_rollout_sees_the_window_its_checkpoint_samples_with():
    from evals.latent_rollout import rollout
    from tests.test_world_model import moving_pattern, tiny_module

    module = tiny_module(sampler={"name": "renoise", "steps": 2}).eval()
    first = moving_pattern()[:, :1]  # (1, 1, C, S, S)
    with torch.no_grad():
        given = {w: rollout(module, first, None, [""], 4, w, first_step=0) for w in (2, 3)}
        module.sample_cfg.window = 2
        assert torch.equal(rollout(module, first, None, [""], 4, first_step=0), given[2])
    assert not torch.allclose(given[2], given[3])  # the window changes what is drawn
    module.sample_cfg.chunk = 2
    with pytest.raises(ValueError, match="chunk 2"):
        rollout(module, first, None, [""], 4, first_step=0)


def _action_led_module(episodes, tf: int):
    """A stand-in world model whose next latent is the one its window's last action led to in
    `episodes` (each action a distinct code), and whose decoder repeats each latent frame tf
    times."""
    from types import SimpleNamespace

    led_to = {  # action code -> the true latent it precedes
        float(ep.actions[k, 0]): ep.latents[k] for ep in episodes for k in range(len(ep.latents))
    }

    def extend_forward(context, frames, acts, clock):  # (B, L-1, c, h, w) -> (B, L, c, h, w)
        new = torch.stack([led_to[float(a)] for a in acts[:, -1, 0]])[:, None]
        return torch.cat([context, new], 1)

    def decode(z):  # (B, T', c, h, w) -> (B, 1 + tf (T' - 1), c, h, w)
        return torch.cat([z[:, :1], z[:, 1:].repeat_interleave(tf, dim=1)], 1)

    return SimpleNamespace(
        latent_info=SimpleNamespace(time_factor=tf),
        model_cfg=SimpleNamespace(action_dim=1),
        clock=lambda first_steps, length: None,
        mode_runner=lambda prompts, seed: SimpleNamespace(extend_forward=extend_forward),
        decode=decode,
    ), decode


def test_teacher_forced_scores_a_model_that_follows_the_actions_at_its_autoencoders_ceiling():
    from evals.latent_rollout import teacher_forced

    torch.manual_seed(0)
    tf, latents = 2, torch.rand(2, 3, 3, 4, 4) * 1.6 - 0.8  # (episodes, T', c, h, w)
    codes = torch.arange(6, dtype=torch.float32).reshape(2, 3, 1)  # (episodes, T', A')
    module, decode = _action_led_module(
        [LatentEpisode(None, z, a, None) for z, a in zip(latents, codes)], tf
    )
    true = decode(latents) + 0.05 * torch.randn(2, 5, 3, 4, 4)  # (episodes, T, c, h, w)
    episodes = [LatentEpisode(f, z, a, None) for f, z, a in zip(true, latents, codes)]
    windows = [(0, 0), (0, 1), (1, 0), (1, 1)]
    out = teacher_forced(module, episodes, windows, 2, batch=3, keep=True)
    np.testing.assert_array_equal(out["model"], out["vae"])  # the ceiling, window by window
    torch.testing.assert_close(out["frames"], out["vae_frames"], rtol=0, atol=0)
    last = torch.stack([true[e, 2 * k] for e, k in windows])  # the last context frames
    new = torch.stack([true[e, 2 * k + 1 : 2 * k + 3] for e, k in windows])  # (N, tf, ...)
    expected = psnr(last[:, None].expand_as(new), new).mean(-1).numpy()
    np.testing.assert_allclose(out["copy_last"], expected, rtol=1e-6)
    # each window given another's actions draws that window's latent: below the ceiling
    shuffled = teacher_forced(module, episodes, windows, 2, batch=3, shuffle=True, seed=1)
    assert (shuffled["model"] < out["vae"] - 3).all()
