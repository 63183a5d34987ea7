"""Modules: building ``nn.Module`` layers, ``nn.Sequential`` chains, and calling them.

A layer built with ``inplace=True`` (or the flag passed positionally) writes its input when called;
inside an ``nn.Sequential`` it writes the previous layer's output.  Calls of in-file module
classes go to their ``forward``.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from gradsafe.analysis.interpreter.base import InterpreterBase
from gradsafe.analysis.interpreter.syntax import SpanNode, flag_passed_positionally, truthy
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import UNKNOWN, Kind, ModuleInfo, Producer, Ref, State, Storage, Tri


class ModuleCalls(InterpreterBase):
    """Construction and calls of ``nn.Module`` layers (a mixin of ``Interpreter``)."""

    # --- modules
    def construct_module(self, api: str | None, node: ast.Call, state: State) -> Ref:
        args, kwargs = self.eval_args(node, state)
        span = self.ctx.span(node)
        info = self.ctx.table.lookup(api) if api is not None else None
        inplace = any(k.arg == "inplace" and truthy(k.value) for k in node.keywords) or (
            info is not None and flag_passed_positionally(node, info.inplace_position))
        if api in ("torch.nn.Sequential",):
            layers: list[ModuleInfo] = []
            known = True
            for a, ref in zip(node.args, args):
                if isinstance(a, ast.Starred):
                    seq = self.eval(a.value, state)
                    if seq.kind is Kind.SEQUENCE and seq.items and all(i.kind is Kind.MODULE for i in seq.items):
                        layers.extend(i.module for i in seq.items if i.module)
                    else:
                        known = False
                elif ref.kind is Kind.MODULE and ref.module is not None:
                    layers.append(ref.module)
                elif ref.kind is Kind.SEQUENCE and ref.items:
                    # nn.Sequential(OrderedDict([("a", layer), ...]))
                    for item in ref.items:
                        if item.kind is Kind.SEQUENCE and item.items and item.items[-1].kind is Kind.MODULE:
                            layers.append(item.items[-1].module)  # type: ignore[arg-type]
                        else:
                            known = False
                else:
                    known = False
            module = ModuleInfo(api=api, site=span, layers=tuple(layers) if known else None)
            self.check_sequential(module, node, state)
            return Ref(Kind.MODULE, module=module)
        if api in ("torch.nn.ModuleList",):
            if args and args[0].kind is Kind.SEQUENCE and args[0].items:
                return Ref(Kind.SEQUENCE, items=args[0].items)
            return Ref(Kind.SEQUENCE)
        label = None if api is not None else self.label(node.func)
        return Ref(Kind.MODULE, module=ModuleInfo(api=api, inplace=inplace, site=span, certain=api is not None, label=label))

    def check_sequential(self, module: ModuleInfo, node: ast.Call, state: State) -> None:
        """In-place layers inside an nn.Sequential act on the previous layer's output."""
        if not module.layers or self.judge is None:
            return
        previous: Ref | None = None
        for layer in module.layers:
            info = self.ctx.table.lookup(layer.api) if layer.api else None
            if previous is not None and layer.inplace:
                self.mutate(Form.SEQUENTIAL, f"{layer.display}(inplace=True)", node, node, previous, state,
                            operands=[], operand_nodes=[], module=layer,
                            inplace_saves=info.inplace_saves if info else None)
            if info is None:
                previous = None
                continue
            if previous is None:
                sid = self.ctx.site_id(("seq-input", self.ctx.span(node)))
                state.heap.setdefault(sid, Storage(label="the input"))
                previous = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.MAYBE)
            if layer.inplace:
                continue
            site = layer.site or self.ctx.span(node)
            bound = {info.params[0] if info.params else "input": previous}
            previous = self.apply_bound(info, SpanNode(site), bound, state, display=layer.display,
                                        params_require_grad=info.module_params)

    def call_module_method(self, receiver: Ref, method: str, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        module = receiver.module
        if method == "forward" or method == "__call__":
            return self.call_module(receiver, node, state, bound_to)
        if method in self.members.parameter_methods:
            self.eval_args(node, state)
            return self.params_ref(node, state, named=method == "named_parameters")
        if method in self.members.module_self_methods:
            self.eval_args(node, state)
            if method == "eval" and module is not None:
                return receiver.with_(module=replace(module, eval_mode=True))
            if method == "requires_grad_" and module is not None:
                # `nn.Conv2d(...).requires_grad_(False)`: its weight and bias are not leaves that require grad.
                flag = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "requires_grad"), None)
                frozen = isinstance(flag, ast.Constant) and flag.value is False
                frozen_ref = receiver.with_(module=replace(module, frozen=frozen))
                owner = dotted(node.func.value) if isinstance(node.func, ast.Attribute) else None
                if owner is not None and owner in state.env:
                    self.set_module_frozen(owner, frozen, state)  # `fused.requires_grad_(False)` as a statement
                return frozen_ref
            return receiver
        if module is not None and module.user_class is not None:
            found = self.ctx.find_method(module.user_class, method)
            if found is not None:
                return self.call_user(found[0], node, state, bound_to, self_ref=receiver)
        return self.call_unknown(node, state)

    def call_module(self, receiver: Ref, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        module = receiver.module
        if module is None:
            return self.call_unknown(node, state)
        if module.user_class is not None:
            found = self.ctx.find_method(module.user_class, "forward")
            if found is not None:
                return self.call_user(found[0], node, state, bound_to, self_ref=receiver)
            return self.call_unknown(node, state)
        if module.layers is not None:
            args, kwargs = self.eval_args(node, state)
            value = args[0] if args else UNKNOWN
            for i, layer in enumerate(module.layers):
                value = self.apply_module(layer, node, value, state, bound_to if i == len(module.layers) - 1 else None,
                                          first=i == 0)
            return value
        args, kwargs = self.eval_args(node, state)
        return self.apply_module(module, node, args[0] if args else UNKNOWN, state, bound_to, first=True,
                                 extra=args[1:] + list(kwargs.values()))

    def apply_module(self, module: ModuleInfo, node: ast.Call, value: Ref, state: State, bound_to: str | None,
                     first: bool, extra: list[Ref] | None = None) -> Ref:
        info = self.ctx.table.lookup(module.api) if module.api else None
        if module.inplace and value.is_tensorish and (first or value.sids):
            target_node = node.args[0] if node.args and first else node
            self.mutate(Form.MODULE, f"{module.display}(inplace=True)", node, target_node, value, state,
                        operands=[], operand_nodes=[], module=module, bound_to=bound_to,
                        inplace_saves=info.inplace_saves if info else None)
            return value.with_(producer=Producer(module.display, self.ctx.span(node)))
        if info is None or not value.is_tensorish:
            if value.is_tensorish and module.api is None:
                return self.opaque_result(node, state, [value] + (extra or []))
            return self.opaque_result(node, state, [value] + (extra or [])) if value.is_tensorish else UNKNOWN
        if module.eval_mode and info.name.startswith("torch.nn.Dropout"):
            return value
        bound = {info.params[0] if info.params else "input": value}
        for name, ref in zip(info.params[1:], extra or []):
            bound[name] = ref
        return self.apply_bound(info, node, bound, state, display=module.display, params_require_grad=info.module_params)

    def set_module_frozen(self, owner: str, frozen: bool, state: State) -> None:
        """``owner`` (a name bound to a module) had its parameters' ``requires_grad`` set to ``not frozen``:
        its ``weight`` and ``bias`` seen so far and from now on are (not) leaves that require grad."""
        ref = state.env.get(owner)
        if ref is None or ref.kind is not Kind.MODULE or ref.module is None:
            return
        state.env[owner] = ref.with_(module=replace(ref.module, frozen=frozen))
        grad = Tri.NO if frozen else Tri.YES
        for attr in ("weight", "bias"):
            key = f"{owner}.{attr}"
            state.update([self.ctx.site_id(("param", key))], leaf=grad)
            if key in state.env:
                state.env[key] = state.env[key].with_(grad=grad)
