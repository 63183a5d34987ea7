"""Where names are read, and which statements enclose which: the facts a fix's safety depends on.

An out-of-place rewrite (``x = x + y`` for ``x += y``) or a ``clone()`` rebinds one name.  Any
*other* name still holding the tensor would stop seeing the write, which changes what the code
computes.  ``Reads`` answers "is this name read after that statement?" conservatively: a read
later in the function, or anywhere inside a loop that encloses the statement (the next iteration
reads it), counts, even if the name is rebound in between.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from dataclasses import dataclass

from gradsafe.analysis.names import dotted


@dataclass(frozen=True)
class Place:
    """Where a statement sits: the block (list of statements) that holds it, and its index there."""

    block: list[ast.stmt]
    index: int
    owner: ast.AST  # the node whose body/orelse/finalbody the block is


class Reads:
    def __init__(self, root: ast.AST) -> None:
        self._reads: dict[str, list[tuple[int, int]]] = {}
        self._grad_reads: dict[str, list[tuple[int, int]]] = {}
        self.places: dict[ast.stmt, Place] = {}
        self.parents: dict[ast.stmt, ast.AST] = {}
        self.loops: list[ast.stmt] = []
        self.assigned_in: dict[ast.stmt, set[str]] = {}
        self._collect(root)

    def _collect(self, root: ast.AST) -> None:
        for node in ast.walk(root):
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block and isinstance(block[0], (ast.stmt, ast.excepthandler)):
                    for i, stmt in enumerate(block):
                        if isinstance(stmt, ast.stmt):
                            self.places[stmt] = Place(block, i, node)
                            self.parents[stmt] = node
            if isinstance(node, ast.match_case):
                for i, stmt in enumerate(node.body):
                    self.places[stmt] = Place(node.body, i, node)
                    self.parents[stmt] = node
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                self.loops.append(node)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self._reads.setdefault(node.id, []).append((node.lineno, node.col_offset))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                key = dotted(node)
                if key is not None:
                    self._reads.setdefault(key, []).append((node.lineno, node.col_offset))
                if node.attr == "grad":
                    base = dotted(node.value)
                    if base is not None:
                        self._grad_reads.setdefault(base, []).append((node.lineno, node.col_offset))
        for positions in list(self._reads.values()) + list(self._grad_reads.values()):
            positions.sort()

    # -- structure ---------------------------------------------------------------------
    def enclosing_loops(self, stmt: ast.stmt) -> list[ast.stmt]:
        """Loops that contain ``stmt``, outermost first."""
        chain = []
        node: ast.AST | None = self.parents.get(stmt)
        while node is not None:
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                chain.append(node)
            node = self.parents.get(node) if isinstance(node, ast.stmt) else None
        return list(reversed(chain))

    def ancestors(self, stmt: ast.stmt) -> list[ast.AST]:
        chain = []
        node: ast.AST | None = self.parents.get(stmt)
        while node is not None:
            chain.append(node)
            node = self.parents.get(node) if isinstance(node, ast.stmt) else None
        return chain

    def assigns(self, stmt: ast.stmt, name: str) -> bool:
        """Does ``stmt`` (or anything inside it) bind ``name``?"""
        cached = self.assigned_in.get(stmt)
        if cached is None:
            cached = set()
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    cached.add(node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    key = dotted(node)
                    if key:
                        cached.add(key)
            self.assigned_in[stmt] = cached
        return name in cached

    # -- reads ---------------------------------------------------------------------------
    def read_after(self, name: str, stmt: ast.stmt) -> bool:
        """Is ``name`` read after ``stmt`` ends, or anywhere in a loop enclosing ``stmt``?"""
        positions = self._reads.get(name)
        if not positions:
            return False
        end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        if bisect_right(positions, end) < len(positions):
            return True
        for loop in self.enclosing_loops(stmt):
            start = (loop.lineno, loop.col_offset)
            for pos in positions:
                if start <= pos < (stmt.lineno, stmt.col_offset):
                    return True
        return False

    def grad_read_after(self, name: str, stmt: ast.stmt) -> bool:
        """Is ``name.grad`` read after ``stmt`` (or in a loop around it)?"""
        positions = self._grad_reads.get(name)
        if not positions:
            return False
        end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        if bisect_right(positions, end) < len(positions):
            return True
        return any(positions and loop.lineno <= positions[0][0] for loop in self.enclosing_loops(stmt))
