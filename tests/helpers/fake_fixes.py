"""A throwaway analysis and rewrite pass, for testing the engine before the real ones exist.

The fake analysis reports ``name.add_(...)`` statements as GS101 with an out-of-place fix, except
after ``name = name.add(...)`` in the same function: there the tensor is fresh, so - like the real
judge - it is no longer a hazard.  That makes the fix loop's "one fix per scope, then re-analyse"
rule observable: fixing the first ``y.add_`` must make the second one disappear.

The fake pass rewrites ``y.add_(a)`` to ``y = y.add(a)``.  It declines a fix whose statement has a
``# decline`` comment, so declined-fix handling can be tested too.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst
import pytest

from gradsafe.findings import Finding, Fix, FixKind
from gradsafe.files.source import SourceFile

CODE = "GS101"


def _add_call(statement: ast.stmt) -> tuple[str, ast.Call] | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        if isinstance(func, ast.Attribute) and func.attr == "add_" and isinstance(func.value, ast.Name):
            return func.value.id, statement.value
    return None


def _rebinds(statement: ast.stmt) -> str | None:
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and statement.value.func.attr == "add"
    ):
        return statement.targets[0].id
    return None


def _body_findings(body: list[ast.stmt], source: SourceFile, scope: str) -> list[Finding]:
    findings = []
    fresh: set[str] = set()
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            findings += _body_findings(statement.body, source, f"{scope}.{statement.name}".lstrip("."))
            continue
        if isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    findings += _body_findings(item.body, source, f"{scope}.{statement.name}.{item.name}".lstrip("."))
            continue
        rebound = _rebinds(statement)
        if rebound:
            fresh.add(rebound)
            continue
        hit = _add_call(statement)
        if hit and hit[0] not in fresh:
            span = source.span_of(hit[1])
            findings.append(
                Finding(
                    code=CODE,
                    message=f"in-place add_ on `{hit[0]}`",
                    span=span,
                    fix=Fix(FixKind.OUT_OF_PLACE, span, f"rebind `{hit[0]}` to the out-of-place result"),
                    scope=scope,
                )
            )
    return findings


def fake_analyse(source, tree=None, *, policy=None, confirmed=None) -> list[Finding]:  # noqa: ANN001 - mirrors analyse()
    tree = tree if tree is not None else ast.parse(source.text)
    return sorted(_body_findings(tree.body, source, ""), key=lambda f: f.sort_key)


class FakePass:
    kind = FixKind.OUT_OF_PLACE

    def apply(self, module: cst.Module, fixes: Sequence[Fix]):  # noqa: ANN201
        from gradsafe.transforms import PassResult
        from gradsafe.transforms.locate import NodeIndex

        index = NodeIndex(module)
        result = PassResult(module=index.module)
        replacements: dict[cst.CSTNode, cst.CSTNode] = {}
        for fix in fixes:
            call = index.find(fix.target, cst.Call)
            line = index.enclosing_statement(call) if call is not None else None
            if call is None or not isinstance(line, cst.SimpleStatementLine):
                result.declined.append((fix, "no add_ call at the target"))
                continue
            comment = line.trailing_whitespace.comment
            if comment is not None and "decline" in comment.value:
                result.declined.append((fix, "asked to decline"))
                continue
            name = call.func.value  # type: ignore[attr-defined]
            new_call = call.with_changes(func=call.func.with_changes(attr=cst.Name("add")))  # type: ignore[attr-defined]
            assign = cst.Assign(targets=[cst.AssignTarget(target=name)], value=new_call)
            replacements[line] = line.with_changes(body=[assign])
            result.applied.append(fix)

        class Replace(cst.CSTTransformer):
            def on_leave(self, original, updated):  # noqa: ANN001, ANN202
                return replacements.get(original, updated)

        result.module = index.module.visit(Replace())
        return result


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route the engine to the fake analysis and pass for one test."""
    import gradsafe.run.pipeline
    import gradsafe.fix.loop
    import gradsafe.transforms

    monkeypatch.setattr(gradsafe.run.pipeline, "analyse", fake_analyse)
    monkeypatch.setattr(gradsafe.fix.loop, "pass_kinds", lambda: frozenset({FixKind.OUT_OF_PLACE}))
    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: FakePass()})
