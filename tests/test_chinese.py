"""Which characters are CJK: one definition, used by every module."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from parkqa.chinese import has_cjk, is_cjk
from parkqa.cleaning import clean_lines
from parkqa.keywords import tokenize
from parkqa.lexicon import _char_classes

SOURCE = Path(__file__).resolve().parents[1] / "src" / "parkqa"
# Either side of each range's ends, and characters of other scripts near them: whether the
# character is CJK, and whether wrapped lines join at it without a space (CJK characters,
# CJK punctuation and full-width forms).
SAMPLES = {
    "\u33ff": (False, False),  # a squared Latin abbreviation
    "\u3400": (True, True),  # first of Extension A
    "永": (True, True),
    "\u9fff": (True, True),
    "\ua000": (False, False),  # Yi
    "가": (False, False),  # Hangul
    "\uf900": (True, True),  # compatibility ideographs
    "\ufaff": (True, True),
    "\ufb00": (False, False),  # a Latin ligature
    "\U00020000": (True, True),  # Extension B
    "\U0002ffff": (True, True),
    "\U00030000": (False, False),
    "a": (False, False),
    "。": (False, True),
    "Ａ": (False, True),
}


def test_no_module_but_chinese_defines_a_cjk_range() -> None:
    ranges = re.compile(r"\\u3400|0x3400|\\u9fff|0x9fff|\\uf900|0xf900", re.IGNORECASE)
    found = [
        path.name
        for path in sorted(SOURCE.glob("*.py"))
        if path.name != "chinese.py" and ranges.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("char", "cjk", "joins"),
    [(char, *kinds) for char, kinds in SAMPLES.items()],
    ids=[f"U+{ord(c):04X}" for c in SAMPLES],
)
def test_every_module_agrees_on_what_is_cjk(char: str, cjk: bool, joins: bool) -> None:
    assert is_cjk(char) == cjk == has_cjk(f"a{char}b")
    assert is_cjk(char, punctuation=True) == joins
    han, _, _ = _char_classes(np.array([ord(char)], dtype=np.uint32))
    assert bool(han[0]) == cjk
    assert (len(tokenize(char * 2)) == 3) == cjk  # two characters and their bigram
    joined = clean_lines([f"x{char}", f"{char}y"])[0].text
    assert joined == (f"x{char}{char}y" if joins else f"x{char} {char}y")
