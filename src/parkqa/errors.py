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
    """An uploaded document was refused (type, size or name)."""
