"""Reading one path into a ``SourceFile``, or into the ``FileError`` that says why it could not be read."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from gradsafe.errors import FileError
from gradsafe.rules import IO_ERROR
from gradsafe.files.source import DecodeError, SourceFile

# What a path that is neither a file nor a directory is, for the message.
_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20


class NotAFile(OSError):
    """The path is a directory, a named pipe, a socket or a device."""


def read_bytes(path: Path | str) -> bytes:
    """The bytes of the regular file at ``path``, or ``OSError``.

    Anything else is refused before a byte is read: reading a named pipe (``mkfifo x.py``) would
    wait forever for a writer, and a device such as ``/dev/zero`` never ends.  The path is opened
    without blocking, so even opening a pipe returns at once.  (Plain ``os`` calls, a fifth of the
    time of ``open()`` on a small file.)
    """
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(descriptor)
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotAFile(f"is {kind}, not a file")
        chunks = [os.read(descriptor, status.st_size + 1)]
        while chunks[-1]:  # the file may have grown since ``fstat``: read to its end
            chunks.append(os.read(descriptor, _CHUNK))
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _os_message(exc: OSError) -> str:
    if isinstance(exc, NotAFile):
        return str(exc)
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
        raw = read_bytes(path)
    except OSError as exc:
        return FileError(display, IO_ERROR, _os_message(exc))
    return decode(raw, path, display)
