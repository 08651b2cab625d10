"""Kernel family ``norm`` (Module 14): layer normalisation, forward and backward.

``csrc/norm.cpp`` holds the native kernels.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.norm.interface import NormKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.norm import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"layer_norm": 14, "layer_norm_backward": 14}

__all__ = ["INTERFACE", "MODULES"]
