"""Module 16 Caching: the KV cache gives exactly the tokens of uncached generation, faster.

Greedy and sampled decoding, prompts of length 1, a few tokens and close to
block_size (so generation crosses it and the window slides), batch 1 and 4, on
the numpy and native backends; the cache's memory formula, and clear errors for
a full cache, a wrong-shaped key, a cache of another model, and gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tests.conftest import AVAILABLE_BACKENDS, backend_params, conformance_params
from tinytorch.backends.conformance import check_case
from tinytorch.kv_cache import KVCache, LayerKVCache
from tinytorch.models import GPT

BLOCK = 16


def _model(seed: int = 0) -> GPT:
    tt.manual_seed(seed)
    return GPT(vocab_size=29, block_size=BLOCK, n_layer=2, n_head=2, n_embd=16)


def _prompt(batch: int, length: int) -> np.ndarray:
    return np.random.default_rng(length + 10 * batch).integers(0, 29, (batch, length))


@pytest.mark.parametrize("backend", [b for b in ("numpy", "native") if b in AVAILABLE_BACKENDS])
@pytest.mark.parametrize("length", [1, 4, BLOCK - 2])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("sampling", [dict(top_k=1), dict(temperature=0.9),
                                      dict(temperature=1.3, top_k=5)],
                         ids=["greedy", "sampled", "top_k"])
def test_cached_generation_gives_the_same_tokens(backend, length, batch, sampling):
    model = _model()
    prompt = _prompt(batch, length)
    with tt.use_backend(backend):
        tt.manual_seed(123)
        uncached = model.generate(prompt, 12, use_cache=False, **sampling).numpy()
        tt.manual_seed(123)
        cached = model.generate(prompt, 12, use_cache=True, **sampling).numpy()
    assert uncached.shape == (batch, length + 12)
    np.testing.assert_array_equal(cached, uncached)


def test_prefill_in_chunks_equals_one_forward_pass():
    """Prefill 5 tokens, then 3 more (the bottom-right-causal path), then 1 at a time: the
    logits of every position equal a single uncached forward over all of them."""
    model = _model().eval()
    tokens = _prompt(2, 10)
    with tt.no_grad():
        full, _ = model(tt.Tensor(tokens))
        cache = KVCache.for_model(model, batch_size=2)
        pieces = [model(tt.Tensor(tokens[:, a:b]), cache=cache)[0].numpy()
                  for a, b in ((0, 5), (5, 8), (8, 9), (9, 10))]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full.numpy(), rtol=1e-4,
                               atol=1e-5)
    assert cache.length == 10


def test_memory_formula_matches_the_arrays():
    cache = KVCache(n_layer=3, batch_size=2, n_head=4, max_len=32, head_dim=8)
    assert cache.memory_bytes() == 2 * 3 * 2 * 4 * 32 * 8 * 4
    assert cache.memory_bytes() == sum(layer.k.nbytes + layer.v.nbytes
                                       for layer in cache.layers)
    model = _model()
    c = KVCache.for_model(model, batch_size=1)
    assert c.memory_bytes() == 2 * 2 * 1 * 2 * BLOCK * 8 * 4


def test_a_full_cache_says_so():
    layer = LayerKVCache(batch_size=1, n_head=1, max_len=3, head_dim=2)
    x = tt.randn(1, 1, 2, 2)
    with tt.no_grad():
        layer.attend(x, x, x, scale=1.0)
        with pytest.raises(ValueError, match=r"2 positions are cached and 2 more do not fit "
                                             r"in max_len=3"):
            layer.attend(x, x, x, scale=1.0)
    layer.reset()
    assert layer.length == 0


def test_a_wrong_shaped_key_is_named():
    layer = LayerKVCache(batch_size=1, n_head=2, max_len=8, head_dim=4)
    q = tt.randn(1, 2, 1, 4)
    with tt.no_grad(), pytest.raises(ValueError, match=r"key must have shape \(batch=1, "
                                                       r"heads=2, T, head_dim=4\).*\(1, 2, 1, 3\)"):
        layer.attend(q, tt.randn(1, 2, 1, 3), q, scale=0.5)


def test_a_cache_for_another_model_is_refused():
    model = _model()
    other = KVCache(n_layer=3, batch_size=1, n_head=2, max_len=BLOCK, head_dim=8)
    with tt.no_grad(), pytest.raises(ValueError, match=r"n_layer=3.*n_layer=2"):
        model(tt.Tensor(_prompt(1, 3)), cache=other)
    too_long = KVCache(n_layer=2, batch_size=1, n_head=2, max_len=BLOCK + 1, head_dim=8)
    with tt.no_grad(), pytest.raises(ValueError, match="exceeds the model's block_size"):
        model(tt.Tensor(_prompt(1, 3)), cache=too_long)
    wrong_batch = KVCache.for_model(model, batch_size=2)
    with tt.no_grad(), pytest.raises(ValueError, match="batch=2"):
        model(tt.Tensor(_prompt(1, 3)), cache=wrong_batch)


def test_the_cache_is_for_inference():
    layer = LayerKVCache(batch_size=1, n_head=1, max_len=4, head_dim=2)
    q = tt.randn(1, 1, 1, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        layer.attend(q, q, q, scale=1.0)


def test_the_cache_holds_what_was_written():
    """The cache holds exactly what the prompt and the generated tokens wrote."""
    model = _model().eval()
    cache = KVCache.for_model(model, batch_size=1)
    with tt.no_grad():
        model(tt.Tensor(_prompt(1, 6)), cache=cache)
        model(tt.Tensor(_prompt(1, 1)), cache=cache)
    assert cache.length == 7
    for layer in cache.layers:
        assert np.all(layer.k[:, :, 7:] == 0) and np.any(layer.k[:, :, :7] != 0)


def test_cached_generation_on_the_loop_spec():
    """The loop backend (the executable spec) gives the same tokens with and without a cache."""
    model = _model()
    prompt = _prompt(1, 3)
    with tt.use_backend("loop"):
        uncached = model.generate(prompt, 4, top_k=1, use_cache=False).numpy()
        cached = model.generate(prompt, 4, top_k=1, use_cache=True).numpy()
    np.testing.assert_array_equal(cached, uncached)


@pytest.mark.parametrize("length", [1, BLOCK - 2])
def test_cached_greedy_decoding_equals_pytorch(length):
    """PyTorch with the same weights and its own preallocated cache decodes the same tokens,
    also past block_size where both slide the window and refill the cache."""
    torch = pytest.importorskip("torch")
    from tests._torch_gpt import generate_greedy, load_from

    model = _model().eval()
    prompt = _prompt(2, length)
    ours = model.generate(prompt, 12, top_k=1, use_cache=True).numpy()
    theirs = generate_greedy(load_from(model).eval(), torch.tensor(prompt), 12,
                             use_cache=True).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_tinytorch_generate_with_and_without_the_cache_writes_the_same_text(tmp_path, capsys):
    """`tinytorch generate` (cache on by default) prints what --no-cache prints, same seed."""
    from tinytorch.cli import main
    from tinytorch.data import DatasetError
    from tinytorch.text.corpus import read_shakespeare

    try:
        read_shakespeare()
    except DatasetError as exc:
        pytest.skip(f"no Shakespeare corpus here: {exc}")
    path = tmp_path / "run.npz"
    assert main(["milestone", "tinygpt", "--quick", "--steps", "4", "--eval-interval", "2",
                 "--target-loss", "10", "--seed", "3", "--checkpoint", str(path)]) == 0
    capsys.readouterr()
    argv = ["generate", "--checkpoint", str(path), "--prompt", "ROMEO:", "--tokens", "80",
            "--top-k", "5", "--seed", "1"]
    outputs = []
    for flag in ("--use-cache", "--no-cache"):
        assert main([*argv, flag]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and len(outputs[0]) == len("ROMEO:") + 80 + 1


@pytest.mark.parametrize("backend_name", backend_params())
@pytest.mark.parametrize("kernel,case", conformance_params(16))
def test_decode_attention_kernels_agree_with_the_loop_spec(backend_name, kernel, case):
    """The conformance cases of this module's kernels on every backend (as Module 15 does
    for the earlier ones)."""
    check_case(backend_name, kernel, case)


# ---- the fused decode step (one native call per token) --------------------------------

needs_native = pytest.mark.skipif("native" not in AVAILABLE_BACKENDS,
                                  reason="the fused decode step runs the native kernels")


@needs_native
@pytest.mark.parametrize("length", [1, 4, BLOCK - 2])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("sampling", [dict(top_k=1), dict(temperature=1.3, top_k=5)],
                         ids=["greedy", "top_k"])
def test_fused_generation_gives_the_same_tokens(length, batch, sampling):
    # BLOCK - 2 + 12 tokens crosses block_size: the window slides and is refilled
    model = _model()
    prompt = _prompt(batch, length)
    with tt.use_backend("native"):
        runs = []
        for kwargs in (dict(use_cache=False), dict(use_cache=True),
                       dict(use_cache=True, fused=True)):
            tt.manual_seed(7)
            runs.append(model.generate(prompt, 12, **sampling, **kwargs).numpy())
    np.testing.assert_array_equal(runs[2], runs[0])
    np.testing.assert_array_equal(runs[2], runs[1])


@needs_native
@pytest.mark.parametrize("batch", [1, 2])
def test_a_fused_step_gives_the_logits_of_the_cached_forward_pass(batch):
    from tinytorch.kv_cache import FusedDecoder

    model = _model(3).eval()
    ids = _prompt(batch, BLOCK)
    with tt.use_backend("native"), tt.no_grad():
        ref, fused = KVCache.for_model(model, batch), KVCache.for_model(model, batch)
        model(tt.Tensor(ids[:, :5]), cache=ref)
        model(tt.Tensor(ids[:, :5]), cache=fused)
        decoder = FusedDecoder(model, fused)
        for t in range(5, BLOCK):
            want = model(tt.Tensor(ids[:, t:t + 1]), cache=ref)[0].numpy()[:, -1]
            got = decoder(ids[:, t]).numpy()
            np.testing.assert_array_equal(got, want)  # the same kernels in the same order
            assert fused.length == ref.length == t + 1
        for layer_ref, layer_fused in zip(ref.layers, fused.layers, strict=True):
            np.testing.assert_array_equal(layer_fused.k, layer_ref.k)
            np.testing.assert_array_equal(layer_fused.v, layer_ref.v)


@needs_native
def test_the_fused_step_refuses_bad_input():
    from tinytorch.kv_cache import FusedDecoder

    model = _model().eval()
    with tt.use_backend("native"), tt.no_grad():
        cache = KVCache.for_model(model, 2)
        decoder = FusedDecoder(model, cache)
        with pytest.raises(IndexError, match="token id 29 is out of range for vocab_size 29"):
            decoder(np.array([0, 29]))
        with pytest.raises(IndexError, match="token id -1"):
            decoder(np.array([-1, 0]))
        with pytest.raises(ValueError, match=r"tokens must have shape \(2,\)"):
            decoder(np.array([1, 2, 3]))
        assert cache.length == 0  # a refused step writes nothing
        for _ in range(BLOCK):
            decoder(np.array([1, 2]))
        with pytest.raises(IndexError, match="outside the cache"):
            decoder(np.array([1, 2]))
        with pytest.raises(TypeError, match="expected a GPT"):
            FusedDecoder(tt.nn.Linear(2, 2), cache)
        with pytest.raises(TypeError, match="must be a KVCache"):
            FusedDecoder(model, "cache")
        with pytest.raises(ValueError, match="cannot serve a model"):
            FusedDecoder(model, KVCache(3, 2, 2, BLOCK, 8))
        model.train()
        with pytest.raises(RuntimeError, match="training mode"):
            FusedDecoder(model, cache)
        model.eval()
        model.blocks[1].mlp.gelu = tt.nn.GELU()
        with pytest.raises(ValueError, match=r"blocks\[1\].mlp uses GELU"):
            FusedDecoder(model, cache)
    with tt.use_backend("numpy"):
        with pytest.raises(RuntimeError, match="set_backend\\('native'\\)"):
            FusedDecoder(_model().eval(), KVCache.for_model(model, 1))
    with pytest.raises(ValueError, match="pass use_cache=True"):
        _model().generate(_prompt(1, 2), 3, fused=True)


@needs_native
def test_the_native_plan_checks_every_array_it_is_given():
    from tinytorch.backends.native_support import ext

    E, H = 8, 2
    f = np.zeros
    lin = lambda o, i: {"weight": f((o, i), np.float32), "bias": None}  # noqa: E731
    ln = {"weight": np.ones(E, np.float32), "bias": None, "eps": 1e-5}
    cache = f((1, H, 4, E // H), np.float32)

    def block(**changes):
        b = {"ln_1": ln, "ln_2": ln, "qkv": lin(3 * E, E), "proj": lin(E, E),
             "fc": lin(4 * E, E), "mlp_proj": lin(E, 4 * E), "k_cache": cache,
             "v_cache": cache.copy()}
        b.update(changes)
        return b

    wte, wpe = f((5, E), np.float32), f((4, E), np.float32)
    plan = ext.DecodePlan(wte, wpe, H, [block()], ln, lin(5, E))
    assert plan.step(np.array([4]), 3).shape == (1, 5)
    with pytest.raises(ValueError, match=r"blocks\[0\].qkv.weight must have shape \(24, 8\)"):
        ext.DecodePlan(wte, wpe, H, [block(qkv=lin(3 * E, E + 1))], ln, lin(5, E))
    with pytest.raises(ValueError, match=r"blocks\[0\].mlp_proj.weight must have shape"):
        ext.DecodePlan(wte, wpe, H, [block(mlp_proj=lin(E, 3 * E))], ln, lin(5, E))
    with pytest.raises(TypeError, match="float32"):
        ext.DecodePlan(wte, wpe, H, [block(proj={"weight": f((E, E)), "bias": None})], ln,
                       lin(5, E))
    with pytest.raises(ValueError, match="k_cache must have shape"):
        ext.DecodePlan(wte, wpe, H, [block(k_cache=f((1, H, 4, 3), np.float32))], ln,
                       lin(5, E))
    with pytest.raises(ValueError, match="C-contiguous"):
        ext.DecodePlan(wte, wpe, H, [block(v_cache=f((1, H, 4, 8), np.float32)[..., ::2])],
                       ln, lin(5, E))
    with pytest.raises(KeyError, match="has no 'ln_2'"):
        b = block()
        del b["ln_2"]
        ext.DecodePlan(wte, wpe, H, [b], ln, lin(5, E))
    with pytest.raises(ValueError, match="divide n_embd"):
        ext.DecodePlan(wte, wpe, 3, [block()], ln, lin(5, E))
    with pytest.raises(ValueError, match="eps must be positive"):
        ext.DecodePlan(wte, wpe, H, [block()], dict(ln, eps=0.0), lin(5, E))
    with pytest.raises(TypeError, match="int64"):
        plan.step(np.array([1], np.int32), 0)
