"""Module 08 Spatial: convolution and pooling as autograd Functions.

Each Function calls the current backend's kernels (``backends.current()``) for
its forward AND its backward, so ``use_backend("native")`` speeds up training,
not only inference. The kernels (``backends/spatial/loop.py`` is the specification)
know nothing about autograd; this file is the glue: it saves what backward
needs and routes the gradient to the right kernel.

Shapes: x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW) with
OH, OW from the one output-size formula in ``backends/spatial/shapes.py``.
Like PyTorch, an unbatched (C, H, W) input is accepted and gives (F, OH, OW).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.backends.spatial.shapes import pair
from tinytorch.tensor import Tensor

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv2d", "max_pool2d"]

IntPair = int | Sequence[int]


# ---- Functions: forward and backward side by side ------------------------------------------


class Conv2dFunction(Function):
    """y = conv2d(x, weight) + bias[f]; bias: (F,) or None.

    Backward: grad_x and grad_w are the two backward kernels (a convolution is
    linear in each of x and weight); grad_bias sums grad_out over every
    position the bias was added to: axes N, OH, OW.
    """

    def forward(self, x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        # BEGIN SOLUTION 08
        self.x, self.weight, self.geometry = x, weight, (stride, padding, dilation)
        y = backends.current().conv2d(x, weight, stride, padding, dilation)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)  # in place: y is a fresh array from the kernel
        return y
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 08
        kernels = backends.current()
        x, weight = self.x, self.weight
        want_x, want_w, want_b = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        if want_x:
            grad_x = kernels.conv2d_backward_input(grad, weight, x.shape[2:], *self.geometry)
        if want_w:
            grad_w = kernels.conv2d_backward_weight(grad, x, weight.shape[2:], *self.geometry)
        if want_b:
            grad_b = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b
        # END SOLUTION


class MaxPool2dFunction(Function):
    """y = max over each window; the kernel also returns where each max was.

    Saving the int64 indices (8 bytes per output) instead of the input (4 bytes
    per input element, KH*KW/stride^2 times as many) makes backward a scatter:
    each output's gradient goes to the one input pixel that won.
    """

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), indices_out=None):
        # BEGIN SOLUTION 08
        y, self.indices = backends.current().max_pool2d(x, kernel_size, stride, padding)
        self.input_hw = x.shape[2:]
        if indices_out is not None:  # return_indices=True: hand them out, do not pool twice
            indices_out.append(self.indices)
        return y
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 08
        return (backends.current().max_pool2d_backward(grad, self.indices, self.input_hw),)
        # END SOLUTION


class AvgPool2dFunction(Function):
    """y = mean over each window (padding counts as zeros, ``count_include_pad=True``).

    ``divisor`` (broadcastable to y, or None) rescales the result: the
    ``count_include_pad=False`` variant divides by the number of real pixels
    instead of KH*KW. Backward spreads grad / (KH*KW) evenly over the window;
    nothing from the forward is needed but the shapes.
    """

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), divisor=None):
        # BEGIN SOLUTION 08
        self.input_hw, self.options, self.divisor = x.shape[2:], (kernel_size, stride,
                                                                  padding), divisor
        y = backends.current().avg_pool2d(x, kernel_size, stride, padding)
        return y if divisor is None else y * divisor
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 08
        if self.divisor is not None:
            grad = np.ascontiguousarray(grad * self.divisor)
        return (backends.current().avg_pool2d_backward(grad, self.input_hw, *self.options),)
        # END SOLUTION


class AdaptiveAvgPool2dFunction(Function):
    """PyTorch's general adaptive bins: output row i averages input rows
    floor(i*H/OH) .. ceil((i+1)*H/OH) - 1 (bins may overlap and differ in size).

    Used only when the bins are not all equal; equal bins are plain
    ``avg_pool2d`` with kernel = stride = H/OH and go through the backend.
    """

    def forward(self, x, output_size=(1, 1)):
        # BEGIN SOLUTION 08
        self.input_shape = x.shape
        self.bins = _adaptive_bins(x.shape[2:], output_size)
        y = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)
        for (i, rows), (j, cols) in self.bins:
            y[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        return y
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 08
        grad_x = np.zeros(self.input_shape, dtype=grad.dtype)
        for (i, rows), (j, cols) in self.bins:
            count = (rows.stop - rows.start) * (cols.stop - cols.start)
            grad_x[:, :, rows, cols] += (grad[:, :, i, j] / count)[:, :, None, None]
        return (grad_x,)
        # END SOLUTION


def _adaptive_bins(input_hw: tuple[int, int], output_hw: tuple[int, int]) -> list:
    """[((i, row slice), (j, col slice)), ...] for every output pixel (i, j)."""
    def axis_bins(size: int, out: int) -> list[tuple[int, slice]]:
        return [(i, slice((i * size) // out, -((-(i + 1) * size) // out))) for i in range(out)]
    rows, cols = axis_bins(input_hw[0], output_hw[0]), axis_bins(input_hw[1], output_hw[1])
    return [(r, c) for r in rows for c in cols]


# ---- the public functions (PyTorch's names and arguments) ----------------------------------


def _batched(x: Tensor, op: str, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Run ``fn`` on (N, C, H, W); an unbatched (C, H, W) input gets a batch of one, like
    PyTorch. Anything else is an error that names the shapes expected."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 4:
        return fn(x)
    if x.ndim == 3:
        return fn(x.unsqueeze(0)).squeeze(0)
    raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input "
                     f"(C, H, W), got shape {tuple(x.shape)}")


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int],
                  stride: tuple[int, int]) -> tuple[int, int]:
    """padding='same' keeps H, W: total padding d*(k-1), split evenly on both sides."""
    if stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
    total = tuple(dilation[i] * (kernel[i] - 1) for i in range(2))
    if total[0] % 2 or total[1] % 2:
        raise ValueError(f"conv2d: padding='same' with kernel {kernel} and dilation {dilation} "
                         "needs uneven padding (more on one side); TinyTorch pads both sides "
                         "equally, so pass an explicit padding instead")
    return total[0] // 2, total[1] // 2


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | str = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of input (N, C, H, W) with weight (F, C, KH, KW),
    plus bias (F,) -> (N, F, OH, OW).

    ``stride``, ``padding``, ``dilation``: an int or an (h, w) pair; padding may
    also be ``'valid'`` (0) or ``'same'`` (stride 1). Only ``groups=1``.
    """
    if groups != 1:
        raise ValueError(f"conv2d: groups={groups} is not supported; TinyTorch implements "
                         "groups=1 only (every filter sees every input channel)")
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be a 4-D Tensor (F, C, KH, KW), got shape "
                         f"{tuple(getattr(weight, 'shape', ()))}")
    F = weight.shape[0]
    if bias is not None and tuple(bias.shape) != (F,):
        raise ValueError(f"conv2d: bias must have shape ({F},) for a weight with {F} filters, "
                         f"got {tuple(bias.shape)}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
        padding = (0, 0) if padding == "valid" else _same_padding(weight.shape[2:], dilation,
                                                                  stride)
    padding = pair(padding, "padding")

    def run(x: Tensor) -> Tensor:
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"conv2d: input has {x.shape[1]} channels but the weight "
                             f"{tuple(weight.shape)} expects {weight.shape[1]} (input shape "
                             f"{tuple(x.shape)})")
        return Conv2dFunction.apply(x, weight, bias, stride=stride, padding=padding,
                                    dilation=dilation)

    return _batched(input, "conv2d", run)


def _pool_options(kernel_size: IntPair, stride: IntPair | None,
                  padding: IntPair) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    kernel = pair(kernel_size, "kernel_size")
    # PyTorch: stride=None (or an empty list) means stride = kernel_size
    stride = kernel if stride is None or (isinstance(stride, Sequence) and len(stride) == 0) \
        else pair(stride, "stride")
    return kernel, stride, pair(padding, "padding")


def _no_ceil_mode(ceil_mode: bool, op: str) -> None:
    if ceil_mode:
        raise ValueError(f"{op}: ceil_mode=True is not supported; TinyTorch uses floor "
                         "(PyTorch's default) for the output size")


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, dilation: IntPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over KH x KW windows: (N, C, H, W) -> (N, C, OH, OW); padding acts as -inf.

    ``stride`` defaults to ``kernel_size``. With ``return_indices`` also returns
    the int64 flat position (ih*W + iw) of each maximum, like PyTorch.
    """
    if pair(dilation, "dilation") != (1, 1):
        raise ValueError(f"max_pool2d: dilation={dilation} is not supported; only 1")
    _no_ceil_mode(ceil_mode, "max_pool2d")
    kernel, stride, padding = _pool_options(kernel_size, stride, padding)
    found: list[np.ndarray] = []
    out = _batched(input, "max_pool2d", lambda x: MaxPool2dFunction.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, indices_out=found))
    if not return_indices:
        return out
    return out, Tensor._wrap(found[0] if input.ndim == 4 else found[0][0])


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over KH x KW windows: (N, C, H, W) -> (N, C, OH, OW).

    ``count_include_pad=True`` (PyTorch's default) divides by KH*KW, padding
    counted as zeros; ``False`` divides by the number of real pixels in the window.
    """
    _no_ceil_mode(ceil_mode, "avg_pool2d")
    kernel, stride, padding = _pool_options(kernel_size, stride, padding)

    def run(x: Tensor) -> Tensor:
        divisor = None
        if not count_include_pad and padding != (0, 0):
            # fraction of each window that is real input: avg-pool a plane of ones
            ones = np.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
            divisor = 1 / backends.current().avg_pool2d(ones, kernel, stride, padding)
        return AvgPool2dFunction.apply(x, kernel_size=kernel, stride=stride, padding=padding,
                                       divisor=divisor)

    return _batched(input, "avg_pool2d", run)


def _adaptive_output_size(input_hw: tuple[int, int], output_size: Any) -> tuple[int, int]:
    """An int, or a pair whose entries may be None (keep that input size)."""
    if isinstance(output_size, Sequence) and len(output_size) == 2:
        output_size = tuple(input_hw[i] if s is None else s for i, s in enumerate(output_size))
    out = pair(output_size, "output_size")
    if min(out) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be >= 1, got {out}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size: IntPair) -> Tensor:
    """Average pooling to a fixed output size: (N, C, H, W) -> (N, C, *output_size).

    ``output_size=1`` is global average pooling (ResNet's head). When H and W
    divide evenly this is ``avg_pool2d`` with kernel = stride = H/OH (through
    the backend); otherwise PyTorch's overlapping bins, computed in NumPy.
    """
    def run(x: Tensor) -> Tensor:
        H, W = x.shape[2:]
        OH, OW = _adaptive_output_size((H, W), output_size)
        if min(H, W) < 1:
            raise ValueError(f"adaptive_avg_pool2d: input spatial size must be >= 1, got "
                             f"{(H, W)}")
        if H % OH == 0 and W % OW == 0:
            kernel = (H // OH, W // OW)
            return AvgPool2dFunction.apply(x, kernel_size=kernel, stride=kernel,
                                           padding=(0, 0))
        return AdaptiveAvgPool2dFunction.apply(x, output_size=(OH, OW))

    return _batched(input, "adaptive_avg_pool2d", run)
