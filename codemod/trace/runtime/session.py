"""Tracing a whole process: install the detector when the program imports torch, log to the session.

``arm`` runs at interpreter start-up (from the session's ``sitecustomize``).  It must not import
torch itself: most processes a command starts never use it (``pip``, a shell-out to ``git``), and
importing torch early would change import order and start-up time.  Instead a one-shot import hook
installs the detector the moment ``import torch`` completes, on the thread that imported it.

Events go to ``<session>/events-<pid>.jsonl`` as they happen (``events.EventWriter``); counts of
repeated events are written at exit.  A detector that fails to start leaves an ``error`` record
and the program runs untraced rather than failing.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .events import EventWriter

CONFIG = "config.json"


def arm(session: str) -> None:
    """Arrange for the detector to start in this process as soon as torch is imported."""
    config = json.loads((Path(session) / CONFIG).read_text(encoding="utf-8"))
    writer = EventWriter(session)

    def start() -> None:
        _start(config, writer)

    if "torch" in sys.modules:
        start()
    else:
        sys.meta_path.insert(0, _AfterImport("torch", start))


def _start(config: dict[str, Any], writer: EventWriter) -> None:
    try:
        import torch

        from .detector import Detector

        detector = Detector(config["root"], stop_at_first=config["stop_at_first"], on_event=writer.event,
                            checksum_saved=bool(config.get("checksum_saved", False)))
        detector.install()
    except Exception:  # the program must run even if tracing cannot
        writer.error(traceback.format_exc())
        return
    writer.process({"pid": os.getpid(), "argv": sys.argv, "torch": torch.__version__})

    def finish() -> None:
        detector.uninstall()
        writer.counts(detector.log)

    def forked() -> None:
        writer.forget()
        detector.log.clear()

    atexit.register(finish)
    os.register_at_fork(after_in_child=forked)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback`` once, right after the module ``name`` has been executed."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenCall(spec.loader, self.callback)
        return spec


class _ThenCall(importlib.abc.Loader):
    """A loader that runs the real loader, puts it back on the module, then calls ``callback``."""

    def __init__(self, loader: importlib.abc.Loader, callback: Callable[[], None]) -> None:
        self.loader = loader
        self.callback = callback

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.callback()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.loader, name)
