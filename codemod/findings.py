"""What the analysis reports: spans, findings, and the fix each finding asks for.

These are plain, immutable values.  The analysis (``gradsafe.analysis``) creates them from the
stdlib ``ast``; the rewrite passes (``transforms``) read them to locate the LibCST nodes they edit;
the reports (``gradsafe.report``) print them.  Nothing in this module imports torch or LibCST.

Coordinates: lines are 1-based, columns are 0-based *character* offsets (not the UTF-8 byte offsets
that ``ast`` uses; ``SourceFile.span_of`` converts), and ``end_col`` is exclusive.  This is the same
convention as LibCST's ``PositionProvider``, so a pass finds the node for a span by comparing
positions directly.  Reports show columns 1-based.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping, TypeVar


@dataclass(frozen=True, order=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int

    def contains(self, other: "Span") -> bool:
        return (self.line, self.col) <= (other.line, other.col) and (other.end_line, other.end_col) <= (
            self.end_line,
            self.end_col,
        )

    def overlaps(self, other: "Span") -> bool:
        return (self.line, self.col) < (other.end_line, other.end_col) and (other.line, other.col) < (
            self.end_line,
            self.end_col,
        )


class Confidence(str, enum.Enum):
    """How sure the judge is that the hazard is real.

    ``certain``: every premise comes from the op table and values the analysis knows.
    ``possible``: a premise is assumed, e.g. that a caller's tensor requires grad, or that an op
    whose other operand is an unknown value saves its input.
    """

    CERTAIN = "certain"
    POSSIBLE = "possible"


class FixKind(str, enum.Enum):
    """Which rewrite pass carries out a fix.  One pass module in ``transforms/`` per kind."""

    OUT_OF_PLACE = "out-of-place"  # x.add_(y) -> x = x.add(y); x += y -> x = x + y; out= -> assignment
    INPLACE_FLAG = "inplace-flag"  # F.relu(x, inplace=True) / nn.ReLU(inplace=True) -> inplace off
    CLONE = "clone"  # insert `y = y.clone()` before the first mutation that needs it
    NO_GRAD = "no-grad"  # wrap parameter/buffer updates in `with torch.no_grad():`
    PARAMETER_LOCAL = "parameter-local"  # self.weight.mul_(m) -> weight = self.weight * m; uses -> weight
    HELPER_RETURN = "helper-return"  # helper mutating its argument returns it; call sites rebind
    ROW_VIEWS = "row-views"  # for r in t -> for r in (t[i] for i in range(len(t))): rows by indexing, not unbind
    REORDER = "reorder"  # swap two adjacent runs of statements (one optimizer's update before another's)
    ASSIGN_BACK = "assign-back"  # x.clamp(0, 1) as a statement -> x = x.clamp(0, 1) (an unsafe fix)


class FixSafety(str, enum.Enum):
    """Whether a fix is provably equivalent from the source alone.

    ``safe``: the rewrite computes the same values whenever the original's backward succeeds
    (no other live alias, dtype and shape cannot change).  ``needs-verification``: equivalence
    depends on something the static analysis cannot see (dtype promotion, broadcasting, unknown
    aliases); verification must run it before the hunk is emitted.
    """

    SAFE = "safe"
    NEEDS_VERIFICATION = "needs-verification"


class Applicability(str, enum.Enum):
    """Whether ``fix`` and ``diff`` apply a fix by default (ruff's convention).

    ``safe``: the rewrite keeps the outputs and gradients (every hazard fix: verification proves
    they agree).  ``unsafe``: the rewrite changes what the code computes *on purpose*, the repair
    of a silent bug (a discarded result assigned back); applied only with ``--unsafe-fixes``, and
    verified by showing that the value the code returns changes and backward still runs.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


_P = TypeVar("_P", bound="FixParams")
_PARAMS_TYPES: dict[FixKind, type["FixParams"]] = {}


def omitted_at_default(default: Any) -> Any:
    """A ``FixParams`` field that the stored form leaves out while it holds ``default``."""
    return field(default=default, metadata={"omitted_at_default": True})


class FixParams:
    """What a pass needs to know about one fix: the base of each pass's frozen ``Params`` dataclass.

    A subclass names its kind (``class CloneParams(FixParams, kind=FixKind.CLONE)``); the classes
    live with the passes, in ``gradsafe.transforms.params``.  Passes read attributes.  The mapping
    view (``keys``, ``[]``, ``values``) is the *stored* form, what the result cache writes: every
    field in declaration order, but those declared with ``omitted_at_default`` while at their default.
    """

    kind: ClassVar[FixKind]

    def __init_subclass__(cls, kind: FixKind | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            if kind in _PARAMS_TYPES:
                raise ValueError(f"two parameter classes for {kind}")
            cls.kind = kind
            _PARAMS_TYPES[kind] = cls

    @classmethod
    def of(cls: type[_P], fix: "Fix") -> _P:
        """``fix``'s parameters, which must be of this class (a pass asks for its own)."""
        if not isinstance(fix.params, cls):
            raise TypeError(f"a {fix.kind.value} fix has {type(fix.params).__name__}, not {cls.__name__}")
        return fix.params

    def keys(self) -> list[str]:
        return [
            f.name
            for f in fields(self)  # type: ignore[arg-type]
            if not (f.metadata.get("omitted_at_default") and getattr(self, f.name) == f.default)
        ]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def values(self) -> list[Any]:
        return [getattr(self, key) for key in self.keys()]


def params_type(kind: FixKind) -> type[FixParams]:
    """The parameter class of ``kind``'s pass.

    The classes are declared beside the passes (``gradsafe.transforms.params``, which imports this
    module) and register themselves here when that module is imported: whoever builds a ``Fix``
    from a stored mapping (the result cache, the JSON report reader) imports it first.
    """
    try:
        return _PARAMS_TYPES[kind]
    except KeyError:
        raise LookupError(f"no parameter class for {kind.value} fixes: import gradsafe.transforms.params") from None


@dataclass(frozen=True)
class Fix:
    """A fix the analysis asks a pass to make.

    ``target`` is the span of the node the pass edits; it can differ from the finding's span (an
    ``inplace=True`` flag is flipped where the module is constructed, not where it is called).
    ``params`` is the kind's ``FixParams`` (see ``gradsafe.transforms.params``).  A mapping (the
    stored form, as the result cache gives it back) or nothing is turned into that class on
    construction; nothing means every field at its default.
    """

    kind: FixKind
    target: Span
    description: str
    safety: FixSafety = FixSafety.SAFE
    params: FixParams = None  # type: ignore[assignment]  # filled in by __post_init__
    applicability: Applicability = Applicability.SAFE

    @property
    def unsafe(self) -> bool:
        return self.applicability is Applicability.UNSAFE

    def __post_init__(self) -> None:
        if not isinstance(self.params, FixParams):
            stored: Mapping[str, Any] = self.params or {}
            object.__setattr__(self, "params", params_type(self.kind)(**stored))
        elif self.params.kind is not self.kind:
            raise TypeError(f"a {self.kind.value} fix cannot take {type(self.params).__name__}")

    def __hash__(self) -> int:  # spans + kind identify a fix
        return hash((self.kind, self.target, self.description))


@dataclass(frozen=True)
class Related:
    """Another location that explains a finding ("saved by sigmoid() here")."""

    span: Span
    note: str


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    span: Span
    confidence: Confidence = Confidence.CERTAIN
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    # Why there is no fix, when there is none ("the value has another live name: `alias`").
    unfixable_reason: str | None = None
    # Qualified name of the enclosing function ("Net.forward"), "" at module level.
    scope: str = ""

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.span.line, self.span.col, self.code)
