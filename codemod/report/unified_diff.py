"""Unified diffs that ``git apply`` and ``patch -p1`` accept byte for byte.

The diff is computed on the file's *bytes* (original bytes against the rewritten text encoded the
way ``fix`` would write it), split on ``\\n`` only, as git and patch split:

* CRLF files keep their ``\\r`` inside every diff line, so the patch applies to the CRLF file;
* a BOM and a non-UTF-8 encoding (PEP 263 cookie) survive, because nothing is re-encoded;
* a last line without a newline gets the ``\\ No newline at end of file`` marker.

Headers are ``--- a/<path>`` / ``+++ b/<path>`` with the display path (relative to the working
directory, forward slashes), so ``git apply`` / ``patch -p1`` run from that directory apply it.
A path containing a space is followed by a tab, as git writes it, so that ``patch`` reads the
whole name.
"""

from __future__ import annotations

import difflib

from gradsafe.results import Edit

NO_NEWLINE = b"\\ No newline at end of file\n"


def _split(data: bytes) -> list[bytes]:
    """Lines with their endings, split on ``\\n`` only (a lone ``\\r`` is not a line break to git)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def unified_diff(old: bytes, new: bytes, path: str, *, context: int = 3) -> bytes:
    """The unified diff turning ``old`` into ``new`` for the file ``path`` (empty when equal)."""
    if old == new:
        return b""
    name = path.encode("utf-8", "surrogateescape")
    # Like git: a name with a space ends with a tab, where patch stops reading the file name.
    end = b"\t" if b" " in name else b""
    out = []
    for line in difflib.diff_bytes(
        difflib.unified_diff,
        _split(old),
        _split(new),
        fromfile=b"a/" + name + end,
        tofile=b"b/" + name + end,
        n=context,
    ):
        out.append(line)
        if not line.endswith(b"\n"):
            out.append(b"\n" + NO_NEWLINE)
    return b"".join(out)


def diff_edit(edit: Edit) -> bytes:
    """The diff of one rewrite, as ``gradsafe diff`` prints it."""
    return unified_diff(edit.source.raw, edit.source.encode(edit.new_text), edit.source.display)
