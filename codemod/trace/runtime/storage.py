"""Which memory a tensor occupies: the storage it lives in, and the bytes of it that it can touch.

Aliases that do not share autograd's version counter (``.data``, ``unsafe_chunk``, a tensor made
from the same storage) are invisible to autograd; the detector finds them by storage, and tells a
write to the bytes a saved tensor holds from a write next to them by looking at the bytes.
"""

from __future__ import annotations

import torch

# Keys of the Python dispatcher: excluded while the detector works on tensors itself, so that its
# own ops never reach its dispatch mode (or a mode of the program's).
PYTHON_KEYS = torch._C.DispatchKeySet(torch._C.DispatchKey.Python) | torch._C.DispatchKeySet(
    torch._C.DispatchKey.PythonTLSSnapshot
)

_LARGEST_MASK = 1 << 26  # bytes; past this, intersecting extents count as overlapping


def storage_key(tensor: torch.Tensor) -> int:
    """The address of the tensor's storage; 0 when it has none that can be written (meta, empty)."""
    try:
        address: int = tensor.untyped_storage().data_ptr()
        return address
    except (RuntimeError, NotImplementedError):
        return 0


def byte_extent(tensor: torch.Tensor) -> tuple[int, int]:
    """The bytes of its storage the tensor can touch, as a half-open range."""
    if tensor.numel() == 0:
        return (0, 0)
    first = tensor.storage_offset()
    last = first + sum((size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride(), strict=True))
    itemsize = tensor.element_size()
    return (first * itemsize, (last + 1) * itemsize)


def overlap(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors on the same storage share a byte.

    Extents that intersect are not enough: the chunks of ``gates.unsafe_chunk(4, 1)`` interleave
    row by row without sharing an element (the LSTM cell does this inside backward).  When the
    extents intersect and either tensor has gaps, the bytes of ``a`` are marked in a mask over
    the common range and read back through ``b``'s layout.
    """
    (a0, a1), (b0, b1) = byte_extent(a), byte_extent(b)
    if not (a0 < b1 and b0 < a1):
        return False
    low, high = min(a0, b0), max(a1, b1)
    if (a.is_contiguous() and b.is_contiguous()) or high - low > _LARGEST_MASK:
        return True
    with torch._C._ExcludeDispatchKeyGuard(PYTHON_KEYS), torch.no_grad():
        mask = torch.zeros(high - low, dtype=torch.bool)
        _bytes_of(mask, a, low).fill_(True)
        return bool(_bytes_of(mask, b, low).any())


def _bytes_of(mask: torch.Tensor, tensor: torch.Tensor, low: int) -> torch.Tensor:
    """The bytes of ``tensor``'s elements, as a strided view of a byte ``mask`` starting at ``low``."""
    itemsize = tensor.element_size()
    return mask.as_strided(
        (*tensor.shape, itemsize),
        (*(stride * itemsize for stride in tensor.stride()), 1),
        tensor.storage_offset() * itemsize - low,
    )


def plain_detach(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor.detach()`` (same storage and version counter, no graph), made without passing
    through any dispatch mode; a tensor subclass keeps its own dispatch."""
    if type(tensor) in (torch.Tensor, torch.nn.Parameter):
        with torch._C._ExcludeDispatchKeyGuard(PYTHON_KEYS):
            return tensor.detach()
    return tensor.detach()
