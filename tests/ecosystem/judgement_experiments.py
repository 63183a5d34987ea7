"""Tiny torch experiments behind the doubtful judgements in ``baseline.json`` (run: ``python judgement_experiments.py``).

Each experiment rebuilds, in a few lines, the pattern a finding points at in a pinned repository
and reports whether backward runs and whether the gradients match an out-of-place version.  The
``why`` of a judgement that rests on one names it ("experiment E3").  Not collected by pytest: it
is evidence for the baseline, not a test of gradsafe.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def backward_ok(fn) -> str:
    """Run ``fn`` (forward and backward); "ok" or the first line of the error."""
    try:
        fn()
    except RuntimeError as exc:
        return "error: " + str(exc).splitlines()[0][:110]
    return "ok"


def e1_soft_update_through_data() -> str:
    """cleanrl: target.data.copy_(tau * p.data + (1 - tau) * target.data) after backward, then a no-grad target forward."""
    net, target = nn.Linear(4, 2), nn.Linear(4, 2)
    target.load_state_dict(net.state_dict())

    def step():
        with torch.no_grad():
            y = target(torch.randn(3, 4))
        loss = (net(torch.randn(3, 4)) - y).pow(2).mean()
        loss.backward()
        for p, t in zip(net.parameters(), target.parameters()):
            mixed = 0.005 * p.data + 0.995 * t.data
            assert mixed.grad_fn is None and not mixed.requires_grad
            t.data.copy_(mixed)
        with torch.no_grad():
            target(torch.randn(3, 4))

    return backward_ok(step)


def e2_fuse_conv_and_bn_copy() -> str:
    """yolov5: copy_ into the parameters of a conv made .requires_grad_(False), from a value that requires grad."""
    conv, bn = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)
    fused = nn.Conv2d(3, 4, 3, bias=True).requires_grad_(False)
    w_conv = conv.weight.clone().view(4, -1)
    w_bn = torch.diag(bn.weight.div(torch.sqrt(bn.eps + bn.running_var)))
    fused.weight.copy_(torch.mm(w_bn, w_conv).view(fused.weight.shape))  # raises if it were a grad leaf
    b_bn = bn.bias - bn.weight.mul(bn.running_mean).div(torch.sqrt(bn.running_var + bn.eps))
    fused.bias.copy_(torch.mm(w_bn, torch.zeros(4, 1)).reshape(-1) + b_bn)
    return "ok"


def e3_plistmle_mask_after_mul() -> str:
    """sentence-transformers PListMLELoss: log_probs = log_probs * w; log_probs[~mask] = 0.0; backward, grads vs out of place."""
    torch.manual_seed(0)
    logits = torch.randn(2, 5, requires_grad=True)
    mask = torch.rand(2, 5) > 0.3
    weight = torch.rand(2, 5)

    def loss(in_place: bool):
        scores = logits.exp()
        cumsum = torch.flip(torch.cumsum(torch.flip(scores, [1]), 1), [1])
        log_probs = logits - torch.log(cumsum + 1e-10)
        log_probs = log_probs * weight
        if in_place:
            log_probs[~mask] = 0.0
        else:
            log_probs = log_probs.masked_fill(~mask, 0.0)
        return -log_probs.sum(1).mean()

    g_in = torch.autograd.grad(loss(True), logits)[0]
    g_out = torch.autograd.grad(loss(False), logits)[0]
    return "ok, same grads" if torch.allclose(g_in, g_out) else "ok, DIFFERENT grads"


def e4_inplace_dropout_after_softmax(p: float) -> str:
    """timm tnt: attn = softmax(...); nn.Dropout(p, inplace=True)(attn) in training; backward."""
    q = torch.randn(2, 3, 4, 4, requires_grad=True)
    drop = nn.Dropout(p, inplace=True).train()
    return backward_ok(lambda: (drop(q.softmax(-1)) @ torch.randn(4, 4)).sum().backward())


def e5_fasternet_slicing() -> str:
    """timm fasternet forward_slicing: x = x.clone(); x[:, :d] = conv(x[:, :d]); backward."""
    conv = nn.Conv2d(2, 2, 3, 1, 1, bias=False)

    def run():
        x = torch.randn(1, 4, 5, 5, requires_grad=True).clone()
        x[:, :2] = conv(x[:, :2])
        x.sum().backward()

    return backward_ok(run)


def e6_max_pooling_mask_after_layernorm() -> str:
    """sentence-transformers Pooling (max): token_embeddings[mask == 0] = -1e9 on a LayerNorm output; backward."""
    ln = nn.LayerNorm(4)
    h = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]]).unsqueeze(-1).expand(2, 3, 4).float()

    def run(saves_output: bool):
        tokens = ln(h)
        if saves_output:
            tokens = tokens.tanh()  # a backbone whose last op saves its result
        tokens[mask == 0] = -1e9
        torch.max(tokens, 1)[0].sum().backward()

    return f"LayerNorm last: {backward_ok(lambda: run(False))}; tanh last: {backward_ok(lambda: run(True))}"


def e7_layerscale_inplace() -> str:
    """timm LayerScale(inplace=True): x.mul_(gamma) on a Linear's output (and on a GELU's); backward and gamma's grad."""
    lin, gamma = nn.Linear(4, 4), nn.Parameter(torch.full((4,), 1e-5))
    inp = torch.randn(2, 4)

    def grads(in_place: bool, act: bool):
        gamma.grad = None
        x = lin(inp)
        if act:
            x = F.gelu(x)
        y = x.mul_(gamma) if in_place else x * gamma
        y.sum().backward()
        return gamma.grad.clone()

    same = torch.allclose(grads(True, False), grads(False, False))
    gelu = backward_ok(lambda: grads(True, True))
    return f"after Linear: ok, same grads={same}; after GELU: {gelu}"


def e8_sigmoid_inplace() -> str:
    """timm Sigmoid(inplace=True): x.sigmoid_() on a conv output (ok) and on an exp output (saved result)."""
    conv = nn.Conv2d(1, 1, 1)
    inp = torch.randn(1, 1, 2, 2)
    return (f"after conv: {backward_ok(lambda: conv(inp).sigmoid_().sum().backward())}; "
            f"after exp: {backward_ok(lambda: conv(inp).exp().sigmoid_().sum().backward())}")


def e9_splade_eval_inplace() -> str:
    """sentence-transformers SpladePooling eval branch: relu_() then log1p_(); backward with grad on (not the default encode path)."""
    logits = torch.randn(2, 3, 5, requires_grad=True)

    def run():
        t = (logits * 1.0).relu_()
        t = t.log1p_()
        t.sum().backward()

    return backward_ok(run)


def e10_ema_under_no_grad() -> str:
    """timm ModelEmaV3.apply_update_no_buffers_ reached only from the @torch.no_grad() update(): lerp_ into ema params."""
    model = nn.Linear(3, 3)
    ema = copy.deepcopy(model)

    @torch.no_grad()
    def update():
        for ema_p, model_p in zip(ema.parameters(), model.parameters()):
            ema_p.lerp_(model_p, weight=0.1)

    update()
    return "ok"


def e11_sae_stats_buffer() -> str:
    """sentence-transformers SparseAutoEncoder.top_k: the stats factor is built from a bool comparison; does it require grad?"""
    values = torch.randn(4, requires_grad=True)
    tmp = torch.zeros(8)
    tmp.scatter_add_(0, torch.tensor([0, 2, 4, 6]), (values > 1e-5).to(tmp.dtype))
    factor = 1 - tmp.clamp(max=1)
    return f"factor.requires_grad={factor.requires_grad}"


def e12_angle_similarity_in_place_division() -> str:
    """sentence-transformers util/similarity.py pairwise_angle_sim: re /= dz / dw; im /= dz / dw; grads vs out of place."""
    torch.manual_seed(0)
    x, y = torch.randn(3, 8, requires_grad=True), torch.randn(3, 8, requires_grad=True)

    def loss(in_place: bool):
        a, b = torch.chunk(x, 2, dim=1)
        c, d = torch.chunk(y, 2, dim=1)
        z = torch.sum(c**2 + d**2, dim=1, keepdim=True)
        re, im = (a * c + b * d) / z, (b * c - a * d) / z
        dz = torch.sum(a**2 + b**2, dim=1, keepdim=True) ** 0.5
        dw = torch.sum(c**2 + d**2, dim=1, keepdim=True) ** 0.5
        if in_place:
            re /= dz / dw
            im /= dz / dw
        else:
            re, im = re / (dz / dw), im / (dz / dw)
        return torch.abs(torch.sum(torch.concat((re, im), dim=1), dim=1)).sum()

    same = all(torch.allclose(p, q) for p, q in zip(torch.autograd.grad(loss(True), (x, y)),
                                                    torch.autograd.grad(loss(False), (x, y))))
    return "ok, same grads" if same else "ok, DIFFERENT grads"


def e13_container_item_assignment_and_clone() -> str:
    """yolov5 Detect.forward, timm hrnet (a list) and sentence-transformers forward(features) (a dict):
    item assignment writes no tensor; what the inserted ``x = x.clone()`` does to the container."""
    outcomes = []
    for container in ([torch.randn(1, 2, requires_grad=True)], {"sentence_embedding": torch.randn(1, 2, requires_grad=True)}):
        key = 0 if isinstance(container, list) else "sentence_embedding"
        before = container[key]
        container[key] = container[key] * 2  # a slot is rebound: the old tensor is untouched
        assert before._version == 0
        try:
            container.clone()  # type: ignore[union-attr]
            outcomes.append(f"{type(container).__name__}: clone worked")
        except AttributeError as exc:
            outcomes.append(f"{type(container).__name__}: item assignment ok, clone raises AttributeError ({exc})")
    return "; ".join(outcomes)


EXPERIMENTS = {
    "E1": e1_soft_update_through_data,
    "E2": e2_fuse_conv_and_bn_copy,
    "E3": e3_plistmle_mask_after_mul,
    "E4 (p=0.0)": lambda: e4_inplace_dropout_after_softmax(0.0),
    "E4 (p=0.1)": lambda: e4_inplace_dropout_after_softmax(0.1),
    "E5": e5_fasternet_slicing,
    "E6": e6_max_pooling_mask_after_layernorm,
    "E7": e7_layerscale_inplace,
    "E8": e8_sigmoid_inplace,
    "E9": e9_splade_eval_inplace,
    "E10": e10_ema_under_no_grad,
    "E11": e11_sae_stats_buffer,
    "E12": e12_angle_similarity_in_place_division,
    "E13": e13_container_item_assignment_and_clone,
}

if __name__ == "__main__":
    for name, experiment in EXPERIMENTS.items():
        try:
            outcome = experiment()
        except Exception as exc:  # an experiment that raises is an outcome too
            outcome = f"raised {type(exc).__name__}: {str(exc).splitlines()[0][:110]}"
        print(f"{name:11} {outcome}")
