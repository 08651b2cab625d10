"""Kernel family ``sparse`` (Module 18): a CSR matrix times a dense matrix.

``csrc/sparse.cpp`` holds the native kernel; ``tinytorch.compress.CSRMatrix``
and ``SparseLinear`` call it.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.sparse.interface import SparseKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.sparse import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"csr_matmul": 18}

__all__ = ["INTERFACE", "MODULES"]
