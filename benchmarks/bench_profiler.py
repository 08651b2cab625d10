"""Module 19: what the profiler costs -- nothing when off, and how much while recording.

Three contenders time the same training step (``tinytorch.profiler.workloads``: the
CNN and the TinyGPT of the milestones, on random data), in one process:

* ``before``: the autograd engine exactly as it was before the profiler existed
  (``_backward_before_module_19`` below, a verbatim copy; ``Function.apply``,
  ``Module.__call__`` and ``Optimizer.step`` were not changed by Module 19 at all);
* ``off``: today's code with no profile active (the engine tests one local
  ``is None`` per node);
* ``on``: inside ``profile()`` (every op, kernel and module recorded).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_profiler.py

Read off/before and on/off from each group's median column;
``modules/19_benchmarking/measure.py`` prints the same ratios directly. The last
benchmark loads an exported trace into Perfetto's trace processor when the
``perfetto`` package and its binary are available here (skipped otherwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch import autograd
from tinytorch.profiler import profile
from tinytorch.profiler.workloads import make_workload


def _backward_before_module_19(root: Any, gradient: Any = None,
                               retain_graph: bool = False) -> None:
    """``autograd.backward`` as it was before Module 19 (the comparison's baseline)."""
    gradient = autograd._seed(root, gradient)
    if root.grad_fn is None:
        root._accumulate_grad(gradient)
        return
    if root.grad_fn.released:
        raise RuntimeError("Trying to backward through the graph a second time")
    pending: dict[int, np.ndarray] = {id(root.grad_fn): gradient}
    for node in autograd._topological_order(root.grad_fn):
        grad = pending.pop(id(node), None)
        if grad is None:
            continue
        if node.released:
            raise RuntimeError("Trying to backward through part of a freed graph")
        input_grads = node.backward(grad)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(f"{node!r} returned {len(input_grads)} gradients for "
                               f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, input_grads, strict=True):
            if inp is None or g is None or not inp.requires_grad:
                continue
            if g.shape != inp.shape:
                raise RuntimeError(f"{node!r} produced a gradient of shape {g.shape} for an "
                                   f"input of shape {inp.shape}")
            if inp._retains_grad or inp.grad_fn is None:
                inp._accumulate_grad(g)
            if inp.grad_fn is not None:
                key = id(inp.grad_fn)
                pending[key] = pending[key] + g if key in pending else g
        if not retain_graph:
            node.release()


WORKLOAD_ARGS = {"cnn": {"batch_size": 16}, "tinygpt": {"batch_size": 8}, "mlp": {}}


@pytest.mark.parametrize("mode", ["before", "off", "on"])
@pytest.mark.parametrize("name", list(WORKLOAD_ARGS))
def test_training_step(benchmark, monkeypatch, name: str, mode: str) -> None:
    work = make_workload(name, **WORKLOAD_ARGS[name])
    if mode == "before":
        monkeypatch.setattr(autograd, "backward", _backward_before_module_19)
    benchmark.group = f"{name} training step: profiler before / off / on"
    if mode == "on":
        def step() -> float:
            with profile():
                return work.train_step()
        benchmark(step)
    else:
        benchmark(work.train_step)


def test_perfetto_trace_processor_loads_the_trace(tmp_path) -> None:
    tp = pytest.importorskip("perfetto.trace_processor",
                             reason="pip install perfetto to check traces with Perfetto")
    work = make_workload("mlp", batch_size=8)
    with profile() as prof:
        work.train_step()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    try:
        processor = tp.TraceProcessor(trace=str(path))
    except Exception as exc:  # the binary is downloaded on first use: no network here
        pytest.skip(f"Perfetto's trace_processor binary is unavailable: {exc}")
    row = next(iter(processor.query("select count(*) as n, max(depth) as depth from slice")))
    processor.close()
    assert row.n == len(prof.events)                        # every range became a slice
    assert row.depth == max(e.depth for e in prof.events)   # ... nested as recorded
