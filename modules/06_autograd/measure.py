"""Module 06 systems questions, measured: graph memory and the cost of backward."""


import tinytorch as tt
from tinytorch.autograd import graph_nodes, saved_bytes
from tinytorch.utils.benchmark import benchmark

tt.manual_seed(0)
x = tt.randn(128, 784)
w1 = tt.tensor(tt.randn(784, 256).data * 0.05, requires_grad=True)
w2 = tt.tensor(tt.randn(256, 10).data * 0.1, requires_grad=True)


def forward():
    return ((x @ w1).clamp(min=0) @ w2).exp().sum()




loss = forward()
params = w1.data.nbytes + w2.data.nbytes
print(f"MLP 784-256-10, batch 128: {len(graph_nodes(loss))} graph nodes keep "
      f"{saved_bytes(loss):,} bytes alive for backward (parameters: {params:,} bytes)")
with tt.no_grad():
    print(f"under no_grad(): {saved_bytes(forward()):,} bytes")


def forward_backward():
    forward().backward()


t_f, t_fb = benchmark(forward).median, benchmark(forward_backward).median
print(f"forward {t_f * 1e3:.2f} ms, forward+backward {t_fb * 1e3:.2f} ms: backward costs "
      f"{(t_fb - t_f) / t_f:.1f}x the forward (two matmuls per matmul)")
