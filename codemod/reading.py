"""Reading one path into a ``SourceFile``, or into the ``FileError`` that says why it could not be read."""

from __future__ import annotations

import errno
from pathlib import Path

from codemod.errors import FileError
from codemod.rules import IO_ERROR
from codemod.source import DecodeError, SourceFile


def _os_message(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return "is a directory, not a file"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"


def decode(raw: bytes, path: Path, display: str) -> SourceFile | FileError:
    """Decode ``raw`` the way Python would (PEP 263 cookie, BOM), or say where it fails."""
    try:
        return SourceFile.from_bytes(raw, path, display)
    except DecodeError as exc:
        return FileError(display, IO_ERROR, f"cannot decode: {exc}", exc.line, exc.col)


def read_source(path: Path, display: str) -> SourceFile | FileError:
    """The decoded contents of ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileError(display, IO_ERROR, _os_message(exc))
    return decode(raw, path, display)
