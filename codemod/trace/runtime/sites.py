"""Which frame on the Python stack is the user's code, and where exactly it is.

A hazard is reported at the innermost frame whose file lies under the project root and outside
torch, site-packages, the standard library and gradsafe itself: for ``nn.ReLU(inplace=True)``
that is the line calling the module, not a line inside ``torch/nn/functional.py``.

The answer for a file never changes, so it is cached per file name; finding the user frame costs
a few dictionary lookups per stack level.  Exact columns come from ``code.co_positions()``, which
is linear in the size of the function, so saves (which happen on every op that records a graph)
keep a cheap ``SiteRef`` and resolve it only if the saved tensor is ever reported.
"""

from __future__ import annotations

import functools
import itertools
import os
import site
import sysconfig
from collections.abc import Iterable
from types import CodeType, FrameType, TracebackType

from .events import Site


class SiteRef:
    """A frame's code and instruction, to become a ``Site`` when needed."""

    __slots__ = ("code", "lasti", "line")

    def __init__(self, code: CodeType, lasti: int, line: int) -> None:
        self.code = code
        self.lasti = lasti
        self.line = line

    def resolve(self) -> Site:
        return _resolve(self.code, self.lasti, self.line)


@functools.lru_cache(maxsize=4096)
def _resolve(code: CodeType, lasti: int, line: int) -> Site:
    """The site of one instruction (cached: a hazard in a loop resolves the same one each time)."""
    positions = getattr(code, "co_positions", None)  # Python 3.11+
    if positions is None or lasti < 0:
        return Site(code.co_filename, line)
    start, end_line, col, end_col = next(itertools.islice(positions(), lasti // 2, None), (None,) * 4)
    if start != line:  # no position recorded for this instruction
        return Site(code.co_filename, line)
    return Site(code.co_filename, line, col, end_line, end_col)


def ref_of(frame: FrameType) -> SiteRef:
    return SiteRef(frame.f_code, frame.f_lasti, frame.f_lineno)


def library_dirs() -> list[str]:
    """Directories whose code is never the user's: the standard library and installed packages."""
    dirs = [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    dirs += site.getsitepackages()
    if site.ENABLE_USER_SITE and site.USER_SITE:
        dirs.append(site.USER_SITE)
    return dirs


class SiteFinder:
    """Finds user frames: files under ``root`` and not under any of ``exclude``."""

    def __init__(self, root: str | os.PathLike[str], exclude: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.root = os.path.realpath(root)
        self._root_prefix = os.path.join(self.root, "")
        # A directory that contains the root cannot exclude it (tracing a project that lives in
        # site-packages still reports its own files).
        self._excluded = tuple(
            prefix
            for prefix in (os.path.join(os.path.realpath(d), "") for d in exclude)
            if not self._root_prefix.startswith(prefix)
        )
        self._user: dict[str, bool] = {}

    def is_user_file(self, filename: str) -> bool:
        known = self._user.get(filename)
        if known is None:
            known = self._user[filename] = self._classify(filename)
        return known

    def _classify(self, filename: str) -> bool:
        if filename.startswith("<"):  # <string>, <frozen importlib._bootstrap>, <stdin>
            return False
        path = os.path.join(os.path.realpath(filename), "")
        return path.startswith(self._root_prefix) and not path.startswith(self._excluded)

    def user_frame(self, frame: FrameType | None) -> FrameType | None:
        """The first user frame from ``frame`` outwards (``frame`` itself included)."""
        is_user = self._user
        while frame is not None:
            filename = frame.f_code.co_filename
            known = is_user.get(filename)
            if known is None:
                known = self.is_user_file(filename)
            if known:
                return frame
            frame = frame.f_back
        return None

    def raised_at(self, tb: TracebackType | None) -> tuple[FrameType, SiteRef] | None:
        """The innermost user frame an exception passed through, and where it left it."""
        found = None
        while tb is not None:
            frame = tb.tb_frame
            if self.is_user_file(frame.f_code.co_filename):
                found = (frame, SiteRef(frame.f_code, tb.tb_lasti, tb.tb_lineno))
            tb = tb.tb_next
        return found
