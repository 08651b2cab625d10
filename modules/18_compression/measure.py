"""Module 18 systems questions, measured: how much accuracy survives sparsity, and what
sparsity buys in bytes, FLOPs and milliseconds.

    python modules/18_compression/measure.py [PNG] [--limit N]

1. Accuracy vs sparsity of LeNet-300-100 on Fashion-MNIST (trained 3 epochs on the
   first ``--limit`` training images, default 20,000): one-shot pruning without
   fine-tuning -- global magnitude, per-layer magnitude, random, structured (whole
   neurons by L2 norm) -- and global magnitude with one epoch of fine-tuning after
   each step. Drawn to ``accuracy_vs_sparsity.png`` (or PNG).
2. Bytes and latency of the pruned MLP: dense weights vs CSR (SparseLinear), batch 256.
3. FLOPs and latency of the LeNet-style CNN before and after ``shrink`` (50% of the
   channels of every hidden layer), batch 256.
Native backend, 2 threads. Timings are only trustworthy on an otherwise idle machine;
the accuracy part trains networks and takes a few minutes.
"""

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

import tinytorch as tt
from tinytorch import compress
from tinytorch.compress import prune
from tinytorch.milestones.compression import mlp_model
from tinytorch.milestones.compression_common import accuracy, latency_pair, load_fashion, train
from tinytorch.models import lenet
from tinytorch.utils.benchmark import set_threads
from tinytorch.utils.machine import describe

parser = argparse.ArgumentParser()
parser.add_argument("png", nargs="?", default=str(Path(__file__).with_name(
    "accuracy_vs_sparsity.png")))
parser.add_argument("--limit", type=int, default=20000)
parser.add_argument("--test-limit", type=int, default=None)
parser.add_argument("--skip-accuracy", action="store_true", help="only bytes/FLOPs/latency")
options = parser.parse_args()
options.data_dir, options.download = None, False

set_threads(2)
tt.set_backend("native")
for key, value in describe().items():
    print(f"{key}: {value}")

SPARSITIES = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
HIDDEN = (1, 3, 5)  # the three Linear layers of mlp_model()


def pruned_copy(model, method, sparsity):
    m = copy.deepcopy(model)
    layers = [(m[i], "weight") for i in HIDDEN]
    if sparsity == 0:
        return m
    if method == "global magnitude":
        prune.global_unstructured(layers, prune.L1Unstructured, amount=sparsity)
    elif method == "per-layer magnitude":
        for module, name in layers:
            prune.l1_unstructured(module, name, amount=sparsity)
    elif method == "random":
        for module, name in layers:
            prune.random_unstructured(module, name, amount=sparsity)
    elif method == "structured (neurons, L2)":
        for i in HIDDEN[:-1]:  # whole output neurons of the hidden layers
            prune.ln_structured(m[i], "weight", amount=sparsity, n=2, dim=0)
    return m


curves = {}
if not options.skip_accuracy:
    data = load_fashion(options)
    print(f"\n== accuracy vs sparsity: LeNet-300-100, {len(data.x_train):,} training images, "
          "3 epochs ==")
    tt.manual_seed(0)
    dense = mlp_model()
    train(dense, data, 3, 1e-3, 0)
    for method in ("global magnitude", "per-layer magnitude", "random",
                   "structured (neurons, L2)"):
        curves[method] = []
        for s in SPARSITIES:
            m = pruned_copy(dense, method, s)
            curves[method].append((compress.sparsity(m).sparsity, accuracy(m, data)))
        print(f"  {method:<26}" + "  ".join(f"{s:.0%}: {a:.2%}" for s, a in curves[method]))
    # iterative: prune to the next sparsity, fine-tune one epoch, measure
    tuned = copy.deepcopy(dense)
    layers = [(tuned[i], "weight") for i in HIDDEN]
    curve = [(0.0, accuracy(tuned, data))]
    for s in SPARSITIES[1:]:
        alive = 1.0 - compress.sparsity(tuned).sparsity
        prune.global_unstructured(layers, prune.L1Unstructured, amount=1 - (1 - s) / alive)
        train(tuned, data, 1, 5e-4, int(s * 100))
        curve.append((compress.sparsity(tuned).sparsity, accuracy(tuned, data)))
    curves["global magnitude + fine-tuning"] = curve
    print("  global + fine-tuning       " + "  ".join(f"{s:.0%}: {a:.2%}" for s, a in curve))

    print("\n== low rank: fc1 (784 -> 300, 235,500 parameters) as two thinner Linears ==")
    for rank, energy in ((8, None), (16, None), (32, None), (64, None), (None, 0.9)):
        m = copy.deepcopy(dense)
        m[1] = compress.low_rank(dense[1], rank=rank, energy=energy)
        n = sum(p.numel() for p in m[1].parameters())
        label = f"rank {rank}" if rank else f"energy {energy} (rank {m[1][0].out_features})"
        print(f"  {label:<24} {n:>8,} parameters ({n / 235500:.1%}), accuracy "
              f"{accuracy(m, data):.2%} (dense {accuracy(dense, data):.2%})")

print("\n== bytes and latency of LeNet-300-100's layers: dense vs CSR, batch 256 ==")
rng = np.random.default_rng(0)
x = rng.standard_normal((256, 784)).astype(np.float32)
for s in (0.5, 0.8, 0.9, 0.95, 0.98):
    tt.manual_seed(0)
    m = mlp_model()
    prune.global_unstructured([(m[i], "weight") for i in HIDDEN], prune.L1Unstructured,
                              amount=s)
    for i in HIDDEN:
        prune.remove(m[i], "weight")
    sparse = copy.deepcopy(m)
    for i in HIDDEN:
        sparse[i] = compress.SparseLinear.from_linear(m[i])
    dense_bytes = sum(m[i].weight.data.nbytes + m[i].bias.data.nbytes for i in HIDDEN)
    csr_bytes = sum(sparse[i].nbytes for i in HIDDEN)
    t_dense, t_sparse = latency_pair(m, sparse, x.reshape(256, 1, 28, 28))
    print(f"  sparsity {s:.0%}: {dense_bytes:,} B dense, {csr_bytes:,} B CSR "
          f"({dense_bytes / csr_bytes:.1f}x smaller); forward {t_dense * 1e3:.3f} ms dense, "
          f"{t_sparse * 1e3:.3f} ms CSR ({t_dense / t_sparse:.2f}x)")

print("\n== the LeNet-style CNN before and after shrink (50% of hidden channels), batch 256 ==")
tt.manual_seed(0)
cnn = lenet(1, 28, 10)
small = compress.shrink(cnn, {0: 0.5, 3: 0.5, 7: 0.5})
shape = (256, 1, 28, 28)
f_big, f_small = compress.flops(cnn, shape), compress.flops(small, shape)
params = [sum(p.numel() for p in m.parameters()) for m in (cnn, small)]
batch = rng.standard_normal(shape).astype(np.float32)
t_big, t_small = latency_pair(cnn, small, batch)
print(f"  parameters {params[0]:,} -> {params[1]:,} ({params[1] / params[0]:.1%}); bytes "
      f"{params[0] * 4:,} -> {params[1] * 4:,}")
for name in f_big:
    if name != "total":
        print(f"    layer {name}: {f_big[name] / 1e6:8.1f} -> {f_small[name] / 1e6:8.1f} MFLOPs")
print(f"  FLOPs {f_big['total'] / 1e6:.1f} M -> {f_small['total'] / 1e6:.1f} M "
      f"({f_small['total'] / f_big['total']:.1%}); latency {t_big * 1e3:.2f} ms -> "
      f"{t_small * 1e3:.2f} ms ({t_big / t_small:.2f}x faster)")

if curves:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.2))
        for name, rows in curves.items():
            ax.plot([100 * s for s, _ in rows], [100 * a for _, a in rows], marker="o",
                    label=name)
        ax.set_xlabel("weights pruned (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("LeNet-300-100 on Fashion-MNIST: accuracy vs sparsity")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(options.png, dpi=110)
        print(f"\ncurves written to {options.png}")
    except ImportError:
        print("\n(matplotlib not installed: no curves)")
sys.exit(0)
