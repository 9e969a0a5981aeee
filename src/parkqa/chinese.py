"""Chinese script: which characters are CJK, and conversion between Traditional and Simplified."""

from __future__ import annotations

import functools
import re

# Code points of CJK ideographs: Extension A and the unified block, the compatibility
# ideographs, and Extensions B and beyond.
CJK_CODE_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF))
CJK_RANGES = "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_CODE_RANGES)
# CJK symbols and punctuation (、。「」) and full-width forms (，！Ａ１), written without spaces.
CJK_PUNCTUATION = "\u3000-\u303f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_UNIT = re.compile(rf"[{CJK_RANGES}]|[^\W_{CJK_RANGES}]+")
_CJK_OR_PUNCTUATION = re.compile(f"[{CJK_RANGES}{CJK_PUNCTUATION}]")


def is_cjk(char: str, punctuation: bool = False) -> bool:
    """Whether a character is a CJK ideograph (the one check every module uses); with
    punctuation=True, CJK punctuation and full-width forms count too."""
    return bool((_CJK_OR_PUNCTUATION if punctuation else _CJK_CHAR).match(char))


def has_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


@functools.lru_cache(maxsize=8)
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


@functools.lru_cache(maxsize=65536)
def script_forms(text: str) -> tuple[str, ...]:
    """The text in Simplified characters and in the Traditional forms documents use: OpenCC's,
    Taiwan's and Hong Kong's (成爲, 成為; 裏, 裡), each once. A word of a question is looked up in
    every form, since a Traditional knowledge base writes one of them."""
    if not has_cjk(text):
        return (text,)
    simplified = to_simplified(text)
    forms = [simplified] + [_converter(d).convert(simplified) for d in ("s2t", "s2tw", "s2hk")]
    return tuple(dict.fromkeys(forms))


def units(text: str) -> list[str]:
    """The characters of Chinese text and the words of Latin text: what a question's length
    (for the encoder) and a verbatim run (for abstention) count."""
    return _UNIT.findall(text)


def script_of(text: str) -> str:
    """ "traditional" when converting to Simplified changes the text, "simplified" when it has
    CJK characters that need no conversion, "latin" when it has none."""
    if not has_cjk(text):
        return "latin"
    return "traditional" if to_simplified(text) != text else "simplified"
