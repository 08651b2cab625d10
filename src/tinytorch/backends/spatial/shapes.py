"""Module 08: shapes and argument checks for the spatial kernels, in one place.

Every backend (``loop``, ``numpy_backend``, ``native``) calls these helpers
before it computes anything, so a bad argument produces the same message
whichever backend is current, and the output-size formula exists once::

    OH = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1      (likewise OW)

``dh*(KH - 1) + 1`` is the *effective* kernel height: a dilated kernel
touches input rows ``kh*dh`` for ``kh`` in ``range(KH)``. The output counts
how many times that window fits in the padded input when it moves ``sh`` rows
at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ConvGeometry",
    "check_conv2d",
    "check_conv2d_backward_input",
    "check_conv2d_backward_weight",
    "check_max_pool2d_backward",
    "check_pool2d",
    "check_pool2d_backward",
    "conv2d_geometry",
    "conv2d_output_size",
    "pair",
    "pool2d_geometry",
]

Pair = tuple[int, int]


def pair(value: int | Sequence[int], name: str) -> Pair:
    """``3 -> (3, 3)``, ``(2, 1) -> (2, 1)``; anything else is a ``ValueError``/``TypeError``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")


def conv2d_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length along one spatial axis (the formula in the module docstring)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a spatial kernel needs to know about its loop bounds.

    x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW). For pooling,
    F == C (one output plane per input plane) and the dilation is (1, 1).
    """

    N: int
    C: int
    H: int
    W: int
    F: int
    KH: int
    KW: int
    OH: int
    OW: int
    stride: Pair
    padding: Pair
    dilation: Pair

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C, self.H, self.W)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.F, self.OH, self.OW)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.F, self.C, self.KH, self.KW)


def _require_4d(array: np.ndarray, name: str, layout: str) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.ndim != 4:
        raise ValueError(f"{name} must be 4-D {layout}, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must have a floating-point dtype, got {array.dtype}")


def _spatial(kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
             input_hw: Pair, what: str) -> Pair:
    """Check the hyper-parameters and return (OH, OW); the one place the formula is applied."""
    if min(kernel) < 1:
        raise ValueError(f"{what}: kernel size must be >= 1, got {kernel}")
    if min(stride) < 1:
        raise ValueError(f"{what}: stride must be >= 1, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"{what}: padding must be >= 0, got {padding}")
    if min(dilation) < 1:
        raise ValueError(f"{what}: dilation must be >= 1, got {dilation}")
    if min(input_hw) < 1:
        # PyTorch rejects an empty plane too, even when padding would give it an output.
        raise ValueError(f"{what}: input height and width must be >= 1, got {input_hw}")
    out = tuple(conv2d_output_size(input_hw[i], kernel[i], stride[i], padding[i], dilation[i])
                for i in range(2))
    if min(out) < 1:
        effective = tuple(dilation[i] * (kernel[i] - 1) + 1 for i in range(2))
        padded = tuple(input_hw[i] + 2 * padding[i] for i in range(2))
        raise ValueError(f"{what}: kernel {kernel} (effective size {effective} with dilation "
                         f"{dilation}) is larger than the padded input {padded}; "
                         f"output size would be {out}")
    return out[0], out[1]


def conv2d_geometry(x_shape: Sequence[int], weight_shape: Sequence[int], stride, padding,
                    dilation, what: str = "conv2d") -> ConvGeometry:
    """Validate a convolution and compute its output size.

    x_shape: (N, C, H, W), weight_shape: (F, C, KH, KW). The backward kernels
    rebuild the same shapes from (grad_out, weight, input_hw) or
    (grad_out, x, kernel_hw) and call this too.
    """
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    N, C, H, W = (int(s) for s in x_shape)
    F, C_w, KH, KW = (int(s) for s in weight_shape)
    if C != C_w:
        raise ValueError(f"{what}: input has {C} channels but weight expects {C_w}: "
                         f"x shape {tuple(x_shape)}, weight shape {tuple(weight_shape)}")
    OH, OW = _spatial((KH, KW), stride, padding, dilation, (H, W), what)
    return ConvGeometry(N, C, H, W, F, KH, KW, OH, OW, stride, padding, dilation)


def check_conv2d(x: np.ndarray, weight: np.ndarray, stride, padding,
                 dilation) -> ConvGeometry:
    """Forward: x: (N, C, H, W), weight: (F, C, KH, KW)."""
    _require_4d(x, "x", "(N, C, H, W)")
    _require_4d(weight, "weight", "(F, C, KH, KW)")
    return conv2d_geometry(x.shape, weight.shape, stride, padding, dilation)


def _check_grad_out(grad_out: np.ndarray, geometry: ConvGeometry, what: str) -> None:
    if grad_out.shape != geometry.output_shape:
        raise ValueError(f"{what}: grad_out has shape {grad_out.shape} but the forward output "
                         f"has shape {geometry.output_shape}")


def check_conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_hw,
                                stride, padding, dilation) -> ConvGeometry:
    """grad_out: (N, F, OH, OW), weight: (F, C, KH, KW), input_hw: (H, W)."""
    what = "conv2d_backward_input"
    _require_4d(grad_out, "grad_out", "(N, F, OH, OW)")
    _require_4d(weight, "weight", "(F, C, KH, KW)")
    H, W = pair(input_hw, "input_hw")
    if grad_out.shape[1] != weight.shape[0]:
        raise ValueError(f"{what}: grad_out has {grad_out.shape[1]} channels but weight has "
                         f"{weight.shape[0]} filters: grad_out shape {grad_out.shape}, "
                         f"weight shape {weight.shape}")
    x_shape = (grad_out.shape[0], weight.shape[1], H, W)
    geometry = conv2d_geometry(x_shape, weight.shape, stride, padding, dilation, what)
    _check_grad_out(grad_out, geometry, what)
    return geometry


def check_conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, kernel_hw,
                                 stride, padding, dilation) -> ConvGeometry:
    """grad_out: (N, F, OH, OW), x: (N, C, H, W), kernel_hw: (KH, KW)."""
    what = "conv2d_backward_weight"
    _require_4d(grad_out, "grad_out", "(N, F, OH, OW)")
    _require_4d(x, "x", "(N, C, H, W)")
    KH, KW = pair(kernel_hw, "kernel_hw")
    if grad_out.shape[0] != x.shape[0]:
        raise ValueError(f"{what}: batch sizes differ: grad_out shape {grad_out.shape}, "
                         f"x shape {x.shape}")
    weight_shape = (grad_out.shape[1], x.shape[1], KH, KW)
    geometry = conv2d_geometry(x.shape, weight_shape, stride, padding, dilation, what)
    _check_grad_out(grad_out, geometry, what)
    return geometry


def pool2d_geometry(input_shape: Sequence[int], kernel_size, stride, padding,
                    what: str) -> ConvGeometry:
    """Pooling windows: like a depthwise convolution with dilation 1.

    ``stride=None`` means ``stride = kernel_size`` (PyTorch's default). As in
    PyTorch, padding may be at most half the kernel, so every window holds at
    least one real input element (a max over padding alone has no index).
    """
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    N, C, H, W = (int(s) for s in input_shape)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{what}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    OH, OW = _spatial(kernel, stride, padding, (1, 1), (H, W), what)
    return ConvGeometry(N, C, H, W, C, kernel[0], kernel[1], OH, OW, stride, padding, (1, 1))


def check_pool2d(x: np.ndarray, kernel_size, stride, padding, what: str) -> ConvGeometry:
    """x: (N, C, H, W)."""
    _require_4d(x, "x", "(N, C, H, W)")
    return pool2d_geometry(x.shape, kernel_size, stride, padding, what)


def check_pool2d_backward(grad_out: np.ndarray, input_hw, kernel_size, stride, padding,
                          what: str) -> ConvGeometry:
    """grad_out: (N, C, OH, OW), input_hw: (H, W)."""
    _require_4d(grad_out, "grad_out", "(N, C, OH, OW)")
    H, W = pair(input_hw, "input_hw")
    geometry = pool2d_geometry((grad_out.shape[0], grad_out.shape[1], H, W), kernel_size,
                               stride, padding, what)
    _check_grad_out(grad_out, geometry, what)
    return geometry


def check_max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                              input_hw) -> tuple[int, int]:
    """grad_out, indices: (N, C, OH, OW); indices are flat positions in an (H, W) plane."""
    what = "max_pool2d_backward"
    _require_4d(grad_out, "grad_out", "(N, C, OH, OW)")
    H, W = pair(input_hw, "input_hw")
    if not isinstance(indices, np.ndarray) or not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"{what}: indices must be an integer numpy array, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if indices.shape != grad_out.shape:
        raise ValueError(f"{what}: indices shape {indices.shape} differs from grad_out shape "
                         f"{grad_out.shape}")
    if min(H, W) < 1:
        raise ValueError(f"{what}: input size must be >= 1, got {(H, W)}")
    if indices.size and (indices.min() < 0 or indices.max() >= H * W):
        raise ValueError(f"{what}: indices must lie in [0, {H * W}) for an input plane of "
                         f"size {(H, W)}, got values in [{indices.min()}, {indices.max()}]")
    return H, W
