"""YAML as parkqa reads it: the safe subset, with dates left as the text that was written."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

from parkqa.errors import ParkQAError

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when built
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _DatesAsTextSafeLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader without the timestamp resolver: `date: 2020-02-30` is the text
    '2020-02-30', for parkqa's own date check, rather than a Python date or a crash."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    }


def read_yaml(
    text: str,
    source: str,
    *,
    error: type[ParkQAError] = ParkQAError,
    what: str = "YAML",
    first_line: int = 1,
) -> Any:
    """text parsed as YAML; a syntax error raises error with one line naming source and the
    line and column (counted from first_line, where text starts in its file)."""
    try:
        return yaml.load(text, Loader=_DatesAsTextSafeLoader)
    except yaml.YAMLError as exc:
        raise error(
            f"{source}: malformed {what}{error_place(exc, first_line)}; fix the syntax"
        ) from None


def error_place(exc: Exception, first_line: int = 1) -> str:
    """Where a YAML parser stopped, as " at line L, column C" (empty when it does not say)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return ""
    return f" at line {mark.line + first_line}, column {mark.column + 1}"
