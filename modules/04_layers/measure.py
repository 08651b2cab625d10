"""Module 04 systems questions, measured: parameters, memory and time of an MLP."""


import tinytorch as tt
from tinytorch import nn
from tinytorch.autograd import graph_nodes, saved_bytes
from tinytorch.utils.benchmark import benchmark

tt.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
count = sum(p.numel() for p in model.parameters())
nbytes = sum(p.data.nbytes for p in model.parameters())
print(model)
for name, p in model.named_parameters():
    print(f"  {name:>9}: {str(p.shape):>11} {p.numel():>8,} parameters")
print(f"MLP 784-256-10: {count:,} parameters = {nbytes:,} bytes in float32 "
      f"({nbytes / 2**20:.2f} MiB); training with Adam adds grad + 2 moments = 4x")

for batch in (1, 128, 1024):
    x = tt.randn(batch, 784)
    out = model(x)
    saved = saved_bytes(out.sum())
    with tt.no_grad():
        t_infer = benchmark(lambda x=x: model(x)).median
    t_train = benchmark(lambda x=x: model(x)).median
    print(f"batch {batch:>4}: graph keeps {saved:>10,} bytes in {len(graph_nodes(out))} nodes "
          f"({saved / nbytes:.2f}x the parameters); forward {t_train * 1e3:.3f} ms with graph, "
          f"{t_infer * 1e3:.3f} ms under no_grad")

x = tt.randn(128, 784)
for name in tt.available_backends():
    with tt.use_backend(name):
        if name == "loop":
            t = benchmark(lambda: nn.Linear(16, 8)(tt.randn(4, 16))).median
            print(f"  {name:>6}: Linear(16, 8) on (4, 16): {t * 1e3:.2f} ms (pure Python loops)")
            continue
        t = benchmark(lambda: model(x)).median
    print(f"  {name:>6}: MLP forward, batch 128: {t * 1e3:.3f} ms")
