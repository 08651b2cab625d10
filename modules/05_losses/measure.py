"""Module 05 systems questions, measured: fused cross-entropy vs log_softmax + nll."""


import numpy as np

import tinytorch as tt
from tinytorch.autograd import graph_nodes, saved_bytes
from tinytorch.nn import functional as F
from tinytorch.utils.benchmark import benchmark

tt.manual_seed(0)
for N, C in [(128, 10), (128, 1000), (4096, 65)]:
    logits_data = tt.randn(N, C).data
    y = tt.randint(0, C, (N,))

    x = tt.tensor(logits_data, requires_grad=True)

    def fused(x=x, y=y):
        x.grad = None
        F.cross_entropy(x, y).backward()

    def composed(x=x, y=y):
        x.grad = None
        F.nll_loss(F.log_softmax(x, dim=1), y).backward()

    a, b = F.cross_entropy(x, y), F.nll_loss(F.log_softmax(x, dim=1), y)
    t_f, t_c = benchmark(fused).median, benchmark(composed).median
    # interleaved: a second round of each, so neither always runs on a cooler machine
    t_f, t_c = min(t_f, benchmark(fused).median), min(t_c, benchmark(composed).median)
    print(f"(N, C) = ({N}, {C}): forward+backward fused {t_f * 1e6:.0f} us vs "
          f"log_softmax+nll {t_c * 1e6:.0f} us ({t_c / t_f:.2f}x); graph nodes "
          f"{len(graph_nodes(a))} vs {len(graph_nodes(b))}, saved bytes "
          f"{saved_bytes(a):,} vs {saved_bytes(b):,}")

huge = tt.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
naive = -(huge.exp() / huge.exp().sum(dim=1, keepdim=True)).log()[[0, 1], [1, 0]].mean()
with np.errstate(all="ignore"):
    stable = F.cross_entropy(huge, tt.tensor([1, 0]))
print(f"logits +-1000, wrong class: naive log(softmax) = {naive.item()}, "
      f"fused cross_entropy = {stable.item()}")
