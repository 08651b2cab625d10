"""Kernel family ``quant`` (Module 17): the int8 GEMM, its fused epilogue, dynamic
activation quantization, and a convolution's input quantized into im2col rows.

``csrc/qgemm.cpp`` (driver), ``csrc/qgemm_avx2.cpp``, ``csrc/qgemm_u8s8.cpp``,
``csrc/qgemm_vnni.cpp``, ``csrc/quantize.cpp`` and ``csrc/qconv.cpp`` (static
quantization fused with im2col, for ``QuantizedConv2d``) hold the native kernels.
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
MODULES = {"int8_gemm": 17, "int8_linear": 17, "quantize_rows": 17, "quantize_im2col": 17,
           "quantized_conv2d": 17}

__all__ = ["INTERFACE", "MODULES"]
