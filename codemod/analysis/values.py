"""The abstract values the judge tracks: references (what a name holds) and storages (what they share).

Autograd's in-place checks are about *storage*: a view shares its base's storage and version
counter, a ``.detach()`` alias shares both, a ``.data`` alias shares the storage but not the
version counter.  So the analysis keeps two layers:

* a ``Storage`` per allocation site, holding the facts that every alias sees: is it a leaf that
  requires grad, a module parameter or buffer, a caller's tensor, which ops saved it for backward;
* a ``Ref`` per name, holding how *this* name reaches the storage (directly, as a view, as a
  multi-output view, through ``.detach()``/``.data``) and whether it requires grad.

Everything is immutable; the interpreter copies the environment at branches and joins it after.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from collections.abc import Iterable

from gradsafe.findings import Span


class Tri(enum.IntEnum):
    """Three-valued facts: known no, unknown, known yes."""

    NO = 0
    MAYBE = 1
    YES = 2

    def join(self, other: Tri) -> Tri:
        return self if self is other else Tri.MAYBE

    @staticmethod
    def any(values: Iterable[Tri]) -> Tri:
        """Logical or: YES if any is YES, NO if all are NO, else MAYBE."""
        result = Tri.NO
        for v in values:
            if v is Tri.YES:
                return Tri.YES
            if v is Tri.MAYBE:
                result = Tri.MAYBE
        return result


class Kind(enum.Enum):
    TENSOR = "tensor"
    UNKNOWN = "unknown"  # could be anything, a tensor included
    VALUE = "value"  # a Python number, string, bool, None: never mutated in place
    MODULE = "module"  # an nn.Module instance
    PARAMS = "params"  # an iterable of parameters (model.parameters(), param_groups' params)
    SEQUENCE = "sequence"  # a tuple/list whose elements are known
    FUNCTION = "function"  # an in-file function, class or method


class View(enum.Enum):
    NONE = "none"
    VIEW = "view"  # slicing, view, transpose, ...: shares storage and version counter
    MULTI = "multi"  # an output of unbind/split/chunk


class Alias(enum.Enum):
    NONE = "none"
    DETACH = "detach"  # shares storage and version counter, does not require grad
    DATA = "data"  # shares storage only: writes are invisible to autograd
    NUMPY = "numpy"  # a NumPy array on the tensor's memory (`t.numpy()`): writes are invisible to autograd


@dataclass(frozen=True)
class Save:
    """A pending save for backward: ``op`` (on line ``span.line``) keeps this tensor as ``role``."""

    op: str  # how to name it in a message: "sigmoid()", "nn.Linear", "mul"
    span: Span
    role: str  # "output" | "input"
    via: str = ""  # the in-file helper inside which the save happened, if any
    # False when the save depends on a value that only *may* require grad (an argument, an
    # unknown value): the hazard is then "possible".
    certain: bool = True


@dataclass(frozen=True)
class Storage:
    leaf: Tri = Tri.NO  # a leaf that requires grad
    param: bool = False  # an nn.Parameter / module parameter
    buffer: bool = False  # a module buffer or persistent tensor attribute of a module
    arg: str | None = None  # the caller's tensor, passed as this parameter
    saves: frozenset[Save] = frozenset()
    fresh: bool = False  # allocated here (factory, clone): private, nothing else can see it
    label: str = ""  # how it was made, for messages ("torch.randn(..., requires_grad=True)")
    origin: Span | None = None

    def join(self, other: Storage) -> Storage:
        if self is other or self == other:
            return self
        return Storage(
            leaf=self.leaf.join(other.leaf) if self.leaf is not other.leaf else self.leaf,
            param=self.param or other.param,
            buffer=self.buffer or other.buffer,
            arg=self.arg if self.arg == other.arg else (self.arg or other.arg),
            saves=self.saves | other.saves,
            fresh=self.fresh and other.fresh,
            label=self.label or other.label,
            origin=self.origin or other.origin,
        )


@dataclass(frozen=True)
class ModuleInfo:
    """What the analysis knows about an ``nn.Module`` instance."""

    api: str | None  # canonical torch class ("torch.nn.ReLU"), or None when unknown
    inplace: bool = False  # constructed with inplace=True
    site: Span | None = None  # the construction call (where an inplace flag gets flipped)
    layers: tuple[ModuleInfo, ...] | None = None  # children of nn.Sequential, in order
    user_class: str | None = None  # an nn.Module subclass defined in the same file
    certain: bool = True  # False when picked from several alternatives (a config dict)
    eval_mode: bool = False  # dropout is the identity
    frozen: bool = False  # `.requires_grad_(False)` was called: its parameters do not require grad
    label: str | None = None  # how the constructor is spelled when the class is unknown ("getattr(nn, act)")

    @property
    def display(self) -> str:
        if self.user_class:
            return self.user_class
        if self.api:
            return self.api.replace("torch.nn.", "nn.", 1)
        return self.label or "module"


@dataclass(frozen=True)
class Producer:
    """The op that produced a value (for messages, and to know it saved its output)."""

    op: str
    span: Span
    # Iterating, unpacking or ``list()``-ing a tensor unbinds it: the plain name iterated, when the
    # multi-output view came from that (the fix indexes the rows instead, see ``remedies.row_views``).
    iterated: str | None = None


@dataclass(frozen=True)
class Ref:
    kind: Kind
    sids: frozenset[int] = frozenset()
    grad: Tri = Tri.NO  # requires grad
    view: View = View.NONE
    alias: Alias = Alias.NONE
    nograd_view: bool = False  # a view made under no_grad of a base that requires grad
    module: ModuleInfo | None = None
    items: tuple[Ref, ...] | None = None  # elements of a tuple/list of known length
    element: Ref | None = None  # the element of a homogeneous sequence (chunk outputs, parameters)
    function: str | None = None  # qualname, for Kind.FUNCTION
    producer: Producer | None = None
    # An unknown value that came out of a call we could not see into (or an attribute we don't
    # know): hazards that depend on it are "possible", and we never invent saves for it.
    opaque: bool = False
    # An integer or bool tensor (a comparison, `.long()`, a factory with `dtype=torch.int64`): it
    # never requires grad, so writing it cannot raise for a leaf nor corrupt a gradient through it.
    integer: bool = False

    @property
    def is_tensorish(self) -> bool:
        return self.kind in (Kind.TENSOR, Kind.UNKNOWN)

    @property
    def known_tensor(self) -> bool:
        """Certainly a tensor, not a value that only may be one: not the result of a call the table
        does not know (``torch._foreach_mul`` gives a list) nor a join with an unknown value (a dict,
        a string).  Only iterating such a value is ``unbind``."""
        return self.kind is Kind.TENSOR and not self.opaque

    def join(self, other: Ref) -> Ref:
        # Identity first: the copies of an environment share their refs, and `==` compares every field.
        if self is other or self == other:
            return self
        if self.kind is not other.kind:
            kind = Kind.UNKNOWN
            if {self.kind, other.kind} <= {Kind.TENSOR, Kind.UNKNOWN}:
                kind = Kind.TENSOR if Kind.TENSOR in (self.kind, other.kind) else Kind.UNKNOWN
        else:
            kind = self.kind
        return Ref(
            kind=kind,
            sids=self.sids | other.sids,
            grad=self.grad.join(other.grad) if self.grad is not other.grad else self.grad,
            view=self.view if self.view is other.view else (View.MULTI if View.MULTI in (self.view, other.view) else View.VIEW),
            alias=self.alias if self.alias is other.alias else Alias.NONE,
            nograd_view=self.nograd_view or other.nograd_view,
            module=self.module if self.module == other.module else None,
            items=self.items if self.items == other.items else None,
            element=self.element if self.element == other.element else (
                self.element.join(other.element) if self.element is not None and other.element is not None else None
            ),
            function=self.function if self.function == other.function else None,
            producer=self.producer if self.producer == other.producer else None,
            opaque=self.opaque or other.opaque,
            integer=self.integer and other.integer,
        )

    def with_(self, **changes: object) -> Ref:
        return replace(self, **changes)  # type: ignore[arg-type]


VALUE = Ref(Kind.VALUE)
UNKNOWN = Ref(Kind.UNKNOWN, grad=Tri.MAYBE, opaque=True)


def _unseen_parameter(facts: Storage) -> Storage:
    """The join of a parameter's facts with a path that never touched it, where it is what a module
    makes it: a leaf that requires grad.  A parameter frozen on one path only
    (``if freeze: p.requires_grad = False``) may then require grad."""
    if facts.param and facts.leaf is Tri.NO:
        return replace(facts, leaf=Tri.MAYBE)
    return facts


@dataclass
class State:
    """The environment at one program point: names -> refs, storage id -> facts."""

    env: dict[str, Ref] = field(default_factory=dict)
    heap: dict[int, Storage] = field(default_factory=dict)
    # Has backward run on every path to here (YES), on none (NO), on some (MAYBE)?
    backward: Tri = Tri.NO

    def copy(self) -> State:
        return State(dict(self.env), dict(self.heap), self.backward)

    def join(self, other: State) -> State:
        env = dict(self.env)
        for name, ref in other.env.items():
            mine = env.get(name)
            env[name] = ref if mine is None else mine.join(ref)
        heap = dict(self.heap)
        mine_reached: set[int] | None = None
        other_reached: set[int] | None = None
        for sid, facts in other.heap.items():
            mine_facts = heap.get(sid)
            if mine_facts is None or mine_facts is facts or mine_facts == facts:
                heap[sid] = _unseen_parameter(facts) if mine_facts is None else mine_facts
                continue
            if _local(mine_facts) and _local(facts):
                # A storage no name reaches on one side is garbage there (the tensor an earlier
                # loop iteration made at this site, rebound on this path): its stale facts (saves)
                # must not flow into the tensor the other side made there.
                if mine_reached is None:
                    mine_reached, other_reached = self.reached(), other.reached()
                assert other_reached is not None
                if sid not in mine_reached and sid in other_reached:
                    heap[sid] = facts
                    continue
                if sid in mine_reached and sid not in other_reached:
                    continue
            heap[sid] = mine_facts.join(facts)
        for sid in self.heap:
            if sid not in other.heap:
                heap[sid] = _unseen_parameter(heap[sid])
        return State(env, heap, self.backward.join(other.backward))

    def reached(self) -> set[int]:
        """The storages some name reaches (through containers' elements too)."""
        found: set[int] = set()
        pending = list(self.env.values())
        while pending:
            ref = pending.pop()
            found |= ref.sids
            if ref.items:
                pending.extend(ref.items)
            if ref.element is not None:
                pending.append(ref.element)
        return found

    def storages(self, ref: Ref) -> list[tuple[int, Storage]]:
        return [(sid, self.heap[sid]) for sid in sorted(ref.sids) if sid in self.heap]

    def update(self, sids: Iterable[int], **changes: object) -> None:
        for sid in sids:
            facts = self.heap.get(sid)
            if facts is not None:
                self.heap[sid] = replace(facts, **changes)  # type: ignore[arg-type]

    def add_save(self, sids: Iterable[int], save: Save) -> None:
        for sid in sids:
            facts = self.heap.get(sid)
            if facts is not None and save not in facts.saves:
                self.heap[sid] = replace(facts, saves=facts.saves | {save})

    def clear_saves(self) -> None:
        """Backward ran: every pending save is released."""
        for sid, facts in self.heap.items():
            if facts.saves:
                self.heap[sid] = replace(facts, saves=frozenset())

    def names_of(self, sids: frozenset[int]) -> list[str]:
        """Names whose ref may reach any of ``sids``."""
        return sorted(name for name, ref in self.env.items() if ref.sids & sids)


def _local(facts: Storage) -> bool:
    """A tensor the analysed code made itself (not the caller's, a parameter or a buffer)."""
    return facts.arg is None and not facts.param and not facts.buffer
