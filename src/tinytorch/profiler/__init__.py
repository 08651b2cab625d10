"""Module 19 Benchmarking: ``tinytorch.profiler`` -- where does the time go, and what
does a model cost?

* ``profile`` / ``record_function``: record every op's forward and backward, every
  kernel call, every module and optimizer step; ``prof.key_averages().table(...)`` and
  ``prof.export_chrome_trace(path)`` as in ``torch.profiler``;
* ``count_flops``, ``count_parameters``, ``activation_memory``, ``peak_memory``;
* ``benchmark`` / ``Measurement``: the one timing toolkit (``tinytorch.utils.benchmark``)
  -- warm-up, repeated rounds, mean, std, median, p90, p99, a 95% confidence interval
  of the median and a busy-machine flag;
* ``mlperf``: single-stream and offline scenarios with a quality target, JSON results.
"""

from tinytorch.profiler.counting import (
    FlopCounts,
    activation_memory,
    count_flops,
    count_parameters,
    peak_memory,
)
from tinytorch.profiler.events import EventList, FunctionEvent, FunctionEventAvg
from tinytorch.profiler.flops import kernel_flops
from tinytorch.profiler.recorder import profile, record_function
from tinytorch.utils.benchmark import Measurement, Stopwatch, benchmark

__all__ = ["EventList", "FlopCounts", "FunctionEvent", "FunctionEventAvg", "Measurement",
           "Stopwatch", "activation_memory", "benchmark", "count_flops", "count_parameters",
           "kernel_flops", "peak_memory", "profile", "record_function"]
