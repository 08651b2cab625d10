"""``tinytorch.capstone`` (Module 20): an optimized, profiled system and a report to check.

* ``registry``: ``register_step`` -- the plug-in point (your own rung of the ladder);
* ``steps``: the built-in rungs (native kernels, KV cache, int8, shrinking, distillation);
* ``ladder``: ``System``, ``run_ladder``, the guardrail ``judge`` and ``ratios``;
* ``cnn`` / ``gpt``: the two workloads (train or load, serve, measure);
* ``submission`` / ``report``: ``submission.json`` checked against its JSON Schema,
  ``report.md`` and the charts.

``tinytorch capstone --model cnn|tinygpt [--quick]`` runs it all.
"""

from tinytorch.capstone import steps as _steps  # noqa: F401 (registers the built-in rungs)
from tinytorch.capstone.ladder import (
                                       RUN_ID,
                                       Ladder,
                                       Measured,
                                       Rung,
                                       System,
                                       judge,
                                       ratios,
                                       run_ladder,
)
from tinytorch.capstone.registry import (
                                       STEPS,
                                       Step,
                                       load_plugin,
                                       register_step,
                                       steps_for,
                                       unregister_step,
)
from tinytorch.capstone.submission import SubmissionError, validate

__all__ = ["RUN_ID", "STEPS", "Ladder", "Measured", "Rung", "Step", "SubmissionError", "System",
           "judge", "load_plugin", "ratios", "register_step", "run_ladder", "steps_for",
           "unregister_step", "validate"]
