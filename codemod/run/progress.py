"""A progress bar on standard error, for runs long enough to need one and terminals that can show it.

The bar is a courtesy to a person watching a terminal, never output: it is drawn only when the
stream is a terminal (not a CI log, a pipe or a file, where it would be noise between real
messages), only after the work has taken ``DELAY`` seconds (a quick run shows nothing at all),
and it erases itself when the work is done.  So the bytes a run writes to a non-terminal
standard error are exactly its messages, whether or not a bar would have been shown.

One ``ProgressReporter`` serves a whole command; each stage of work is a ``task`` (files
analysed, functions verified), advanced once per item.  rich is imported only when a bar is
actually drawn.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, TextIO, TypeVar
from collections.abc import Callable, Iterable, Iterator

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

DELAY = 0.5  # seconds of work before a bar appears

T = TypeVar("T")


def is_terminal(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


class ProgressTask:
    """One stage of work with a known number of items."""

    def __init__(self, reporter: ProgressReporter, description: str, total: int) -> None:
        self._reporter = reporter
        self.description = description
        self.total = total
        self.completed = 0
        self._task_id: TaskID | None = None

    def advance(self) -> None:
        self.completed += 1
        bar = self._reporter.bar_for(self)
        if bar is not None:
            if self._task_id is None:
                self._task_id = bar.add_task(self.description, total=self.total, completed=self.completed)
            else:
                bar.update(self._task_id, completed=self.completed)


class ProgressReporter:
    """Progress bars on ``stream`` (standard error), shown only when it is a terminal and the work is slow.

    Use as a context manager, so the bar is erased before the report is printed::

        with ProgressReporter(sys.stderr) as progress:
            results = list(progress.track(process_paths(...), "analysing", total=len(files)))
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool = True,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled and is_terminal(stream)
        self.delay = delay
        self._clock = clock
        self._started = clock()
        self._bar: Progress | None = None

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def task(self, description: str, total: int) -> ProgressTask:
        return ProgressTask(self, description, total)

    def track(self, items: Iterable[T], description: str, total: int) -> Iterator[T]:
        """Yield ``items``, each one a finished piece of work, advancing a task of ``total`` steps."""
        task = self.task(description, total)
        for item in items:
            task.advance()
            yield item

    def bar_for(self, task: ProgressTask) -> Progress | None:
        """The live bar to draw ``task`` on, started once the work has become slow; None while hidden."""
        if self._bar is None:
            if not self.enabled or task.completed >= task.total or self._clock() - self._started < self.delay:
                return None
            self._bar = self._start_bar()
        return self._bar

    def _start_bar(self) -> Progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        bar.start()
        return bar
