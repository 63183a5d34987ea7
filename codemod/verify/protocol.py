"""The wire between the parent and a worker: one JSON object per line, over a pair of pipes.

The pipes are dedicated file descriptors, not stdin/stdout: the worker's fd 0 is ``/dev/null`` and
fds 1 and 2 go to a log file, so whatever user code prints cannot corrupt a message.  JSON keeps
the parent free of torch and of unpickling anything the worker (which runs user code) produced.

Messages from the parent are *jobs* (``{"op": "verify", ...}`` or ``{"op": "exit"}``).  Messages
from the worker are *events*, each with an ``"event"`` key:

* ``ready``: the worker imported torch (``torch_seconds``), and waits for a job;
* ``phase``: it starts a scenario (``scenario``) or a step of a target (``target``, ``phase``), so
  the parent knows what to blame and restarts its clock on a new target or scenario;
* ``scenario``: a scenario's outcome; ``result``: a target's verdict; ``done``: the job finished
  (``recycle`` asks for a fresh worker, because user code left threads running).
"""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message, whole (pipes may accept a large write in pieces)."""
    data = memoryview((json.dumps(message, allow_nan=True) + "\n").encode("utf-8"))
    while data:
        written = os.write(fd, data)
        data = data[written:]


class Closed(Exception):
    """The other end closed the pipe (the worker exited or crashed)."""


class Reader:
    """Reads messages from a pipe, waiting at most until a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()

    def read(self, deadline: float | None = None) -> dict[str, Any] | None:
        """The next message, or None when ``deadline`` (a ``time.monotonic()`` value) passes.

        Raises ``Closed`` at end of file, and ``ValueError`` for a line that is not a message.
        """
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ValueError(f"not a message: {line[:80]!r}")
                return message
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                ready, _, _ = select.select([self.fd], [], [], remaining)
                if not ready:
                    return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise Closed()
            self._buffer += chunk
