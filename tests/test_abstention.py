"""The abstention decision: the logistic model's weights, its thresholds, and the models chosen
for the built-in and other encoders."""

from __future__ import annotations

import dataclasses
import math

import pytest

from parkqa.answering import ABSTENTION_MODELS, AbstentionModel, Support, abstention_model

E5 = ABSTENTION_MODELS["builtin:e5-small"]
TYPICAL = Support(
    missing_names=(),
    coverage=0.6,
    dense=0.85,
    agree=True,
    cross_lingual=False,
    word_coverage=0.5,
    dense_margin=0.04,
)
# Each signal of Support, the model weight it is multiplied by, and a change to it.
SIGNALS = [
    ("dense", "dense", 0.02),
    ("coverage", "coverage", 0.3),
    ("word_coverage", "word_coverage", 0.25),
    ("dense_margin", "dense_margin", 0.03),
    ("agree", "agree", False),
    ("missing_names", "missing_name", ("特斯拉",)),
]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def linear_model(**weights: float) -> AbstentionModel:
    """A model that weighs only the signals given (bias included), with threshold 0.5."""
    fields = {f.name: 0.0 for f in dataclasses.fields(AbstentionModel)}
    return AbstentionModel(**{**fields, "threshold": 0.5, **weights})


@pytest.mark.parametrize("model", list(ABSTENTION_MODELS.values()), ids=list(ABSTENTION_MODELS))
@pytest.mark.parametrize(("signal", "weight", "changed"), SIGNALS)
def test_each_signal_moves_the_log_odds_by_its_own_weight(model, signal, weight, changed) -> None:
    before = model.probability(TYPICAL)
    after = model.probability(dataclasses.replace(TYPICAL, **{signal: changed}))
    old = getattr(TYPICAL, signal)
    delta = (
        float(bool(changed)) - float(bool(old))
        if signal in ("agree", "missing_names")
        else changed - old
    )
    assert logit(after) - logit(before) == pytest.approx(getattr(model, weight) * delta, rel=1e-6)


def test_the_probability_by_hand() -> None:
    model = linear_model(bias=-1.0, dense=2.0, coverage=3.0, word_coverage=5.0, agree=7.0)
    support = dataclasses.replace(TYPICAL, dense=0.5, coverage=0.2, word_coverage=0.1, agree=False)
    z = -1.0 + 2.0 * 0.5 + 3.0 * 0.2 + 5.0 * 0.1
    assert model.probability(support) == pytest.approx(1 / (1 + math.exp(-z)))
    assert linear_model().probability(TYPICAL) == 0.5


def test_extreme_signals_give_a_probability_without_overflow() -> None:
    model = linear_model(dense=1e6)
    assert 0.0 < model.probability(dataclasses.replace(TYPICAL, dense=-1.0)) < 1e-20
    assert model.probability(dataclasses.replace(TYPICAL, dense=1.0)) == pytest.approx(1.0)


def test_abstains_strictly_below_the_threshold() -> None:
    even = linear_model()  # probability 0.5 for every question
    assert not even.should_abstain(TYPICAL)
    assert even.should_abstain(TYPICAL, threshold=0.5 + 1e-9)
    assert not even.should_abstain(TYPICAL, threshold=0.5)


def test_a_knowledge_base_threshold_replaces_the_fitted_one_unless_a_name_is_missing() -> None:
    model = linear_model(bias=logit(0.3))  # probability 0.3, fitted threshold 0.5
    assert model.should_abstain(TYPICAL)
    assert not model.should_abstain(TYPICAL, threshold=0.2)
    assert model.should_abstain(TYPICAL, threshold=0.4)
    missing = dataclasses.replace(TYPICAL, missing_names=("特斯拉",))
    assert model.should_abstain(missing, threshold=0.2)
    assert not dataclasses.replace(model, threshold=0.25).should_abstain(missing, threshold=0.2)


def test_across_languages_only_the_closest_sentence_counts() -> None:
    model = dataclasses.replace(E5, cross_lingual_dense=0.8)
    english = dataclasses.replace(TYPICAL, cross_lingual=True, coverage=0.0, word_coverage=0.0)
    assert model.should_abstain(dataclasses.replace(english, dense=0.799))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.8))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.8), threshold=0.99)


def test_the_fitted_e5_model_on_clear_cases() -> None:
    answered = dataclasses.replace(TYPICAL, dense=0.9, dense_margin=0.06, coverage=0.9)
    unrelated = Support((), coverage=0.0, dense=0.8, agree=False, cross_lingual=False)
    assert not E5.should_abstain(answered)
    assert E5.should_abstain(unrelated)


def test_other_encoders_abstain_below_the_configured_coverage() -> None:
    model = abstention_model("some-org/some-model", min_coverage=0.3, min_dense=0.27)
    assert model is not abstention_model("builtin:e5-small", 0.3, 0.27)
    assert abstention_model("builtin:e5-small", 0.3, 0.27) is E5
    assert model.should_abstain(dataclasses.replace(TYPICAL, coverage=0.29))
    assert not model.should_abstain(dataclasses.replace(TYPICAL, coverage=0.31))
    full = dataclasses.replace(TYPICAL, coverage=1.0, missing_names=("特斯拉",))
    assert model.should_abstain(full)
    english = dataclasses.replace(TYPICAL, cross_lingual=True)
    assert model.should_abstain(dataclasses.replace(english, dense=0.26))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.28))
