"""Reading a Python file into text, and turning text back into the same kind of bytes.

A ``SourceFile`` remembers everything needed to write a rewritten file back byte-faithfully: the
encoding (PEP 263 cookie or UTF-8), whether it started with a UTF-8 BOM, and the original bytes.
Line endings are *not* normalised: the text keeps ``\\r\\n`` and ``\\r`` exactly as they were, so a
rewritten file only differs where a fix changed it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from gradsafe.findings import Span

_BOM = codecs.BOM_UTF8


class DecodeError(Exception):
    """The bytes are not text in the encoding the file declares."""

    def __init__(self, message: str, line: int = 1, col: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Split on the line breaks Python's tokenizer knows (``\\r\\n``, ``\\r``, ``\\n``), keeping them.

    ``str.splitlines`` also splits on form feeds, ``\\x1c``, ``\\u2028`` and friends, which would
    put ``ast`` line numbers and ours out of step.
    """
    return _LINE.findall(text)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class SourceFile:
    """One decoded Python source file."""

    path: Path  # where it lives (Path("-") for stdin)
    display: str  # how messages name it: relative to the working directory, forward slashes
    raw: bytes
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    _ascii: bool = field(default=False, repr=False)

    @classmethod
    def from_bytes(cls, raw: bytes, path: Path, display: str | None = None) -> SourceFile:
        """Decode ``raw`` the way Python would, or raise ``DecodeError`` naming the position."""
        bom = raw.startswith(_BOM)
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        except SyntaxError as exc:  # wrong or unknown cookie, BOM with a non-UTF-8 cookie
            if "missing encoding declaration" not in str(exc):
                raise DecodeError(str(exc).split(" (")[0] if str(exc) else "invalid encoding declaration") from None
            # No cookie and the first lines are not UTF-8: decoding below reports the position.
            encoding = "utf-8"
        body = raw[len(_BOM) :] if bom else raw
        if encoding == "utf-8-sig":
            encoding = "utf-8"
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            line, col = 1, 0
            if isinstance(exc, UnicodeDecodeError):
                before = body[: exc.start]
                line = before.count(b"\n") + 1
                col = exc.start - (before.rfind(b"\n") + 1)
                message = f"cannot decode byte 0x{body[exc.start]:02x} as {encoding}"
            else:
                message = f"unknown encoding {encoding!r}"
            raise DecodeError(message, line, col) from None
        return cls(
            path=path,
            display=display if display is not None else path.as_posix(),
            raw=raw,
            text=text,
            encoding=encoding,
            bom=bom,
            _ascii=text.isascii(),
        )

    @classmethod
    def from_text(cls, text: str, path: Path | str = "<string>", display: str | None = None) -> SourceFile:
        """A source held only in memory (tests, stdin after decoding)."""
        p = Path(path)
        return cls(
            path=p, display=display or p.as_posix(), raw=text.encode("utf-8"), text=text, _ascii=text.isascii()
        )

    def encode(self, text: str) -> bytes:
        """Bytes for ``text`` in this file's encoding, with its BOM if it had one."""
        data = text.encode(self.encoding)
        return _BOM + data if self.bom else data

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def digest(self) -> str:
        return content_hash(self.raw)

    def char_col(self, line: int, byte_col: int) -> int:
        """Convert an ``ast`` column (UTF-8 bytes into the line) to a character column."""
        if self._ascii or byte_col <= 0:
            return byte_col
        try:
            text = self.lines[line - 1]
        except IndexError:
            return byte_col
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

    def span_of(self, node: object) -> Span:
        """The character span of an ``ast`` node (``lineno``/``col_offset``/``end_*``)."""
        line = node.lineno  # type: ignore[attr-defined]
        end_line = node.end_lineno or line  # type: ignore[attr-defined]
        return Span(
            line,
            self.char_col(line, node.col_offset),  # type: ignore[attr-defined]
            end_line,
            self.char_col(end_line, node.end_col_offset if node.end_col_offset is not None else node.col_offset),  # type: ignore[attr-defined]
        )
