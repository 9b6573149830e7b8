"""Causal video VAE: shapes, causality, chunked = whole-clip, checkpoints, overfitting one clip."""

from __future__ import annotations

import pytest
import torch

from worldsim.metrics import PSNR_CAP, masked_psnr, psnr, ssim
from worldsim.models.autoencoder import (
    AutoencoderConfig,
    VideoAutoencoder,
    chunk_slices,
    load_autoencoder,
    save_autoencoder,
)
from worldsim.training.autoencoder import (
    LossConfig,
    OptimConfig,
    VAETask,
    frames_of,
    object_weights,
)

TINY = dict(base_channels=8, latent_channels=4, norm_groups=4)


def tiny(**kw) -> VideoAutoencoder:
    torch.manual_seed(0)
    return VideoAutoencoder(AutoencoderConfig(**{**TINY, **kw})).eval()


@pytest.mark.parametrize("space,mult,size", [(4, [1, 2, 2], (16, 24)), (8, [1, 2, 2, 2], (16, 40))])
def test_clip_of_1_plus_4k_frames_gives_1_plus_k_latent_frames(space, mult, size):
    model = tiny(space_factor=space, channel_mult=mult)
    for frames in (1, 5, 13):
        x = torch.rand(2, 3, frames, *size) * 2 - 1
        with torch.no_grad():
            z = model.encode(x)
            assert z.shape == (2, 4, 1 + (frames - 1) // 4, size[0] // space, size[1] // space)
            assert model.decode(z).shape == x.shape


def test_an_image_encodes_like_the_first_frame_of_a_video():
    model = tiny()
    video = torch.rand(1, 3, 9, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(
            model.encode(video[:, :, :1]), model.encode(video)[:, :, :1], atol=1e-6
        )


def test_bad_lengths_and_sizes_are_refused_with_the_fix():
    model = tiny()
    with pytest.raises(ValueError, match="trim to 9"):
        model.encode(torch.zeros(1, 3, 10, 16, 16))
    with pytest.raises(ValueError, match="divisible by space_factor=4"):
        model.encode(torch.zeros(1, 3, 5, 18, 16))
    with pytest.raises(ValueError, match="multiple of time_factor"):
        model.encode(torch.zeros(1, 3, 9, 16, 16), chunk=6)


def test_latent_frame_does_not_change_when_later_input_frames_change():
    model = tiny()
    x = torch.rand(1, 3, 17, 16, 16) * 2 - 1
    with torch.no_grad():
        z = model.encode(x)
        for cut in (1, 2, 5, 6, 12):  # frames >= cut are replaced
            y = x.clone()
            y[:, :, cut:] = torch.rand_like(y[:, :, cut:])
            zy = model.encode(y)
            first_touched = (cut - 1) // 4 + 1 if cut > 0 else 0  # latent j covers frames 4j-3..4j
            assert torch.equal(z[:, :, :first_touched], zy[:, :, :first_touched])
            assert not torch.allclose(z[:, :, first_touched], zy[:, :, first_touched])


def test_decoded_frame_does_not_change_when_later_latent_frames_change():
    model = tiny()
    z = torch.randn(1, 4, 5, 4, 4)
    with torch.no_grad():
        x = model.decode(z)
        for j in (1, 3):
            w = z.clone()
            w[:, :, j:] = torch.randn_like(w[:, :, j:])
            keep = 1 + 4 * (j - 1)  # frames decoded from latents 0..j-1
            xw = model.decode(w)
            assert torch.equal(x[:, :, :keep], xw[:, :, :keep]) and not torch.allclose(
                x[:, :, keep], xw[:, :, keep]
            )


@pytest.mark.parametrize("chunk", [4, 8, 12])
def test_chunked_encode_matches_whole_clip(chunk):
    model = tiny()
    x = torch.rand(2, 3, 41, 16, 24) * 2 - 1
    with torch.no_grad():
        whole = model.encode(x, chunk=40)
        chunked = model.encode(x, chunk=chunk)
    assert len(chunk_slices(41, chunk)) > 2
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_chunked_decode_matches_whole_clip(chunk):
    model = tiny()
    z = torch.randn(1, 4, 11, 4, 6)
    with torch.no_grad():
        torch.testing.assert_close(
            model.decode(z, chunk=chunk), model.decode(z, chunk=10), atol=1e-5, rtol=1e-5
        )


def test_export_and_lightning_checkpoint_load_the_same_weights(tmp_path):
    model = tiny()
    path = save_autoencoder(model, tmp_path / "vae.ckpt", meta={"steps": 3})
    loaded = load_autoencoder(path)
    assert not loaded.training and loaded.cfg == model.cfg
    x = torch.rand(1, 3, 5, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), model.encode(x))
    task = VAETask(model.cfg, LossConfig(perceptual="none"), OptimConfig())
    task.model.load_state_dict(model.state_dict())
    torch.save(
        {"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)},
        tmp_path / "l.ckpt",
    )
    with torch.no_grad():
        assert torch.equal(load_autoencoder(tmp_path / "l.ckpt").encode(x), model.encode(x))
    with pytest.raises(FileNotFoundError, match="train-vae"):
        load_autoencoder(tmp_path / "missing.ckpt")


def test_tiny_vae_overfits_one_clip_to_25db_within_200_steps():
    torch.manual_seed(0)
    x = torch.full((1, 3, 9, 16, 16), -0.6)  # (B, C, T, H, W): a gradient sky, a moving square
    x[:, 2] = torch.linspace(-1, 1, 16).view(16, 1) * 0.5
    for t in range(9):
        x[:, :, t, 5:9, t : t + 4] = torch.tensor([1.0, -0.2, -1.0]).view(3, 1, 1)
    task = VAETask(
        AutoencoderConfig(base_channels=16, latent_channels=8, norm_groups=4),
        LossConfig(perceptual="none"),
        OptimConfig(),
    )
    opt = torch.optim.Adam(task.model.parameters(), lr=2e-3)
    # A step budget, not a time budget: a loaded machine must not fail it (25 dB takes ~100 steps,
    # about 20 s on 2 idle cores)
    best, steps = 0.0, 0
    while steps < 200 and best < 25.0:
        steps += 25
        for _ in range(25):
            recon, post = task.model(x)
            loss = task.reconstruction_losses(x, recon, post.kl())["total"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            best = (
                psnr(frames_of(x), frames_of(task.model.decode(task.model.encode(x)).clamp(-1, 1)))
                .mean()
                .item()
            )
    assert best >= 25.0, f"PSNR {best:.1f} dB after {steps} steps"


def test_psnr_and_ssim_match_their_definitions_even_under_bf16_autocast():
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    y = (x + 0.02 * torch.randn_like(x)).clamp(-1, 1)
    mse = ((x - y) / 2).pow(2).flatten(1).mean(1)  # on the [0, 1] scale
    torch.testing.assert_close(psnr(x, y), -10 * torch.log10(mse))
    assert torch.allclose(ssim(x, x), torch.ones(3)) and (ssim(x, y) < 1).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(
            ssim(x, y), ssim(x.double(), y.double()).float(), atol=1e-4, rtol=0
        )


def test_masked_psnr_pools_the_marked_pixels_of_every_frame():
    x = torch.zeros(2, 3, 4, 4)  # (T, C, H, W)
    y = x.clone()
    y[0, :, 1, 1] = 0.2  # a marked pixel off by 0.2 in every channel
    y[1, :, 3, 3] = 1.0  # an unmarked one, far off
    mask = torch.zeros(2, 1, 4, 4, dtype=torch.bool)  # (T, 1, H, W)
    mask[0, :, 1, 1] = mask[1, :, 0, 0] = True
    # 6 marked values (2 pixels x 3 channels), 3 off by 0.2 / 2 on the [0, 1] scale: MSE 0.005
    torch.testing.assert_close(masked_psnr(x, y, mask), torch.tensor(23.0103), atol=1e-4, rtol=0)
    assert masked_psnr(x, x, mask).item() == PSNR_CAP
    assert masked_psnr(x, y, torch.zeros_like(mask)).isnan()  # nothing marked: no number


def test_object_weight_multiplies_an_object_pixels_l1_and_mse_by_1_plus_w():
    task = VAETask(AutoencoderConfig(**TINY), LossConfig(perceptual="none"), OptimConfig())
    x, kl = torch.zeros(1, 3, 5, 4, 4), torch.tensor([2.0])  # (B, C, T, H, W)
    instance = torch.full((1, 5, 4, 4), -1, dtype=torch.int16)  # (B, T, H, W)
    instance[0, 2, 1, 1] = 7  # one object pixel
    on_object, on_background = x.clone(), x.clone()
    on_object[0, :, 2, 1, 1] = on_background[0, :, 2, 0, 0] = 0.5

    def l1_mse(recon, weight=None):
        terms = task.reconstruction_losses(x, recon, kl, weight)
        return torch.stack([terms["l1"], terms["mse"]])

    # without weights (object_weight=0) the loss is the mean pixel loss, bit for bit
    err = on_object - x
    today = torch.stack([err.abs().mean(), err.pow(2).mean()])
    assert torch.equal(l1_mse(on_object), today)
    assert torch.equal(l1_mse(on_object, object_weights(instance, 0.0)), today)
    weight = object_weights(instance, 3.0)
    torch.testing.assert_close(l1_mse(on_object, weight), 4 * today)
    torch.testing.assert_close(l1_mse(on_background, weight), l1_mse(on_background))
