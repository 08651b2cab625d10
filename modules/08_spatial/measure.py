"""Module 08 systems questions, measured: conv FLOPs, im2col memory, backend speed, BatchNorm.

Run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python modules/08_spatial/measure.py``
(so NumPy's OpenBLAS picks its own kernels for this CPU).
"""


import numpy as np

import tinytorch as tt
from tinytorch import nn
from tinytorch.backends import load_backend
from tinytorch.backends.spatial import numpy_backend, shapes
from tinytorch.backends.spatial.interface import conv2d_flops
from tinytorch.utils.benchmark import benchmark

# (name, x shape (N, C, H, W), weight shape (F, C, KH, KW), padding)
LAYERS = [
    ("LeNet-5 C1, N=32, 1->6, 32x32, 5x5", (32, 1, 32, 32), (6, 1, 5, 5), 0),
    ("LeNet-5 C3, N=32, 6->16, 14x14, 5x5", (32, 6, 14, 14), (16, 6, 5, 5), 0),
    ("N=32, 64->64, 32x32, 3x3, pad 1", (32, 64, 32, 32), (64, 64, 3, 3), 1),
]

print("== FLOPs = 2 * N*F*OH*OW * C*KH*KW; im2col buffer = N * C*KH*KW * OH*OW floats ==")
for name, x_shape, w_shape, padding in LAYERS:
    g = shapes.conv2d_geometry(x_shape, w_shape, 1, padding, 1)
    flops = conv2d_flops(g)
    N, C, H, W, KH, KW, OH, OW = g.N, g.C, g.H, g.W, g.KH, g.KW, g.OH, g.OW
    input_bytes = N * C * H * W * 4
    cols_bytes = N * C * KH * KW * OH * OW * 4
    print(f"{name}: {flops:,} FLOPs forward ({flops / N:,.0f} per image); input "
          f"{input_bytes:,} B, im2col {cols_bytes:,} B = {cols_bytes / input_bytes:.1f}x "
          f"(KH*KW = {KH * KW}, x OH*OW/(H*W) = {OH * OW / (H * W):.3f})")

print("\n== conv2d forward time per backend (float32) ==")
rng = np.random.default_rng(0)
SHAPES = [("small N=1, 3->8, 16x16, 3x3, pad 1", (1, 3, 16, 16), (8, 3, 3, 3), 1,
           ("loop", "numpy", "native")),
          ("big N=32, 64->64, 32x32, 3x3, pad 1", (32, 64, 32, 32), (64, 64, 3, 3), 1,
           ("numpy", "native"))]
for name, x_shape, w_shape, padding, names in SHAPES:
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    flops = conv2d_flops(x_shape, w_shape, 1, padding)
    for backend_name in names:
        if backend_name not in tt.available_backends():
            continue
        kernels = load_backend(backend_name)
        t = benchmark(kernels.conv2d, x, w, (1, 1), (padding, padding), (1, 1)).median
        print(f"  {name}: {backend_name:>6} {t * 1e3:9.3f} ms  {flops / t / 1e9:7.2f} GFLOP/s")

print("\n== where the numpy forward's time goes, big shape ==")
x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
g = shapes.check_conv2d(x, w, 1, 1, 1)
cols = numpy_backend._im2col(x, g)
t_im2col = benchmark(numpy_backend._im2col, x, g).median
t_gemm = benchmark(np.matmul, w.reshape(64, -1), cols).median
print(f"  im2col (writes {cols.nbytes:,} B): {t_im2col * 1e3:.1f} ms = "
      f"{cols.nbytes / t_im2col / 1e9:.1f} GB/s written; GEMM (64x576 @ 576x1024, x32): "
      f"{t_gemm * 1e3:.1f} ms = {conv2d_flops(x.shape, w.shape, 1, 1) / t_gemm / 1e9:.0f} GFLOP/s")

print("\n== training Conv2d(64, 64, 3, padding=1) on (32, 64, 32, 32): the three kernels ==")
tt.manual_seed(0)
conv = nn.Conv2d(64, 64, 3, padding=1)
x = tt.randn(32, 64, 32, 32)
grad_out = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
big_flops = conv2d_flops(x.shape, conv.weight.shape, 1, 1)
geometry = ((1, 1), (1, 1), (1, 1))
for backend_name in ("numpy", "native"):
    if backend_name not in tt.available_backends():
        continue
    kernels = load_backend(backend_name)
    w = conv.weight.data
    times = {
        "forward": benchmark(kernels.conv2d, x.data, w, *geometry).median,
        "backward_input": benchmark(kernels.conv2d_backward_input, grad_out, w, (32, 32),
                                    *geometry).median,
        "backward_weight": benchmark(kernels.conv2d_backward_weight, grad_out, x.data, (3, 3),
                                     *geometry).median,
    }
    with tt.use_backend(backend_name):
        def step():
            conv.zero_grad()
            conv(x).sum().backward()
        # x does not require grad (an input image), so autograd skips backward_input:
        # the step costs forward + backward_weight (+ the bias sum)
        times["layer step"] = benchmark(step).median
    print(f"  {backend_name:>6}: " + ", ".join(
        f"{name} {t * 1e3:.1f} ms" + (f" ({big_flops / t / 1e9:.0f} GFLOP/s)"
                                      if name != "layer step" else "")
        for name, t in times.items()))

print("\n== BatchNorm2d: training (batch statistics) vs eval (running statistics) ==")
tt.manual_seed(0)
bn = nn.BatchNorm2d(16)
data_mean, data_std = 3.0, 2.0
batches = [tt.randn(32, 16, 8, 8) * data_std + data_mean for _ in range(50)]
probe = batches[0]
for steps in (1, 10, 50):
    bn.train()
    bn.reset_running_stats()
    for batch in batches[:steps]:
        bn(batch)
    with tt.no_grad():
        bn.eval()
        y_eval = bn(probe).data
        bn.train()
        y_train = bn(probe).data  # (also updates the running stats: no_grad does not stop it)
    print(f"  after {steps:>2} training batches: running_mean ~ "
          f"{bn.running_mean.data.mean():.3f} (data mean {data_mean}), running_var ~ "
          f"{bn.running_var.data.mean():.3f} (data var {data_std ** 2}); max |train - eval| "
          f"output on the same batch = {np.abs(y_train - y_eval).max():.4f}")
bn.train()
one = bn(probe[:4]).data[:1]
full = bn(probe).data[:1]
bn.eval()
print(f"  training mode: sample 0 normalised within a batch of 4 vs 32 differs by up to "
      f"{np.abs(one - full).max():.4f}; eval mode: "
      f"{np.abs(bn(probe[:4]).data[:1] - bn(probe).data[:1]).max():.1e} (batch-independent)")
bn.train()
t_train = benchmark(bn, probe).median
bn.eval()
t_eval = benchmark(bn, probe).median
print(f"  time on (32, 16, 8, 8): train {t_train * 1e6:.0f} us, eval {t_eval * 1e6:.0f} us")
