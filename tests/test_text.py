"""Spec of the frozen offline text encoder, the sentence table and caption embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worldsim.models.text import (
    CaptionEmbedder,
    TextConfig,
    TextTable,
    load_caption_embedder,
    split_sentences,
    text_dim,
)


@pytest.fixture(scope="module")
def minilm():
    return load_caption_embedder(TextConfig(name="minilm", max_tokens=24))


def test_minilm_loads_offline_and_gives_tokens_mask_and_pooled(minilm):
    batch = minilm.encode(["A red ball bounces on the floor.", "Camera orbits left.", ""])
    assert batch.tokens.shape == (3, 24, 384) and batch.pooled.shape == (3, 384)
    assert batch.mask[0].sum() > batch.mask[1].sum() > 0 and batch.mask[2].sum() == 0
    assert torch.count_nonzero(batch.tokens[1, batch.mask[1].sum() :]) == 0  # padding is zero
    assert torch.count_nonzero(batch.pooled[2]) == 0  # an empty caption has no text
    assert text_dim(TextConfig()) == minilm.dim == 384


def test_similar_prompts_embed_closer_than_unrelated_ones(minilm):
    p = minilm.encode(
        ["A red ball bounces.", "A red sphere is bouncing.", "The camera turns left."]
    )
    cos = torch.nn.functional.cosine_similarity
    assert cos(p.pooled[0], p.pooled[1], dim=0) > cos(p.pooled[0], p.pooled[2], dim=0) + 0.2


def test_a_caption_is_its_sentences_in_order_and_each_sentence_is_encoded_once(minilm):
    a, b = "The player moves 3 cells east.", "It is night."
    calls = minilm.calls
    both = minilm.encode([f"{a} {b}", a, b, f"{a} {b}"])
    assert minilm.calls - calls == 2 and split_sentences(f"{a} {b}") == [a, b]
    n_a, n_b = int(both.mask[1].sum()), int(both.mask[2].sum())
    assert int(both.mask[0].sum()) == n_a + n_b
    assert torch.equal(both.tokens[0, :n_a], both.tokens[1, :n_a])
    assert torch.equal(both.tokens[0, n_a : n_a + n_b], both.tokens[2, :n_b])
    assert torch.allclose(both.pooled[0], (both.pooled[1] + both.pooled[2]) / 2)


def test_a_saved_table_gives_identical_embeddings_without_any_encoder(minilm, tmp_path):
    captions = ["The player moves 2 cells north. Cows are nearby.", "It is daytime."]
    live = minilm.encode(captions)
    minilm.table.save(tmp_path / "t.npz")
    offline = CaptionEmbedder(24, TextTable.load(tmp_path / "t.npz"), load_encoder=None)
    again = offline.encode(captions)
    assert all(torch.equal(x, y) for x, y in zip(live, again))
    with pytest.raises(KeyError, match="not in the text table"):
        offline.encode(["A sentence nobody embedded."])


def test_keep_counts_only_the_sentences_with_a_kept_prefix(minilm, tmp_path):
    scene = "First-person view in Doom: a maze of rooms and corridors."
    caption = f"{scene} The player walks about 3 m straight ahead; in view: Medikit."
    minilm.encode([scene])
    minilm.table.save(tmp_path / "t.npz")
    kept = CaptionEmbedder(24, TextTable.load(tmp_path / "t.npz"), None, keep=("First-person",))
    assert kept.sentences(caption) == [scene]  # the others never reach the (absent) encoder
    assert all(torch.equal(x, y) for x, y in zip(kept.encode([caption]), minilm.encode([scene])))


def test_table_files_are_byte_identical_for_the_same_sentences(minilm, tmp_path):
    minilm.table.save(tmp_path / "a.npz")
    TextTable.load(tmp_path / "a.npz").save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert np.load(tmp_path / "a.npz")["tokens"].dtype == np.float16


def test_none_disables_text_and_a_missing_model_dir_is_named():
    assert load_caption_embedder(TextConfig(name="none")) is None
    assert text_dim(TextConfig(name="none")) == 0
    with pytest.raises(FileNotFoundError, match="nowhere"):
        text_dim(TextConfig(name="/nowhere/model"))
