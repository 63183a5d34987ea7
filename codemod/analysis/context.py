"""Per-file context shared by every function the judge analyses.

Holds what is known about the file as a whole: its imports, its functions and classes, the
attributes each ``nn.Module`` subclass sets up in ``__init__`` (its layers, parameters and
buffers), module-level constants such as config dicts of layers, and summaries of in-file
functions (which arguments they mutate or save, what they return) for calls between them.
Everything is computed lazily, once per file.  Two of those facts take running the interpreter
(what ``__init__`` sets up, what a call of an in-file function does): the interpreter's
``InterpretedContext`` computes them (``collect_attributes``, ``summarize``), so that this module
does not depend on the interpreter.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from gradsafe.analysis.liveness import Reads
from gradsafe.analysis.names import ImportMap
from gradsafe.analysis.optable import OpTable
from gradsafe.analysis.transformed import transformed_functions
from gradsafe.analysis.values import Producer, Ref, Save, Storage, Tri
from gradsafe.findings import Span
from gradsafe.files.source import SourceFile

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_GRAD_OFF = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.inference_mode"})
_GRAD_ON = frozenset({"torch.enable_grad", "torch.autograd.enable_grad"})
# Every spelling of a grad-off context contains one of these (``grad_mode_of``).
_GRAD_OFF_MENTION = re.compile(r"no_grad|inference_mode|set_grad_enabled")
_FUNCTION_BASES = frozenset({"torch.autograd.Function", "torch.autograd.function.Function"})


@dataclass
class ClassInfo:
    name: str
    node: ast.ClassDef
    bases: list[str]  # resolved base names (canonical torch names or in-file class names)
    methods: dict[str, FunctionNode]
    # What `self.<attr>` holds after __init__, and the storages those refs point to.
    attrs: dict[str, Ref] = field(default_factory=dict)
    heap: dict[int, Storage] = field(default_factory=dict)
    ready: bool = False

    @property
    def is_autograd_function(self) -> bool:
        return any(b in _FUNCTION_BASES for b in self.bases)


@dataclass(frozen=True)
class Summary:
    """What calling an in-file function does to its arguments, seen from the caller."""

    params: tuple[str, ...]
    mutated: dict[str, tuple[Span, str, bool]]  # param -> (first write's span, op, grad mode on) on the caller's tensor
    saved: dict[str, frozenset[Save]]  # param -> saves the function adds to the caller's tensor
    returns_param: str | None  # the return value is (an alias of) this parameter
    returns_saves: frozenset[Save]  # saves pending on a fresh return value
    returns_value: bool  # some `return` carries a value
    returns_tensor: bool  # the return value is a tensor produced inside
    # Does the return value require grad: YES whatever the arguments (it uses parameters), NO never,
    # MAYBE when it depends on whether the caller's arguments do.
    returns_grad: Tri = Tri.MAYBE
    # param -> the iteration/unpacking inside the function whose elements it writes in place:
    # given a tensor, the write hits an output of `unbind` (GS301 at the call).
    unbound: dict[str, Producer] = field(default_factory=dict)
    # params whose only writes go through a NumPy view (`a = t.numpy(); a *= 2`): invisible to autograd
    numpy_written: frozenset[str] = frozenset()


class ModuleContext:
    def __init__(self, tree: ast.Module, source: SourceFile, table: OpTable) -> None:
        self.tree = tree
        self.source = source
        self.table = table
        self.imports = ImportMap.from_module(tree)
        self.functions: dict[str, FunctionNode] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.parents: dict[str, str | None] = {}  # function qualname -> class name
        self.globals: dict[str, ast.expr] = {}  # module-level NAME = <expr> (last binding)
        self._collect()
        self._summaries: dict[str, Summary | None] = {}
        self._in_progress: set[str] = set()
        self._site_ids: dict[tuple[object, ...], int] = {}
        self._reads: dict[int, Reads] = {}
        self._global_refs: dict[str, Ref | None] = {}  # None while being evaluated
        self.global_heap: dict[int, Storage] = {}  # storages of module-level constants
        # For each in-file function: may any tensor argument require grad, joined over the call
        # sites the interpreter has seen.
        self.call_grads: dict[str, Tri] = {}
        self.labels: dict[ast.AST, str] = {}  # the short source text of nodes, for messages (Interpreter.label)
        # in-file functions handed to torch.func / vmap / torch.autograd.functional, by name
        self.transformed = transformed_functions(tree, self.imports, source.text)
        # how the messages name the ops whose outputs share memory between elements ("expand()")
        self.overlapping_view_ops = frozenset(f"{n.rsplit('.', 1)[-1]}()" for n in table.library.overlapping_views)

    # -- structure -------------------------------------------------------------------------
    def _collect(self) -> None:
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
                self.parents[stmt.name] = None
            elif isinstance(stmt, ast.ClassDef):
                methods = {
                    s.name: s for s in stmt.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                bases = [self.imports.resolve(b) or (b.id if isinstance(b, ast.Name) else "") for b in stmt.bases]
                self.classes[stmt.name] = ClassInfo(stmt.name, stmt, bases, methods)
                for name, node in methods.items():
                    self.functions[f"{stmt.name}.{name}"] = node
                    self.parents[f"{stmt.name}.{name}"] = stmt.name
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                self.globals[stmt.targets[0].id] = stmt.value

    def reads(self, node: ast.AST) -> Reads:
        """The index of one scope (reads, statement places, evidence), built once per scope."""
        index = self._reads.get(id(node))
        if index is None:
            index = self._reads[id(node)] = Reads(node)
        return index

    def text(self, span: Span) -> str:
        """The source text of a span (one line or several)."""
        lines = self.source.lines[span.line - 1 : span.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][span.col : span.end_col]
        return lines[0][span.col :] + "".join(lines[1:-1]) + lines[-1][: span.end_col]

    def span(self, node: ast.AST) -> Span:
        return self.source.span_of(node)

    def site_id(self, key: tuple[object, ...]) -> int:
        """A stable storage id per allocation site (so loops reach a fixpoint)."""
        sid = self._site_ids.get(key)
        if sid is None:
            sid = self._site_ids[key] = len(self._site_ids) + 1
        return sid

    def site_kind(self, sid: int) -> str | None:
        """What made storage ``sid``: the first element of its site key (``"alloc"``, ``"arg"``,
        ``"opaque"`` for the result of an op nothing knows...)."""
        return next((str(key[0]) for key, known in self._site_ids.items() if known == sid), None)

    def find_method(self, class_name: str, method: str) -> tuple[str, FunctionNode] | None:
        """``method`` of ``class_name`` or of its in-file bases."""
        seen: set[str] = set()
        pending = [class_name]
        while pending:
            name = pending.pop(0)
            if name in seen or name not in self.classes:
                continue
            seen.add(name)
            info = self.classes[name]
            if method in info.methods:
                return f"{name}.{method}", info.methods[method]
            pending.extend(b for b in info.bases if b in self.classes)
        return None

    def class_bases(self, class_name: str) -> set[str]:
        """All base names of an in-file class, transitively (canonical torch names included)."""
        out: set[str] = set()
        pending = [class_name]
        while pending:
            name = pending.pop()
            info = self.classes.get(name)
            if info is None:
                continue
            for b in info.bases:
                if b not in out:
                    out.add(b)
                    pending.append(b)
        return out

    def is_module_class(self, class_name: str) -> bool:
        """An nn.Module subclass, as far as the file shows (a base from torch.nn, or named *Module)."""
        return any(b.startswith("torch.nn.") or b.endswith("Module") for b in self.class_bases(class_name))

    def is_autograd_function(self, class_name: str) -> bool:
        return bool(self.class_bases(class_name) & _FUNCTION_BASES)

    # -- grad mode ------------------------------------------------------------------------
    def grad_mode_of(self, expr: ast.expr) -> bool | None:
        """False for ``torch.no_grad()``/``inference_mode()``, True for ``enable_grad()``; None otherwise."""
        call = expr
        if isinstance(expr, ast.Call):
            call = expr.func
        name = self.imports.resolve(call)
        if name in _GRAD_OFF:
            if isinstance(expr, ast.Call) and name.endswith("inference_mode") and expr.args:
                arg = expr.args[0]
                if isinstance(arg, ast.Constant) and arg.value is False:
                    return None
            return False
        if name in _GRAD_ON:
            return True
        if name in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled") and isinstance(expr, ast.Call):
            if expr.args and isinstance(expr.args[0], ast.Constant):
                return bool(expr.args[0].value)
        return None

    @cached_property
    def nograd_callees(self) -> frozenset[str]:
        """In-file functions and methods every in-file call of which runs under ``no_grad``."""
        if not _GRAD_OFF_MENTION.search(self.source.text):
            return frozenset()  # no call can run with grad off: the walk over the file would find none
        from gradsafe.analysis.callers import nograd_only_callees

        return nograd_only_callees(self.tree, self.grad_mode_of)

    def decorated_grad_mode(self, func: FunctionNode) -> bool | None:
        for deco in func.decorator_list:
            mode = self.grad_mode_of(deco)
            if mode is not None:
                return mode
        return None

    # -- lazily computed facts ---------------------------------------------------------------
    @cached_property
    def exports(self) -> frozenset[str]:
        """The names the module's ``__all__`` lists: other files may use them, unseen from here."""
        names: set[str] = set()
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
                targets = [stmt.target]
            else:
                continue
            if stmt.value is not None and any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names.update(
                    n.value for n in ast.walk(stmt.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                )
        return frozenset(names)

    def class_info(self, name: str) -> ClassInfo | None:
        info = self.classes.get(name)
        if info is None:
            return None
        if not info.ready:
            info.ready = True  # set first: __init__ may refer to its own class
            self.collect_attributes(info)
        return info

    def global_ref(self, name: str, evaluate: Callable[[ast.expr], Ref]) -> Ref | None:
        """The value of a module-level constant (a dict of layers, a layer), evaluated once."""
        if name in self._global_refs:
            return self._global_refs[name]
        expr = self.globals.get(name)
        if expr is None:
            return None
        self._global_refs[name] = None  # recursion guard
        ref = evaluate(expr)
        self._global_refs[name] = ref
        return ref

    def summary(self, qualname: str) -> Summary | None:
        if qualname in self._summaries:
            return self._summaries[qualname]
        if qualname in self._in_progress:
            return None
        self._in_progress.add(qualname)
        try:
            result = self.summarize(qualname)
        finally:
            self._in_progress.discard(qualname)
        self._summaries[qualname] = result
        return result

    # -- computed by the interpreter (gradsafe.analysis.interpreter.summaries.InterpretedContext) --
    def collect_attributes(self, info: ClassInfo) -> None:
        """Fill ``info.attrs`` and ``info.heap``: what ``self.<attr>`` holds after ``__init__``."""
        raise NotImplementedError("collect_attributes: use the interpreter's InterpretedContext")

    def summarize(self, qualname: str) -> Summary | None:
        """The summary of the in-file function ``qualname`` (None when it cannot be summarised)."""
        raise NotImplementedError("summarize: use the interpreter's InterpretedContext")
