"""Out-of-place rewrites: ``x.add_(y)`` -> ``x = x.add(y)``, ``x += y`` -> ``x = x + y``.

An in-place write changes the one tensor object that every name bound to it sees.  The
out-of-place rewrite computes a new tensor instead and binds it to the written name, so code that
reads the name afterwards sees the same values as before, while the old tensor (the one autograd
saved) stays intact.  The judge has already checked that no *other* live name holds the tensor
(``gradsafe.analysis.remedies``); this pass makes sure the *binding* is right wherever the write
sits, and declines where Python gives no way to bind it.

``FixKind.OUT_OF_PLACE`` parameters (``Params``:
``gradsafe.transforms.params.OutOfPlaceParams``; ``fix.target`` is the mutating node):

* ``form``: ``"method"`` (the call ``recv.op_(...)``), ``"function"`` (``torch.relu_(x)``,
  ``F.relu_(x)``), ``"out"`` (``torch.add(a, b, out=buf)``) or ``"augassign"`` (the statement
  ``x += y``; any operator but ``@=``, which is not in-place);
* ``name``: the dotted name that holds the written tensor (``"y"``, ``"self.h"``), or ``None`` for
  a fresh temporary nothing names (``s.sqrt().add_(eps)``), which only needs the method renamed;
* ``method``/``replacement``, ``function``/``replacement``, ``operator``: what to rewrite into;
  names come from the op table (``gradsafe.analysis.optable``) through the judge;
* ``read_later``: the judge saw ``name`` read after the statement (absent counts as true);
* ``through_data``: the write goes through ``name.data`` (``y.data.clamp_(max=1)``); the rewrite
  drops the ``.data`` and binds the differentiable result (``y = y.clamp(max=1)``).

An in-place call returns the tensor it wrote, so ``x.add_(1).mul_(2)`` writes ``x`` twice: the
whole chain of in-place calls above the target becomes out-of-place, and the top of the chain is
the value that gets bound.  Where that value sits decides how:

* an expression statement is rebound: ``x.add_(1).mul_(2)`` -> ``x = x.add(1).mul(2)``;
* an assignment binds both names, ``x`` first so that later targets see it as the original
  did: ``y = x.clamp_(0)`` -> ``x = y = x.clamp(0)``;
* ``return``/annotated assignment get a statement before them: ``return self.h.tanh_()`` ->
  ``self.h = self.h.tanh()`` then ``return self.h``;
* anywhere else (call arguments, conditions, comprehensions) an assignment expression:
  ``f(x.add_(1))`` -> ``f(x := x.add(1))``, parenthesised wherever Python requires it.

When the name is not read again the call is only renamed (``return h.tanh_()`` ->
``return h.tanh()``, ``y = x.clamp_(0)`` -> ``y = x.clamp(0)``) - but only for a variable local
to its function, outside loops and comprehensions (where the write feeds the next evaluation),
and when nothing else in the statement reads it.

Declined, with the reason: a name that is not a local variable of its function (rebinding a
closure variable or a global from inside a function makes it local); an argument of a function
that returns nothing (its callers see the write only through their tensor: that needs the
helper-return fix); an attribute written inside an expression (no assignment expression can bind
it); a write inside a lambda (it may run any number of times); a comprehension's iterable,
iteration variable or class-body comprehension (``:=`` is a syntax error there), or a
comprehension that keeps the written tensor while later iterations write it again; a chain that
reads the name after the write (``y.mul_(2).add_(y)``); and a statement that reads the name
again elsewhere, in an order against the write that a rebinding cannot keep.

The other passes are this rewrite applied to a parameter, a helper's argument, or an
``inplace=True`` flag: they use the out-of-place call chain and ``plan_call`` from here, and the
pieces beside it: applying a set of edits (``gradsafe.transforms.edits``), small CST helpers
(``gradsafe.transforms.syntax``), augmented assignment as a binary operation
(``gradsafe.transforms.augmented``) and where a written value sits
(``gradsafe.transforms.binding_sites``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
from gradsafe.analysis.optable import OpTable
from gradsafe.analysis.optable import load as load_optable
from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.augmented import augmented_as_assignment, is_augmented_inplace
from gradsafe.transforms.binding_sites import (
    Site,
    argument_problem,
    locality_problem,
    site_of,
)
from gradsafe.transforms.edits import Edits, run_pass
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import OutOfPlaceParams as Params
from gradsafe.transforms.syntax import (
    assignment,
    dotted_name,
    input_argument,
    keyword_argument,
    name_expression,
    name_uses,
    rename_method,
    without_argument,
)


# ---------------------------------------------------------------------- in-place call chains
def inplace_base(expr: cst.BaseExpression, table: OpTable) -> cst.BaseExpression:
    """The tensor an expression is, seen through in-place calls (which return their receiver)."""
    while (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
           and table.inplace_method(expr.func.attr.value) is not None):
        expr = expr.func.value
    return expr


def chain_above(index: NodeIndex, call: cst.Call, table: OpTable) -> list[cst.Call]:
    """The in-place calls made on the result of ``call`` (``.mul_(2)`` in ``x.add_(1).mul_(2)``), in order."""
    links: list[cst.Call] = []
    node: cst.CSTNode = call
    while True:
        attribute = index.parent(node)
        if not (isinstance(attribute, cst.Attribute) and attribute.value is node):
            return links
        link = index.parent(attribute)
        if not (isinstance(link, cst.Call) and link.func is attribute and table.inplace_method(attribute.attr.value)):
            return links
        links.append(link)
        node = link


def _rename_chain(links: Sequence[cst.Call], table: OpTable, edits: Edits) -> None:
    """Make the leading in-place calls of a chain out-of-place, up to the first that has no such form.

    Calls after it stay in-place; they write the fresh result, which nothing else holds.
    """
    for link in links:
        info = table.inplace_method(link.func.attr.value)  # type: ignore[attr-defined]
        if info is None or info.out_of_place is None:
            return
        edits.add(link, _renamer(info.out_of_place))


def _renamer(method: str) -> Callable[[cst.Call], cst.Call]:
    """The edit that renames a call's method to ``method`` (one closure per link of the chain)."""
    return lambda call: rename_method(call, method)


# ---------------------------------------------------------------------- the pass
def plan_call(index: NodeIndex, table: OpTable, call: cst.Call, params: Params, edits: Edits) -> str | None:
    """Plan the out-of-place form of the in-place ``call`` and the binding of its result.

    ``params`` are an out-of-place fix's parameters (forms ``method``, ``function`` and ``out``).
    Returns the reason to decline, or None with the edits recorded in ``edits``.
    """
    form = params.form
    name = params.name
    if form == "method":
        reason = _method_call(table, call, params, edits)
    elif form == "function":
        reason = _function_call(table, call, params, edits)
    elif form == "out":
        reason = _out_call(call, name, edits)
    else:
        reason = f"unknown out-of-place form {form!r}"
    if reason is not None:
        return reason
    links = chain_above(index, call, table)
    _rename_chain(links, table, edits)
    if name is None:
        return None  # a nameless fresh temporary: renaming was all it needed
    root = name.split(".")[0]
    if any(name_uses(arg, root) for link in links for arg in link.args):
        return f"`{root}` is read again later in the chain of in-place calls, after the write"
    top = links[-1] if links else call
    return _bind(index, table, top, name, bool(params.read_later), edits)


def _method_call(table: OpTable, call: cst.Call, params: Params, edits: Edits) -> str | None:
    method, replacement, name = params.method, params.replacement, params.name
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != method or not replacement:
        return f"the target is not a call of `{method}`"
    receiver = inplace_base(func.value, table)
    if params.through_data:
        if not (isinstance(func.value, cst.Attribute) and func.value.attr.value == "data"
                and dotted_name(func.value.value) == name):
            return f"the write does not go through `{name}.data` directly"
        edits.add(func.value, lambda data: data.value.with_changes(lpar=data.lpar, rpar=data.rpar))
    elif name is not None and dotted_name(receiver) != name:
        return f"the call does not write `{name}`"
    edits.add(call, lambda c: rename_method(c, replacement))
    return None


def _function_call(table: OpTable, call: cst.Call, params: Params, edits: Edits) -> str | None:
    function, replacement, name = params.function or "", params.replacement or "", params.name
    module, _, inplace = function.rpartition(".")
    replacement_module, _, out_of_place = replacement.rpartition(".")
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value != inplace:
        return f"`{inplace}` is not called through its module here, so `{out_of_place}` may not be in scope"
    if module != replacement_module or not out_of_place:
        return f"`{replacement}` is not in the module of `{function}`"
    written = input_argument(call)
    if written is None or dotted_name(inplace_base(written.value, table)) != name:
        return f"the call does not write `{name}`"
    edits.add(call, lambda c: c.with_changes(func=c.func.with_changes(attr=cst.Name(out_of_place))))
    return None


def _out_call(call: cst.Call, name: str | None, edits: Edits) -> str | None:
    out = keyword_argument(call, "out")
    if out is None or name is None or dotted_name(out.value) != name:
        return f"the call has no `out={name}`"
    edits.add(call, lambda c: without_argument(c, "out"))
    return None


def _bind(index: NodeIndex, table: OpTable, top: cst.BaseExpression, name: str, read_later: bool,
          edits: Edits) -> str | None:
    """Bind ``name`` to the out-of-place value ``top`` where it stands (see the module docstring)."""
    site = site_of(index, top)
    if site.problem:
        return site.problem
    if site.in_lambda:
        return "the write is inside a lambda, which may run any number of times"
    statement = site.statement
    plain = "." not in name
    root = name.split(".")[0]
    # Reads of the name in the statement outside the chain: the write's own arguments run before it.
    inside = {id(n) for n in name_uses(top, root)}
    elsewhere = [n for n in name_uses(statement, root) if id(n) not in inside]
    locality = locality_problem(index, statement, name)
    rename_only = (not read_later and not site.repeated and not elsewhere
                   and (not plain or (locality is None and isinstance(site.scope, cst.FunctionDef))))
    parent = index.parent(top)
    if isinstance(parent, cst.Expr) and parent.value is top:
        if locality:
            return locality
        edits.add(parent, lambda e: assignment(name, e.value, like=e))
        return None
    if rename_only or _rebound_by(statement, name, root, elsewhere, site):
        return None
    if isinstance(parent, cst.Assign) and parent.value is top:
        if locality:
            return locality
        if any(dotted_name(t.target) == name for t in parent.targets):
            return None  # `x = x.clamp_(0)`: the rename binds it already
        edits.add(parent, lambda a: a.with_changes(targets=[_target_like(name, a.targets[0]), *a.targets]))
        return None
    if isinstance(parent, (cst.Return, cst.AnnAssign)) and parent.value is top:
        if locality:
            return locality
        _split_before(index, parent, name, edits)
        return None
    # Inside a larger expression: only an assignment expression can bind it.
    if not plain:
        return f"`{name}` is read later and an attribute cannot be assigned inside an expression"
    if site.in_iterable:
        return "`:=` is not allowed in a comprehension's iterable"
    if name in site.comprehension_targets:
        return f"`{name}` is a comprehension iteration variable, which `:=` cannot rebind"
    if site.in_comprehension and isinstance(site.scope, cst.ClassDef):
        return "`:=` is not allowed in a comprehension in a class body"
    # Reads in a compound statement's blocks, or in an assignment's targets, come after the write.
    body_reads = _in_body(index, statement)
    targets = statement.targets if isinstance(statement, cst.Assign) else ()
    after_value = {id(n) for t in targets for n in name_uses(t, root)}
    if any(not body_reads(n) and id(n) not in after_value for n in elsewhere):
        return f"`{name}` is read elsewhere in the same statement; rebinding it would change what that read sees"
    if site.in_comprehension and not consumed(index, table, top):
        return "the comprehension keeps the written tensor while later iterations write it again"
    if locality:
        return locality
    # A positional argument takes `name := value` as it is; everywhere else it needs parentheses.
    bare = isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star
    edits.add(top, lambda t: _walrus(name, t, parenthesized=not bare))
    return None


def _rebound_by(statement: cst.CSTNode, name: str, root: str, elsewhere: Sequence[cst.Name], site: Site) -> bool:
    """Does the statement assign ``name`` itself, and read it nowhere but in the write (``x = f(x.mul_(2))``)?

    Then what the write leaves in ``name`` is replaced by the assignment anyway: renaming the call
    is enough, unless a comprehension evaluates the write more than once.
    """
    if not isinstance(statement, cst.Assign) or site.in_comprehension:
        return False
    rebinding = [t for t in statement.targets if dotted_name(t.target) == name]
    in_targets = {id(n) for t in rebinding for n in name_uses(t, root)}
    return bool(rebinding) and all(id(n) in in_targets for n in elsewhere)


def _target_like(name: str, like: cst.AssignTarget) -> cst.AssignTarget:
    target = name_expression(name)
    assert isinstance(target, (cst.Name, cst.Attribute))  # a dotted name is one of these
    return cst.AssignTarget(target, whitespace_before_equal=like.whitespace_before_equal,
                            whitespace_after_equal=like.whitespace_after_equal)


def _walrus(name: str, value: cst.BaseExpression, *, parenthesized: bool) -> cst.NamedExpr:
    """``(name := value)``, taking over the parentheses ``value`` already had."""
    return cst.NamedExpr(
        target=cst.Name(name),
        value=value.with_changes(lpar=[], rpar=[]),
        lpar=value.lpar or ([cst.LeftParen()] if parenthesized else []),
        rpar=value.rpar or ([cst.RightParen()] if parenthesized else []),
    )


def _split_before(index: NodeIndex, statement: cst.Return | cst.AnnAssign, name: str, edits: Edits) -> None:
    """``return <v>`` -> ``name = <v>`` then ``return name`` (the value is evaluated first either way)."""
    line = index.parent(statement)

    def split(small: cst.Return | cst.AnnAssign) -> tuple[cst.Assign, cst.BaseSmallStatement]:
        return assignment(name, small.value), small.with_changes(value=name_expression(name))  # type: ignore[arg-type]

    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        def two_lines(updated: cst.SimpleStatementLine) -> cst.FlattenSentinel[cst.BaseStatement]:
            first, second = split(updated.body[0])  # type: ignore[arg-type]
            return cst.FlattenSentinel([
                cst.SimpleStatementLine([first], leading_lines=updated.leading_lines),
                updated.with_changes(body=[second], leading_lines=[]),
            ])

        edits.add(line, two_lines)
    else:
        edits.add(statement, lambda s: cst.FlattenSentinel(list(split(s))))


def _in_body(index: NodeIndex, statement: cst.CSTNode) -> Callable[[cst.CSTNode], bool]:
    """For a compound statement: is a node inside one of its blocks (run after the header)?"""
    blocks = (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase)

    def inside(node: cst.CSTNode) -> bool:
        for ancestor in index.ancestors(node):
            if ancestor is statement:
                return False
            if isinstance(ancestor, blocks) and index.parent(ancestor) is statement:
                return True
        return False

    return inside


def consumed(index: NodeIndex, table: OpTable, value: cst.BaseExpression) -> bool:
    """Is ``value`` used up at once, making a new tensor, rather than kept by the surrounding code?

    Operators and tensor methods that the op table knows are not views (``.sum()``) consume it;
    a call argument or a container element may keep it.
    """
    parent = index.parent(value)
    if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.ComparisonTarget)):
        return True
    if isinstance(parent, cst.Attribute) and parent.value is value:
        call = index.parent(parent)
        method = parent.attr.value
        info = table.lookup(f"Tensor.{method}")
        return (isinstance(call, cst.Call) and call.func is parent and info is not None and info.view is None
                and table.inplace_method(method) is None)
    return False


def _plan(table: OpTable, index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    params = Params.of(fix)
    kind = cst.AugAssign if params.form == "augassign" else cst.Call
    node = index.find(fix.target, kind)
    if node is None:
        return f"no {'augmented assignment' if kind is cst.AugAssign else 'call'} at the target span"
    problem = argument_problem(index, node, params.name)
    if problem:
        return problem
    if isinstance(node, cst.AugAssign):
        return _plan_augassign(node, params.name, edits)
    assert isinstance(node, cst.Call)  # found by the kind asked for
    return plan_call(index, table, node, params, edits)


def _plan_augassign(aug: cst.AugAssign, name: str | None, edits: Edits) -> str | None:
    if not is_augmented_inplace(aug):
        return "`@=` is not an in-place operation"
    if dotted_name(aug.target) != name:
        return f"the statement does not write `{name}`"
    edits.add(aug, augmented_as_assignment)
    return None


class OutOfPlacePass:
    kind = FixKind.OUT_OF_PLACE

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        table = load_optable()
        return run_pass(module, fixes, lambda index, fix, edits: _plan(table, index, fix, edits))


PASS = OutOfPlacePass()
