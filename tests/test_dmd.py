"""Distribution matching (flow.dmd): the gradient, the truncated step, a run."""

from __future__ import annotations

import pytest
import torch

from worldsim.cli import main
from worldsim.config import ConfigError
from worldsim.diffusion.dmd import critic_loss, dmd_loss, dmd_target, exit_estimate, fooling_loss
from worldsim.diffusion.flow_config import FlowConfig
from worldsim.diffusion.samplers import RenoiseSampler


def test_the_gradient_moves_a_sample_from_the_fake_estimate_towards_the_real_one():
    x = torch.randn(3, 1, 2, 4, 4, requires_grad=True)
    real, fake = torch.randn(3, 1, 2, 4, 4), torch.randn(3, 1, 2, 4, 4)
    dmd_loss(x, real, fake).backward()
    scale = (x - real).abs().flatten(1).mean(1).reshape(3, 1, 1, 1, 1)
    torch.testing.assert_close(-x.grad * x[0].numel() * 3, ((real - fake) / scale).detach())
    same = torch.randn(3, 1, 2, 4, 4)
    torch.testing.assert_close(dmd_target(x, same, same), x.detach())  # R = F: nothing to match


def test_only_the_exit_step_carries_gradients_and_context_stays():
    sampler = RenoiseSampler(4, shift=2.0)
    weight = torch.tensor(0.5, requires_grad=True)
    calls = []

    def velocity(x, levels):
        calls.append(torch.is_grad_enabled())
        return weight * x

    x = torch.randn(2, 3, 1, 2, 2)
    generate = torch.tensor([[False, False, True]] * 2)
    fresh = torch.randn(sampler.fresh_draws, *x.shape)
    out = exit_estimate(sampler, velocity, x, generate, 2, fresh)
    assert calls == [False, False, True]
    assert torch.equal(out[:, :2], x[:, :2]) and out.requires_grad
    ts = sampler.timesteps().tolist()
    with torch.no_grad():  # the same two steps by the sampler itself, then the clean estimate
        ref = x
        for i in range(2):
            ref = sampler.step(ref, ts[i], ts[i + 1], velocity, generate, fresh[i])
        torch.testing.assert_close(out[:, 2], ref[:, 2] - ts[2] * velocity(ref, None)[:, 2])


def test_a_matching_run_trains_the_model_and_its_fake_score_and_refuses_without_init(
    small_store, tmp_path, capsys
):
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder
    from worldsim.training.world_model import load_world_model

    torch.manual_seed(0)
    vae = VideoAutoencoder(AutoencoderConfig(base_channels=8, latent_channels=4, norm_groups=4))
    ckpt = save_autoencoder(vae, tmp_path / "vae.ckpt")
    cache = tmp_path / "lat"
    encode = ["encode", f"store={small_store.root}", f"checkpoint={ckpt}", f"out={cache}"]
    assert main([*encode, "device=cpu"]) == 0
    args = [
        f"data.roots=[{cache}]",
        "data.stride=1",
        "data.lengths=[3]",
        "data.batch_size=4",
        "data.resident=true",
        *("model.dim=32", "model.depth=1", "model.heads=2"),
        "train.val_every=4",
        "train.limit_val_batches=1",
        "train.sample_videos=false",
        *("flow.rollout_frames=2", "flow.rollout_pool=4", "flow.rollout_refresh=2"),
        "sample.sampler.steps=2",
    ]
    assert main(["train", *args, "train.max_steps=2", f"out={tmp_path / 'init'}"]) == 0
    init = load_world_model(str(tmp_path / "init" / "ema.ckpt"))
    capsys.readouterr()
    dmd = [*args, "flow.dmd=true", "flow.dmd_fake_steps=2", "sample.sampler.name=renoise"]
    dmd.append("flow.dmd_flow_weight=0.5")
    assert main(["train", *dmd, "train.max_steps=4", f"out={tmp_path / 'refused'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "init=" in err[0]
    both = [*dmd, "flow.rollout_share=0.5", f"init={tmp_path / 'init' / 'ema.ckpt'}"]
    assert main(["train", *both, f"out={tmp_path / 'refused'}"]) == 2
    assert "leave flow.rollout_share at 0" in capsys.readouterr().err
    fp16 = [*dmd, f"init={tmp_path / 'init' / 'ema.ckpt'}", "flow.dmd_gan_weight=0.005"]
    assert main(["train", *fp16, "train.precision=16-mixed", f"out={tmp_path / 'refused'}"]) == 2
    assert "would underflow in fp16" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    out = tmp_path / "dmd"
    run = [*dmd, f"init={tmp_path / 'init' / 'ema.ckpt'}", "train.ema_decay=0", f"out={out}"]
    run.append("flow.rollout_carry=0.5")  # step 2's bank goes on from step 0's
    run.append("flow.dmd_gan_weight=0.005")  # and the realism critic learns beside F
    assert main(["train", *run, "train.max_steps=4"]) == 0
    last = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    start = {k: v for k, v in init.model.state_dict().items()}
    moved = lambda prefix: any(  # noqa: E731
        not torch.equal(last[f"{prefix}.{k}"].float(), v) for k, v in start.items()
    )
    assert moved("model") and moved("fake") and not moved("real")
    critic = {k: v for k, v in last.items() if k.startswith("critic.")}
    assert critic  # saved with the run
    made = load_world_model(str(out / "ema.ckpt"))
    assert made.sample_cfg.sampler.name == "renoise" and made.fake is None
    assert main(["train", *run, "train.max_steps=6"]) == 0  # resumes with both scores
    assert "resuming from" in capsys.readouterr().out
    later = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert any(not torch.equal(later[k], v) for k, v in critic.items())  # and the critic learns


def test_bad_matching_knobs_are_config_errors():
    with pytest.raises(ConfigError, match="0 < low < high < 1"):
        FlowConfig(dmd_level_low=0.9, dmd_level_high=0.5)
    with pytest.raises(ConfigError, match="dmd_fake_steps=0"):
        FlowConfig(dmd_fake_steps=0)
    with pytest.raises(ConfigError, match="dmd_flow_weight=-1"):
        FlowConfig(dmd_flow_weight=-1.0)
    with pytest.raises(ConfigError, match="dmd_gan_weight=0.1 needs flow.dmd=true"):
        FlowConfig(dmd_gan_weight=0.1)
    with pytest.raises(ConfigError, match="dmd_critic_weight=-1"):
        FlowConfig(dmd=True, dmd_critic_weight=-1.0)
    with pytest.raises(ConfigError, match=r"rollout_carry=1.0 must lie in \[0, 1\)"):
        FlowConfig(dmd=True, rollout_carry=1.0)
    with pytest.raises(ConfigError, match="rollout_carry=0.5 needs flow.dmd=true"):
        FlowConfig(rollout_carry=0.5)


def test_the_generator_makes_frames_under_the_rows_conditioning_dropout():
    from worldsim.training.world_model import WorldModel

    torch.manual_seed(0)
    model = dict(latent_channels=4, dim=32, depth=1, heads=2, action_dim=3)
    sample = dict(sampler=dict(name="renoise", steps=2))
    m = WorldModel(model, {}, {}, {"name": "none"}, sample, {}).eval()
    with torch.no_grad():  # DiT's zero-initialised outputs would ignore every input
        for p in m.model.parameters():
            p.normal_(0, 0.2)
    context = torch.randn(2, 2, 4, 4, 4)  # (B, Tc, C, H, W)
    actions = [torch.randn(2, 3, 3), torch.randn(2, 3, 3)]  # (B, T, A): two sequences

    def frames(dropped):
        out = []
        for a in actions:
            torch.manual_seed(1)
            m.generator.manual_seed(1)
            out.append(m.next_frame(context, a, None, dropped))
        return out

    kept = (torch.tensor([False, False]), torch.tensor([False, False]))
    first, second = frames(kept)
    assert not torch.allclose(first, second)  # the actions steer the frame
    first, second = frames((torch.tensor([True, False]), kept[1]))
    torch.testing.assert_close(first[0], second[0])  # row 0's actions dropped: no effect
    assert not torch.allclose(first[1], second[1])


def test_the_critic_learns_true_from_made_and_fooling_it_teaches_the_generator_alone():
    from worldsim.training.world_model import WorldModel

    assert critic_loss(torch.tensor([9.0]), torch.tensor([-9.0])) < 1e-3  # told apart
    torch.testing.assert_close(
        fooling_loss(torch.tensor([-9.0])), torch.tensor(9.0), rtol=1e-3, atol=0
    )
    torch.manual_seed(0)
    model = dict(latent_channels=2, dim=32, depth=1, heads=2)
    m = WorldModel(model, {}, {}, {"name": "none"}, dict(sampler=dict(name="renoise", steps=2)), {})
    m.flow = FlowConfig(dmd=True, dmd_gan_weight=0.1)
    m.start_matching()
    m.log = lambda *args, **kwargs: None  # no trainer
    with torch.no_grad():  # DiT's zero-initialised outputs would make every frame alike
        for p in m.model.parameters():
            p.normal_(0, 0.2)
    context = torch.randn(3, 2, 2, 4, 4)  # (B, Tc, C, H, W)

    def made() -> torch.Tensor:  # (B, 1, C, H, W) with the model's graph; the same draws each call
        torch.manual_seed(1)
        m.generator.manual_seed(1)
        return m.next_frame(context, None, None)

    m.fooling_surrogate(made()).backward()  # the model's graph survives the critic's gradient
    critic = [*m.fake.parameters(), *m.critic.parameters()]
    assert all(p.grad is None for p in critic)  # the critic is not taught to be fooled
    through_surrogate = [p.grad.clone() for p in m.model.parameters()]
    assert any(g.abs().sum() > 0 for g in through_surrogate)
    m.model.zero_grad()
    fooling_loss(m.realism_logits(made())).backward()  # the surrogate's gradient is the loss's
    for surrogate, direct in zip(through_surrogate, (p.grad for p in m.model.parameters())):
        torch.testing.assert_close(surrogate, direct)
