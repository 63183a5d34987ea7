"""GS6xx: silent bugs: the program runs and computes something else than it appears to.

Autograd raises nothing and the run finishes: the outputs (or the gradients) are simply not the
ones the code reads as computing.  Each rule reports only where the analysis shows the effect, and
its fix changes what the code computes on purpose (that is the repair), so it is an **unsafe**
fix: ``gradsafe fix`` and ``diff`` apply it only with ``--unsafe-fixes``.
"""

from gradsafe.findings import Applicability, FixKind
from gradsafe.rules.rule import Rule, register

DISCARDED_RESULT = register(
    Rule(
        code="GS601",
        name="discarded-out-of-place-result",
        summary="The result of an out-of-place tensor op is discarded: the tensor is left unchanged",
        what_it_does="""
            Reports an expression statement that is a call of a tensor op which returns a new
            tensor and changes nothing (`x.masked_fill(mask, v)`, `x.clamp(0, 1)`, `x.add(b)`,
            `torch.clamp(x, 0)`, `F.normalize(x)`, `x.float()`, `x.to(device)`, `x.detach()`, ...)
            on a value the analysis knows is a tensor.  The ops are those of the op table that
            have an in-place twin (`clamp` / `clamp_`) or are known functional ops.  Not reported:
            a module's `model.to(device)` (which moves the module itself), the in-place twins,
            calls passing `out=` or `inplace=`, values that only the method name suggests are
            tensors (a parameter nothing else shows is one, `set.add`, `np.ndarray.resize`), and
            ops run for their own sake: in a test or benchmark function, a `try` body, or a `with`
            block other than a grad mode (`pytest.raises`, a profiler, a timer).
        """,
        why_bad="""
            The call computes a new tensor and throws it away: `x` is exactly what it was.  The
            author almost always meant the in-place twin or an assignment, so the mask is never
            applied, the gradient is never clipped, the embeddings are never normalised, and
            nothing fails: the model trains on something else than the code says.
        """,
        example="""
            import torch

            def masked_scores(scores, mask):
                scores = scores * 1.0
                scores.masked_fill(mask, float("-inf"))
                return scores.softmax(-1)
        """,
        use_instead="""
            import torch

            def masked_scores(scores, mask):
                scores = scores * 1.0
                scores = scores.masked_fill(mask, float("-inf"))
                return scores.softmax(-1)
        """,
        fix_kinds=(FixKind.ASSIGN_BACK,),
        fix_applicability=Applicability.UNSAFE,
        fix_safety="""
            The fix assigns the result back to the receiver (`x = x.masked_fill(...)`), never the
            in-place twin blindly: later readers of `x` then see the new value, which is what the
            author meant.  It is offered when the receiver is a local name that is read afterwards
            and no other live name holds the tensor, or an attribute ending in `.data` or `.grad`
            (`p.grad.data = p.grad.data.clamp(-1, 1)`: the tensor every reader of `p.grad` holds
            changes); other attributes, globals and names nobody reads again get no fix.
        """,
    )
)
