"""Spec of the frozen offline text encoder and its cache."""

from __future__ import annotations

import pytest
import torch

from worldsim.models.text import CachedTextEncoder, TextConfig, load_text_encoder, text_dim


@pytest.fixture(scope="module")
def minilm():
    return load_text_encoder(TextConfig(name="minilm", max_tokens=16))


def test_minilm_loads_offline_and_gives_tokens_mask_and_pooled(minilm):
    batch = minilm.encode(["a red ball bounces on the floor", "camera orbits left"])
    assert batch.tokens.shape == (2, 16, 384) and batch.pooled.shape == (2, 384)
    assert batch.mask[0].sum() > batch.mask[1].sum() > 0
    assert torch.count_nonzero(batch.tokens[1, batch.mask[1].sum() :]) == 0  # padding is zero
    assert text_dim(TextConfig()) == minilm.dim == 384


def test_similar_prompts_embed_closer_than_unrelated_ones(minilm):
    p = minilm.encode(
        ["a red ball bounces", "a red sphere is bouncing", "the camera turns left"]
    ).pooled
    cos = torch.nn.functional.cosine_similarity
    assert cos(p[0], p[1], dim=0) > cos(p[0], p[2], dim=0) + 0.2


def test_cache_encodes_each_prompt_once_and_persists_to_disk(minilm, tmp_path):
    cached = CachedTextEncoder(minilm.encoder, str(tmp_path), key="minilm")
    a = cached.encode(["x moves", "y falls", "x moves"])
    assert cached.calls == 2 and torch.equal(a.tokens[0], a.tokens[2])
    again = CachedTextEncoder(minilm.encoder, str(tmp_path), key="minilm")
    b = again.encode(["y falls"])
    assert again.calls == 0 and torch.equal(b.pooled[0], a.pooled[1])


def test_none_disables_text_and_a_missing_model_dir_is_named():
    assert (
        load_text_encoder(TextConfig(name="none")) is None
        and text_dim(TextConfig(name="none")) == 0
    )
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_text_encoder(TextConfig(name="/nowhere/model"))
