"""The bad-input matrix: one `gradsafe fix` run over a tree holding every kind of bad file at once.

Each bad file gets one clear line naming it (no traceback), the run goes on and fixes the good
files, and no byte of any file it could not fix changes.  Unit tests of each mechanism live with
their module (reading, discovery, writing, pipeline); this is the whole run as a user meets it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

HAZARD = (
    "import torch\n"
    "from torch import nn\n"
    "\n"
    "\n"
    "class M(nn.Module):\n"
    "    def forward(self, x):\n"
    "        y = torch.sigmoid(x)\n"
    "        y.mul_(2)\n"
    "        return y\n"
)
FIXED_LINE = "y = y.mul(2)"


def gradsafe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradsafe", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: file bytes, or what a link points to."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_file() and stat.S_ISREG(path.stat().st_mode):
            found[name] = path.read_bytes()
    return found


def build(root: Path) -> dict[str, str]:
    """Write the matrix under ``root``; returns, per bad path, the text its one error line must hold."""
    bad: dict[str, str] = {}

    def put(name: str, data: bytes, expect: str | None = None) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if expect is not None:
            bad[name] = expect
        return path

    put("syntax_error.py", b"def f(:\n    pass\n", "E999 SyntaxError")
    put("python2.py", b'print "hello"\nexec "x = 1"\n', "E999 SyntaxError")
    put("null_bytes.py", b"x = 1\x00\n", "E999")
    put("undecodable.py", b"s = '\xff\xfe caf\xe9'\n", "E902 cannot decode")
    put("wrong_cookie.py", b"# -*- coding: ascii -*-\ns = 'caf\xc3\xa9'\n", "E902")
    put("unknown_cookie.py", b"# -*- coding: klingon -*-\nx = 1\n", "E902")
    put("deep_nesting.py", ("x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n").encode(), "deep_nesting.py:")
    put("deep_blocks.py", "".join(" " * i + "if x:\n" for i in range(200)).encode() + b" " * 200 + b"pass\n",
        "deep_blocks.py:")
    # Good files in every shape of text, each with the same fixable hazard.
    put("good/plain.py", HAZARD.encode())
    put("good/bom.py", b"\xef\xbb\xbf" + HAZARD.encode())
    put("good/crlf.py", HAZARD.replace("\n", "\r\n").encode())
    lines = HAZARD.encode().split(b"\n")
    put("good/mixed.py", b"\r\n".join(lines[:4]) + b"\n" + b"\n".join(lines[4:]))
    put("good/tabs.py", HAZARD.replace("        ", "\t\t").replace("    ", "\t").encode())
    put("good/form_feed.py", HAZARD.replace("\n\n\nclass", "\n\n\x0c\nclass").encode())
    put("good/latin1.py", b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + HAZARD.encode())
    put("good/empty.py", b"")
    # 10 MB: analysed in about a second.  (Without a hazard: LibCST needs most of a minute to
    # rewrite a file this size, which this test need not pay for.)
    big = "import torch\n" + "".join(f"CONSTANT_{i} = torch.zeros({i})  # {'pad ' * 13}\n" for i in range(110_000))
    put("big.py", big.encode())
    assert (root / "big.py").stat().st_size > 10_000_000
    (root / "pkg.py").mkdir()  # a directory named like a Python file: walked, not read
    put("pkg.py/inside.py", HAZARD.encode())
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    bad["dangling.py"] = "dangling symbolic link"
    (root / "loop").symlink_to(root)
    os.mkfifo(root / "pipe.py")
    bad["pipe.py"] = "named pipe"
    readonly = put("readonly.py", HAZARD.encode(), "readonly.py")
    readonly.chmod(0o444)
    return bad


@pytest.mark.skipif(not hasattr(os, "mkfifo") or sys.platform == "win32", reason="POSIX file kinds")
def test_one_run_over_every_bad_input(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    bad = build(root)
    before = snapshot(root)

    result = gradsafe("fix", "--no-verify", "--isolated", ".", cwd=root)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "RecursionError" not in output

    for name, expected in bad.items():
        lines = [line for line in output.splitlines() if line.startswith(name + ":")]
        assert len(lines) == 1, (name, output)
        assert expected in lines[0], (name, lines[0])

    after = snapshot(root)
    good = sorted(name for name in before if name.startswith(("good/", "pkg.py/")) and name != "good/empty.py")
    for name in good:
        text = after[name]
        assert isinstance(text, bytes) and text != before[name], name
        assert FIXED_LINE.encode() in text, name
        # Encoding, BOM and line endings are those of the file as it was.
        assert text.startswith(b"\xef\xbb\xbf") == before[name].startswith(b"\xef\xbb\xbf")  # type: ignore[union-attr]
        assert text.count(b"\r\n") == before[name].count(b"\r\n"), name  # type: ignore[union-attr]
    assert after["good/latin1.py"].startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")  # type: ignore[union-attr]
    assert after["good/tabs.py"].count(b"\t") == before["good/tabs.py"].count(b"\t")  # type: ignore[union-attr]
    assert b"\x0c" in after["good/form_feed.py"]  # type: ignore[operator]
    # Nothing else changed: the bad files, the empty file, the links; no temporary file is left.
    unchanged = {name: data for name, data in before.items() if name not in good}
    assert {name: after.get(name) for name in unchanged} == unchanged
    assert sorted(after) == sorted(before)
    assert stat.S_IMODE((root / "readonly.py").stat().st_mode) == 0o444, "a read-only file is reported, not chmod-ed"

    # A second run fixes nothing more and reports the same bad files.
    again = gradsafe("fix", "--no-verify", "--isolated", ".", cwd=root)
    assert snapshot(root) == after
    again_output = again.stdout + again.stderr
    for name in bad:
        assert len([line for line in again_output.splitlines() if line.startswith(name + ":")]) == 1, (name, again_output)
