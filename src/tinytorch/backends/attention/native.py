"""``attention`` on the tiled C++ kernels of ``csrc/attention.cpp`` and
``csrc/attention_backward.cpp`` (Modules 13 and 16, made fast in Module 15).

``native_kernel`` sends q, k, v (and grad_out, out, lse) of other dtypes to
NumPy -- float64 gradchecks stay float64 -- and makes them C-contiguous, so
transposed or negative-stride views are copied once here. The mask is an
additive float bias and follows the *scores'* dtype: a float16 / float64 mask
with float32 q, k, v is cast to float32 (what the NumPy version does too, as
it adds the mask into float32 scores; 0 and -inf are exact in every float
type); a mask that is not floating point goes to NumPy unchanged. The
bindings check every shape, the mask's broadcast shape (1 or B, 1 or H, Tq,
Tk), 1 <= length <= max_len and a finite scale, raising ValueError / TypeError.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.attention import numpy_backend
from tinytorch.backends.native_support import c_layout, ext, native_kernel


def _kernel_mask(mask) -> np.ndarray | None:
    """The mask as the kernel reads it: None, or C-contiguous float32 (see the module doc)."""
    if mask is None:
        return None
    return c_layout(np.asarray(mask).astype(np.float32, copy=False))


def _float_mask(mask) -> bool:
    return mask is None or np.asarray(mask).dtype.kind == "f"


@native_kernel(numpy_backend.attention, arrays=3)
def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
              scale: float, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """q: (B, H, Tq, d), k: (B, H, Tk, d), v: (B, H, Tk, dv) -> (out: (B, H, Tq, dv),
    lse: (B, H, Tq))."""
    if not _float_mask(mask):
        return numpy_backend.attention(q, k, v, mask, scale, causal)
    return ext.attention(q, k, v, _kernel_mask(mask), scale, causal)


@native_kernel(numpy_backend.attention_backward, arrays=6)
def attention_backward(grad_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       out: np.ndarray, lse: np.ndarray, mask: np.ndarray | None, scale: float,
                       causal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (grad_q, grad_k, grad_v) shaped like q, k, v."""
    if not _float_mask(mask):
        return numpy_backend.attention_backward(grad_out, q, k, v, out, lse, mask, scale,
                                                causal)
    return ext.attention_backward(grad_out, q, k, v, out, lse, _kernel_mask(mask), scale,
                                  causal)


@native_kernel(numpy_backend.decode_attention, arrays=3)
def decode_attention(q: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray, length: int,
                     scale: float) -> np.ndarray:
    """q: (B, H, d), k_cache: (B, H, max_len, d), v_cache: (B, H, max_len, dv) -> (B, H, dv)."""
    return ext.decode_attention(q, k_cache, v_cache, length, scale)
