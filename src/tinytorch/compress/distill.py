"""Module 18: knowledge distillation (Hinton, Vinyals and Dean, 2015).

A small student learns from a large teacher's *softened* predictions: at
temperature T the softmax of logits / T spreads probability over the wrong
classes too ("a 7 looks a bit like a 1"), information a one-hot label lacks::

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
         + (1 - alpha) * cross_entropy(student, labels)

The KL term's gradient scales as 1 / T^2, so it is multiplied by T^2 to keep the
two terms' gradients comparable when T changes (the paper's remark).
"""

from __future__ import annotations

import numpy as np

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["DistillationLoss"]


class DistillationLoss(Module):
    """``loss(student_logits, teacher_logits, target)`` -> a scalar Tensor (mean over the
    batch). The teacher's logits are constants (no gradient flows into the teacher)."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"DistillationLoss: temperature must be > 0, got {temperature}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"DistillationLoss: alpha must be in [0, 1], got {alpha}")
        self.temperature, self.alpha = float(temperature), float(alpha)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | np.ndarray,
                target: Tensor) -> Tensor:
        teacher = teacher_logits.data if isinstance(teacher_logits, Tensor) else \
            np.asarray(teacher_logits)
        if student_logits.ndim != 2 or teacher.shape != tuple(student_logits.shape):
            raise ValueError(f"DistillationLoss: student and teacher logits must both be "
                             f"(N, classes), got {tuple(student_logits.shape)} and "
                             f"{teacher.shape}")
        T, N = self.temperature, student_logits.shape[0]
        # BEGIN SOLUTION 18
        t = teacher.astype(np.float64) / T
        log_p_teacher = t - t.max(axis=1, keepdims=True)
        log_p_teacher -= np.log(np.exp(log_p_teacher).sum(axis=1, keepdims=True))
        p_teacher = np.exp(log_p_teacher).astype(student_logits.dtype)
        log_p_student = F.log_softmax(student_logits / T, dim=1)
        # KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch
        entropy_term = float((p_teacher * log_p_teacher).sum()) / N
        kl = entropy_term - (log_p_student * Tensor(p_teacher)).sum() / N
        soft = kl * (T * T)
        hard = F.cross_entropy(student_logits, target)
        loss = soft * self.alpha + hard * (1.0 - self.alpha)
        # END SOLUTION
        return loss

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"
