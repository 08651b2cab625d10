"""Module 18 experiments on Fashion-MNIST: prune, shrink, distill -- and measure the price.

* ``mlp``: LeNet-300-100 (784-300-100-10) with iterative global magnitude pruning and
  fine-tuning (Han et al., 2015): >= 10x fewer nonzero weights, <= 0.5 points lost;
  then its CSR storage in bytes.
* ``cnn``: the LeNet-style CNN of ``tinytorch.models`` with half of the channels of
  every hidden layer removed (``compress.shrink``, L1 norms as Li et al., 2017) and
  fine-tuned: <= 50% of the FLOPs, <= 1.5 points lost, >= 1.5x faster per batch.
* ``distill``: a student with <= 1/4 of the CNN teacher's parameters trained on the
  teacher's softened outputs (Hinton et al., 2015): within 2 points of the teacher.

``tinytorch compress NAME`` runs one and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

import tinytorch as tt
from tinytorch import compress, nn, optim
from tinytorch.compress import prune
from tinytorch.milestones.compression_common import (
    Arrays,
    accuracy,
    latency_pair,
    logits,
    parameters,
    train,
)
from tinytorch.models import lenet


@dataclass
class Outcome:
    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def _check(outcome: Outcome, label: str, ok: bool) -> None:
    outcome.lines.append(f"  [{'met' if ok else 'MISSED'}] {label}")
    outcome.passed &= ok


def mlp_model() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100),
                         nn.ReLU(), nn.Linear(100, 10))


def run_mlp(args: argparse.Namespace, data: Arrays) -> Outcome:
    """Iterative global magnitude pruning to ``args.sparsity`` in ``args.rounds`` rounds."""
    tt.manual_seed(args.seed)
    model = mlp_model()
    print(f"\n== LeNet-300-100 on Fashion-MNIST: {parameters(model):,} parameters ==")
    train(model, data, args.epochs, 1e-3, args.seed)
    base = accuracy(model, data)
    print(f"  dense: test accuracy {base:.2%}")
    layers = [(model[i], "weight") for i in (1, 3, 5)]
    keep_per_round = (1.0 - args.sparsity) ** (1.0 / args.rounds)
    curve = []
    for r in range(args.rounds):
        # BEGIN SOLUTION 18
        prune.global_unstructured(layers, prune.L1Unstructured, amount=1.0 - keep_per_round)
        pruned_accuracy = accuracy(model, data)
        train(model, data, args.finetune_epochs, 5e-4, args.seed + r + 1)
        # END SOLUTION
        tuned = accuracy(model, data)
        report = compress.sparsity(model)
        curve.append((report.sparsity, pruned_accuracy, tuned))
        print(f"  round {r + 1}: sparsity {report.sparsity:.1%} ({report.compression:.1f}x), "
              f"accuracy {pruned_accuracy:.2%} pruned -> {tuned:.2%} fine-tuned")
    report = compress.sparsity(model)
    print(report)
    final = curve[-1][2]
    for module, name in layers:
        prune.remove(module, name)
    dense_bytes = sum(m.weight.data.nbytes + m.bias.data.nbytes for m, _ in layers)
    sparse_layers = [compress.SparseLinear.from_linear(m) for m, _ in layers]
    sparse_bytes = sum(s.nbytes for s in sparse_layers)
    print(f"  storage: dense {dense_bytes:,} B, CSR {sparse_bytes:,} B "
          f"({dense_bytes / sparse_bytes:.1f}x smaller)")
    outcome = Outcome("mlp", True, metrics={
        "dense_accuracy": base, "pruned_accuracy": final, "compression": report.compression,
        "sparsity": report.sparsity, "dense_bytes": dense_bytes, "csr_bytes": sparse_bytes})
    loss_pts = (base - final) * 100
    _check(outcome, f"{report.compression:.1f}x fewer nonzero weights (target >= "
                    f"{args.min_compression:.0f}x)", report.compression >= args.min_compression)
    _check(outcome, f"accuracy {base:.2%} -> {final:.2%}: {loss_pts:+.2f} points lost (target "
                    f"<= {args.max_loss_mlp})", loss_pts <= args.max_loss_mlp)
    outcome.metrics["curve"] = curve  # type: ignore[assignment]
    return outcome


_TEACHERS: dict[tuple, tuple[nn.Module, float]] = {}


def teacher(args: argparse.Namespace, data: Arrays) -> tuple[nn.Module, float]:
    """The trained LeNet-style CNN (trained once per process and settings)."""
    key = (args.seed, args.cnn_epochs, len(data.x_train))
    if key not in _TEACHERS:
        tt.manual_seed(args.seed)
        model = lenet(1, 28, 10)
        print(f"\n== teacher: LeNet-style CNN, {parameters(model):,} parameters ==")
        train(model, data, args.cnn_epochs, 1e-3, args.seed)
        _TEACHERS[key] = (model, accuracy(model, data))
        print(f"  teacher: test accuracy {_TEACHERS[key][1]:.2%}")
    return _TEACHERS[key]


def run_cnn(args: argparse.Namespace, data: Arrays) -> Outcome:
    """Remove ``args.channels`` of the channels of every hidden layer, fine-tune, measure."""
    model, base = teacher(args, data)
    shape = (args.latency_batch, 1, 28, 28)
    # the hidden layers of lenet: conv (0), conv (3), fc (7); the classifier (10) stays
    small = compress.shrink(model, {0: args.channels, 3: args.channels, 7: args.channels}, n=1)
    before, after = compress.flops(model, shape), compress.flops(small, shape)
    shrunk = accuracy(small, data)
    print(f"\n== structured pruning: {args.channels:.0%} of the channels removed ==")
    print(f"  {parameters(model):,} -> {parameters(small):,} parameters, "
          f"{before['total'] / 1e6:.1f} -> {after['total'] / 1e6:.1f} MFLOPs per batch of "
          f"{args.latency_batch}; accuracy right after: {shrunk:.2%}")
    train(small, data, args.finetune_epochs_cnn, 5e-4, args.seed + 7)
    final = accuracy(small, data)
    t_big, t_small = latency_pair(model, small, data.x_test[:args.latency_batch])
    ratio = after["total"] / before["total"]
    print(f"  fine-tuned: {final:.2%} (teacher {base:.2%}); latency per batch of "
          f"{args.latency_batch}: {t_big * 1e3:.2f} ms -> {t_small * 1e3:.2f} ms "
          f"({t_big / t_small:.2f}x), backend {tt.get_backend()}")
    outcome = Outcome("cnn", True, metrics={
        "dense_accuracy": base, "shrunk_accuracy": shrunk, "final_accuracy": final,
        "flops_ratio": ratio, "latency_dense_ms": t_big * 1e3,
        "latency_small_ms": t_small * 1e3, "speedup": t_big / t_small,
        "params_dense": parameters(model), "params_small": parameters(small)})
    loss_pts = (base - final) * 100
    _check(outcome, f"{ratio:.1%} of the FLOPs (target <= 50%)", ratio <= 0.5)
    _check(outcome, f"accuracy {base:.2%} -> {final:.2%}: {loss_pts:+.2f} points lost (target "
                    f"<= {args.max_loss_cnn})", loss_pts <= args.max_loss_cnn)
    _check(outcome, f"latency speedup {t_big / t_small:.2f}x per batch (target >= "
                    f"{args.min_speedup}x)", t_big / t_small >= args.min_speedup)
    return outcome


def student_model() -> nn.Sequential:
    """8 and 16 channels, 64 hidden units: ~52k parameters (the teacher has ~422k)."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def distill(student: nn.Module, data: Arrays, teacher_logits: np.ndarray, epochs: int,
            temperature: float, alpha: float, seed: int, batch_size: int = 128) -> None:
    """Train ``student`` on DistillationLoss against precomputed teacher logits."""
    loss_fn = compress.DistillationLoss(temperature, alpha)
    optimizer = optim.Adam(student.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    student.train()
    for epoch in range(epochs):
        order = rng.permutation(len(data.x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out = student(tt.Tensor(data.x_train[idx]))
            loss = loss_fn(out, teacher_logits[idx], tt.Tensor(data.y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"    epoch {epoch + 1}: distillation loss {total / len(order):.4f}")


def run_distill(args: argparse.Namespace, data: Arrays) -> Outcome:
    model, base = teacher(args, data)
    soft_targets = logits(model, data.x_train)
    tt.manual_seed(args.seed + 1)
    student = student_model()
    share = parameters(student) / parameters(model)
    print(f"\n== distillation: student with {parameters(student):,} parameters "
          f"({share:.1%} of the teacher), T={args.temperature}, alpha={args.alpha} ==")
    distill(student, data, soft_targets, args.student_epochs, args.temperature, args.alpha,
            args.seed)
    distilled = accuracy(student, data)
    print(f"  distilled student: {distilled:.2%} (teacher {base:.2%})")
    outcome = Outcome("distill", True, metrics={"teacher_accuracy": base,
                                                "student_accuracy": distilled,
                                                "parameter_share": share})
    if not args.quick:  # the honest baseline: the same student on the labels alone
        tt.manual_seed(args.seed + 1)
        alone = student_model()
        train(alone, data, args.student_epochs, 2e-3, args.seed)
        outcome.metrics["student_alone_accuracy"] = accuracy(alone, data)
        print(f"  the same student on labels alone: "
              f"{outcome.metrics['student_alone_accuracy']:.2%}")
    gap = (base - distilled) * 100
    _check(outcome, f"student has {share:.1%} of the teacher's parameters (target <= 25%)",
           share <= 0.25)
    _check(outcome, f"student {distilled:.2%} vs teacher {base:.2%}: {gap:+.2f} points (target "
                    f"<= {args.max_gap})", gap <= args.max_gap)
    return outcome


EXPERIMENTS = {"mlp": run_mlp, "cnn": run_cnn, "distill": run_distill}
