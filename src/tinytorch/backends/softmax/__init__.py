"""Kernel family ``softmax`` (Modules 03 and 05): softmax and log-softmax along one axis.

``csrc/softmax.cpp`` holds the native kernels.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.softmax.interface import SoftmaxKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.softmax import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"softmax": 3, "log_softmax": 3}

__all__ = ["INTERFACE", "MODULES"]
