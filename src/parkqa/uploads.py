"""Documents into and out of the knowledge folder: safe names, checks, storing, replacing and
removing, shared by `parkqa add` / `parkqa remove` and the chat page's knowledge tab.

A document is checked (type, size, readability, passages, name) before anything is written;
its metadata sidecar ('notice.md.meta.yaml' beside it) is checked and stored with it. Files are
copied beside their final names and renamed into place, so a failed copy leaves nothing behind.
Every file-system error becomes an UploadError naming the file and the cause.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from parkqa.config import ChunkingConfig
from parkqa.documents import (
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    has_sidecar,
    knowledge_files,
    sidecar_path,
)
from parkqa.errors import DocumentError, DocumentExistsError, DocumentNotFoundError, UploadError
from parkqa.indexing import document_passages

MAX_NAME_BYTES = 200
"""File systems allow 255 bytes a name; the rest is kept for the '.meta.yaml' sidecar."""

_MAX_SUFFIX_BYTES = 16
_RESERVED = re.compile(r'[/\\<>:"|?*]')


@dataclass(frozen=True)
class Upload:
    """A checked document and where it goes in the knowledge folder."""

    source: Path
    target: Path
    replaces: bool = False  # a different file of that name is in the knowledge folder
    unchanged: bool = False  # the same bytes are there already (and the same sidecar)
    sidecar: Path | None = None  # the source's metadata file, stored with it
    drops_sidecar: bool = False  # the target's metadata file goes: the new version has none

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def sidecar_copied(self) -> bool:
        return self.sidecar is not None and not self.unchanged

    @property
    def sidecar_removed(self) -> bool:
        return self.drops_sidecar and not self.unchanged


def safe_filename(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One visible file name from whatever a person or a browser gave: no folders ('../', '/abs',
    'C:\\'), no NUL or control characters, no hidden dot, at most max_bytes of UTF-8, and the
    extension kept when the name is cut."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(_safe_character(ch) for ch in name).rstrip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix.encode()) > _MAX_SUFFIX_BYTES - 1:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    stem = stem.lstrip(" .") or "document"
    budget = max_bytes - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", "ignore")
    return stem + suffix


def _safe_character(ch: str) -> str:
    if _RESERVED.match(ch):
        return "_"
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    return ch if ch.isprintable() else "_"


def shown(name: str) -> str:
    """A name as it can be printed on one line: control characters written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)


def check_upload(
    knowledge_dir: Path,
    source: Path,
    name: str | None = None,
    max_bytes: int | None = None,
    chunking: ChunkingConfig | None = None,
) -> Upload:
    """Check that source can become a document of the knowledge folder under a safe version of
    name (default: its own): a supported type, within max_bytes, readable with its sidecar,
    giving passages as the index cuts them. Raises UploadError."""
    given = re.split(r"[/\\]", name or source.name)[-1]
    name = safe_filename(given)
    try:
        is_file, is_folder = source.is_file(), source.is_dir()
    except OSError:
        is_file = is_folder = False
    if is_folder:
        raise UploadError(f"{shown(str(source))}: is a folder; name the documents in it")
    if not is_file:
        raise UploadError(f"{shown(str(source))}: no such file")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"{shown(name)}: unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise UploadError(f"{shown(name)}: cannot read file ({exc.strerror or exc})") from None
    if max_bytes is not None and size > max_bytes:
        raise UploadError(
            f"{shown(name)}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit"
        )
    try:
        document_passages(source, shown(name), chunking)
    except DocumentError as exc:
        raise UploadError(str(exc).replace(str(source), shown(name))) from None
    target = knowledge_dir / name
    sidecar = sidecar_path(source) if has_sidecar(source) else None
    try:
        taken = target.exists() or target.is_symlink()
        old_sidecar = has_sidecar(target)
    except OSError as exc:
        raise UploadError(
            f"{shown(name)}: cannot look into {knowledge_dir}: {exc.strerror or exc}"
        ) from None
    drops_sidecar = old_sidecar and sidecar is None
    if not taken:
        return Upload(source, target, sidecar=sidecar, drops_sidecar=drops_sidecar)
    same = _same_bytes(source, target) and _same_sidecar(sidecar, sidecar_path(target))
    if not same and name != given:
        raise UploadError(
            f"{shown(given)} would be stored as {shown(name)}, which another document already "
            f"has; rename {shown(given)}"
        )
    return Upload(
        source,
        target,
        replaces=not same,
        unchanged=same,
        sidecar=sidecar,
        drops_sidecar=drops_sidecar,
    )


def check_uploads(
    knowledge_dir: Path,
    sources: Sequence[Path],
    max_bytes: int | None = None,
    chunking: ChunkingConfig | None = None,
) -> tuple[list[Upload], list[UploadError]]:
    """Check a batch of documents, each under its own name: those that can be stored, and what
    is wrong with the others (a name given twice is refused the second time). A sidecar named
    beside its document is stored with it, not as a document."""
    accepted: list[Upload] = []
    refused: list[UploadError] = []
    taken: dict[str, Path] = {}
    sidecars = {sidecar_path(source) for source in sources}
    for source in sources:
        if source in sidecars:
            continue
        try:
            upload = check_upload(knowledge_dir, source, max_bytes=max_bytes, chunking=chunking)
        except UploadError as exc:
            refused.append(exc)
            continue
        if upload.name in taken:
            refused.append(
                UploadError(
                    f"{shown(upload.name)}: two files would have this name "
                    f"({shown(str(taken[upload.name]))} and {shown(str(source))}); rename one"
                )
            )
            continue
        taken[upload.name] = source
        accepted.append(upload)
    return accepted, refused


def store_all(uploads: Sequence[Upload], replace: bool = False) -> list[Upload]:
    """Copy checked documents into the knowledge folder; without replace, names taken by
    different files are refused (DocumentExistsError) before anything is copied."""
    if not replace:
        refuse_all([_name_taken(upload) for upload in uploads if upload.replaces])
    return [store_upload(upload, replace=replace) for upload in uploads]


def refuse_all(errors: Sequence[UploadError]) -> None:
    """Raise what is wrong with a batch of documents: one error as it is, several as one
    UploadError of one line each."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise UploadError("\n".join(str(error) for error in errors))


def store_upload(upload: Upload, replace: bool = False) -> Upload:
    """Copy a checked document, and its sidecar, into the knowledge folder; the sidecar of the
    version it replaces goes with it. A different file of the same name is overwritten only
    when replace is set (DocumentExistsError otherwise)."""
    if upload.unchanged:
        return upload
    if upload.replaces and not replace:
        raise _name_taken(upload)
    folder = upload.target.parent
    copies = [(upload.source, upload.target)]
    if upload.sidecar is not None:
        copies.append((upload.sidecar, sidecar_path(upload.target)))
    parts: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            for source, _ in copies:
                parts.append(folder / f".{uuid.uuid4().hex}.part")
                shutil.copyfile(source, parts[-1])
            if upload.drops_sidecar:
                sidecar_path(upload.target).unlink(missing_ok=True)
            for part, (_, target) in zip(parts, copies):
                os.replace(part, target)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)
    except OSError as exc:
        raise UploadError(
            f"{shown(upload.name)}: cannot store it in {folder}: {exc.strerror or exc}"
        ) from None
    return upload


def _name_taken(upload: Upload) -> DocumentExistsError:
    return DocumentExistsError(
        f"{upload.target.parent.name}/{shown(upload.name)} already exists with other content; "
        "add it again with --replace to overwrite it"
    )


def find_documents(
    knowledge_dir: Path,
    root: Path,
    names: Sequence[str],
    indexed: Collection[Path] | None = None,
) -> list[Path]:
    """The documents of the knowledge folder that names point to: a name inside the folder
    ('notice.md'), a path from the config's folder ('knowledge/notice.md') or any path to it;
    also an indexed document whose file is already gone. Raises DocumentNotFoundError naming
    every name that is neither."""
    found, missing = [], []
    for name in names:
        path = _find_document(knowledge_dir, root, name) or _find_indexed(
            knowledge_dir, root, name, indexed or ()
        )
        if path is None:
            missing.append(shown(name))
        elif path not in found:
            found.append(path)
    if missing:
        raise DocumentNotFoundError(
            f"{', '.join(missing)}: no such document in the knowledge folder ({knowledge_dir}); "
            "parkqa docs lists the documents"
        )
    return found


def _find_document(knowledge_dir: Path, root: Path, name: str) -> Path | None:
    folder = Path(os.path.abspath(knowledge_dir))
    for base in (knowledge_dir, root, Path.cwd()):
        try:
            path = Path(os.path.abspath(base / name))
            inside = path.is_relative_to(folder) and path.resolve().is_relative_to(folder.resolve())
            if inside and path != folder and path.is_file() and _is_document(path, folder):
                return path
        except (OSError, ValueError):
            continue
    return None


def _find_indexed(
    knowledge_dir: Path, root: Path, name: str, indexed: Collection[Path]
) -> Path | None:
    """An indexed document the name points to whose file is no longer in the folder."""
    wanted = {Path(os.path.abspath(path)) for path in indexed}
    for base in (knowledge_dir, root, Path.cwd()):
        path = Path(os.path.abspath(base / name))
        if path in wanted and not path.exists():
            return path
    return None


def _is_document(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts
    return (
        not any(part.startswith(".") for part in parts)
        and not path.name.endswith(SIDECAR_SUFFIX)
        and path.suffix.lower() in SUPPORTED_SUFFIXES
    )


def remove_documents(
    knowledge_dir: Path,
    root: Path,
    names: Sequence[str],
    indexed: Collection[Path] | None = None,
) -> list[Path]:
    """Delete the named documents and their metadata sidecars from the knowledge folder; returns
    the files deleted. Nothing is deleted when a name is wrong or no document would be left:
    none of indexed (the index's documents), or without an index, no supported file."""
    documents = find_documents(knowledge_dir, root, names, indexed)
    if not _documents_left(knowledge_dir, documents, indexed):
        raise UploadError(
            "cannot remove every document: the index needs at least one; add another first"
        )
    removed = []
    for path in documents:
        for file in [path, sidecar_path(path)] if has_sidecar(path) else [path]:
            try:
                file.unlink(missing_ok=True)  # an indexed document may be gone already
            except OSError as exc:
                raise UploadError(f"{file}: cannot remove it ({exc.strerror or exc})") from None
            removed.append(file)
    return removed


def _documents_left(
    knowledge_dir: Path, removing: Sequence[Path], indexed: Collection[Path] | None
) -> bool:
    gone = set(removing)
    if indexed is not None:
        return any(Path(os.path.abspath(path)) not in gone for path in indexed)
    return any(
        path.suffix.lower() in SUPPORTED_SUFFIXES and Path(os.path.abspath(path)) not in gone
        for path in knowledge_files(knowledge_dir, warnings=[])
    )


def _same_bytes(source: Path, target: Path) -> bool:
    try:
        return target.is_file() and target.read_bytes() == source.read_bytes()
    except OSError:
        return False


def _same_sidecar(sidecar: Path | None, target: Path) -> bool:
    """Whether the stored document's sidecar is the new one's (both absent counts as same)."""
    if sidecar is not None:
        return _same_bytes(sidecar, target)
    try:
        return not target.exists()
    except OSError:
        return False
