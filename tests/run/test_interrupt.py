"""Ctrl-C during ``gradsafe fix``: out promptly, nothing half-written, the written files named.

The subprocess test sends a real SIGINT to ``gradsafe fix --jobs 2`` while it is still fixing (the
tree is large enough that it cannot be done yet); the bound on how long it may take to exit is
generous on purpose (the machine may be loaded), the target of one second is measured by hand.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradsafe.cli import command_run
from gradsafe.files.source import SourceFile
from gradsafe.results import Edit, FileResult

MODEL = """\
# padding, so that the tree is worth two workers (gradsafe.run.parallel.MIN_BYTES_PER_WORKER)
""" + "# " + "x" * 1000 + """

import torch


def forward{index}(x):
    gate = torch.sigmoid(x)
    gate.mul_(2.0)
    act = torch.tanh(x)
    act.add_(1.0)
    return gate * act
"""


def _tree(root: Path, files: int) -> dict[Path, str]:
    texts = {}
    for index in range(files):
        path = root / f"pkg{index // 100}" / f"model_{index:04d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MODEL.format(index=index), encoding="utf-8")
        texts[path] = path.read_text(encoding="utf-8")
    return texts


def _wait_for_workers(pid: int) -> None:
    """Until ``pid`` has started its worker pool (so it is fixing files), at most two minutes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(_parent_of(stat) == pid for stat in Path("/proc").glob("[0-9]*/stat")):
            time.sleep(0.5)
            return
        time.sleep(0.1)
    raise AssertionError("gradsafe fix started no worker within two minutes")


def _parent_of(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker processes in /proc")
def test_sigint_during_fix_with_two_jobs_exits_promptly_and_writes_nothing_half(tmp_path: Path) -> None:
    originals = _tree(tmp_path, 1200)
    process = subprocess.Popen(
        [sys.executable, "-m", "gradsafe", "fix", "--no-verify", "--no-cache", "--isolated", "--jobs", "2", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_workers(process.pid)  # past start-up, into the fixing
    assert process.poll() is None, "the run ended before it could be interrupted; make the tree larger"
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("gradsafe fix did not exit within 30 s of Ctrl-C") from None
    assert time.monotonic() - sent < 30
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.rglob("*.gradsafe-tmp")), "a temporary file was left behind"
    for path, text in originals.items():
        now = path.read_text(encoding="utf-8")
        # Interrupted while fixing: nothing is written; a file is either untouched or wholly fixed.
        assert now == text or ("mul_(" not in now and "add_(" not in now), path
    if "already written" not in stderr:
        assert "before any file was written" in stderr
        assert all(path.read_text(encoding="utf-8") == text for path, text in originals.items())


def _result(path: Path, new_text: str) -> FileResult:
    source = SourceFile.from_text(path.read_text(encoding="utf-8"), path, path.name)
    return FileResult(path.name, edit=Edit(source, new_text))


def test_an_interrupt_while_writing_names_the_files_already_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [tmp_path / name for name in ("a.py", "b.py", "c.py")]
    for path in paths:
        path.write_text("x = 1\n", encoding="utf-8")
    results = [_result(path, "x = 2\n") for path in paths]
    real = command_run.write_result
    calls = []

    def interrupted_at_the_third(result: FileResult) -> None:
        calls.append(result.display)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(result)

    monkeypatch.setattr(command_run, "write_result", interrupted_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        command_run.write_results(results)
    err = capsys.readouterr().err
    assert "2 file(s) already written" in err
    assert "a.py" in err and "b.py" in err and "c.py" not in err
    assert [p.read_text(encoding="utf-8") for p in paths] == ["x = 2\n", "x = 2\n", "x = 1\n"]


def test_an_interrupt_before_the_first_write_says_nothing_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")

    def interrupted(result: FileResult) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(command_run, "write_result", interrupted)
    with pytest.raises(KeyboardInterrupt):
        command_run.write_results([_result(path, "x = 2\n")])
    assert "before any file was written" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "x = 1\n"
