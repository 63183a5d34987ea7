"""Joining abstract states and references where control flow merges (branches, loop iterations)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gradsafe.analysis.values import UNKNOWN, Ref, State, Storage


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



def forget_unreachable_saves(entry: dict[int, Storage], branch: State | None, keep: set[int]) -> None:
    """At the end of one branch of an ``if``: a save the branch made on a temporary that no name
    reaches any more (``y = y * w`` rebinds ``y``; the product saved the old ``y``) can never be
    overwritten on that path, so it must not reach, through the join, the other path's ``y``
    (which is that same storage, unsaved).  Parameters, buffers, the caller's tensors and whatever
    escaped (``keep``) can be reached again by other means and keep their saves."""
    if branch is None:
        return
    live = branch.reached() | keep
    for sid, facts in list(branch.heap.items()):
        if not facts.saves or sid in live or facts.param or facts.buffer or facts.arg is not None:
            continue
        before = entry.get(sid)
        saves = before.saves if before is not None else frozenset()
        if facts.saves != saves:
            branch.heap[sid] = replace(facts, saves=saves)
