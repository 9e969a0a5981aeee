"""The word dictionary and segmenter, on jieba's real dictionary and the park article."""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from pathlib import Path

import pytest
import yaml

from parkqa.lexicon import Lexicon, dictionary_path, lexicon

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
PARK_QUESTIONS = REPO / "tests" / "data" / "park_questions.yaml"
NAME_TAGS = {"nr", "nrt", "nrfg", "nt", "nz"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def lex(cache_dir: Path) -> Lexicon:
    """The real dictionary, built once into this module's own cache folder."""
    return Lexicon(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def dict_entries() -> tuple[dict[str, tuple[int, str]], int]:
    """jieba's dict.txt as {word: (frequency, tag)} and the total frequency."""
    entries, total = {}, 0
    for line in dictionary_path().read_text(encoding="utf-8").splitlines():
        word, freq, tag = line.split()
        entries[word] = (int(freq), tag)
        total += int(freq)
    return entries, total


def words(pairs: list[tuple[str, str]]) -> list[str]:
    return [word for word, _ in pairs]


def park_sentences() -> list[str]:
    """The park article's sentences and clauses (its paragraphs are hard-wrapped), and the
    park questions."""
    article = PARK_ARTICLE.read_text(encoding="utf-8")
    paragraphs = [p.replace("\n", "") for p in article.split("\n\n")]
    clauses = [c for p in paragraphs for c in re.split(r"(?<=[。！？；，])", p) if c.strip()]
    questions = [q["question"] for q in yaml.safe_load(PARK_QUESTIONS.read_text(encoding="utf-8"))]
    return clauses + questions


def test_question_names_company_and_place(lex: Lexicon) -> None:
    pairs = lex.cut("阿里巴巴在永川投资了多少钱？")
    assert words(pairs) == ["阿里巴巴", "在", "永川", "投资", "了", "多少", "钱", "？"]
    tags = dict(pairs)
    assert tags["阿里巴巴"] in NAME_TAGS
    assert tags["永川"] == "ns"
    assert tags["？"] == "x"


def test_long_dictionary_words_stay_whole(lex: Lexicon) -> None:
    assert words(lex.cut("有限公司在线多媒体")) == ["有限公司", "在线", "多媒体"]
    assert ("华为技术有限公司", "nt") in lex.cut("北京华为技术有限公司")


def test_lookup_gives_the_dictionary_tag_and_log_probability(
    lex: Lexicon, dict_entries: tuple[dict[str, tuple[int, str]], int]
) -> None:
    entries, total = dict_entries
    for word, tag in [("北京", "ns"), ("华为", "nr"), ("马化腾", "nr"), ("的", "uj"), ("B超", "n")]:
        freq, dict_tag = entries[word]
        assert dict_tag == tag
        assert lex.lookup(word) == (math.log(freq) - math.log(total), tag)
    assert lex.lookup("北京")[0] < lex.lookup("的")[0] < 0
    assert len(lex) == len(entries)


def test_lookup_of_a_non_word(lex: Lexicon) -> None:
    for text in ["不存在的词语", "", "北京北京", "北京" * 10, "\ud800"]:
        assert lex.lookup(text) is None


def test_cut_keeps_every_character(lex: Lexicon) -> None:
    text = "2019年iPhone6和B超 3.5亿元\r\n\t好的！😀"
    pairs = lex.cut(text)
    assert "".join(words(pairs)) == text
    assert pairs == [
        ("2019", "m"),
        ("年", "m"),
        ("iPhone6", "eng"),
        ("和", "c"),
        ("B超", "n"),
        (" ", "x"),
        ("3", "m"),
        (".", "x"),
        ("5", "m"),
        ("亿元", "m"),
        ("\r\n", "x"),
        ("\t", "x"),
        ("好", "a"),
        ("的", "uj"),
        ("！", "x"),
        ("😀", "x"),
    ]
    assert lex.cut("") == []


def test_rare_characters_in_a_row_become_one_unknown_word(lex: Lexicon) -> None:
    assert ("犇骉", "un") in lex.cut("请问犇骉公司的地址在哪里？")
    assert lex.cut("燚集团") == [("燚", "x"), ("集团", "n")]


def test_common_single_characters_are_never_merged(lex: Lexicon) -> None:
    pairs = lex.cut("钱在人的手里是了")
    assert words(pairs) == ["钱", "在", "人", "的", "手里", "是", "了"]
    assert "un" not in dict(pairs).values()


def test_traditional_characters_are_words_not_names(lex: Lexicon) -> None:
    pairs = lex.cut("誰是甚麼人？幾個人")
    assert "un" not in {tag for _, tag in pairs}
    assert words(pairs)[:2] == ["誰", "是"]
    assert "甚麼" in words(pairs) or words(pairs)[2:4] == ["甚", "麼"]
    assert "幾" in words(pairs)
    sentence = lex.cut("誰是永川大數據產業園的負責人？")
    assert "un" not in {tag for _, tag in sentence}
    assert ("永川", "ns") in sentence


def test_agrees_with_jieba_on_the_park_article(lex: Lexicon) -> None:
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(60)
    sentences = park_sentences()
    same = sum(words(lex.cut(s)) == jieba.lcut(s, HMM=False) for s in sentences)
    print(f"agreement with jieba.lcut(HMM=False): {same}/{len(sentences)}")
    assert len(sentences) >= 200
    assert same / len(sentences) >= 0.98


def test_two_thousand_rare_characters_are_cut_quickly(lex: Lexicon) -> None:
    chance = random.Random(0)
    text = "".join(chr(chance.randint(0x4E00, 0x9FA5)) for _ in range(2000))
    lex.cut(text)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        pairs = lex.cut(text)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.5
    assert "".join(words(pairs)) == text


def test_cache_is_reused(lex: Lexicon, cache_dir: Path) -> None:
    assert lex.cache is not None and lex.cache.parent == cache_dir
    files = sorted(lex.cache.iterdir())
    assert {f.name for f in files} == {
        "manifest.json",
        "hashes.npy",
        "offsets.npy",
        "words.npy",
        "logp.npy",
        "tags.npy",
    }
    before = [f.stat().st_mtime_ns for f in files]
    again = Lexicon(cache_dir=cache_dir)
    assert not again.built
    assert again.cache == lex.cache
    assert [f.stat().st_mtime_ns for f in files] == before
    assert again.cut("阿里巴巴在永川") == lex.cut("阿里巴巴在永川")


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("hashes.npy", b""),
        ("words.npy", b"\x93NUMPY garbage"),
        ("manifest.json", b'{"format": 1'),
        ("tags.npy", None),
    ],
)
def test_damaged_cache_is_rebuilt(
    lex: Lexicon, tmp_path: Path, name: str, damage: bytes | None
) -> None:
    folder = tmp_path / lex.cache.name
    folder.mkdir()
    for file in lex.cache.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    target = folder / name
    target.write_bytes(target.read_bytes()[:1000] if damage is None else damage)
    rebuilt = Lexicon(cache_dir=tmp_path)
    assert rebuilt.built
    assert rebuilt.cut("阿里巴巴在永川") == [("阿里巴巴", "nrt"), ("在", "p"), ("永川", "ns")]
    assert not Lexicon(cache_dir=tmp_path).built


def test_unwritable_cache_folder_still_works(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    lex = Lexicon(cache_dir=blocker / "cache")
    assert lex.built and lex.cache is None
    assert ("永川", "ns") in lex.cut("阿里巴巴在永川")


def test_a_changed_dictionary_is_rebuilt(tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("永川 100 ns\n园区 50 n\n园 0 n\n园区 60 nz\n犇骉 7\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = Lexicon(dictionary, cache)
    assert first.lookup("园区") == (math.log(60) - math.log(217), "nz")
    assert first.lookup("园") is None
    assert first.lookup("犇骉") == (math.log(7) - math.log(217), "x")
    assert first.lookup("大数据") is None
    dictionary.write_text("永川 100 ns\n大数据 20 n\n", encoding="utf-8")
    second = Lexicon(dictionary, cache)
    assert second.built and second.cache != first.cache
    assert second.lookup("大数据") == (math.log(20) - math.log(120), "n")
    assert second.cut("永川大数据园区") == [("永川", "ns"), ("大数据", "n"), ("园区", "un")]


@pytest.fixture
def fresh_accessor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARKQA_CACHE", str(tmp_path))
    lexicon.cache_clear()
    yield tmp_path
    lexicon.cache_clear()


def test_lexicon_is_loaded_once_into_the_parkqa_cache(fresh_accessor: Path) -> None:
    assert lexicon() is lexicon()
    assert lexicon().cache.parent == fresh_accessor
