"""``tinytorch.quant`` (Module 17 Precision): real int8 quantization.

* ``functional``: ``quantize_per_tensor``, ``quantize_per_channel``, ``dequantize``
  (PyTorch's rounding and clamping, bit for bit);
* ``observer``: ``MinMaxObserver``, ``MovingAverageMinMaxObserver``,
  ``PerChannelMinMaxObserver``, ``PercentileObserver``;
* ``QuantizedLinear`` / ``QuantizedConv2d``: int8 weights, int8 GEMM with int32
  accumulation (``backends/quant``), fused epilogue; ``QuantizedEmbedding``: int8 rows;
* ``fuse_modules`` (a Conv2d / Linear and its ReLU into one layer: ``ConvReLU2d``,
  ``LinearReLU``; ``fusable_modules`` finds the pairs);
* ``quantize_dynamic``, static ``prepare`` / ``convert``, ``model_size_bytes``,
  ``save_quantized`` / ``load_quantized``, ``sqnr_db`` / ``layer_sqnr``.
"""

from __future__ import annotations

from tinytorch.quant.conv import QuantizedConv2d
from tinytorch.quant.dynamic import (
                                     load_quantized,
                                     model_size_bytes,
                                     quantize_dynamic,
                                     quantized_layers,
                                     save_quantized,
)
from tinytorch.quant.embedding import QuantizedEmbedding
from tinytorch.quant.fuse import ConvReLU2d, LinearReLU, fusable_modules, fuse_modules
from tinytorch.quant.functional import (
                                     QTensor,
                                     dequantize,
                                     qrange,
                                     quantize_per_channel,
                                     quantize_per_tensor,
)
from tinytorch.quant.linear import QuantizedLinear, quantize_weight
from tinytorch.quant.observer import (
                                     MinMaxObserver,
                                     MovingAverageMinMaxObserver,
                                     PercentileObserver,
                                     PerChannelMinMaxObserver,
                                     calculate_qparams,
)
from tinytorch.quant.report import layer_sqnr, sqnr_db
from tinytorch.quant.static import convert, prepare

__all__ = [
    "ConvReLU2d", "LinearReLU", "MinMaxObserver", "MovingAverageMinMaxObserver",
    "PerChannelMinMaxObserver",
    "PercentileObserver", "QTensor", "QuantizedConv2d", "QuantizedEmbedding", "QuantizedLinear",
    "calculate_qparams",
    "convert", "dequantize", "fusable_modules", "fuse_modules", "layer_sqnr", "load_quantized", "model_size_bytes", "prepare",
    "qrange", "quantize_dynamic", "quantize_per_channel", "quantize_per_tensor",
    "quantize_weight", "quantized_layers", "save_quantized", "sqnr_db",
]
