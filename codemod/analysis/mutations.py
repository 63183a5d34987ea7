"""In-place mutations, as the interpreter meets them: one record per write, whatever its syntax.

The interpreter recognises the syntax (``x.add_(y)``, ``x += y``, ``y[i] = v``, ``torch.relu_(x)``,
``F.relu(x, inplace=True)``, a call of a module built with ``inplace=True``, ``out=``, writes through
``.data``, a call of an in-file helper that mutates its argument) and hands the judge a ``Mutation``
describing *what* is written and *how*; the judge (``gradsafe.analysis.hazards``) decides whether it
is a hazard.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass

from gradsafe.analysis.source_text import unparse
from gradsafe.analysis.values import ModuleInfo, Ref, Tri
from gradsafe.findings import Span


class Form(enum.Enum):
    METHOD = "method"  # x.add_(y)
    AUGASSIGN = "augassign"  # x += y, x[i] += y
    SETITEM = "setitem"  # x[i] = v
    FUNCTION = "function"  # torch.relu_(x), F.relu_(x)
    INPLACE_KWARG = "inplace-kwarg"  # F.relu(x, inplace=True)
    MODULE = "module"  # self.act(x) where self.act = nn.ReLU(inplace=True)
    SEQUENTIAL = "sequential"  # nn.Sequential(nn.Sigmoid(), nn.ReLU(inplace=True)): inside the container
    OUT = "out"  # torch.add(a, b, out=c)
    HELPER = "helper"  # scale_(h, 2) where `def scale_(h, s): h.mul_(s)`


@dataclass(frozen=True)
class Mutation:
    form: Form
    op: str  # "add_", "+=", "[]=", "relu_", "relu(inplace=True)", "out=", helper name
    node: ast.AST  # the whole mutating expression or statement
    span: Span  # where to report it
    target_node: ast.expr  # the expression that names the mutated tensor (x, self.h, y[0], x.data)
    target: Ref  # what that expression evaluates to
    name: str | None  # dotted name of the binding that holds the tensor ("x", "self.h"), if any
    through_data: bool  # the write goes through `.data`
    subscript: bool  # the write hits part of the tensor (y[i] = v, y[0].zero_())
    operands_grad: Tri  # do the other operands require grad
    # The operands only *may* require grad because they came out of calls we cannot see into.
    operands_opaque: bool
    operands_mention_grad: bool  # an operand reads some `.grad` (optimizer-style update)
    stmt: ast.stmt  # the statement containing the write
    module: ModuleInfo | None = None  # the in-place module (Form.MODULE / Form.SEQUENTIAL)
    helper: str | None = None  # qualname of the helper (Form.HELPER)
    helper_span: Span | None = None  # where the helper mutates its parameter
    method: str | None = None  # the in-place method/function name for out-of-place rewrites
    result_bound_to: str | None = None  # `y` in `y = F.relu(x, inplace=True)` / `y = x.clamp_(0)`
    grad_on: bool = True  # grad mode at the write (a helper may write under no_grad)
    # An operand reads the written tensor's own `.grad` (`p -= lr * p.grad`): only a leaf that
    # requires grad has one, so the write is a parameter update whatever `p` came from.
    reads_own_grad: bool = False
    # Selected by the module's own opt-in flag (`x.mul_(g) if self.inplace else x * g`, with
    # `inplace=False` by default): the author's explicit choice, not reported under the default policy.
    opt_in: bool = False

    @property
    def display(self) -> str:
        """The mutating code, shortened for a message."""
        if self.form is Form.SEQUENTIAL:
            return self.op
        text = unparse(self.node) if not isinstance(self.node, ast.stmt) else unparse(self.node).split("\n")[0]
        return text if len(text) <= 60 else text[:57] + "..."
