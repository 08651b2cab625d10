"""``tinytorch.models``: complete networks, built from ``tinytorch.nn`` layers.

Module 10 brings the CNNs its milestone trains (``lenet``, ``vgg_small``);
later modules add theirs here, one file per family of models: Module 14 the
decoder-only language model ``GPT`` (``gpt.py``).
"""

from tinytorch.models.cnn import lenet, vgg_small
from tinytorch.models.gpt import GPT, GPTConfig

__all__ = ["GPT", "GPTConfig", "lenet", "vgg_small"]
