"""Lists and dicts of tensors are not tensors (issue 16): no finding for a slot assignment, and
never a `.clone()` planned for a name that may hold a list or a dict (it raises AttributeError)."""

from __future__ import annotations

import textwrap

import pytest
from gradsafe.analysis import analyse
from gradsafe.files.source import SourceFile


def findings(code: str) -> list[tuple[int, str, bool]]:
    found = analyse(SourceFile.from_text(textwrap.dedent(code)))
    return [(f.span.line, f.code, f.fix is not None) for f in found]


@pytest.mark.parametrize("signature", [
    "x: List[torch.Tensor]", "x: list[Tensor]", "x: Optional[List[Tensor]]", "x: 'List[Tensor]'",
    "x: Sequence[Tensor]", "x: tuple[Tensor, ...]", "x: Dict[str, Tensor]",
])
def test_annotated_containers_slot_assignment_is_silent(signature: str) -> None:
    code = f"""
    import torch
    from torch import nn, Tensor
    from typing import Dict, List, Optional, Sequence

    class M(nn.Module):
        def forward(self, {signature}):
            x[0] = torch.sigmoid(x[0])
            return x
    """
    assert findings(code) == []


@pytest.mark.parametrize("body", [
    'features["emb"] = features["tok"].tanh()',
    'out = features.get("tok"); features["emb"] = out.tanh()',
])
def test_dict_by_usage_is_silent(body: str) -> None:
    code = f"""
    from torch import nn

    class M(nn.Module):
        def forward(self, features):
            {body}
            return features
    """
    assert findings(code) == []


def test_tensor_indexed_by_loop_counter_stays_reported() -> None:
    # `x.size(0)` says x is a tensor: the counter-indexed write is a row write.
    code = """
    import torch
    from torch import nn

    class M(nn.Module):
        def forward(self, x):
            for i in range(x.size(0)):
                x[i] = torch.sigmoid(x[i])
            return x
    """
    assert [c for _, c, _ in findings(code)] == ["GS501"]


def test_write_into_an_element_is_reported_but_the_list_is_never_cloned() -> None:
    code = """
    import torch
    from torch import nn
    from typing import List

    class M(nn.Module):
        def forward(self, x: List[torch.Tensor]):
            x[0].mul_(2)
            return x[0] + x[1]
    """
    assert findings(code) == [(8, "GS501", False)]
