"""Kernel family ``activation`` (Module 03, made fast in 15): GELU, forward and backward.

Most elementwise work stays NumPy in every backend (it is memory-bound). GELU is
the exception that proves the rule: its tanh or erf form is eight or more NumPy
passes over the tensor each way, while one fused pass (``csrc/activation.cpp``)
reads x once and writes y once -- 30% of a TinyGPT training step before it existed.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.activation.interface import ActivationKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.activation import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"gelu": 3, "gelu_backward": 6}

__all__ = ["INTERFACE", "MODULES"]
