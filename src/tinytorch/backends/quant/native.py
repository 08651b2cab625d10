"""``quant`` on the C++ kernels of ``csrc/qgemm*.cpp``, ``csrc/quantize.cpp`` and
``csrc/qconv.cpp`` (a convolution's input quantized straight into im2col rows).

The int8 GEMM picks its instruction-set path at run time (``qgemm_path()``):
AVX-512 VNNI, AVX-VNNI, AVX2 (``avx2_u8s8``: vpmaddubsw when the unsigned activations
fit in 7 bits, else int16 widening; ``avx2`` is the int16 kernel alone) or scalar;
``set_qgemm_path`` forces one (the tests run every path this CPU has). Arrays are made
C-contiguous here; the bindings check dtypes and shapes once more.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.native_support import ext
from tinytorch.backends.quant import shapes


def _c(x: np.ndarray) -> np.ndarray:
    return x if x.flags.c_contiguous and x.flags.aligned else np.array(x, order="C")


def int8_gemm(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a: uint8 / int8 (M, K), w: int8 (N, K) -> int32 (M, N), exact."""
    shapes.check_gemm(a, w, "int8_gemm")
    return ext.int8_gemm(_c(a), _c(w))


def int8_linear(a: np.ndarray, a_scale: np.ndarray, a_zp: np.ndarray, w: np.ndarray,
                w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None, relu: bool,
                out_dtype: str, out_scale: float, out_zp: int) -> np.ndarray:
    """int8 GEMM + fused epilogue (see the interface)."""
    shapes.check_linear(a, a_scale, a_zp, w, w_scale, w_colsum, bias, out_dtype, out_scale,
                        out_zp)
    return ext.int8_linear(_c(a), _c(a_scale.astype(np.float32, copy=False)),
                           _c(a_zp.astype(np.int32, copy=False)), _c(w),
                           _c(w_scale.astype(np.float32, copy=False)),
                           _c(w_colsum.astype(np.int32, copy=False)),
                           None if bias is None else _c(bias.astype(np.float32, copy=False)),
                           bool(relu), out_dtype, float(out_scale), int(out_zp))


def quantize_rows(x: np.ndarray, per_row: bool, dtype: str, reduce_range: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dynamic quantization in one native pass per row (min/max, then the codes)."""
    shapes.check_rows(x, dtype, "quantize_rows")
    return ext.quantize_rows(_c(x.astype(np.float32, copy=False)), bool(per_row), dtype,
                             bool(reduce_range))


def quantize_im2col(x: np.ndarray, scale: float, zero_point: int, dtype: str,
                    kernel_hw: tuple[int, int], stride: tuple[int, int],
                    padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """Quantize each image into a channels-last buffer, then memcpy the receptive fields
    (csrc/qconv.cpp; see the interface)."""
    g = shapes.check_im2col(x, scale, zero_point, dtype, kernel_hw, stride, padding, dilation)
    return ext.quantize_im2col(_c(x.astype(np.float32, copy=False)), float(scale),
                               int(zero_point), dtype, (g.KH, g.KW), g.stride, g.padding,
                               g.dilation)


def quantized_conv2d(x: np.ndarray, a_scale: float, a_zp: int, w: np.ndarray,
                     w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                     relu: bool, kernel_hw: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """csrc/qconv.cpp: quantize_im2col, then the int8 GEMM whose epilogue writes NCHW."""
    g = shapes.check_qconv2d(x, a_scale, a_zp, w, w_scale, w_colsum, bias, kernel_hw,
                             stride, padding, dilation)
    return ext.qconv2d(_c(x.astype(np.float32, copy=False)), float(a_scale), int(a_zp), _c(w),
                       _c(w_scale.astype(np.float32, copy=False)),
                       _c(w_colsum.astype(np.int32, copy=False)),
                       None if bias is None else _c(bias.astype(np.float32, copy=False)),
                       bool(relu), (g.KH, g.KW), g.stride, g.padding, g.dilation)


def qgemm_path() -> str:
    """The instruction-set path the int8 GEMM runs on this CPU."""
    return str(ext.qgemm_path())


def set_qgemm_path(name: str) -> bool:
    """Force 'scalar', 'avx2', 'avx_vnni' or 'avx512_vnni' ('auto' restores the choice);
    False when this CPU or build cannot run it."""
    return bool(ext.set_qgemm_path(name))
