"""Atomic writes: permissions, encodings, refusal on concurrent change, failure leaves no trace."""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

import pytest

from gradsafe.files import writing
from gradsafe.files.loading import read_source
from gradsafe.files.writing import WriteError, write_source


def read(path: Path):
    source = read_source(path, path.name)
    assert not hasattr(source, "code"), source
    return source


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".gradsafe-tmp"))


def test_replaces_content_and_keeps_permission_bits(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    path.chmod(0o751)
    write_source(read(path), "x = 2\n")
    assert path.read_text() == "x = 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("raw", "new_text", "expected"),
    [
        (b"x = 1\r\ny = 2\r\n", "x = 1\r\ny = 3\r\n", b"x = 1\r\ny = 3\r\n"),
        (codecs.BOM_UTF8 + b"x = '\xc3\xa9'\n", "x = 'é!'\n", codecs.BOM_UTF8 + b"x = '\xc3\xa9!'\n"),
        (
            b"# coding: latin-1\nx = '\xe9'\n",
            "# coding: latin-1\nx = '\xe9\xe9'\n",
            b"# coding: latin-1\nx = '\xe9\xe9'\n",
        ),
        (b"x = 1", "x = 2", b"x = 2"),
    ],
    ids=["crlf", "bom", "latin-1", "no-final-newline"],
)
def test_encoding_bom_and_line_endings_survive(tmp_path: Path, raw: bytes, new_text: str, expected: bytes) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    write_source(read(path), new_text)
    assert path.read_bytes() == expected


def test_refuses_when_the_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    source = read(path)
    path.write_text("x = 1  # edited in the editor meanwhile\n")
    with pytest.raises(WriteError, match="changed on disk since gradsafe read it"):
        write_source(source, "x = 2\n")
    assert path.read_text() == "x = 1  # edited in the editor meanwhile\n"
    assert leftovers(tmp_path) == []


def test_read_only_file_is_reported_not_chmodded(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    path.chmod(0o444)
    with pytest.raises(WriteError, match="read-only"):
        write_source(read(path), "x = 2\n")
    assert path.read_text() == "x = 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_disk_full_leaves_the_original_and_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    source = read(path)
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writing.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(WriteError, match="No space left on device"):
        write_source(source, "x = 2\n")
    assert path.read_text() == "x = 1\n"
    assert leftovers(tmp_path) == []


def test_interrupt_before_the_rename_leaves_no_half_written_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    source = read(path)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(writing.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_source(source, "x = 2\n")
    assert path.read_text() == "x = 1\n"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_a_symlink_stays_a_symlink_and_its_target_is_written(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text("x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    write_source(read(link), "x = 2\n")
    assert link.is_symlink()
    assert target.read_text() == "x = 2\n"
