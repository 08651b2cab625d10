"""``tinytorch.nn.functional``: the stateless operations behind the layers (``import as F``).

One file per course module; later modules add a file and a line below.
"""

from __future__ import annotations

# Module 03: activations
from tinytorch.nn.functional.activations import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)

# Module 13: attention
from tinytorch.nn.functional.attention import scaled_dot_product_attention

# Module 12: embeddings
from tinytorch.nn.functional.embedding import embedding

# Module 14: transformers
from tinytorch.nn.functional.layer_norm import layer_norm

# Module 04: layers
from tinytorch.nn.functional.layers import dropout, linear

# Module 05: losses
from tinytorch.nn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)

# Module 08: spatial (convolution, pooling, batch normalisation)
from tinytorch.nn.functional.normalization import batch_norm
from tinytorch.nn.functional.spatial import (
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    max_pool2d,
)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "gelu", "leaky_relu", "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid",
    "silu", "softmax", "tanh",
    # 08 spatial
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "max_pool2d",
    # 12 embeddings, 13 attention, 14 transformers
    "embedding", "layer_norm", "scaled_dot_product_attention",
]
