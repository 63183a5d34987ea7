"""What verification concludes about one rewritten function: a verdict, a reason, the evidence.

These values cross the process boundary (the worker builds them, the parent reads them), so each
has a plain-JSON form (``to_json`` / ``from_json``).  Nothing here imports torch.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Verdict(str, enum.Enum):
    """The outcome for one target, from best to worst news for the hunk.

    ``verified``: original and rewrite ran on the same inputs and agree on forward outputs, the
    gradients of every input and parameter, and the caller-visible state of their arguments.
    ``repaired``: the original raised an autograd in-place error (or ran with wrong gradients), and
    the rewrite agrees with an independent reference computed from the original.
    ``changed``: an *unsafe* fix (the repair of a silent bug, ``--unsafe-fixes``): the rewrite
    changes the value the code returns, as the finding says it must, and its backward runs.  That
    the new value is the right one is what the finding claims; the fixtures show it against a
    reference written by hand.  An unsafe fix that changes nothing is ``rejected``.
    ``rejected``: something differed or the rewrite failed; the hunk must not be emitted.
    ``unverified``: no usable inputs, or the original itself could not be run.
    """

    VERIFIED = "verified"
    REPAIRED = "repaired"
    CHANGED = "changed"
    REJECTED = "rejected"
    UNVERIFIED = "unverified"

    @property
    def emit_by_default(self) -> bool:
        """Whether ``diff`` and ``fix`` emit a rewrite with this verdict (``--unverified`` adds ``unverified``)."""
        return self in (Verdict.VERIFIED, Verdict.REPAIRED, Verdict.CHANGED)


@dataclass(frozen=True)
class Mismatch:
    """One value that differed: which one, by how much, and where.

    ``name`` says what the value is, in the words of the report: ``"return"``, ``"return['loss']"``,
    ``"grad of x"``, ``"self.fc.weight after the call"``.  ``max_abs``/``max_rel`` are None when the
    values are not numeric or cannot be compared element-wise (``note`` says why: a shape, a dtype,
    a missing value).
    """

    name: str
    max_abs: float | None = None
    max_rel: float | None = None
    index: tuple[int, ...] | None = None
    note: str = ""

    def describe(self) -> str:
        if self.max_abs is None:
            return f"{self.name} differs: {self.note}" if self.note else f"{self.name} differs"
        where = f" at [{', '.join(map(str, self.index))}]" if self.index else ""
        rel = "" if self.max_rel is None or math.isinf(self.max_rel) else f", rel {self.max_rel:.3g}"
        text = f"{self.name} differs: max abs {self.max_abs:.3g}{rel}{where}"
        return f"{text} ({self.note})" if self.note else text

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "index": list(self.index) if self.index is not None else None,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mismatch:
        index = data.get("index")
        return cls(
            name=data["name"],
            max_abs=data.get("max_abs"),
            max_rel=data.get("max_rel"),
            index=tuple(index) if index is not None else None,
            note=data.get("note", ""),
        )


@dataclass(frozen=True)
class TargetVerdict:
    """The verdict for one rewritten function (a *target*) of one file.

    ``detail`` is one line for the report: why the verdict, or why no inputs were found and how to
    provide them.  ``how`` says where the inputs came from (``"scenario train.py:run"``,
    ``"example tests/gradsafe_examples.py:example__scale_"``, ``"synthesized"``) and is ``""`` when
    nothing ran.
    """

    path: Path
    qualname: str
    verdict: Verdict
    detail: str
    how: str = ""
    mismatches: tuple[Mismatch, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "qualname": self.qualname,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "how": self.how,
            "mismatches": [m.to_json() for m in self.mismatches],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetVerdict:
        return cls(
            path=Path(data["path"]),
            qualname=data["qualname"],
            verdict=Verdict(data["verdict"]),
            detail=data["detail"],
            how=data.get("how", ""),
            mismatches=tuple(Mismatch.from_json(m) for m in data.get("mismatches", ())),
        )
