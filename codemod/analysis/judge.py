"""Judging a whole file: pick the scopes worth interpreting, run the judge on each, tidy the fixes.

Only scopes that contain in-place syntax are interpreted (most code has none), plus the scopes
that can reach an in-place write indirectly: methods of a class that builds a module with its
``inplace`` flag on, and callers of in-file helpers that write their arguments.  A regex over the
raw text skips files with no in-place syntax at all before anything else runs.

Two decisions need the whole file rather than one write:

* an ``inplace=True`` module is safe to flip only if *every* call of it is;
* adjacent parameter updates share one ``with torch.no_grad():`` block, and a loop that does
  nothing but updates is wrapped whole.
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import replace
from functools import lru_cache
from collections.abc import Iterator, Mapping

from gradsafe.analysis.hazards import ScopeJudge
from gradsafe.analysis.context import ModuleContext
from gradsafe.analysis.interpreter import InterpretedContext, Interpreter, Scope, flag_passed_positionally, make_scope
from gradsafe.analysis.optable import load as load_optable
from gradsafe.findings import Finding, FixKind, Span
from gradsafe.rules import Policy
from gradsafe.files.source import SourceFile
from gradsafe.transforms.params import InplaceFlagParams, NoGradParams

# Any in-place syntax at all: `op_(`, augmented assignment, `] =`, inplace=, out=, `.data`, and a
# positional `True` argument (`nn.ReLU(True)`, `nn.LeakyReLU(0.2, True)` set the flag so).  Every
# branch starts with a literal character (`_(?<=[A-Za-z0-9]_)` is `[A-Za-z0-9]_`, `o(?<!\wo)ut` is
# `\bout`, `T(?<=[(,\s]T)rue` is a `True` after `(`, `,` or a space, a superset of `[(,]\s*True`),
# which lets the regex engine skip to the few characters that can start a match instead of trying
# every branch at every position: 2.5x faster on text without a match.
_PREFILTER = re.compile(
    r"_(?<=[A-Za-z0-9]_)\s*\(|[-+*/%&|^]=|<<=|>>=|\]\s*=[^=]|inplace|o(?<!\wo)ut\s*=|\.data\b|T(?<=[(,\s]T)rue\s*[),]"
)
_AUG_NOT_INPLACE = (ast.MatMult,)
_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


@lru_cache(maxsize=1)
def _discard_prefilter() -> re.Pattern[str]:
    """A line that starts with a call of a pure op's name, ``x.clamp(`` or ``torch.clamp(`` (GS601)."""
    names = _discard_names()
    # Possessive: the dotted prefix is read once, never backtracked into (a fifth faster on torch's sources).
    alternatives = "|".join(map(re.escape, sorted(names)))
    return re.compile(r"^[ \t]*+(?:[A-Za-z_]\w*+\.)++(?:" + alternatives + r")\s*\(", re.MULTILINE)


@lru_cache(maxsize=1)
def _discard_names() -> frozenset[str]:
    from gradsafe.analysis.pure_calls import pure_calls

    pure = pure_calls()
    return pure.methods | {name.rsplit(".", 1)[1] for name in pure.functions}


def _has_discarded_call(scope: ast.AST) -> bool:
    """Does the scope have an expression statement calling a pure op's name (a result GS601 may report)?"""
    names = _discard_names()
    for node in _local_nodes(scope):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr in names:
                return True
    return False


def judge_module(
    tree: ast.Module, source: SourceFile, *, policy: Policy, confirmed: Mapping[int, str] | None = None
) -> list[Finding]:
    inplace_text = _PREFILTER.search(source.text) is not None
    discard_text = _discard_prefilter().search(source.text) is not None
    if not inplace_text and not discard_text:
        return []
    scopes = list(_scopes(tree))
    texts = _scope_texts(source, scopes)
    # A regex over each scope's own lines is cheap; only scopes it matches are walked.
    flags = _positional_flags()
    marked = {
        id(node)
        for _, node, _ in scopes
        if inplace_text and _PREFILTER.search(*texts[id(node)]) and _has_candidates(node, flags)
    }
    # Scopes judged only for their discarded results: they do not widen the search for writes.
    discarding = {
        id(node)
        for _, node, _ in scopes
        if discard_text and _discard_prefilter().search(*texts[id(node)]) and _has_discarded_call(node)
    }
    if not marked and not discarding:
        return []
    ctx = InterpretedContext(tree, source, load_optable())
    interesting = _interesting(ctx, scopes, marked, texts) | discarding
    contexts = _grad_contexts(scopes, texts, source.text)
    judges: list[ScopeJudge] = []
    for qualname, node, cls in scopes:
        if id(node) not in interesting:
            continue
        scope = _scope(ctx, qualname, node, cls)
        if not scope.grad_context and id(node) in contexts:
            scope.grad_context = True
            scope.inherited_context = not contexts[id(node)]
        judge = ScopeJudge(ctx, scope, policy, confirmed or {})
        interp = Interpreter(ctx, scope, judge)
        interp.run(interp.initial_state())
        judges.append(judge)
    # Results are read only now: call sites seen in later scopes inform earlier ones.
    findings: dict[tuple[str, Span], Finding] = {}
    for judge in judges:
        for finding in _group_no_grad(judge, judge.results()):
            findings.setdefault((finding.code, finding.span), finding)
    return _check_module_flags(judges, list(findings.values()))


# ---------------------------------------------------------------------- scopes
def _scopes(tree: ast.Module) -> Iterator[tuple[str, ast.AST, str | None]]:
    """(qualname, node, enclosing class) for the module body and every function, nested ones too."""
    yield "<module>", tree, None
    stack: list[tuple[ast.AST, str, str | None]] = [(tree, "", None)]
    while stack:
        node, prefix, cls = stack.pop()
        for child in _children_stmts(node):
            if isinstance(child, _SCOPE_NODES):
                qualname = f"{prefix}{child.name}"
                yield qualname, child, cls
                stack.append((child, f"{qualname}.<locals>.", None))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}{child.name}.", child.name if not prefix else None))


def _children_stmts(node: ast.AST) -> Iterator[ast.stmt]:
    """Statements nested in ``node`` (through if/for/with/try blocks), not inside nested defs."""
    pending = list(getattr(node, "body", []))
    for field in ("orelse", "finalbody"):
        pending += getattr(node, field, [])
    while pending:
        stmt = pending.pop()
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            pending += getattr(stmt, field, [])
        for handler in getattr(stmt, "handlers", []):
            pending += handler.body
        for case in getattr(stmt, "cases", []):
            pending += case.body


# Fields that hold only expression contexts and operators (`Load`, `Add`, `Eq`): none is a statement
# or a call, and skipping them leaves far fewer nodes to visit.
_OPERATOR_FIELDS = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS = {
    node_type: tuple(name for name in node_type._fields if name not in _OPERATOR_FIELDS)
    for node_type in vars(ast).values()
    if isinstance(node_type, type) and issubclass(node_type, ast.AST)
}
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _local_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of a scope but operators and contexts, without descending into nested functions or classes.

    Written out rather than with ``ast.iter_child_nodes``: this visits millions of nodes on a
    large tree, and the generic walk costs twice as much.
    """
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, _NESTED_SCOPES):
            continue
        for name in _CHILD_FIELDS.get(type(node), node._fields):
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        pending.append(item)
            elif isinstance(value, ast.AST):
                pending.append(value)


# The nodes `_has_candidates` looks at; every other node is only walked through.
_CANDIDATE_NODES = frozenset(
    {ast.Call, ast.AugAssign, ast.Assign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.withitem,
     ast.NamedExpr}
)


@lru_cache(maxsize=1)
def _positional_flags() -> dict[str, int]:
    """Module classes by their short name (``LeakyReLU``) -> where their constructor takes ``inplace`` positionally."""
    return {
        name.rsplit(".", 1)[1]: info.inplace_position
        for name, info in load_optable().ops.items()
        if info.kind == "module" and info.inplace_position is not None
    }


def _has_candidates(scope: ast.AST, flags: Mapping[str, int]) -> bool:
    """Does the scope contain in-place syntax that could write a tensor?

    ``x += 1`` and ``d[k] = v`` are everywhere in ordinary Python; a write to a local name counts only
    if that name is not obviously a plain Python value (bound only from literals, comprehensions or
    builtins such as ``len``/``dict``/``range``).  Writes to attributes and ``*_()`` calls always count,
    and so does a module built with a positional ``inplace`` flag (``flags``: see ``_positional_flags``).
    """
    weak: set[str] = set()
    plain: dict[str, bool] = {}
    for node in _local_nodes(scope):
        if type(node) not in _CANDIDATE_NODES:
            continue
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr.endswith("_") and not func.attr.endswith("__"):
                return True
            if isinstance(func, ast.Name) and func.id.endswith("_") and not func.id.endswith("__"):
                return True
            if any(k.arg in ("inplace", "out") for k in node.keywords):
                return True
            short = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if short is not None and short in flags and flag_passed_positionally(node, flags[short]):
                return True
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.op, _AUG_NOT_INPLACE):
                continue
            if not isinstance(node.target, ast.Name):
                return True
            weak.add(node.target.id)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript):
                    base = target.value
                    if not isinstance(base, ast.Name):
                        return True
                    weak.add(base.id)
                elif isinstance(target, ast.Name) and node.value is not None:
                    plain[target.id] = plain.get(target.id, True) and _plain_value(node.value)
                elif isinstance(target, (ast.Tuple, ast.List)):
                    for elt in ast.walk(target):
                        if isinstance(elt, ast.Name):
                            plain[elt.id] = False
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension, ast.withitem)):
            bound = node.target if not isinstance(node, ast.withitem) else node.optional_vars
            for elt in ast.walk(bound) if bound is not None else ():
                if isinstance(elt, ast.Name):
                    plain[elt.id] = False
        elif isinstance(node, ast.NamedExpr):
            plain[node.target.id] = False
    return any(not plain.get(name, False) for name in weak)


_PLAIN_BUILTINS = frozenset(
    {"len", "int", "float", "str", "bool", "list", "dict", "set", "tuple", "range", "sum", "min", "max", "abs", "round",
     "sorted", "enumerate", "zip", "defaultdict", "OrderedDict", "Counter", "deque", "frozenset", "bytes", "bytearray"}
)


def _plain_value(value: ast.expr) -> bool:
    """An expression that never evaluates to a tensor."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.JoinedStr)):
        return True
    if isinstance(value, ast.Tuple):
        return all(_plain_value(e) for e in value.elts)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in _PLAIN_BUILTINS
    if isinstance(value, ast.UnaryOp):
        return _plain_value(value.operand)
    return False


def _interesting(ctx: ModuleContext, scopes: list[tuple[str, ast.AST, str | None]], marked: set[int],
                 texts: dict[int, ScopeText]) -> set[int]:
    """Scopes with in-place syntax, plus those that reach a write through a module or a helper."""
    interesting = set(marked)
    inplace_classes = {cls for _, node, cls in scopes if cls and id(node) in marked}
    module_level_inplace = id(ctx.tree) in marked
    helpers = {q for q, node, cls in scopes if id(node) in marked and cls is None and "<locals>" not in q and q != "<module>"}
    helper_call = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, sorted(helpers))) + r")\s*\(") if helpers else None
    for qualname, node, cls in scopes:
        if id(node) in interesting:
            continue
        if (cls is not None and cls in inplace_classes) or (module_level_inplace and qualname != "<module>"):
            interesting.add(id(node))
        elif helper_call is not None and helper_call.search(*texts[id(node)]):
            interesting.add(id(node))
    return interesting


_CALLED = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_SELF_CALLED = re.compile(r"\bself\.([A-Za-z_]\w*)\s*\(")
_BACKWARD = re.compile(r"\.backward\s*\(|autograd\.(?:grad|backward)\s*\(")


# A scope's text, as the arguments a compiled regex takes to search part of a string: (string,
# start, end).  A function's text is a run of whole lines of the file, searched where it is; the
# module's (its top-level statements but the defs) is joined once.  Every pattern used on these
# texts matches the same in place as in a copy: a lookbehind at the start sees a line break.
ScopeText = tuple[str, int, int]


def _scope_texts(source: SourceFile, scopes: list[tuple[str, ast.AST, str | None]]) -> dict[int, ScopeText]:
    """The text of every scope, by node id."""
    starts = [0, *itertools.accumulate(map(len, source.lines))]
    texts: dict[int, ScopeText] = {}
    for _, node, _ in scopes:
        if isinstance(node, ast.Module):
            text = _module_text(source, node)
            texts[id(node)] = (text, 0, len(text))
        else:
            texts[id(node)] = (source.text, starts[node.lineno - 1], starts[node.end_lineno])  # type: ignore[attr-defined]
    return texts


def _module_text(source: SourceFile, module: ast.Module) -> str:
    """The source lines of the module's top-level statements that are not defs."""
    lines = source.lines
    return "".join(
        "".join(lines[stmt.lineno - 1 : stmt.end_lineno])
        for stmt in module.body
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )


def _grad_contexts(
    scopes: list[tuple[str, ast.AST, str | None]], texts: dict[int, ScopeText], source_text: str
) -> dict[int, bool]:
    """Scopes that run under autograd as far as this file shows: node id -> is it a seed.

    Seeds: a module's ``forward`` and any scope that calls ``backward()`` / ``torch.autograd.grad``.
    Then every in-file function or method they call (by name or as ``self.method``), transitively.
    Calls are found in the scope's text: a superset is fine, this only widens where *possible*
    findings are reported.  Only the scopes reached are read for calls, and a function's text
    (a run of whole lines of the file) can only call ``backward`` if the file's text does.
    """
    nodes_by_name: dict[str, ast.AST] = {}
    classes: dict[int, str | None] = {}
    for qualname, node, cls in scopes:
        key = f"{cls}.{node.name}" if cls and isinstance(node, _SCOPE_NODES) else qualname
        nodes_by_name[key] = node
        classes[id(node)] = cls
    backward_in_file = _BACKWARD.search(source_text) is not None
    reached: dict[int, bool] = {}
    for _qualname, node, cls in scopes:
        is_forward = isinstance(node, _SCOPE_NODES) and cls is not None and node.name == "forward"
        # The module's text is its top-level statements joined without the defs between them: read it.
        may_call_backward = backward_in_file or isinstance(node, ast.Module)
        if is_forward or (may_call_backward and _BACKWARD.search(*texts[id(node)])):
            reached[id(node)] = True
    pending = list(reached)
    while pending:
        current = pending.pop()
        for name in _callees(texts[current], classes[current], nodes_by_name):
            target = nodes_by_name[name]
            if id(target) not in reached:
                reached[id(target)] = False
                pending.append(id(target))
    return reached


def _callees(text: ScopeText, cls: str | None, nodes_by_name: dict[str, ast.AST]) -> set[str]:
    """The in-file functions and methods (keys of ``nodes_by_name``) a scope's text calls."""
    callees = {name for name in _CALLED.findall(*text) if name in nodes_by_name}
    if cls:
        callees |= {f"{cls}.{m}" for m in _SELF_CALLED.findall(*text) if f"{cls}.{m}" in nodes_by_name}
    return callees


def _scope(ctx: ModuleContext, qualname: str, node: ast.AST, cls: str | None) -> Scope:
    if isinstance(node, ast.Module):
        return Scope("<module>", node, None, is_forward=False, differentiable=False, grad_default=True)
    key = f"{cls}.{node.name}" if cls else qualname  # type: ignore[attr-defined]
    if key in ctx.functions and ctx.functions[key] is node:
        return make_scope(ctx, key, node)
    scope = make_scope(ctx, qualname, node)  # type: ignore[arg-type]
    return scope


# ---------------------------------------------------------------------- whole-file decisions
def _check_module_flags(judges: list[ScopeJudge], findings: list[Finding]) -> list[Finding]:
    """Flip a module's ``inplace`` only if no call of it relies on the in-place write (an unsafe fix
    changes its own call's result on purpose: only the module's other calls count for it)."""
    problems: dict[Span, list[tuple[Span, str]]] = {}
    for judge in judges:
        for use, problem in judge.module_uses:
            site = use.module.site if use.module is not None else None
            if site is not None and problem:
                problems.setdefault(site, []).append((use.span, problem))
    out = []
    for f in findings:
        if f.fix is not None and f.fix.kind is FixKind.INPLACE_FLAG and InplaceFlagParams.of(f.fix).mode == "construction":
            found = [p for span, p in problems.get(f.fix.target, []) if not (f.fix.unsafe and span == f.span)]
            problem = found[0] if found else None
            if problem:
                f = replace(f, fix=None, unfixable_reason=f"another call of this module: {problem}")
        out.append(f)
    return out


def _group_no_grad(judge: ScopeJudge, findings: list[Finding]) -> list[Finding]:
    """Merge adjacent updates into one ``no_grad`` block; wrap loops that only update."""
    targets = [f.fix for f in findings if f.fix is not None and f.fix.kind is FixKind.NO_GRAD]
    if not targets:
        return findings
    reads = judge.reads
    ctx = judge.ctx
    by_span: dict[Span, ast.stmt] = {}
    for place_stmt in reads.places:
        by_span[ctx.span(place_stmt)] = place_stmt
    stmts = {fix.target: by_span.get(fix.target) for fix in targets}
    update_ids = {id(s) for s in stmts.values() if s is not None}
    group_of: dict[Span, Span] = {}
    for span, stmt in stmts.items():
        if stmt is None or stmt not in reads.places:
            continue
        place = reads.places[stmt]
        block = place.block
        lo = hi = place.index
        while lo > 0 and id(block[lo - 1]) in update_ids:
            lo -= 1
        while hi + 1 < len(block) and id(block[hi + 1]) in update_ids:
            hi += 1
        first, last = block[lo], block[hi]
        owner = place.owner
        # Lift to the enclosing loop while the loop body is nothing but updates (and guards).
        while isinstance(owner, (ast.For, ast.AsyncFor, ast.While)) and block is owner.body and not owner.orelse and all(
            id(s) in update_ids or _is_guard(s) for s in block
        ) and owner in reads.places:
            first = last = owner
            update_ids.add(id(owner))  # a loop of updates is itself an update, for the loop around it
            place = reads.places[owner]
            block, owner = place.block, place.owner
        start, end = ctx.span(first), ctx.span(last)
        group_of[span] = Span(start.line, start.col, end.end_line, end.end_col)
    # The fixes of one block are applied once, with the parameters of one of them: every fix of a
    # block that holds a `.data` update must ask for `.data` to be stripped.
    stripping = {
        group_of[fix.target]
        for fix in targets
        if fix.target in group_of and NoGradParams.of(fix).strip_data
    }
    out = []
    for f in findings:
        if f.fix is not None and f.fix.kind is FixKind.NO_GRAD and f.fix.target in group_of:
            group = group_of[f.fix.target]
            params = replace(NoGradParams.of(f.fix), strip_data=True) if group in stripping else f.fix.params
            f = replace(f, fix=replace(f.fix, target=group, params=params))
        out.append(f)
    return out


def _is_guard(stmt: ast.stmt) -> bool:
    """`if p.grad is None: continue` and friends: harmless inside a no_grad block."""
    if isinstance(stmt, (ast.Continue, ast.Pass, ast.Break)):
        return True
    if isinstance(stmt, ast.If) and not stmt.orelse:
        return all(isinstance(s, (ast.Continue, ast.Pass, ast.Break)) for s in stmt.body)
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
