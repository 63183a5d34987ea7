"""The cross-check of ``build_optable.py`` against torch's own ``derivatives.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from optable_catalogue import (
    BuildError,
)


# ---------------------------------------------------------------------------------------------
# Cross-check against derivatives.yaml
# ---------------------------------------------------------------------------------------------


def cross_check(saved_attributes: Mapping[str, set[str]]) -> tuple[int, int]:
    """Every saved tensor seen must be one derivatives.yaml declares for that node.

    Returns (nodes checked, nodes the yaml does not describe, e.g. CopySlices).
    """
    import torchgen
    from torchgen.packaged.autograd.load_derivatives import load_derivatives

    base = Path(torchgen.__file__).parent / "packaged"
    infos, _ = load_derivatives(
        str(base / "autograd" / "derivatives.yaml"),
        str(base / "ATen" / "native" / "native_functions.yaml"),
        str(base / "ATen" / "native" / "tags.yaml"),
    )
    declared: dict[str, set[str]] = {}
    for by_dispatch in infos.values():
        for info in by_dispatch.values():
            if info.op:
                names = {s.nctype.name for s in (*info.all_saved_inputs, *info.all_saved_outputs)}
                declared.setdefault(info.op, set()).update(str(n) for n in names)
    checked = unknown = 0
    for node, attributes in sorted(saved_attributes.items()):
        if node not in declared:
            unknown += 1
            continue
        checked += 1
        extra = attributes - declared[node]
        if extra:
            raise BuildError(f"{node} saved {sorted(extra)}, which derivatives.yaml does not declare")
    return checked, unknown
