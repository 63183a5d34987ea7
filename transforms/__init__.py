"""Rewrite passes: one module per fix kind, each editing a LibCST tree.

The hazard analysis (``gradsafe.analysis``) decides what is wrong and which kind of fix it needs,
and hands each pass a list of ``Fix`` values (see ``gradsafe.findings``).  A pass locates the nodes
by span (``gradsafe.transforms.locate``), edits them with LibCST so that comments and formatting survive,
and reports what it applied and what it declined, with a reason.  A pass never decides *whether*
something is a hazard.

Each pass reads its fix's typed parameters, declared in ``gradsafe.transforms.params`` (named
``Params`` in the pass module).  The engine (``gradsafe.fix.loop``) runs passes in a loop with re-analysis in between, so a pass only
ever sees spans that refer to the exact module it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from collections.abc import Sequence

from gradsafe.findings import Fix, FixKind

if TYPE_CHECKING:  # the analysis imports ``gradsafe.transforms.params``, and must not load LibCST
    import libcst as cst


@dataclass
class PassResult:
    module: cst.Module
    applied: list[Fix] = field(default_factory=list)
    # A fix the pass could not carry out without changing behaviour, and why.
    declined: list[tuple[Fix, str]] = field(default_factory=list)


class Pass(Protocol):
    kind: FixKind

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult: ...


def get_pass(kind: FixKind) -> Pass | None:
    """The pass that carries out fixes of ``kind``, or None when no pass exists (yet)."""
    return _passes().get(kind)


def available_kinds() -> frozenset[FixKind]:
    return frozenset(_passes())


_PASSES: dict[FixKind, Pass] | None = None


def _passes() -> dict[FixKind, Pass]:
    global _PASSES
    if _PASSES is None:
        import importlib
        import pkgutil

        found: dict[FixKind, Pass] = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            if info.name.startswith("_") or info.name in {"locate", "params"}:
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            instance = getattr(module, "PASS", None)
            if instance is not None:
                if instance.kind in found:
                    raise RuntimeError(f"two passes for {instance.kind}: {info.name}")
                found[instance.kind] = instance
        _PASSES = found
    return _PASSES
