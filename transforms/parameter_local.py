"""A parameter written in ``forward`` becomes a local: ``self.weight.mul_(m)`` -> ``weight = self.weight.mul(m)``.

Writing a ``Parameter`` in place with grad mode on raises (it is a leaf that requires grad), and
the obvious out-of-place rewrite ``self.weight = self.weight * m`` raises too: ``nn.Module``
refuses to store a plain tensor under a parameter's name (``TypeError: cannot assign
'torch.FloatTensor' as parameter 'weight'``).  So the new value goes into a local variable and the
rest of the method reads that local instead of the attribute.  The parameter itself is never
assigned: this pass only ever writes ``<local> = ...`` and replaces later reads of the attribute.

``FixKind.PARAMETER_LOCAL`` parameters (``Params``:
``gradsafe.transforms.params.ParameterLocalParams``; ``fix.target`` is the writing statement):

* ``attr``: the written attribute (``"self.weight"``); ``local``: the new local name (``"weight"``,
  which the judge checked is unused in the function);
* ``method`` and ``replacement`` (``self.weight.mul_(m)``), or ``operator`` (``self.weight += x``);
* ``function``: the span of the enclosing ``FunctionDef``.

Declined, with the reason, when the local would not hold the right value everywhere the attribute
was read: the write is not directly in the function body (inside ``if``/``for``/``with``/``try``
the local is unbound on some path); the method assigns or deletes the attribute again later; or
later code hands ``self`` to something that could read the attribute - ``self`` passed as a value,
``super()``, or ``self.<name>(...)`` where ``<name>`` is not a submodule built in ``__init__``
(another method reads ``self.weight``, not the local).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import ParameterLocalParams as Params
from gradsafe.transforms.augmented import augmented_value, is_augmented_inplace
from gradsafe.transforms.edits import Edits, run_pass
from gradsafe.transforms.syntax import assignment, dotted_name, name_uses, rename_method, walk

_DEFERRED = (cst.FunctionDef, cst.Lambda, cst.GeneratorExp, cst.ClassDef)


def _new_value(statement: cst.BaseSmallStatement, attr: str, params: Params) -> cst.BaseExpression | None:
    """The out-of-place value of the write, or None when the statement is not the planned write."""
    if isinstance(statement, cst.AugAssign):
        if params.operator and is_augmented_inplace(statement) and dotted_name(statement.target) == attr:
            return augmented_value(statement)
        return None
    call = statement.value if isinstance(statement, cst.Expr) else None
    method, replacement = params.method, params.replacement
    if (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == method
            and replacement and dotted_name(call.func.value) == attr):
        return rename_method(call, replacement)
    return None


class _LaterReads(cst.CSTVisitor):
    """Reads of ``attr`` in the code after the write, and the first thing that makes the local wrong."""

    def __init__(self, index: NodeIndex, attr: str, submodules: frozenset[str]) -> None:
        super().__init__()
        self.index = index
        self.attr = attr
        self.root = attr.split(".")[0]
        self.submodules = submodules
        self.reads: list[cst.Attribute] = []
        self.problem: str | None = None

    def _stop(self, reason: str) -> bool:
        self.problem = self.problem or reason
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if dotted_name(node) == self.attr:
            if self._stored(node):
                return self._stop(f"`{self.attr}` is assigned or deleted again later in the function")
            self.reads.append(node)
            return False
        if isinstance(node.value, cst.Name) and node.value.value == self.root:
            call = self.index.parent(node)
            if isinstance(call, cst.Call) and call.func is node and node.attr.value not in self.submodules:
                called = f"{self.root}.{node.attr.value}"
                return self._stop(f"`{called}(...)` may read `{self.attr}`, which would not see the local")
            return False
        return True

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.root:
            self._stop(f"`{self.root}` is passed on later, and whatever receives it reads `{self.attr}`, not the local")
        elif node.value == "super":
            self._stop(f"`super()` later in the function may read `{self.attr}`")

    def visit_Param(self, node: cst.Param) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def _stored(self, node: cst.Attribute) -> bool:
        """Is ``node`` (part of) an assignment, ``for``, ``with ... as`` or ``del`` target?"""
        child: cst.CSTNode = node
        parent = self.index.parent(node)
        while isinstance(parent, (cst.Element, cst.Tuple, cst.List, cst.StarredElement)):
            child, parent = parent, self.index.parent(parent)
        return isinstance(parent, (cst.AssignTarget, cst.Del, cst.AsName)) or (
            isinstance(parent, (cst.AnnAssign, cst.For)) and parent.target is child
        )


def _submodules(index: NodeIndex, function: cst.FunctionDef, root: str) -> frozenset[str]:
    """Attributes of ``self`` built by a call in ``__init__`` that does not involve ``self`` (submodules)."""
    block = index.parent(function)
    cls = index.parent(block) if block is not None else None
    if not isinstance(cls, cst.ClassDef) or not isinstance(cls.body, cst.IndentedBlock):
        return frozenset()
    methods = {s.name.value for s in cls.body.body if isinstance(s, cst.FunctionDef)}
    init = next((s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
    found: set[str] = set()
    for line in init.body.body if init is not None and isinstance(init.body, cst.IndentedBlock) else ():
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and not name_uses(small.value, root):
                for target in small.targets:
                    t = target.target
                    if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == root:
                        found.add(t.attr.value)
    return frozenset(found - methods)


def _plan(index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    params = Params.of(fix)
    attr, local = params.attr or "", params.local or ""
    statement = index.find(fix.target, (cst.Expr, cst.AugAssign))
    function = index.find(params.function, cst.FunctionDef) if params.function else None
    if statement is None or function is None:
        return "no write statement or enclosing function at the target span"
    if _new_value(statement, attr, params) is None:
        return f"the statement is not a write of `{attr}` of the planned form"
    line = index.parent(statement)
    block = index.parent(line) if line is not None else None
    in_body = isinstance(line, cst.SimpleStatementLine) and isinstance(block, cst.IndentedBlock)
    if not (in_body and index.parent(block) is function):
        return f"the write is not directly in the body of `{function.name.value}`: `{local}` is unbound on some path"
    if name_uses(function, local):
        return f"`{local}` is already used in `{function.name.value}`"
    root = attr.split(".")[0]
    position = block.body.index(line)
    before = [*block.body[:position], *line.body[: line.body.index(statement)]]
    if any(isinstance(n, _DEFERRED) and name_uses(n, root) for s in before for n in walk(s)):
        return f"code defined before the write (a nested function or generator) reads `{root}` when it runs later"
    reader = _LaterReads(index, attr, _submodules(index, function, root))
    for later in (*line.body[line.body.index(statement) + 1:], *block.body[position + 1:]):
        later.visit(reader)
    if reader.problem:
        return reader.problem
    edits.add(statement, lambda s: assignment(local, _new_value(s, attr, params), like=s))
    for read in reader.reads:
        edits.add(read, lambda a: cst.Name(local, lpar=a.lpar, rpar=a.rpar))
    return None


class ParameterLocalPass:
    kind = FixKind.PARAMETER_LOCAL

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        return run_pass(module, fixes, _plan)


PASS = ParameterLocalPass()
