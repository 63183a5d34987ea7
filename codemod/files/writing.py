"""Writing a rewritten file back without ever leaving it half-written or clobbering someone's edit.

The new bytes go to a temporary file in the same directory, which then replaces the original with
``os.replace`` (atomic on POSIX and Windows).  So at any moment - including after ENOSPC, a
crash or Ctrl-C - the file on disk is either the old or the new version, and no temporary file
is left behind.

Before replacing, the file's current bytes are hashed again: if they differ from what was read
(an editor saved in the meantime), the write is refused.  The file keeps its permission bits (and
owner, where the process may set it), its encoding and BOM (``SourceFile.encode``) and its line
endings (the text was never normalised).  A read-only file is reported, never made writable.  A
symbolic link is followed: the file it points to is rewritten and the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gradsafe.files.loading import read_bytes
from gradsafe.files.source import SourceFile, content_hash


class WriteError(Exception):
    """The file could not be written; it is unchanged."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def write_source(source: SourceFile, new_text: str) -> None:
    """Replace ``source``'s file with ``new_text`` in its encoding, or raise ``WriteError``."""
    target = Path(os.path.realpath(source.path))
    data = source.encode(new_text)
    try:
        status = target.stat()
    except OSError as exc:
        raise WriteError(f"cannot write: {_describe(exc)}") from None
    if _read_only(target, status):
        raise WriteError("not written: the file is read-only")
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".gradsafe-tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(PermissionError):  # then only the permission bits are kept
                os.chown(temporary, status.st_uid, status.st_gid)
        if content_hash(read_bytes(target)) != source.digest:
            raise WriteError("not written: the file changed on disk since gradsafe read it; run gradsafe again")
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise WriteError(f"cannot write: {_describe(exc)}") from None
    except BaseException:
        _remove(temporary)
        raise


def _read_only(path: Path, status: os.stat_result) -> bool:
    """Read-only for this user.  Checked from the mode bits for the owner, because ``os.replace``
    only needs a writable directory and root may write anything: neither would notice."""
    if hasattr(os, "getuid") and status.st_uid == os.getuid():
        return not status.st_mode & stat.S_IWUSR
    return not os.access(path, os.W_OK)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
