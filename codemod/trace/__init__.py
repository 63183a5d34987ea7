"""``gradsafe trace``: run a real program and catch in-place overwrites of saved tensors as they happen.

Static analysis cannot see through other modules, callbacks, ``getattr(nn, name)`` or configs, and
PyTorch only complains at ``backward()``, naming the op that *needed* the tensor rather than the
line that overwrote it.  The trace closes that gap: it runs the program with a detector inside and
reports each hazard that actually occurs, with both lines::

    model.py:57:9: GS101 `s` saved by `sigmoid` at model.py:41, overwritten by `mul_` at model.py:57

API (nothing here imports torch; only the traced process does):

``run_traced(argv, *, root, scenario=None, stop_at_first=False, cwd=None, env=None, capture=False,
timeout=None) -> TraceResult``
    Runs ``["python", "train.py", ...]``, ``["pytest", "tests/test_x.py"]``,
    ``["python", "-m", "pytest", ...]`` (any command; every Python process it starts is traced),
    or ``scenario="pkg.mod:fn"`` / ``"path/to/file.py:fn"`` (a zero-argument function called in
    ``sys.executable``).  The program's output passes through unchanged (or is captured);
    ``TraceResult`` holds its ``returncode``, the ``findings`` (``TraceFinding``: ``path``,
    ``finding``, ``count``, ``format_line()``), the raw ``events``, and ``traced`` (False when no
    process imported torch with the detector, so an empty result proves nothing).

``findings_from_events(events, root) -> list[TraceFinding]``
    The conversion ``run_traced`` applies, for events collected in-process.

In-process, with torch imported by the caller::

    from gradsafe.trace.runtime.detector import Detector
    with Detector(root) as detector:   # stop_at_first=True raises InplaceHazard at the line
        train_one_step()
    findings = findings_from_events(detector.events, root)

``python -m gradsafe.trace [--root DIR] [--stop-at-first] (--scenario SPEC | -- COMMAND...)``
prints the findings as ``path:line:col: CODE message`` lines once the program has finished.

Rule codes: GS101 saved result overwritten, GS102 saved input overwritten, GS201 leaf mutated,
GS202 view of a leaf mutated, GS301 output of unbind/split/chunk mutated, GS302 ``out=`` with
grad, GS303 no_grad view mutated with grad on, GS401 ``.data`` write to a saved tensor (which
torch never reports), GS402 ``.detach()`` alias write to a saved tensor.

How it works: ``runtime.detector`` (saved-tensor hooks, a dispatch mode, a function mode),
``runtime.bootstrap`` (how the detector gets into the process), ``runner`` (sessions),
``report`` (events to findings).  Behaviour is preserved: the same ops run in the same order with
the same random numbers, nothing is printed, and where torch raises the traced program raises the
same error (see ``docs/trace.md`` for the limits).
"""

from gradsafe.trace.report import TraceFinding, findings_from_events
from gradsafe.trace.runner import TraceResult, run_traced

__all__ = ["TraceFinding", "TraceResult", "findings_from_events", "run_traced"]
