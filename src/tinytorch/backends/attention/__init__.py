"""Kernel family ``attention`` (Modules 13 and 16): scaled dot-product attention, its
backward, and decoding one new position against a KV cache.

``csrc/attention.cpp`` holds the native kernels.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.attention.interface import AttentionKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.attention import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"attention": 13, "attention_backward": 13, "decode_attention": 16}

__all__ = ["INTERFACE", "MODULES"]
