"""GS1xx: an in-place op overwrites a tensor that autograd saved for backward."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

SAVED_RESULT = register(
    Rule(
        code="GS101",
        name="saved-result-overwritten",
        summary="In-place op overwrites the result of an op that saves its output for backward",
        what_it_does="""
            Reports an in-place operation (`y.mul_(2)`, `y += 1`, `y[0] = 0`, `F.relu(y, inplace=True)`,
            `nn.ReLU(inplace=True)`) on a tensor produced by an op that keeps its *result* for the
            backward pass: `exp`, `expm1`, `sqrt`, `rsqrt`, `reciprocal`, `tan`, `tanh`, `sigmoid`,
            `relu`, `softmax`, `log_softmax`, `prod`, `max()`, `amax`, `norm`, `std`, `logsumexp`,
            `cumprod`, and the in-place activations `relu_`, `sigmoid_`, `tanh_`, `exp_`, `leaky_relu_`,
            `elu_`.  The message names the op and the line that saved the tensor.
        """,
        why_bad="""
            Autograd checks a saved tensor's version counter when backward runs.  The in-place op bumps
            it, and `backward()` fails with `one of the variables needed for gradient computation has
            been modified by an inplace operation ... which is output 0 of Sigmoid`.  The error points
            at the op that *needed* the tensor, not at the line that overwrote it.
        """,
        example="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, x):
                    y = torch.sigmoid(x)
                    y.mul_(2)
                    return y
        """,
        use_instead="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, x):
                    y = torch.sigmoid(x)
                    y = y.mul(2)
                    return y
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE, FixKind.INPLACE_FLAG),
        fix_safety="""
            Out-of-place when the tensor has no other live name; `clone()` before the mutation when it
            does or when the write is an indexed assignment; `inplace=False` for in-place activations
            whose input is not read again.  The rewrite keeps the values the original computes in
            forward and makes backward succeed.
        """,
    )
)

SAVED_INPUT = register(
    Rule(
        code="GS102",
        name="saved-input-overwritten",
        summary="In-place op overwrites a tensor that a later op saved as an input for backward",
        what_it_does="""
            Reports an in-place operation on a tensor that an earlier op saved as an *input*: `mul`
            and `div` (when the other operand requires grad), `matmul`/`mm`/`bmm`/`linear`, `conv*`,
            `log`, `sin`, `cos`, `pow`, `abs`, `clamp`, `gelu`/`silu`/`elu`/`leaky_relu`, the norms,
            pooling, `mse_loss`, and `nn.Linear`/`nn.Conv*`/`nn.*Norm` modules.  Ops that save nothing
            (`add`, `sub`, `sum`, `mean`, views, `cat`, `x * 3.0`) are not hazards.
        """,
        why_bad="""
            The op needs the tensor's original value to compute its gradient.  Overwriting it bumps the
            version counter and `backward()` fails with `one of the variables needed for gradient
            computation has been modified by an inplace operation`.
        """,
        example="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x, w):
                    h = x + 1
                    y = h * w
                    h.add_(1)
                    return y + h
        """,
        use_instead="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x, w):
                    h = x + 1
                    y = h * w
                    h = h.add(1)
                    return y + h
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE, FixKind.INPLACE_FLAG),
        fix_safety="As for GS101.",
    )
)

STEP_BEFORE_BACKWARD = register(
    Rule(
        code="GS103",
        name="optimizer-step-before-backward",
        summary="An optimizer step overwrites parameters that a later backward of an earlier forward needs",
        what_it_does="""
            Reports a `loss.backward()` (or `torch.autograd.grad(loss, ...)`) whose loss was computed
            through a module *before* an optimizer holding that module's parameters stepped
            (`opt.step()`, `scaler.step(opt)`).  The optimizer's modules are read from its
            constructor: `X.parameters()` anywhere in the arguments (param groups,
            `itertools.chain(g.parameters(), d.parameters())`).  The usual shapes: a critic step
            before the actor's backward, a GAN whose discriminator steps before the generator loss
            (computed from the same forward) is backpropagated, `retain_graph=True` reused after a
            step, a loss accumulated across steps.  The finding names three lines: the forward that
            saved the parameters, the step, the failing backward.  A single `nn.Linear`/`nn.Conv*`/
            `nn.Embedding` called on inputs that need no grad saves no weight and is not reported;
            `detach()`, `.item()` and `torch.no_grad()` cut the dependence.
        """,
        why_bad="""
            `step()` updates every parameter in place and bumps its version counter.  The graph built
            before the step saved those parameters (a layer's weight is saved to compute the gradient
            of its input), so the later backward fails with `one of the variables needed for gradient
            computation has been modified by an inplace operation`.  Torch before 1.5 did not check
            and silently combined the new weights with the old activations.
        """,
        example="""
            import torch
            from torch import nn

            def update(actor, critic, states, actions, targets):
                actor_opt = torch.optim.SGD(actor.parameters(), lr=0.1)
                critic_opt = torch.optim.SGD(critic.parameters(), lr=0.1)
                actor_loss = -critic(torch.cat([states, actor(states)], 1)).mean()
                critic_loss = (critic(torch.cat([states, actions], 1)) - targets).pow(2).mean()
                critic_opt.zero_grad()
                critic_loss.backward()
                critic_opt.step()
                actor_opt.zero_grad()
                actor_loss.backward()
                actor_opt.step()
        """,
        use_instead="""
            import torch
            from torch import nn

            def update(actor, critic, states, actions, targets):
                actor_opt = torch.optim.SGD(actor.parameters(), lr=0.1)
                critic_opt = torch.optim.SGD(critic.parameters(), lr=0.1)
                actor_loss = -critic(torch.cat([states, actor(states)], 1)).mean()
                critic_loss = (critic(torch.cat([states, actions], 1)) - targets).pow(2).mean()
                actor_opt.zero_grad()
                actor_loss.backward()
                actor_opt.step()
                critic_opt.zero_grad()
                critic_loss.backward()
                critic_opt.step()
        """,
        fix_kinds=(FixKind.REORDER,),
        fix_safety="""
            Reorder: when the two updates are adjacent `zero_grad()`/`backward()`/`step()` runs, the
            first run's loss does not reach the second optimizer's modules, the optimizers hold
            different modules and the losses come from different forward calls, the second update
            moves first: every step then sees the gradients it saw before, taken at the parameters
            the forward used.  What differs is the `.grad` left behind (the moved backward's
            gradients into the other optimizer's parameters are now cleared by its `zero_grad()`),
            so the fix needs verification.  Otherwise report only, with the recommended
            restructuring: backpropagate before the step, or compute the loss again after it (the
            discriminator trained on `fake.detach()`, the generator's loss through the stepped
            discriminator), the standard GAN recipe.
        """,
    )
)
