"""Kernel family ``spatial`` (Module 08, made fast in 15): convolution and pooling.

``shapes.py`` holds the output-size formula and every argument check, once;
``csrc/conv.cpp`` and ``csrc/pool.cpp`` the native kernels.
"""

from typing import TYPE_CHECKING

from tinytorch.backends.spatial.interface import SpatialKernels as INTERFACE

if TYPE_CHECKING:  # mypy checks every implementation against the interface
    from tinytorch.backends.spatial import loop, native, numpy_backend

    _loop: INTERFACE = loop
    _numpy: INTERFACE = numpy_backend
    _native: INTERFACE = native

#: kernel -> the module whose exercise writes its loop specification (its conformance
#: cases run in that module's tests, or in Module 15's for the modules before it)
MODULES = {"conv2d": 8, "conv2d_backward_input": 8, "conv2d_backward_weight": 8, "max_pool2d": 8,
           "max_pool2d_backward": 8, "avg_pool2d": 8, "avg_pool2d_backward": 8}

__all__ = ["INTERFACE", "MODULES"]
