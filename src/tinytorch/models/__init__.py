"""``tinytorch.models``: complete networks, built from ``tinytorch.nn`` layers.

Module 10 brings the networks its milestones train (``mlp``, ``lenet``,
``vgg_small``); later modules add theirs here, one file per family of models:
Module 14 the decoder-only language model ``GPT`` (``gpt.py``). ``registry.py``
names every architecture, so a checkpoint can say which model it holds
(``save_model`` / ``load_model``, ``model_config`` / ``from_config``).
"""

from tinytorch.models.cnn import lenet, vgg_small
from tinytorch.models.gpt import GPT, GPTConfig
from tinytorch.models.mlp import mlp
from tinytorch.models.registry import (ARCHITECTURES, ArchitectureError, architecture,
                                       from_config, load_model, model_config, save_model)

ARCHITECTURES["gpt"] = GPT  # a class: model_config reads its config_dict()

__all__ = ["ARCHITECTURES", "GPT", "ArchitectureError", "GPTConfig", "architecture",
           "from_config", "lenet", "load_model", "mlp", "model_config", "save_model",
           "vgg_small"]
