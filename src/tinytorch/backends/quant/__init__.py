"""Kernel family ``quant`` (Module 17): the int8 GEMM, its fused epilogue, and dynamic
activation quantization.

``csrc/qgemm.cpp`` (driver), ``csrc/qgemm_avx2.cpp``, ``csrc/qgemm_vnni.cpp`` and
``csrc/quantize.cpp`` hold the native kernels.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.quant.interface import QuantKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.quant import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"int8_gemm": 17, "int8_linear": 17, "quantize_rows": 17}

__all__ = ["INTERFACE", "MODULES"]
