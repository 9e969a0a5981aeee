"""parkqa: answers questions about an industrial park from its documents, citing the passages.

The names below are imported on first use, so that `import parkqa` (and `parkqa --version`)
loads neither numpy nor the indexing code."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parkqa.citations import Answer, Citation
    from parkqa.config import Config, load_config
    from parkqa.errors import ParkQAError
    from parkqa.indexing import IndexedDocument, IndexReport, PendingChanges
    from parkqa.knowledge_base import KnowledgeBase
    from parkqa.passages import Passage
    from parkqa.retrieval import Filters, Hit

_MODULES = {
    "Answer": "parkqa.citations",
    "Citation": "parkqa.citations",
    "Config": "parkqa.config",
    "Filters": "parkqa.retrieval",
    "Hit": "parkqa.retrieval",
    "IndexedDocument": "parkqa.indexing",
    "IndexReport": "parkqa.indexing",
    "KnowledgeBase": "parkqa.knowledge_base",
    "ParkQAError": "parkqa.errors",
    "Passage": "parkqa.passages",
    "PendingChanges": "parkqa.indexing",
    "load_config": "parkqa.config",
}

__all__ = [
    "Answer",
    "Citation",
    "Config",
    "Filters",
    "Hit",
    "IndexReport",
    "IndexedDocument",
    "KnowledgeBase",
    "ParkQAError",
    "Passage",
    "PendingChanges",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'parkqa' has no attribute '{name}'")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
