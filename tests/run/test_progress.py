"""The progress bar: drawn on a terminal once a run is slow, and never anywhere else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers.report_repo import invoke, make_repo, pin_passes

from gradsafe.run.progress import DELAY, ProgressReporter


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(
    stream: io.StringIO, clock: FakeClock, *, seconds_per_item: float, items: int = 10, enabled: bool = True
) -> list[int]:
    """Process ``items`` items of which 4 are consumed, each taking ``seconds_per_item``."""
    seen = []
    with ProgressReporter(stream, enabled=enabled, clock=clock) as progress:
        for item in progress.track(range(items), "checking", total=items):
            clock.now += seconds_per_item
            seen.append(item)
            if len(seen) == 4:
                break
    return seen


@pytest.fixture(autouse=True)
def _terminal_environment(monkeypatch) -> None:
    monkeypatch.delenv("TERM", raising=False)
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_a_slow_run_on_a_terminal_shows_a_bar() -> None:
    stream = FakeTerminal()
    assert run(stream, FakeClock(), seconds_per_item=DELAY / 2) == [0, 1, 2, 3]
    output = stream.getvalue()
    assert "checking" in output
    assert "4/10" in output


def test_a_quick_run_shows_nothing() -> None:
    stream = FakeTerminal()
    run(stream, FakeClock(), seconds_per_item=DELAY / 100)
    assert stream.getvalue() == ""


def test_nothing_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    run(stream, FakeClock(), seconds_per_item=DELAY * 10)
    assert stream.getvalue() == ""


def test_nothing_when_disabled_or_dumb(monkeypatch) -> None:
    stream = FakeTerminal()
    run(stream, FakeClock(), seconds_per_item=DELAY * 10, enabled=False)
    monkeypatch.setenv("TERM", "dumb")
    run(stream, FakeClock(), seconds_per_item=DELAY * 10)
    assert stream.getvalue() == ""


def test_no_bar_once_the_work_is_done() -> None:
    """A run that becomes slow on its last item has nothing left to show."""
    stream = FakeTerminal()
    with ProgressReporter(stream, clock=(clock := FakeClock())) as progress:
        task = progress.task("checking", total=2)
        task.advance()
        clock.now += DELAY * 10
        task.advance()
    assert stream.getvalue() == ""


def test_the_command_line_writes_only_messages_to_a_non_terminal_stderr(tmp_path: Path, monkeypatch) -> None:
    pin_passes(monkeypatch)
    monkeypatch.chdir(make_repo(tmp_path / "repo"))
    monkeypatch.setattr("gradsafe.run.progress.DELAY", 0.0)
    for command in ("check", "fix"):
        result = invoke(command, *(["--no-verify"] if command == "fix" else []), ".")
        assert result.stderr == "", command
    assert invoke("diff", "--no-verify", "--quiet", ".").stderr == "broken.py:1:7: E999 SyntaxError: invalid syntax\n"
