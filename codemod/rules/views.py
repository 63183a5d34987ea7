"""GS3xx: views that must not be written in place, and `out=`."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

MULTI_OUTPUT_VIEW = register(
    Rule(
        code="GS301",
        name="multi-output-view-mutated",
        summary="In-place op on an output of unbind(), split() or chunk()",
        what_it_does="""
            Reports in-place operations on the views returned by `unbind`, `split`, `chunk` (and
            `torch.unbind`/`torch.split`/`torch.chunk`), e.g. LSTM gates `i, f, g, o = gates.chunk(4, 1)`
            followed by `i.sigmoid_()`.  `tensor_split` returns ordinary slices and is not reported.
            Iterating a tensor is `unbind(0)`: `for row in t`, `enumerate(t)`, `zip(t, ...)`, `list(t)`,
            comprehensions over `t` and unpacking `a, b = t` all yield such views, also when a helper
            does the iterating.  Loops over Python lists of tensors (`for p in params`) are not.
        """,
        why_bad="""
            PyTorch raises `Output 0 of Split is a view and is being modified inplace. This view is the
            output of a function that returns multiple views.` at the call, when the base requires grad.
        """,
        example="""
            import torch
            from torch import nn

            class Gates(nn.Module):
                def forward(self, gates):
                    i, f, g, o = gates.chunk(4, 1)
                    i.sigmoid_()
                    return i * g
        """,
        use_instead="""
            import torch
            from torch import nn

            class Gates(nn.Module):
                def forward(self, gates):
                    i, f, g, o = gates.chunk(4, 1)
                    i = i.sigmoid()
                    return i * g
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE, FixKind.ROW_VIEWS),
    )
)

OUT_WITH_GRAD = register(
    Rule(
        code="GS302",
        name="out-argument-with-grad",
        summary="out= argument with operands that require grad",
        what_it_does="""
            Reports `torch.op(..., out=t)` where an operand or `t` itself requires grad and grad mode
            is on.
        """,
        why_bad="""
            PyTorch raises `<op>(): functions with out=... arguments don't support automatic
            differentiation, but one of the arguments requires grad.` at the call.
        """,
        example="""
            import torch
            from torch import nn

            class Combine(nn.Module):
                def forward(self, a, b):
                    buf = torch.empty(3)
                    torch.add(a, b, out=buf)
                    return buf
        """,
        use_instead="""
            import torch
            from torch import nn

            class Combine(nn.Module):
                def forward(self, a, b):
                    buf = torch.empty(3)
                    buf = torch.add(a, b)
                    return buf
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE,),
        fix_safety="Needs verification when the `out` tensor has another live name or a different dtype/shape than the result.",
    )
)

NO_GRAD_VIEW = register(
    Rule(
        code="GS303",
        name="no-grad-view-mutated-with-grad",
        summary="A view created under no_grad is modified in place with grad mode on",
        what_it_does="""
            Reports an in-place write, with grad mode on, to a view that was created inside
            `torch.no_grad()` of a tensor that requires grad.
        """,
        why_bad="""
            PyTorch raises `A view was created in no_grad mode and is being modified inplace with grad
            mode enabled.` at the call.  The intent is ambiguous, so gradsafe does not guess a fix.
        """,
        example="""
            import torch
            from torch import nn

            class Head(nn.Module):
                def forward(self, x):
                    h = x * 2
                    with torch.no_grad():
                        head = h[:2]
                    head.mul_(3)
                    return h
        """,
        use_instead="""
            import torch
            from torch import nn

            class Head(nn.Module):
                def forward(self, x):
                    h = x * 2
                    head = h[:2]
                    head.mul_(3)
                    return h
        """,
        fix_kinds=(),
    )
)

EXPANDED_VIEW = register(
    Rule(
        code="GS304",
        name="expanded-view-mutated",
        summary="In-place op on the output of expand(), expand_as() or broadcast_to()",
        what_it_does="""
            Reports an in-place write to the result of `expand`, `expand_as` or `torch.broadcast_to`,
            a view in which several elements share one memory location, with an op that torch
            refuses on such a tensor (arithmetic, activations, `copy_`, an indexed assignment).
            Which views overlap and which in-place ops refuse them is measured from torch (the op
            table's `library_inplace` section); `fill_`, `zero_` and `masked_fill_` run and are not
            reported.  A write into a clone of the expanded tensor is not reported.
        """,
        why_bad="""
            PyTorch raises `unsupported operation: more than one element of the written-to tensor
            refers to a single memory location. Please clone() the tensor before performing the
            operation.` at the call, whether or not anything requires grad.
        """,
        example="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, gate, weight):
                    mask = torch.sigmoid(gate)[:, None].expand_as(weight)
                    mask[0] = 0.0
                    return weight * mask
        """,
        use_instead="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, gate, weight):
                    mask = torch.sigmoid(gate)[:, None].expand_as(weight)
                    mask = mask.clone()
                    mask[0] = 0.0
                    return weight * mask
        """,
        fix_kinds=(FixKind.CLONE,),
    )
)
