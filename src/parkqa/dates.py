"""Dates as documents and filters write them: YYYY, YYYY-MM or YYYY-MM-DD."""

from __future__ import annotations

import datetime
import re

from parkqa.errors import DateError

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_date(text: str, name: str = "date") -> str:
    """text, if it is a real year, month or day written as YYYY, YYYY-MM or YYYY-MM-DD (so
    that dates compare as text); otherwise DateError, naming the value as name."""
    match = _DATE.fullmatch(text) if isinstance(text, str) else None
    if match:
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            datetime.date(year, month, day)
        except ValueError:
            pass
        else:
            return text
    raise DateError(name, str(text))
