"""Module 20: the built-in rungs of the ladder, registered in the order the course met them.

    native (15) -> kv_cache (16, GPT) -> fused_decode (16, GPT)
        -> int8 (17: dynamic for GPT, static for the CNN)
        -> shrink + fine-tune (18, CNN) -> distill (18, CNN)

Each is a plain function ``(system, workload) -> system``; your own step is one more
(see ``registry.py`` and modules/20_capstone/README.md).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

import tinytorch as tt
from tinytorch import compress, nn, optim
from tinytorch.backends import BackendUnavailableError, available_backends, use_backend
from tinytorch.capstone.ladder import System
from tinytorch.capstone.registry import register_step

__all__ = ["hidden_layers"]


@register_step("native", order=10, change="native C++ kernels (Module 15) instead of NumPy")
def native(system: System, workload: Any) -> System:
    if "native" not in available_backends():
        raise BackendUnavailableError("the native backend is not built: pip install -e . "
                                      "(see tinytorch doctor)")
    return system.replace(backend="native")


@register_step("kv_cache", models=("tinygpt",), order=20,
               change="KV cache (Module 16): one new token per decode step")
def kv_cache(system: System, workload: Any) -> System:
    return system.replace(use_cache=True)


@register_step("fused_decode", models=("tinygpt",), order=25,
               change="the whole decode step as one native call (Module 16: FusedDecoder)")
def fused_decode(system: System, workload: Any) -> System:
    if system.backend != "native" or not system.use_cache:
        raise ValueError("fused_decode runs on the native backend from a KV cache: it comes "
                         "after the native and kv_cache steps")
    return system.replace(fused_decode=True)


@register_step("int8_dynamic", models=("tinygpt",), order=30,
               change="int8 weights (Linear, Embedding), dynamic per-token int8 activations (17)")
def int8_dynamic(system: System, workload: Any) -> System:
    return system.replace(quantization="dynamic")


@register_step("int8_static", models=("cnn",), order=30,
               change="int8 weights and activations, calibrated on 512 training images, "
                      "each ReLU fused into its layer (17)")
def int8_static(system: System, workload: Any) -> System:
    return system.replace(quantization="static")


def hidden_layers(model: nn.Module) -> list[int]:
    """Indices of the Conv2d / Linear layers of a Sequential except the last (the
    classifier keeps its outputs: they are the classes)."""
    layers = [i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear))]
    return layers[:-1]


@register_step("shrink", models=("cnn",), order=40,
               change="remove channels by L1 norm (Module 18) + fine-tune")
def shrink(system: System, workload: Any) -> System:
    amount = workload.config.shrink
    small = compress.shrink(system.model, {i: amount for i in hidden_layers(system.model)}, n=1)
    workload.train(small, workload.config.finetune_epochs, 5e-4, workload.config.seed + 7)
    return system.replace(model=small)


@register_step("shrink_mlp", models=("tinygpt",), order=40,
               change="remove MLP hidden neurons by L1 norm (Module 18) + fine-tune")
def shrink_mlp(system: System, workload: Any) -> System:
    """Structured pruning of every block's MLP (E -> 4E -> E): keep the hidden neurons whose
    rows of ``fc`` have the largest L1 norm, and the matching columns of ``proj``."""
    model = copy.deepcopy(system.model)
    for block in model.blocks:
        fc, proj = block.mlp.fc, block.mlp.proj
        keep = compress.keep_channels(fc.weight.data, workload.shrink, n=1)
        new_fc = nn.Linear(fc.in_features, len(keep), bias=fc.bias is not None)
        new_proj = nn.Linear(len(keep), proj.out_features, bias=proj.bias is not None)
        new_fc.weight = nn.Parameter(np.ascontiguousarray(fc.weight.data[keep]))
        new_proj.weight = nn.Parameter(np.ascontiguousarray(proj.weight.data[:, keep]))
        if fc.bias is not None:
            new_fc.bias = nn.Parameter(fc.bias.data[keep].copy())
        if proj.bias is not None:
            new_proj.bias = nn.Parameter(proj.bias.data.copy())
        block.mlp.fc, block.mlp.proj = new_fc, new_proj
    workload.finetune(model, workload.finetune_steps)
    return system.replace(model=model)


@register_step("distill", models=("cnn",), order=50,
               change="a smaller student trained on the teacher's soft targets (18)")
def distill(system: System, workload: Any) -> System:
    from tinytorch.capstone.cnn import student_like

    data, config = workload.data, workload.config
    tt.manual_seed(config.seed + 1)
    student = student_like(workload.channels, workload.size, workload.classes)
    loss_fn = compress.DistillationLoss(4.0, 0.9)
    optimizer = optim.Adam(student.parameters(), lr=2e-3)
    rng = np.random.default_rng(config.seed)
    # training is not what the ladder measures: it runs on the fastest backend
    with use_backend("native" if "native" in available_backends() else "numpy"):
        teacher_logits = workload.logits(workload.teacher, data.x_train)
        student.train()
        for _ in range(config.student_epochs):
            order = rng.permutation(len(data.x_train))
            for start in range(0, len(order), 128):
                idx = order[start:start + 128]
                loss = loss_fn(student(tt.Tensor(data.x_train[idx])), teacher_logits[idx],
                               tt.Tensor(data.y_train[idx]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return system.replace(model=copy.deepcopy(student).eval())
