"""Chinese script: which characters are CJK, and conversion between Traditional and Simplified."""

from __future__ import annotations

import functools
import re

CJK_RANGES = "\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")


def is_cjk(char: str) -> bool:
    """Whether a character is a CJK ideograph (the one check every module uses)."""
    return bool(_CJK_CHAR.match(char))


def has_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


@functools.lru_cache(maxsize=2)
def _converter(direction: str):
    import opencc

    return opencc.OpenCC(direction)


@functools.lru_cache(maxsize=1024)
def to_simplified(text: str) -> str:
    """Text in Simplified characters (phrase-level conversion with OpenCC's tables)."""
    return _converter("t2s").convert(text) if has_cjk(text) else text


@functools.lru_cache(maxsize=1024)
def to_traditional(text: str) -> str:
    """Text in Traditional characters."""
    return _converter("s2t").convert(text) if has_cjk(text) else text


def script_of(text: str) -> str:
    """ "traditional" when converting to Simplified changes the text, "simplified" when it has
    CJK characters that need no conversion, "latin" when it has none."""
    if not has_cjk(text):
        return "latin"
    return "traditional" if to_simplified(text) != text else "simplified"
