"""A helper that writes its argument in place returns the new value instead, and its callers rebind it.

``def scale_(h, s): h.mul_(s)`` called as ``scale_(h, 2)`` changes the caller's tensor.  Making
the helper compute out of place *inside* is not enough: the call would silently become a no-op.
So the helper returns the tensor it computed and every call site assigns it back
(``h = scale_(h, 2)``), which gives the caller the same values while the tensor autograd saved
stays intact.

``FixKind.HELPER_RETURN`` parameters (``Params``:
``gradsafe.transforms.params.HelperReturnParams``; ``fix.target`` is the helper's ``FunctionDef``):

* ``helper``: its name; ``param``: the parameter it writes; ``index``: that parameter's position;
* ``calls``: the spans of every call of the helper in the file (the judge checked the helper is
  used only by calling it, and that each call passes a plain name for ``param``).

Inside the helper, when every write of ``param`` is an in-place method call or augmented
assignment on the bare name and every other read only consumes the value (arithmetic, a tensor
method that is not a view), each write becomes a rebinding (``h = h.mul(s)``, as the out-of-place
pass does it).  Otherwise ``param = param.clone()`` goes first and the writes stay as they are,
hitting the helper's own copy.  Then every bare ``return`` becomes ``return param`` and
``return param`` ends the body.

The whole fix is declined when a call site is not a statement of its own (``y = scale_(h, 2)``
or ``f(scale_(h, 2))`` use the ``None`` it returned), when a call passes the same name for another
argument too (the helper would see two different tensors), and when the helper already returns a
value, is a generator or ``async``, or assigns ``param`` to something else (its final value is no
longer the caller's tensor).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import libcst as cst

from gradsafe.analysis.optable import OpTable
from gradsafe.analysis.optable import load as load_optable
from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import HelperReturnParams as Params
from gradsafe.transforms.params import OutOfPlaceParams
from gradsafe.transforms.augmented import augmented_as_assignment, is_augmented_inplace
from gradsafe.transforms.binding_sites import locality_problem, own_nodes, parameter_names
from gradsafe.transforms.edits import Edits, run_pass
from gradsafe.transforms.out_of_place import chain_above, consumed, inplace_base, plan_call
from gradsafe.transforms.syntax import assignment, dotted_name, name_expression, name_uses, walk

_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _shape_problem(function: cst.FunctionDef, param: str) -> str | None:
    """Why this helper cannot simply return ``param`` at its end."""
    if function.asynchronous is not None:
        return "the helper is `async`; its calls are awaited, not statements"
    if param not in parameter_names(function):
        return f"`{param}` is not a parameter of the helper"
    for node in own_nodes(function):
        if isinstance(node, (cst.Yield, cst.Await)):
            return "the helper is a generator or coroutine"
        if isinstance(node, cst.Return) and node.value is not None:
            return "the helper already returns a value"
        if isinstance(node, (cst.Global, cst.Nonlocal)) and any(n.name.value == param for n in node.names):
            return f"`{param}` is declared global or nonlocal in the helper"
        if _binds(node, param):
            return f"the helper assigns `{param}` to another value, so its final value is not the caller's tensor"
    return None


def _binds(node: cst.CSTNode, name: str) -> bool:
    """Does ``node`` (an assignment, ``for``, ``with ... as``, ``:=`` or ``del``) bind the variable ``name``?"""
    if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.For, cst.NamedExpr, cst.CompFor, cst.Del)):
        return name in _bound_names(node.target)
    if isinstance(node, cst.AsName):
        return name in _bound_names(node.name)
    return False


def _bound_names(target: cst.CSTNode) -> set[str]:
    """Variables a target binds: ``a, (b, *c)`` binds a, b, c; ``h[0]`` and ``h.x`` bind nothing."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_bound_names(e.value) for e in target.elements))
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return set()


def _call_sites(index: NodeIndex, fix: Fix, param: str, position: int, edits: Edits) -> str | None:
    helper = Params.of(fix).helper
    for span in Params.of(fix).calls:
        call = index.find(span, cst.Call)
        if call is None or dotted_name(call.func) != helper:
            return f"no call of `{helper}` at a reported call site"
        statement = index.parent(call)
        if not (isinstance(statement, cst.Expr) and statement.value is call):
            return f"a call of `{helper}()` uses its result (None today); rebinding needs a statement of its own"
        arg = _argument_for(call, position, param)
        if arg is None or not isinstance(arg.value, cst.Name):
            return f"a call of `{helper}()` does not pass a plain name for `{param}`"
        name = arg.value.value
        if len(name_uses(call, name)) != 1:
            return f"a call of `{helper}()` passes `{name}` more than once; the helper would see two different tensors"
        problem = locality_problem(index, statement, name)
        if problem:
            return problem
        edits.add(statement, functools.partial(_rebind_call, name))
    return None


def _rebind_call(name: str, statement: cst.Expr) -> cst.Assign:
    """``helper(x)`` -> ``x = helper(x)``."""
    return assignment(name, statement.value, like=statement)


def _argument_for(call: cst.Call, position: int, param: str) -> cst.Arg | None:
    """The argument a call passes for the parameter at ``position`` named ``param``; None if a splat hides it."""
    positional = list(itertools.takewhile(lambda a: a.keyword is None and not a.star, call.args))
    if position < len(positional):
        return positional[position]
    if any(a.star for a in call.args):
        return None
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == param), None)


def _rebind_writes(index: NodeIndex, table: OpTable, function: cst.FunctionDef, param: str, edits: Edits) -> bool:
    """Turn every write of ``param`` into a rebinding, if each use of it is one this can account for."""
    draft = Edits()
    for node in own_nodes(function):
        if isinstance(node, _NESTED_SCOPES) and name_uses(node, param):
            return False  # a nested function may write it later, through the closure
        if not (isinstance(node, cst.Name) and node.value == param):
            continue
        parent = index.parent(node)
        if isinstance(parent, cst.AugAssign) and parent.target is node:
            if not is_augmented_inplace(parent):
                return False
            draft.add(parent, augmented_as_assignment)
        elif not _write_receiver(index, table, node, param, draft) and not consumed(index, table, node):
            return False
    edits.merge(draft)
    return True


def _write_receiver(index: NodeIndex, table: OpTable, name: cst.Name, param: str, edits: Edits) -> bool:
    """Plan ``param.op_(...)`` (a whole statement, possibly a chain) as a rebinding; False if it is not one."""
    attribute = index.parent(name)
    call = index.parent(attribute) if isinstance(attribute, cst.Attribute) and attribute.value is name else None
    if not (isinstance(call, cst.Call) and isinstance(attribute, cst.Attribute) and call.func is attribute):
        return False
    info = table.inplace_method(attribute.attr.value)
    if info is None or info.out_of_place is None or inplace_base(call, table) is not name:
        return False
    top = ([call, *chain_above(index, call, table)])[-1]
    statement = index.parent(top)
    if not (isinstance(statement, cst.Expr) and statement.value is top):
        return False
    params = OutOfPlaceParams(form="method", name=param, method=info.name, replacement=info.out_of_place)
    return plan_call(index, table, call, params, edits) is None


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _clone_first(function: cst.FunctionDef, param: str, edits: Edits) -> None:
    clone = assignment(param, cst.parse_expression(f"{param}.clone()"))

    def insert(body: cst.BaseSuite) -> cst.BaseSuite:
        if isinstance(body, cst.SimpleStatementSuite):
            return body.with_changes(body=[clone, *body.body])
        statements = list(body.body)
        at = 1 if statements and _is_docstring(statements[0]) else 0
        return body.with_changes(body=[*statements[:at], cst.SimpleStatementLine([clone]), *statements[at:]])

    edits.add(function.body, insert)


def _return_param(function: cst.FunctionDef, param: str, edits: Edits) -> None:
    for node in own_nodes(function):
        if isinstance(node, cst.Return):
            edits.add(node, lambda r: r.with_changes(value=name_expression(param),
                                                    whitespace_after_return=cst.SimpleWhitespace(" ")))
    returned = cst.Return(value=name_expression(param))

    def append(body: cst.BaseSuite) -> cst.BaseSuite:
        if isinstance(body, cst.SimpleStatementSuite):
            if isinstance(body.body[-1], (cst.Return, cst.Raise)):
                return body
            return body.with_changes(body=[*body.body, returned])
        statements = list(body.body)
        last = statements[-1]
        if isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], (cst.Return, cst.Raise)):
            return body
        return body.with_changes(body=[*statements, cst.SimpleStatementLine([returned])])

    edits.add(function.body, append)


def _exported(module: cst.Module, helper: str) -> bool:
    """Is ``helper`` listed in the module's ``__all__`` (so other files call it too)?"""
    for line in module.body:
        for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                [small.target] if isinstance(small, (cst.AugAssign, cst.AnnAssign)) else [])
            exports = small.value if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and any(
                dotted_name(t) == "__all__" for t in targets) else None
            if exports is not None and any(isinstance(n, cst.SimpleString) and n.evaluated_value == helper
                                           for n in walk(exports)):
                return True
    return False


def _plan(table: OpTable, index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    params = Params.of(fix)
    helper, param, position = params.helper, params.param or "", params.index
    function = index.find(fix.target, cst.FunctionDef)
    if function is None or function.name.value != helper or not isinstance(position, int):
        return f"no definition of `{helper}` at the target span"
    if _exported(index.module, helper):
        return f"`{helper}` is exported in `__all__`: callers in other files would silently lose the write"
    problem = _shape_problem(function, param) or _call_sites(index, fix, param, position, edits)
    if problem:
        return problem
    if not _rebind_writes(index, table, function, param, edits):
        _clone_first(function, param, edits)
    _return_param(function, param, edits)
    return None


class HelperReturnPass:
    kind = FixKind.HELPER_RETURN

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        table = load_optable()
        return run_pass(module, fixes, lambda index, fix, edits: _plan(table, index, fix, edits))


PASS = HelperReturnPass()
