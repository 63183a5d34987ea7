"""``--shard K/N``: split the files of a run over N CI jobs, deterministically, by path.

A file belongs to shard ``1 + h mod N`` where ``h`` is a SHA-256 of its display path (relative to
the working directory, forward slashes).  So every runner of a CI matrix, started from the same
checkout directory, computes the same partition without talking to the others; adding or
removing a file moves no other file to another shard; and Python's per-process ``hash``
randomisation plays no part.

Problems with paths named on the command line (a missing file) are assigned the same way, so
exactly one shard reports each of them and merged reports (``gradsafe merge-reports``) hold them
once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class ShardError(ValueError):
    """A ``--shard`` value that is not ``K/N`` with ``1 <= K <= N``."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written on the command line
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ShardError(f"--shard must look like K/N (e.g. 2/4), got {text!r}")
        index, count = int(match[1]), int(match[2])
        if count < 1 or not 1 <= index <= count:
            raise ShardError(f"--shard {text.strip()}: K must be between 1 and N, and N at least 1")
        return cls(index, count)

    def owns(self, display_path: str) -> bool:
        return shard_number(display_path, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_number(display_path: str, count: int) -> int:
    """The 1-based shard of ``count`` that ``display_path`` belongs to."""
    digest = hashlib.sha256(display_path.encode("utf-8", "surrogateescape")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count
