"""The ``sitecustomize`` of a traced process (copied into the session directory, which is put first
on ``PYTHONPATH``).

Why ``sitecustomize``: Python imports it at start-up in *every* process that inherits the
environment, whatever the command is: ``python train.py``, ``python -m pytest``, a ``pytest``
console script, the workers pytest-xdist or a ``spawn`` DataLoader start.  A ``python -c``
wrapper around ``runpy`` would only reach the first process, and only commands it knows how to
unwrap.  (Processes started with ``-I``, ``-E`` or ``-S`` skip it and are not traced; the runner
notices that no process reported in.)

Nothing else lives in the session directory that Python could import, so the program's own
imports resolve exactly as they would untraced: the gradsafe runtime is loaded from its file under
a private module name, without adding gradsafe's source tree to ``sys.path``.  A
``sitecustomize`` that this one shadows is found further along ``sys.path`` and run as well.
"""

import importlib.machinery
import importlib.util
import json
import os
import sys
from types import ModuleType

_RUNTIME = "_gradsafe_trace_runtime"


def _run_shadowed() -> None:
    """Run the ``sitecustomize`` Python would have imported if the session were not first."""
    here = os.path.dirname(os.path.realpath(__file__))
    rest = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _load_runtime(directory: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        _RUNTIME, os.path.join(directory, "__init__.py"), submodule_search_locations=[directory]
    )
    assert spec is not None and spec.loader is not None  # a file location always has both
    package = importlib.util.module_from_spec(spec)
    sys.modules[_RUNTIME] = package
    spec.loader.exec_module(package)
    return importlib.import_module(_RUNTIME + ".session")


def _arm() -> None:
    session = os.environ.get("GRADSAFE_TRACE_SESSION")  # set by codemod/trace/runner.py
    if not session or _RUNTIME in sys.modules:  # a trace inside a trace arms once, for the inner one
        return
    with open(os.path.join(session, "config.json"), encoding="utf-8") as config:
        runtime = json.load(config)["runtime"]
    _load_runtime(runtime).arm(session)


if __name__ == "sitecustomize":  # importing the module from the package does nothing
    _run_shadowed()
    _arm()
