"""Module 18 Compression: make a trained network smaller and faster, and measure the price.

* ``compress.prune``: ``torch.nn.utils.prune``'s API -- masks that zero weights
  (magnitude, random, structured, global) and survive fine-tuning;
* ``compress.sparsity``: how many weights are zero, per layer and in all;
* ``compress.CSRMatrix`` / ``compress.SparseLinear``: zeros that are not stored
  and not multiplied (a native CSR x dense kernel, ``backends/sparse``);
* ``compress.shrink``: structured pruning that removes channels and neurons and
  returns a smaller dense network (fewer FLOPs, measurably faster);
* ``compress.low_rank``: a Linear as two thinner ones (truncated SVD);
* ``compress.DistillationLoss``: a small student learns from a large teacher.
"""

from tinytorch.compress import prune
from tinytorch.compress.distill import DistillationLoss
from tinytorch.compress.low_rank import choose_rank, low_rank, low_rank_parameters
from tinytorch.compress.shrink import flops, keep_channels, shrink
from tinytorch.compress.sparse import (
    CSRMatrix,
    LayerSparsity,
    SparseLinear,
    SparsityReport,
    effective_weight,
    sparsity,
)

__all__ = [
    "CSRMatrix", "DistillationLoss", "LayerSparsity", "SparseLinear", "SparsityReport",
    "choose_rank", "effective_weight", "flops", "keep_channels", "low_rank",
    "low_rank_parameters", "prune", "shrink", "sparsity",
]
