"""``tinytorch.nn``: layers, activations and losses (PyTorch's names).

Read in course order: activations (Module 03), layers (04), losses (05).
Later modules add one file each, one import line below (kept sorted, ruff's
isort rule) and their names in ``__all__`` under their module number.
"""

from __future__ import annotations

# submodules: functional (03-05 stateless ops), init (04), utils (07 gradient clipping)
from tinytorch.nn import functional, init, utils
from tinytorch.nn.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from tinytorch.nn.attention import MultiheadAttention
from tinytorch.nn.container import ModuleDict, ModuleList, Sequential
from tinytorch.nn.conv import Conv2d
from tinytorch.nn.dropout import Dropout
from tinytorch.nn.embedding import Embedding
from tinytorch.nn.flatten import Flatten
from tinytorch.nn.layer_norm import LayerNorm
from tinytorch.nn.linear import Identity, Linear
from tinytorch.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from tinytorch.nn.module import Module
from tinytorch.nn.normalization import BatchNorm1d, BatchNorm2d
from tinytorch.nn.parameter import Parameter
from tinytorch.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from tinytorch.nn.positional import SinusoidalPositionalEncoding, sinusoidal_positional_encoding
from tinytorch.nn.transformer import MLP, CausalSelfAttention, TransformerBlock

__all__ = [
    # 03 activations
    "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "SiLU", "Sigmoid", "Softmax", "Tanh",
    # 04 layers
    "Dropout", "Flatten", "Identity", "Linear", "Module", "ModuleDict", "ModuleList", "Parameter",
    "Sequential", "functional", "init",
    # 05 losses
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss",
    # 07 gradient clipping
    "utils",
    # 08 spatial
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "MaxPool2d",
    # 12 embeddings
    "Embedding", "SinusoidalPositionalEncoding", "sinusoidal_positional_encoding",
    # 13 attention
    "MultiheadAttention",
    # 14 transformers
    "MLP", "CausalSelfAttention", "LayerNorm", "TransformerBlock",
]
