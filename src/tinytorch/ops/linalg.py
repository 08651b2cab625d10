"""Matrix multiplication through the current backend (Modules 02, 06, 15).

``Tensor.matmul`` records the graph once; forward *and* backward call
whichever backend is current, so ``use_backend("native")`` speeds up both.
NumPy's rules for 1-D operands and broadcast batch dimensions apply.
"""

from __future__ import annotations

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.ops._broadcast import broadcast_shape, unbroadcast


def _swap_last(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def batched_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (..., M, K) @ b: (..., K, N) -> (..., M, N) with broadcast batch dims.

    Reshapes everything onto the backend's two kernels: ``matmul`` for 2-D
    and ``bmm`` for a flat batch. A stack of inputs times one matrix (the
    Linear layer on (B, T, D) activations) becomes a single large 2-D GEMM,
    which is what makes it fast.
    """
    kernels = backends.current()
    M, K = a.shape[-2:]
    N = b.shape[-1]
    if b.ndim == 2 and a.ndim > 2:
        return kernels.matmul(a.reshape(-1, K), b).reshape(a.shape[:-1] + (N,))
    if a.ndim == 2 and b.ndim == 2:
        return kernels.matmul(a, b)
    batch = broadcast_shape("matmul", a.shape[:-2], b.shape[:-2])
    a3 = np.broadcast_to(a, batch + (M, K)).reshape(-1, M, K)
    b3 = np.broadcast_to(b, batch + (K, N)).reshape(-1, K, N)
    return kernels.bmm(a3, b3).reshape(batch + (M, N))


class MatMul(Function):
    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0]:  # the common case, first
            self.a_shape, self.b_shape, self.a, self.b = a.shape, b.shape, a, b
            out = backends.current().matmul(a, b)
            self.out_shape = out.shape
            return out
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                             f"{a.shape} and {b.shape} (use * for scalars)")
        # NumPy's 1-D rules: a vector on the left is a row, on the right a column
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a = a[None, :] if a.ndim == 1 else a
        self.b = b[:, None] if b.ndim == 1 else b
        if self.a.shape[-1] != self.b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are incompatible: "
                             f"inner dimensions {self.a.shape[-1]} and {self.b.shape[-2]} differ")
        try:
            np.broadcast_shapes(self.a.shape[:-2], self.b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are incompatible: batch "
                             f"dimensions {self.a.shape[:-2]} and {self.b.shape[:-2]} do not "
                             "broadcast") from None
        out = batched_matmul(self.a, self.b)
        self.out_shape = out.shape
        if a.ndim == 1:
            out = out[..., 0, :]
        if b.ndim == 1:
            out = out[..., 0]
        return out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        grad = grad.reshape(self.out_shape)
        a, b = self.a, self.b
        want_a, want_b = self.needs_input_grad
        grad_a = grad_b = None
        if want_a:  # dA = dC @ B^T
            grad_a = unbroadcast(batched_matmul(grad, _swap_last(b)), a.shape).reshape(self.a_shape)
        if want_b:  # dB = A^T @ dC
            if b.ndim == 2 and a.ndim > 2:
                # weights shared over a batch: one (K, B*M) @ (B*M, N) GEMM
                K, N = b.shape
                grad_b = backends.current().matmul(a.reshape(-1, K).T, grad.reshape(-1, N))
            else:
                grad_b = unbroadcast(batched_matmul(_swap_last(a), grad), b.shape)
            grad_b = grad_b.reshape(self.b_shape)
        return grad_a, grad_b
        # END SOLUTION
