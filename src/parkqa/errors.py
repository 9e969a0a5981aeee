"""The errors parkqa raises. Only the command line turns them into messages."""

from __future__ import annotations


class ParkQAError(Exception):
    """Something a user can fix; the message says what and how."""


class ConfigError(ParkQAError):
    """The configuration file is missing, malformed or has a bad value."""


class DocumentError(ParkQAError):
    """A knowledge file cannot be read as a document."""


class IndexMissingError(ParkQAError):
    """No index has been built yet."""


class IndexCorruptError(ParkQAError):
    """The index on disk is damaged or does not match its manifest."""


class IndexBusyError(ParkQAError):
    """Another process is updating the index."""


class IndexWriteError(ParkQAError):
    """The index could not be written (for example, the disk is full)."""


class EncoderError(ParkQAError):
    """The configured embedding model cannot be loaded."""


class QuestionError(ParkQAError):
    """The question is empty or cannot be answered as given."""


class UploadError(ParkQAError):
    """A document was refused (type, size or name), or could not be stored in or removed from
    the knowledge folder."""


class DocumentExistsError(UploadError):
    """A different document of that name is in the knowledge folder; replace it to overwrite it."""


class DocumentNotFoundError(ParkQAError):
    """No document of that name is in the knowledge folder."""


class DateError(QuestionError):
    """A date is not a real day, month or year written as YYYY, YYYY-MM or YYYY-MM-DD."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"{name} '{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD")
        self.name = name
        self.value = value


class TagError(QuestionError):
    """A filter names a tag that no indexed document has."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        names = ", ".join(f"'{tag}'" for tag in unknown)
        where = f"the documents' tags are: {', '.join(known)}" if known else "no document has tags"
        super().__init__(f"unknown tag{'s' if len(unknown) > 1 else ''} {names}; {where}")
        self.unknown = unknown
        self.known = known


class IndexServerError(ParkQAError):
    """The index server (Milvus) cannot be reached or refused a request."""
