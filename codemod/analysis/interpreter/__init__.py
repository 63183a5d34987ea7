"""The flow-sensitive abstract interpreter: walks a function's statements in order and tracks values.

For each name (and ``self.<attr>``) it tracks a ``Ref``; for each storage, the facts in ``Storage``
(see ``values``).  Ops are looked up in the op table: which inputs they save for backward (and
under which ``requires_grad`` condition), whether they save their output, whether the output is a
view.  Grad mode follows ``with torch.no_grad()``/``inference_mode()``/``enable_grad()`` and
decorators; ``.backward()`` / ``torch.autograd.grad`` release pending saves.  Branches are joined;
loops iterate to a fixpoint.  Calls of in-file functions use their summaries.

The interpreter recognises in-place writes and hands each one to the judge
(``hazards.ScopeJudge.on_mutation``), which decides whether it is a hazard.

The package, by concept:

* ``core``: the ``Interpreter`` object, its entry points and effects (escapes, in-place writes);
* ``base``: what the rule mixins share (the declared state and the rules they call on each other);
* ``statements``, ``expressions``: the rules per kind of statement and expression;
* ``calls`` (dispatch, in-file functions, backward), ``torch_api`` (torch functions and tensor
  methods, through the op table), ``modules`` (``nn.Module`` layers and ``nn.Sequential``);
* ``scope``: the frame a function starts from; ``summaries``: what ``__init__`` sets up and what
  a call of an in-file function does, and the file context that computes them;
* ``tables``, ``syntax``, ``joins``: the hand-written API tables, small syntax facts, state joins.
"""

from gradsafe.analysis.interpreter.core import Interpreter
from gradsafe.analysis.interpreter.scope import Scope, is_tensor_annotation, make_scope
from gradsafe.analysis.interpreter.summaries import InterpretedContext, collect_attributes, summarize
from gradsafe.analysis.interpreter.syntax import flag_passed_positionally

__all__ = [
    "InterpretedContext",
    "Interpreter",
    "Scope",
    "collect_attributes",
    "flag_passed_positionally",
    "is_tensor_annotation",
    "make_scope",
    "summarize",
]
