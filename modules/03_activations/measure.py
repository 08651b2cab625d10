"""Module 03 systems questions, measured: what activations cost next to a matmul."""


import tinytorch as tt
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.nn import functional as F
from tinytorch.utils.benchmark import benchmark

tt.manual_seed(0)
hidden, w = tt.randn(128, 256), tt.randn(256, 10)
logits = hidden @ w
print("(128, 10) logits from a (128, 256) @ (256, 10) matmul:")
for name in tt.available_backends():
    with tt.use_backend(name):
        t_mm = benchmark(lambda: hidden @ w).median
        t_sm = benchmark(lambda: F.softmax(logits, dim=1)).median
    print(f"  {name:>6}: matmul {t_mm * 1e6:8.1f} us, softmax {t_sm * 1e6:8.1f} us "
          f"(softmax/matmul = {t_sm / t_mm:.2f}; FLOPs: matmul {matmul_flops(128, 256, 10):,}, "
          f"softmax ~{5 * 128 * 10:,})")

x = tt.randn(128, 256)
print("elementwise activations on a (128, 256) float32 batch (numpy backend):")
for name, fn in [("relu", F.relu), ("leaky_relu", F.leaky_relu), ("sigmoid", F.sigmoid),
                 ("tanh", F.tanh), ("silu", F.silu), ("gelu (tanh)", lambda t: F.gelu(t, "tanh")),
                 ("gelu (erf)", F.gelu)]:
    print(f"  {name:>11}: {benchmark(lambda fn=fn: fn(x)).median * 1e6:7.1f} us")

big = tt.tensor([[-1000.0, -100.0, 0.0, 100.0, 1000.0]])
print("sigmoid at +-1000:", F.sigmoid(big).tolist(), " log_softmax:",
      F.log_softmax(big, dim=1).tolist())
