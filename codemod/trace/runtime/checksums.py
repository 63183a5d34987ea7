"""Checksums of saved tensors: writes to a saved tensor's memory that no torch op made.

Autograd's version counter only moves when a torch op writes.  A NumPy array on the tensor's
memory (``t.numpy()``, ``torch.from_numpy(a)`` with ``a`` written later), a raw storage write,
``ctypes``: none of these bump it, so backward silently uses the new bytes.  With
``--checksum-saved`` the detector takes a checksum of each tensor it packs and compares it when
backward unpacks the tensor; bytes that changed under an unmoved version are reported as GS603 at
the line that saved the tensor (the write itself ran outside torch, where no instrument sees it).

Writes torch makes and the detector judged harmless (writes to other bytes of the storage, by the
tensor itself) refresh the checksum, so only unseen writes count.  One torch write hides from the
schema: batch norm in training updates the running statistics it saves (``native_batch_norm``
declares them read-only), and its backward does not read them there; ``unversioned_by_its_op``
leaves those out.

The checksum reads the tensor's bytes straight from memory (a ``ctypes`` buffer on its data
pointer, over the extent its strides reach, without copying; CRC-32), so it runs no torch op (which the detector's
own modes would see).  It covers strided CPU tensors; CUDA and other devices, sparse and
quantized layouts and tensor subclasses without real memory are skipped (``None``).  This module
is loaded inside traced processes under a private name.
"""

from __future__ import annotations

import ctypes
import zlib

import torch


def unversioned_by_its_op(saved_by: str | None, tensor: torch.Tensor, requires_grad: bool) -> bool:
    """A running statistic a batch-norm op saved and updates itself (not the program's write)."""
    return saved_by is not None and "batch_norm" in saved_by and tensor.dim() == 1 and not requires_grad


def checksum(tensor: torch.Tensor) -> int | None:
    """CRC-32 of the bytes ``tensor`` views, or ``None`` where they cannot be read in place."""
    try:
        if tensor.layout is not torch.strided or tensor.device.type != "cpu" or tensor.is_quantized:
            return None
        if type(tensor) not in (torch.Tensor, torch.nn.Parameter):
            return None
        numel = tensor.numel()
        if numel == 0:
            return 0
        extent = 1 + sum((size - 1) * stride for size, stride in zip(tensor.shape, tensor.stride()) if size > 1)
        pointer = tensor.data_ptr()
        if pointer == 0:
            return None
        memory = (ctypes.c_char * (extent * tensor.element_size())).from_address(pointer)  # no copy
        return zlib.crc32(memoryview(memory))
    except (RuntimeError, ValueError, OverflowError):
        return None
