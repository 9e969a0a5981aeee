"""parkqa: answers questions about an industrial park from its documents, citing the passages."""

from __future__ import annotations

from parkqa.citations import Answer, Citation
from parkqa.config import Config, load_config
from parkqa.errors import ParkQAError
from parkqa.indexing import IndexReport
from parkqa.knowledge_base import KnowledgeBase
from parkqa.passages import Passage
from parkqa.retrieval import Filters, Hit

__all__ = [
    "Answer",
    "Citation",
    "Config",
    "Filters",
    "Hit",
    "IndexReport",
    "KnowledgeBase",
    "ParkQAError",
    "Passage",
    "load_config",
]
