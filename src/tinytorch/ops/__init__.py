"""The differentiable operations behind ``Tensor`` (Modules 02 and 06).

Each op is a :class:`tinytorch.autograd.Function`: forward and backward side
by side. ``Tensor`` methods are thin wrappers that call ``Op.apply``.
"""
