"""Turning ``inplace=True`` off: at a module's construction, or in a functional call.

``nn.ReLU(inplace=True)`` and ``F.relu(x, inplace=True)`` overwrite their input; when autograd
saved that input (a sigmoid's output, say), backward fails.  Computing the activation into a new
tensor fixes it and changes nothing else, provided nothing reads the input afterwards expecting
the overwritten values - which the judge has checked for every call of the module before asking
for a flip (``gradsafe.analysis.remedies``).

``FixKind.INPLACE_FLAG`` parameters (``Params``, ``gradsafe.transforms.params.InplaceFlagParams``):

* ``mode="construction"``: ``fix.target`` is the call that builds the module (in ``__init__``,
  inside ``nn.Sequential(...)``, in a dict of layers).  When the flag is the only argument of a
  torch module whose ``inplace`` defaults to ``False`` (``DEFAULT_OFF``: ``nn.ReLU``,
  ``nn.Dropout``, ...), it is dropped: ``nn.ReLU(inplace=True)`` -> ``nn.ReLU()``.  Otherwise
  ``inplace=True`` becomes ``inplace=False`` and a positional flag (``nn.ReLU(True)``, the last
  argument of every torch activation and dropout module) becomes ``False``: beside other
  arguments the explicit flag reads better, and a class gradsafe does not know may default to
  ``True``.  Other arguments are untouched.
* ``mode="call"``: ``fix.target`` is a functional call (``F.relu(x, inplace=True)``,
  ``F.dropout(h, p, training, inplace=True)``).  The ``inplace=True`` argument is removed, the
  smallest edit that computes out of place.  With ``rebind`` (a name), the call is a statement
  that relied on the write, and its result is bound instead: ``F.relu(x, inplace=True)`` ->
  ``x = F.relu(x)``.

Only a literal flag is changed: ``inplace=self.inplace`` is chosen elsewhere, and the fix is
declined with that reason rather than hard-coding a value over the user's setting.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import DEFAULT_OFF
from gradsafe.transforms.params import InplaceFlagParams as Params
from gradsafe.transforms.binding_sites import argument_problem, locality_problem
from gradsafe.transforms.edits import Edits, run_pass
from gradsafe.transforms.syntax import assignment, dotted_name, input_argument, keyword_argument, without_argument

_FALSE = "False"
_EMPTY = cst.Module(body=[])


def _is_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")
    )


def _set_flag(arg: cst.Arg) -> cst.Arg:
    return arg.with_changes(value=cst.Name(_FALSE, lpar=arg.value.lpar, rpar=arg.value.rpar))


def _plan_construction(index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    call = index.find(fix.target, cst.Call)
    if call is None:
        return "no module construction at the target span"
    flag = keyword_argument(call, "inplace")
    if flag is None:
        positional = [a for a in call.args if a.keyword is None]
        flag = positional[-1] if positional and not positional[-1].star else None
        if flag is None or not (isinstance(flag.value, cst.Name) and flag.value.value == "True"):
            return "the construction has no `inplace` flag to turn off"
    elif not _is_literal(flag.value):
        return "`inplace` is set from an expression; turn it off where that value is chosen"
    position = call.args.index(flag)
    if len(call.args) == 1 and _defaults_off(call) and not _has_comment(call.whitespace_before_args, flag):
        edits.add(call, _without_arguments)
        return None

    def turn_off(updated: cst.Call) -> cst.Call:
        args = list(updated.args)
        args[position] = _set_flag(args[position])
        return updated.with_changes(args=args)

    edits.add(call, turn_off)
    return None


def _defaults_off(call: cst.Call) -> bool:
    """Whether ``call`` builds a torch module whose ``inplace`` is off by default."""
    name = dotted_name(call.func)
    if name is None:
        return False
    *qualifier, last = name.split(".")
    return last in DEFAULT_OFF and (not qualifier or qualifier[-1] == "nn")


def _has_comment(*nodes: cst.CSTNode) -> bool:
    return any("#" in _EMPTY.code_for_node(node) for node in nodes)


def _without_arguments(call: cst.Call) -> cst.Call:
    """``nn.ReLU()`` for ``nn.ReLU(inplace=True)`` (the flag was checked to be the only argument)."""
    return call.with_changes(args=(), whitespace_before_args=cst.SimpleWhitespace(""))


def _plan_call(index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    call = index.find(fix.target, cst.Call)
    if call is None:
        return "no call at the target span"
    flag = keyword_argument(call, "inplace")
    if flag is None:
        return "the call has no `inplace=` argument"
    if not _is_literal(flag.value):
        return "`inplace` is set from an expression; turn it off where that value is chosen"
    edits.add(call, lambda c: without_argument(c, "inplace"))
    rebind = Params.of(fix).rebind
    if not rebind:
        return None
    statement = index.parent(call)
    if not (isinstance(statement, cst.Expr) and statement.value is call):
        return f"the call is not a statement of its own, so `{rebind}` cannot be assigned its result"
    written = input_argument(call)
    if written is None or dotted_name(written.value) != rebind:
        return f"the call does not write `{rebind}`"
    problem = argument_problem(index, call, rebind) or locality_problem(index, statement, rebind)
    if problem:
        return problem
    edits.add(statement, lambda e: assignment(rebind, e.value, like=e))
    return None


def _plan(index: NodeIndex, fix: Fix, edits: Edits) -> str | None:
    mode = Params.of(fix).mode
    if mode == "construction":
        return _plan_construction(index, fix, edits)
    if mode == "call":
        return _plan_call(index, fix, edits)
    return f"unknown inplace-flag mode {mode!r}"


class InplaceFlagPass:
    kind = FixKind.INPLACE_FLAG

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        return run_pass(module, fixes, _plan)


PASS = InplaceFlagPass()
