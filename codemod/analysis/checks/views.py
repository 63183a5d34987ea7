"""GS3xx, the analysis of ``gradsafe.rules.views``: views that autograd forbids writing, and ``out=``."""

from __future__ import annotations

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import RuleAnalysis, Verdict, Write, what, written_name
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Alias, Tri, View
from gradsafe.findings import Related
from gradsafe.rules.views import EXPANDED_VIEW, MULTI_OUTPUT_VIEW, NO_GRAD_VIEW, OUT_WITH_GRAD


# How ``Interpreter.unbound`` names the producer of a tensor's elements.
ITERATION = ("iteration over ", "unpacking of ")


def _direct(w: Write) -> bool:
    """Grad mode is on and the write is not through a ``.data``/``.detach()`` alias."""
    return w.m.grad_on and w.m.target.alias is Alias.NONE


def multi_output_view_mutated(w: Write) -> Verdict | None:
    """GS301: an output of unbind/split/chunk that may require grad."""
    ref = w.m.target
    if _direct(w) and ref.view is View.MULTI and ref.grad is not Tri.NO:
        return Verdict(MULTI_OUTPUT_VIEW, premise=ref.grad)
    return None


def no_grad_view_mutated(w: Write) -> Verdict | None:
    """GS303: a view made under ``no_grad``, written with grad mode on."""
    if _direct(w) and w.m.target.nograd_view:
        return Verdict(NO_GRAD_VIEW, premise=w.m.target.grad)
    return None


def out_with_grad(w: Write) -> Verdict | None:
    """GS302: ``out=`` while an operand or the output may require grad."""
    ref = w.m.target
    if _direct(w) and w.m.form is Form.OUT and (w.operands_grad is not Tri.NO or ref.grad is not Tri.NO):
        return Verdict(OUT_WITH_GRAD, premise=Tri.any([w.operands_grad, ref.grad]))
    return None


def expanded_view_mutated(w: Write) -> Verdict | None:
    """GS304: an op torch refuses on overlapping memory, on the output of ``expand`` and the like.

    Both facts come from the op table (``library_inplace``): which views overlap, which in-place
    methods refuse them.  The write must be to the view itself (``mask[i] = v``, ``mask.mul_(2)``):
    a view of the expanded tensor (``mask[0].mul_(2)``) may not overlap.  Torch refuses whether or not
    anything requires grad, so grad mode does not matter.
    """
    m = w.m
    producer = m.target.producer
    if producer is None or m.target.alias is not Alias.NONE or m.form not in (Form.METHOD, Form.SETITEM, Form.AUGASSIGN):
        return None
    library = w.fix.ctx.table.library
    if producer.op not in w.fix.ctx.overlapping_view_ops:
        return None
    method = "__setitem__" if m.form is Form.SETITEM else m.method if m.form is Form.METHOD else _AUGMENTED.get(m.op)
    if method is None or not library.refuses_overlap(method):
        return None
    if m.form is Form.METHOD and m.subscript:
        return None  # `mask[0].mul_(2)`: the written view is a slice of the expanded one
    return Verdict(EXPANDED_VIEW)


# Augmented assignments by the in-place method they call.
_AUGMENTED = {"+=": "add_", "-=": "sub_", "*=": "mul_", "/=": "div_", "**=": "pow_"}


def _expanded_message(w: Write, v: Verdict, related: list[Related]) -> str:
    producer = w.m.target.producer
    if producer is None or producer.op not in w.fix.ctx.overlapping_view_ops:
        # seen by `gradsafe trace` where the analysis cannot follow the view (made in a caller)
        return (f"{what(w.m)} writes into {written_name(w.m)}, whose elements share memory (an expanded view); "
                "this raises at the call (clone it first)")
    related.append(Related(producer.span, f"`{producer.op[:-2]}` makes elements share memory here"))
    return (f"{what(w.m)} writes into {written_name(w.m)}, the output of `{producer.op}` on line {producer.span.line}, "
            "whose elements share memory; this raises at the call (clone it first)")


def _clone_expanded(w: Write, v: Verdict) -> Plan:
    return remedies.clone(w.m, w.state, w.fix, caller_visible=any(f.arg for _, f in w.facts))


def _multi_output_message(w: Write, v: Verdict, related: list[Related]) -> str:
    producer = w.m.target.producer
    if producer and producer.op.startswith(ITERATION):
        related.append(Related(producer.span, "iterating or unpacking a tensor unbinds it here"))
        return (f"{what(w.m)} modifies {written_name(w.m)} in place, an element of the {producer.op} on line "
                f"{producer.span.line}; a tensor's elements are outputs of `unbind`, so this raises at the call")
    where = f"`{producer.op}` on line {producer.span.line}" if producer else "`unbind`/`split`/`chunk`"
    if producer:
        related.append(Related(producer.span, "multi-output views are made here"))
    return f"{what(w.m)} modifies {written_name(w.m)}, an output of {where}, in place; this raises at the call"


def _out_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return f"{what(w.m)} writes to `out=` while an argument requires grad; this raises at the call"


def _no_grad_view_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return (f"{what(w.m)} modifies {written_name(w.m)}, a view created under `torch.no_grad()`, with grad mode on; "
            "this raises at the call")


def _by_form(w: Write, v: Verdict) -> Plan:
    return remedies.by_form(w.m, w.state, w.fix, v.saves)


def _multi_output_fix(w: Write, v: Verdict) -> Plan:
    """Rows of an iterated (or unpacked) name are taken by indexing, so that the writes still land in
    the tensor; otherwise (``a, b = f(x)``) the usual out-of-place rewrite of the element."""
    producer = w.m.target.producer
    if producer is not None and producer.iterated is not None:
        return remedies.row_views(w.m, w.state, w.fix)
    return _by_form(w, v)


def _ambiguous(w: Write, v: Verdict) -> Plan:
    return None, "the intent is ambiguous: move the view and the write both inside or both outside `no_grad`"


ANALYSES = (
    RuleAnalysis(MULTI_OUTPUT_VIEW, _multi_output_message, _multi_output_fix),
    RuleAnalysis(OUT_WITH_GRAD, _out_message, _by_form),
    RuleAnalysis(NO_GRAD_VIEW, _no_grad_view_message, _ambiguous),
    RuleAnalysis(EXPANDED_VIEW, _expanded_message, _clone_expanded),
)
