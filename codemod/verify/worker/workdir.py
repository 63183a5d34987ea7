"""The working directory of user code: the project root as seen from a private directory.

Scenarios and tests open data by paths relative to the project root (``data/train.csv``), so they
must run there; but nothing they write may land in the project.  The worker's private directory
is made to look like the root: it gets a symbolic link to every entry of the root, and user code
runs with it as the working directory.  A file created by a relative path at the top
(``ckpt.pt``, ``out/``) is created in the private directory; a write that would reach into the
project itself (through a link, or by an absolute path) is refused with ``PermissionError`` by an
audit hook (``sys.addaudithook``) on Python-level opens, renames, removals and directory changes.
Writes by compiled code that does not pass through Python's ``open`` (a C++ ``torch.save`` to a
path inside the project) are beyond that hook.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGING_EVENTS = frozenset(
    {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.truncate", "os.symlink", "os.link", "os.chmod", "shutil.rmtree"}
)
_protected: list[str] = []
_hooked = False


def mirror_root(root: Path, sandbox: Path) -> Path:
    """A directory in ``sandbox`` that lists the entries of ``root`` (as links), for a working directory."""
    mirror = sandbox / f"project-{zlib.crc32(str(root).encode('utf-8', 'surrogateescape')):08x}"
    mirror.mkdir(exist_ok=True)
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        entries = []
    for name in entries:
        link = mirror / name
        if not os.path.lexists(link):
            try:
                os.symlink(root / name, link)
            except OSError:
                continue
    return mirror


def protect(root: Path, allowed: Path) -> None:
    """Refuse Python-level writes under ``root`` (resolved) unless they are under ``allowed``."""
    global _hooked
    _protected[:] = [_as_dir(os.path.realpath(root)), _as_dir(os.path.realpath(allowed))]
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True


def unprotect() -> None:
    _protected.clear()


def _as_dir(path: str) -> str:
    return path.rstrip(os.sep) + os.sep


def _refused(target: Any) -> bool:
    if not _protected or not isinstance(target, (str, bytes, os.PathLike)):
        return False
    try:
        resolved = _as_dir(os.path.realpath(os.fsdecode(target)))
    except (TypeError, ValueError, OSError):
        return False
    root, allowed = _protected
    return resolved.startswith(root) and not resolved.startswith(allowed)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _protected:
        return
    if event == "open":
        if len(args) < 3:
            return
        path, mode, flags = args[0], args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
        )
        if writing and _refused(path):
            raise PermissionError(f"gradsafe's verification does not let user code write into the project: {path}")
    elif event in _CHANGING_EVENTS:
        targets = args[:2] if event == "os.rename" else args[1:2] if event in ("os.symlink", "os.link") else args[:1]
        for target in targets:
            if _refused(target):
                raise PermissionError(f"gradsafe's verification does not let user code change the project: {target}")
