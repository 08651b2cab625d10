"""Module 07 Optimizers: turn gradients into parameter updates.

``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` share the :class:`Optimizer` base
(parameter groups, state, ``zero_grad``, ``step``, ``state_dict``);
``tinytorch.optim.lr_scheduler`` changes the learning rate over training.
Names and semantics follow ``torch.optim``.
"""

from __future__ import annotations

from tinytorch.optim import lr_scheduler
from tinytorch.optim.adam import Adam, AdamW
from tinytorch.optim.optimizer import Optimizer
from tinytorch.optim.rmsprop import RMSprop
from tinytorch.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
