"""Spacetime DiT: patches, 3D RoPE, per-frame adaLN-Zero, masks, conditioning dropout."""

from __future__ import annotations

import warnings

import pytest
import torch

from worldsim.models.dit import (
    DiT,
    DiTConfig,
    Rope,
    TextBatch,
    apply_rope,
    frame_causal_mask,
    patchify,
    rope_angles,
    rope_tables,
    unpatchify,
)


def tiny(**kw) -> DiT:
    torch.manual_seed(0)
    model = DiT(DiTConfig(latent_channels=3, dim=48, depth=2, heads=4, **kw))
    for p in model.parameters():  # leave the zero init so outputs depend on the input
        if p.dim() >= 2:
            torch.nn.init.normal_(p, std=0.05)
    return model.eval()


def text_batch(b: int = 2) -> TextBatch:
    return TextBatch(
        torch.randn(b, 3, 16),
        torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)[:b],
        torch.randn(b, 16),
    )


@pytest.mark.parametrize(
    "shape,patch", [((5, 3, 7, 9), (1, 2, 2)), ((3, 2, 5, 6), (2, 2, 3)), ((1, 4, 1, 1), (1, 2, 2))]
)
def test_patchify_unpatchify_round_trip_on_odd_grids(shape, patch):
    x = torch.randn(2, *shape)
    tokens, grid = patchify(x, patch)
    assert tokens.shape == (
        2,
        grid[0] * grid[1] * grid[2],
        shape[1] * patch[0] * patch[1] * patch[2],
    )
    assert grid == tuple(-(-s // p) for s, p in zip((shape[0], shape[2], shape[3]), patch))
    assert torch.equal(unpatchify(tokens, grid, patch, (shape[0], shape[2], shape[3])), x)


def test_rope_scores_depend_only_on_relative_position_on_unseen_grid_sizes():
    head = 24
    grid = (37, 53, 41)  # far beyond any training grid
    rope = rope_tables(grid, head, 10000.0)
    q, k = torch.randn(head), torch.randn(head)

    def score(p, r):
        idx = lambda f, y, x: (f * grid[1] + y) * grid[2] + x  # noqa: E731
        at = lambda i: Rope(rope.cos[i : i + 1], rope.sin[i : i + 1])  # noqa: E731
        qi = apply_rope(q[None, None, None], at(idx(*p)))[0, 0, 0]
        ki = apply_rope(k[None, None, None], at(idx(*r)))[0, 0, 0]
        return (qi * ki).sum()

    a = score((3, 10, 7), (1, 4, 2))
    b = score((33, 50, 39), (31, 44, 34))  # same offset, far away
    c = score((3, 10, 7), (1, 4, 3))  # different offset
    assert torch.allclose(a, b, atol=1e-3)
    assert not torch.allclose(a, c, atol=1e-3)


def test_rope_is_a_rotation():
    x = torch.randn(1, 2, 6 * 7 * 5, 12)
    y = apply_rope(x, rope_tables((6, 7, 5), 12, 10000.0))
    assert torch.allclose(x.norm(dim=-1), y.norm(dim=-1), atol=1e-5)


def test_rope_tables_rotate_exactly_as_the_angles_did():
    # the tables, computed once per forward, against the rotation each block computed from angles
    x = torch.randn(2, 3, 4 * 6 * 5, 24)
    angles = rope_angles((4, 6, 5), 24, 10000.0)  # (N, 12)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    cos, sin = angles.cos(), angles.sin()
    per_block = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    assert torch.allclose(apply_rope(x, rope_tables((4, 6, 5), 24, 10000.0)), per_block, atol=1e-6)


def test_zero_initialised_model_predicts_zero_velocity():
    model = DiT(DiTConfig(latent_channels=3, dim=48, depth=2, heads=4, action_dim=5, text_dim=16))
    v = model(torch.randn(2, 4, 3, 6, 6), torch.rand(2, 4), torch.randn(2, 4, 5), text_batch())
    assert torch.count_nonzero(v) == 0


def test_model_runs_on_grids_and_durations_unseen_in_training():
    model = tiny(action_dim=5, text_dim=16)
    for t, h, w in [(1, 4, 4), (6, 7, 11), (3, 16, 10)]:
        v = model(torch.randn(2, t, 3, h, w), torch.rand(2, t), torch.randn(2, t, 5), text_batch())
        assert v.shape == (2, t, 3, h, w) and torch.isfinite(v).all()


def test_noise_level_and_action_modulate_only_their_own_frame():
    model = tiny(action_dim=5, attention="causal")
    x, levels, actions = torch.randn(1, 4, 3, 6, 6), torch.rand(1, 4), torch.randn(1, 4, 5)
    base = model(x, levels, actions)
    actions2 = actions.clone()
    actions2[:, 2] += 1.0
    moved = model(x, levels, actions2)
    assert torch.equal(base[:, :2], moved[:, :2])  # causal: earlier frames unaffected
    assert not torch.allclose(base[:, 2], moved[:, 2])


def test_causal_attention_hides_future_frames_and_full_attention_does_not():
    x = torch.randn(1, 5, 3, 6, 6)
    x2 = x.clone()
    x2[:, 3:] = torch.randn_like(x2[:, 3:])
    levels = torch.rand(1, 5)
    causal, full = tiny(attention="causal"), tiny(attention="full")
    assert torch.equal(causal(x, levels)[:, :3], causal(x2, levels)[:, :3])
    assert not torch.allclose(full(x, levels)[:, :3], full(x2, levels)[:, :3])


def test_flex_attention_backend_matches_sdpa():
    x, levels = torch.randn(1, 4, 3, 4, 4), torch.rand(1, 4)
    sdpa, flex = tiny(attention="causal"), tiny(attention="causal", backend="flex")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager FlexAttention warns that it is not compiled
        with torch.no_grad():  # FlexAttention has no CPU backward; CUDA training compiles it
            assert torch.allclose(sdpa(x, levels), flex(x, levels), atol=1e-5)


def test_frame_causal_mask_blocks_are_lower_triangular():
    m = frame_causal_mask((3, 1, 2))
    assert m.tolist()[0] == [True, True, False, False, False, False]
    assert m.tolist()[5] == [True] * 6


def test_dropped_conditioning_equals_missing_conditioning():
    model = tiny(action_dim=5, text_dim=16)
    x, levels, actions, text = (
        torch.randn(2, 3, 3, 4, 4),
        torch.rand(2, 3),
        torch.randn(2, 3, 5),
        text_batch(),
    )
    yes = torch.ones(2, dtype=torch.bool)
    assert torch.allclose(
        model(x, levels, actions, text, drop_actions=yes, drop_text=yes),
        model(x, levels),
        atol=1e-6,
    )
    assert not torch.allclose(model(x, levels, actions, text), model(x, levels), atol=1e-4)


def test_activation_checkpointing_gives_the_same_gradients():
    x, levels = torch.randn(1, 2, 3, 4, 4), torch.rand(1, 2)
    grads = []
    for ckpt in (False, True):
        model = tiny(checkpointing=ckpt).train()
        model(x, levels).pow(2).sum().backward()
        grads.append(model.embed.weight.grad.clone())
    assert torch.allclose(*grads, atol=1e-6)


@pytest.mark.slow  # inductor compiles C++ on the CPU: ~30 s cold
def test_compiled_blocks_match_eager_on_every_bucket_shape_and_keep_checkpoint_keys():
    eager, compiled = tiny(), tiny()
    keys = list(eager.state_dict())
    compiled.compile_blocks()
    assert list(compiled.state_dict()) == keys  # checkpoints load into either
    for t, h, w in [
        (2, 4, 4),
        (3, 4, 4),
        (2, 4, 6),
        (3, 4, 6),
    ]:  # the (frames, height, width) buckets of one run
        x, levels = torch.randn(2, t, 3, h, w), torch.rand(2, t)
        with torch.no_grad():
            assert torch.allclose(compiled(x, levels), eager(x, levels), atol=1e-5), (t, h, w)
