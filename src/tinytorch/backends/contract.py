"""The kernel contract every backend implements.

Each backend module (``loop``, ``numpy_backend``, ``native``) defines a
function for every name below, with the same arguments and the same result
within floating-point tolerance. Inputs and outputs are NumPy arrays; the
autograd layer above never sees which backend ran. The conformance test
(``tests/test_15_backend_conformance.py``) checks every backend against it.
"""

from __future__ import annotations

#: kernel name -> what it computes (shapes use the field's standard letters)
KERNELS: dict[str, str] = {
    "matmul": "a: (M, K), b: (K, N) -> (M, N); operands may be transposed views",
    "bmm": "a: (B, M, K), b: (B, K, N) -> (B, M, N)",
    "softmax": "x: any shape, axis: int -> softmax along axis, same shape",
    # Module 08 (spatial). stride/padding/dilation/kernel_size/input_hw/kernel_hw are
    # (h, w) int pairs; OH = (H + 2*ph - dh*(KH-1) - 1)//sh + 1 (backends/_conv_shapes.py).
    "conv2d": "conv2d(x, weight, stride, padding, dilation); x: (N, C, H, W), "
              "weight: (F, C, KH, KW) -> (N, F, OH, OW); no bias, groups=1",
    "conv2d_backward_input": "conv2d_backward_input(grad_out, weight, input_hw, stride, padding, "
                             "dilation); grad_out: (N, F, OH, OW) -> grad_x: (N, C, H, W)",
    "conv2d_backward_weight": "conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, "
                              "dilation); grad_out: (N, F, OH, OW) -> grad_w: (F, C, KH, KW)",
    "max_pool2d": "max_pool2d(x, kernel_size, stride, padding); x: (N, C, H, W) -> (y, indices) "
                  "(N, C, OH, OW), indices int64 = ih*W + iw of the max; padding acts as -inf",
    "max_pool2d_backward": "max_pool2d_backward(grad_out, indices, input_hw) -> "
                           "grad_x: (N, C, H, W)",
    "avg_pool2d": "avg_pool2d(x, kernel_size, stride, padding); x: (N, C, H, W) -> "
                  "(N, C, OH, OW); padding counts as zeros (count_include_pad=True)",
    "avg_pool2d_backward": "avg_pool2d_backward(grad_out, input_hw, kernel_size, stride, "
                           "padding) -> grad_x: (N, C, H, W)",
}
