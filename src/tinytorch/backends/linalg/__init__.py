"""Kernel family ``linalg`` (Modules 02 and 15): matrix multiplication.

``interface.py`` states the contract; ``loop.py`` is the specification,
``numpy_backend.py`` hands the work to BLAS, ``native.py`` to ``csrc/matmul.cpp``.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.linalg.interface import LinalgKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.linalg import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"matmul": 2, "bmm": 2}

__all__ = ["INTERFACE", "MODULES"]
