"""What each rewrite pass reads from a fix: one frozen ``Params`` dataclass per ``FixKind``.

The analysis (``gradsafe.analysis.remedies``) builds these when it plans a fix; the pass of the
kind reads them as attributes (``CloneParams.of(fix).name``).  They live here, together, rather
than in the pass modules because the passes import LibCST (a third of a second) and
``gradsafe check`` must not: each pass module names its class as ``Params``.

Fields declared with ``omitted_at_default`` are left out of the stored form (the mapping the
result cache writes, see ``gradsafe.findings.FixParams``) while at their default; a field's default
is also what the pass assumes when a fix is built without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradsafe.findings import FixKind, FixParams, Span, omitted_at_default


@dataclass(frozen=True, kw_only=True)
class OutOfPlaceParams(FixParams, kind=FixKind.OUT_OF_PLACE):
    """``gradsafe.transforms.out_of_place``: rewrite a write as an out-of-place op and a rebinding."""

    name: str | None = None  # the name bound to the result; None for a fresh temporary nothing names
    form: str | None = None  # "method", "augassign", "function" or "out" (``Form`` values)
    read_later: bool = True  # False: the name is not read afterwards, so its last write need not rebind
    method: str | None = omitted_at_default(None)  # form "method": the in-place method (``add_``)
    function: str | None = omitted_at_default(None)  # form "function": its dotted name (``torch.relu_``)
    replacement: str | None = omitted_at_default(None)  # the out-of-place method or dotted function
    operator: str | None = omitted_at_default(None)  # form "augassign": the operator (``+=``)
    through_data: bool = omitted_at_default(False)  # the write is ``name.data.op_(...)``: drop ``.data``


@dataclass(frozen=True, kw_only=True)
class CloneParams(FixParams, kind=FixKind.CLONE):
    """``gradsafe.transforms.clone``: give a write a private copy."""

    name: str | None = omitted_at_default(None)  # mode "statement": the name to clone
    mode: str | None = None  # "statement" (``name = name.clone()`` before the target) or "expression"


# The torch.nn modules whose `inplace` parameter defaults to False (all of them, in torch 2.x).
DEFAULT_OFF = frozenset(
    {
        "AlphaDropout", "CELU", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "ELU", "FeatureAlphaDropout",
        "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "Mish", "RReLU", "ReLU", "ReLU6", "SELU", "SiLU",
        "Threshold",
    }
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class InplaceFlagParams(FixParams, kind=FixKind.INPLACE_FLAG):
    """``gradsafe.transforms.inplace_flag``: turn an ``inplace`` flag off."""

    mode: str | None = None  # "call" (the call at the target) or "construction" (a module built there)
    rebind: str | None = omitted_at_default(None)  # mode "call": assign the result to this name


@dataclass(frozen=True, kw_only=True)
class NoGradParams(FixParams, kind=FixKind.NO_GRAD):
    """``gradsafe.transforms.no_grad``: wrap updates in ``with torch.no_grad():``."""

    strip_data: bool = False  # also turn ``p.data.op_()`` into ``p.op_()`` inside the block


@dataclass(frozen=True, kw_only=True)
class ParameterLocalParams(FixParams, kind=FixKind.PARAMETER_LOCAL):
    """``gradsafe.transforms.parameter_local``: compute a parameter's new value into a local."""

    attr: str = ""  # the parameter as written (``self.weight``)
    local: str = ""  # the local that takes its place (``weight``)
    method: str | None = None  # the in-place method, for a method write
    replacement: str | None = None  # its out-of-place form
    operator: str | None = None  # the operator, for an augmented assignment
    function: Span | None = None  # the enclosing function, whose later uses are renamed


@dataclass(frozen=True, kw_only=True)
class HelperReturnParams(FixParams, kind=FixKind.HELPER_RETURN):
    """``gradsafe.transforms.helper_return``: a helper returns the argument it writes; callers rebind."""

    helper: str | None = None  # the helper's name
    param: str = ""  # the parameter it writes
    calls: tuple[Span, ...] = ()  # every call site in the file
    index: int | None = None  # the parameter's position


@dataclass(frozen=True, kw_only=True)
class RowViewsParams(FixParams, kind=FixKind.ROW_VIEWS):
    """``gradsafe.transforms.row_views``: iterate a tensor's rows by indexing instead of ``unbind``."""

    name: str | None = None  # the tensor iterated (the plain name at the fix's target)


@dataclass(frozen=True, kw_only=True)
class ReorderParams(FixParams, kind=FixKind.REORDER):
    """``gradsafe.transforms.reorder``: swap two adjacent runs of whole statements."""

    split: int = 1  # the target's statements ``[0, split)`` move after ``[split, end)``


@dataclass(frozen=True, kw_only=True)
class AssignBackParams(FixParams, kind=FixKind.ASSIGN_BACK):
    """``gradsafe.transforms.assign_back``: a call whose result was discarded is assigned back to its receiver."""

    name: str = ""  # what the result is bound to: the receiver, ``x`` in ``x.clamp(0, 1)`` (or ``p.grad.data``)
