"""Module 14 Transformers: TinyGPT, a decoder-only language model in one sitting.

    idx (B, T) token ids
      -> token embedding + learned position embedding     (B, T, E)
      -> n_layer x TransformerBlock (pre-norm, causal)     (B, T, E)
      -> final LayerNorm -> lm_head                        (B, T, vocab_size) logits

Trained to predict token t+1 from tokens 0..t at every position at once (the
causal mask makes that honest). ``lm_head`` shares its weight with the token
embedding when ``tie_weights`` (GPT-2 does): the same vector that represents a
token is the one its logit is scored against, and V x E parameters are saved.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinytorch import nn, optim
from tinytorch.autograd import no_grad
from tinytorch.backends.attention.interface import attention_backward_flops, attention_flops
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.backends.norm.interface import layer_norm_flops
from tinytorch.nn import functional as F
from tinytorch.random import default_generator
from tinytorch.tensor import Tensor

__all__ = ["GPT", "GPTConfig"]


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    block_size: int          # the longest context the model sees (positions 0..block_size-1)
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"GPT: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPT: dropout must be in [0, 1), got {self.dropout}")


class GPT(nn.Module):
    """``GPT(vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True,
    tie_weights=True)``; ``forward(idx (B, T), targets (B, T) or None) -> (logits, loss)``."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int,
                 n_embd: int, dropout: float = 0.0, bias: bool = True,
                 tie_weights: bool = True) -> None:
        super().__init__()
        self.config = c = GPTConfig(vocab_size, block_size, n_layer, n_head, n_embd, dropout,
                                    bias, tie_weights)
        self.token_embedding = nn.Embedding(c.vocab_size, c.n_embd)
        self.position_embedding = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(nn.TransformerBlock(c.n_embd, c.n_head, c.dropout, c.bias)
                                    for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        if c.tie_weights:
            self.lm_head.weight = self.token_embedding.weight  # one Parameter, two uses
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: every weight N(0, 0.02), biases 0; the two projections
        that write into the residual stream N(0, 0.02 / sqrt(2 n_layer)), so the stream's
        variance does not grow with depth (2 residual additions per block)."""
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * self.config.n_layer))
            elif p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            else:  # LayerNorm weights
                nn.init.ones_(p)

    def forward(self, idx: Tensor, targets: Tensor | None = None, cache: Any = None
                ) -> tuple[Tensor, Tensor | None]:
        """idx (B, T) int64 ids, T <= block_size -> logits (B, T, vocab_size) and, with
        targets (B, T), the mean cross-entropy of predicting each next token.

        ``cache`` (Module 16, a ``kv_cache.KVCache``): idx continues the cached positions,
        so its tokens sit at positions cache.length .. cache.length + T - 1."""
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        if idx.ndim != 2:
            raise ValueError(f"GPT: idx must be (B, T) token ids, got shape {tuple(idx.shape)}")
        B, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"GPT: sequence length {start + T} exceeds block_size "
                             f"{self.config.block_size}; crop the context to the last "
                             f"{self.config.block_size} tokens")
        if cache is not None:
            cache.check_model(self.config, B)
        layer_caches = [None] * len(self.blocks) if cache is None else cache.layers
        # BEGIN SOLUTION 14
        positions = Tensor(np.arange(start, start + T, dtype=np.int64))
        x = self.drop(self.token_embedding(idx) + self.position_embedding(positions))
        for block, layer_cache in zip(self.blocks, layer_caches, strict=True):
            x = block(x, layer_cache)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss
        # END SOLUTION

    @no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, use_cache: bool = False, fused: bool = False
                 ) -> Tensor:
        """Append ``max_new_tokens`` sampled tokens to idx (B, T) -> (B, T + max_new_tokens).

        Each step feeds the last ``block_size`` tokens, divides the last position's logits
        by ``temperature`` (> 0; lower is more conservative), keeps the ``top_k`` largest
        (None = all) and samples from the softmax with TinyTorch's global generator, so
        ``tinytorch.manual_seed(s)`` makes it reproducible. For greedy decoding use
        ``top_k=1`` (temperature 0 is refused rather than divided by). Runs in eval mode
        (no dropout) and restores the previous mode.

        ``use_cache`` (Module 16): keep every layer's keys and values in a ``KVCache`` and
        feed one new token per step instead of the whole context: the same tokens, O(T)
        instead of O(T^2) work. Once the context reaches ``block_size`` the window must
        slide, which shifts every position: the cache is then refilled from the last
        ``block_size`` tokens at each step (what the uncached loop computes anyway).

        ``fused`` (with ``use_cache``, native backend): each decode step is one native call
        through the whole model (``kv_cache.FusedDecoder``) instead of ~14 kernel calls per
        block wrapped in Python: the same kernels, so the same tokens, less overhead.
        """
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
                or max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be an int >= 0, got "
                             f"{max_new_tokens!r}")
        if not temperature > 0:
            raise ValueError(f"generate: temperature must be > 0, got {temperature} (for "
                             "greedy decoding pass top_k=1)")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(
                top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"generate: top_k must be None or an int >= 1, got {top_k!r}")
        if fused and not use_cache:
            raise ValueError("generate: fused=True decodes from a KV cache; pass use_cache=True")
        idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx, dtype=np.int64))
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: idx must be (B, T) token ids with T >= 1, got shape "
                             f"{tuple(idx.shape)}")
        was_training = self.training
        self.eval()
        try:
            if fused:
                return self._generate_fused(idx.data, max_new_tokens, temperature, top_k)
            if use_cache:
                return self._generate_cached(idx.data, max_new_tokens, temperature, top_k)
            # BEGIN SOLUTION 14
            tokens = idx.data
            for _ in range(max_new_tokens):
                logits, _ = self(Tensor(tokens[:, -self.config.block_size:]))
                choice = _sample(logits.data[:, -1, :], temperature, top_k)
                tokens = np.concatenate([tokens, choice[:, None].astype(tokens.dtype)], axis=1)
            return Tensor(tokens)
            # END SOLUTION
        finally:
            self.train(was_training)

    def _generate_cached(self, tokens: np.ndarray, max_new_tokens: int, temperature: float,
                         top_k: int | None) -> Tensor:
        """generate(use_cache=True): prefill the prompt once, then one token per step."""
        from tinytorch.kv_cache import KVCache  # Module 16

        block = self.config.block_size
        cache = KVCache.for_model(self, batch_size=len(tokens))
        # BEGIN SOLUTION 16
        step_input = tokens[:, -block:]  # the prefill: the whole (cropped) prompt
        for _ in range(max_new_tokens):
            if cache.length + step_input.shape[1] > block:  # window full: slide and refill
                cache.reset()
                step_input = tokens[:, -block:]
            logits, _ = self(Tensor(step_input), cache=cache)
            choice = _sample(logits.data[:, -1, :], temperature, top_k)
            tokens = np.concatenate([tokens, choice[:, None].astype(tokens.dtype)], axis=1)
            step_input = tokens[:, -1:]
        # END SOLUTION
        return Tensor(tokens)

    def _generate_fused(self, tokens: np.ndarray, max_new_tokens: int, temperature: float,
                        top_k: int | None) -> Tensor:
        """generate(use_cache=True, fused=True): the cached loop with every decode step as
        one native call; the prompt (and a refill once the window slides) is prefilled by
        the ordinary forward pass into the same cache."""
        from tinytorch.kv_cache import FusedDecoder, KVCache  # Module 16

        block = self.config.block_size
        cache = KVCache.for_model(self, batch_size=len(tokens))
        decoder = FusedDecoder(self, cache)
        logits = None
        for i in range(max_new_tokens):
            if logits is None:  # prefill the prompt, or refill once the window slid
                cache.reset()
                out, _ = self(Tensor(tokens[:, -block:]), cache=cache)
                logits = out.data[:, -1, :]
            choice = _sample(logits, temperature, top_k)
            tokens = np.concatenate([tokens, choice[:, None].astype(tokens.dtype)], axis=1)
            if i + 1 < max_new_tokens:  # the next position, unless the window is full
                logits = decoder(tokens[:, -1]).data if cache.length < block else None
        return Tensor(tokens)

    # ---- bookkeeping -------------------------------------------------------------------
    def num_parameters(self) -> int:
        """Learned numbers, each shared (tied) Parameter counted once."""
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self, seq_len: int | None = None, training: bool = False) -> int:
        """Analytic FLOPs per token of a forward pass over ``seq_len`` (default block_size)
        tokens, from the kernel families' formulas; ``training`` adds the backward: 2x
        each GEMM (grad of input and of weight) and the attention backward. Elementwise
        work (GELU, softmax, residual adds, the backward of layer norm) is not counted:
        it is memory-bound, not FLOP-bound."""
        c = self.config
        T, E, H = seq_len or c.block_size, c.n_embd, c.n_head
        gemms = c.n_layer * (matmul_flops(T, E, 3 * E) + matmul_flops(T, E, E)
                             + matmul_flops(T, E, 4 * E) + matmul_flops(T, 4 * E, E)) \
            + matmul_flops(T, E, c.vocab_size)
        attention = c.n_layer * attention_flops(1, H, T, T, E // H)
        norms = (2 * c.n_layer + 1) * layer_norm_flops(T, E)
        total = gemms + attention + norms
        if training:
            total += 2 * gemms + c.n_layer * attention_backward_flops(1, H, T, T, E // H)
        return total // T

    def configure_optimizers(self, weight_decay: float, lr: float,
                             betas: tuple[float, float] = (0.9, 0.95)) -> optim.AdamW:
        """AdamW that decays only the 2-D weights (matrices and embeddings); biases and
        LayerNorm weights are not pulled towards zero (that would fight normalisation)."""
        params = list(self.parameters())
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        return optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas)

    def config_dict(self) -> dict[str, Any]:
        """The constructor arguments (for checkpoints): ``GPT(**model.config_dict())``."""
        return asdict(self.config)

    def extra_repr(self) -> str:
        return f"{self.num_parameters():,} parameters"


def _sample(last: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """One token per row of ``last`` (B, vocab) logits: temperature, top-k, then a draw
    from TinyTorch's global generator (one uniform number per row, in both the cached
    and the uncached loop, so the two give the same tokens)."""
    # BEGIN SOLUTION 14
    last = last.astype(np.float64) / temperature
    if top_k is not None and top_k < last.shape[-1]:
        kth = np.partition(last, -top_k, axis=-1)[:, -top_k, None]
        last = np.where(last < kth, -np.inf, last)
    probs = np.exp(last - last.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)
    u = default_generator().random((len(last), 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=-1), last.shape[-1] - 1)
    # END SOLUTION
