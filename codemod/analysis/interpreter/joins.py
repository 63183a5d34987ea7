"""Joining abstract states and references where control flow merges (branches, loop iterations)."""

from __future__ import annotations

from collections.abc import Iterable

from gradsafe.analysis.values import UNKNOWN, Ref, State


def join_states(a: State | None, b: State | None) -> State | None:
    if a is None:
        return b
    if b is None:
        return a
    return a.join(b)


def same_states(a: State, b: State) -> bool:
    return a.env == b.env and a.heap == b.heap


def join_refs(refs: Iterable[Ref]) -> Ref:
    result: Ref | None = None
    for r in refs:
        result = r if result is None else result.join(r)
    return result or UNKNOWN

