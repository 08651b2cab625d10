"""The TinyGPT architecture written in PyTorch, parameter for parameter: the oracle of
``test_14_transformers.py`` and the contender of ``benchmarks/bench_gpt.py``.

Parameter names equal ``tinytorch.models.GPT``'s, so ``load_from(ours)`` copies a
TinyTorch ``state_dict()`` across unchanged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TorchBlock(nn.Module):
    def __init__(self, n_embd: int, n_head: int, bias: bool) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.attn.proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = nn.Module()
        self.mlp.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.mlp.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """``cache``: None, or {"k", "v": (B, H, max_len, d) tensors, "length": int}, a
        preallocated KV cache written in place (the comparator of Module 16)."""
        B, T, E = x.shape
        q, k, v = (t.reshape(B, T, self.n_head, -1).transpose(1, 2)
                   for t in self.attn.qkv(self.ln_1(x)).split(E, dim=-1))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            start, end = cache["length"], cache["length"] + T
            cache["k"][:, :, start:end] = k
            cache["v"][:, :, start:end] = v
            cache["length"] = end
            if start == 0:  # the prompt, or a refill after the window slid
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # one step at a time after the prompt (T == 1): no mask needed
                y = F.scaled_dot_product_attention(q, cache["k"][:, :, :end],
                                                   cache["v"][:, :, :end])
        x = x + self.attn.proj(y.transpose(1, 2).reshape(B, T, E))
        return x + self.mlp.proj(F.gelu(self.mlp.fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(nn.Module):
    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int,
                 n_embd: int, bias: bool = True, tie_weights: bool = True) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, n_embd)
        self.position_embedding = nn.Embedding(block_size, n_embd)
        self.blocks = nn.ModuleList(TorchBlock(n_embd, n_head, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.token_embedding.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                caches: list | None = None):
        T = idx.shape[1]
        start = 0 if caches is None else caches[0]["length"]
        x = self.token_embedding(idx) + self.position_embedding(torch.arange(start, start + T))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1),
                                                            targets.flatten())
        return logits, loss


@torch.no_grad()
def generate_greedy(model: TorchGPT, idx: torch.Tensor, max_new_tokens: int,
                    use_cache: bool = True) -> torch.Tensor:
    """Greedy decoding with (or without) a preallocated KV cache; past block_size the
    window slides and the cache is refilled from the last block_size tokens (as ours)."""
    block = model.position_embedding.num_embeddings
    head = model.blocks[0]
    B, E = idx.shape[0], model.token_embedding.embedding_dim
    shape = (B, head.n_head, block, E // head.n_head)
    caches = [{"k": torch.zeros(shape), "v": torch.zeros(shape), "length": 0}
              for _ in model.blocks] if use_cache else None
    tokens, step = idx, idx
    for _ in range(max_new_tokens):
        if use_cache and caches[0]["length"] + step.shape[1] > block:
            for cache in caches:
                cache["length"] = 0
            step = tokens[:, -block:]
        logits, _ = model(step if use_cache else tokens[:, -block:], caches=caches)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, nxt], dim=1)
        step = nxt
    return tokens


def load_from(ours) -> TorchGPT:
    """A TorchGPT with ``ours`` (a tinytorch.models.GPT)'s configuration and weights."""
    c = ours.config
    model = TorchGPT(c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd, c.bias,
                     c.tie_weights)
    model.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return model
