"""Module 11: byte-level byte-pair encoding (BPE), the tokenizer of GPT-2.

Start from the 256 possible bytes, so every string has an encoding (its UTF-8
bytes) and ``decode(encode(s)) == s`` for any text, seen or not. Training then
repeatedly merges the most frequent adjacent pair of tokens into a new token,
until the vocabulary has ``vocab_size`` tokens; encoding replays the merges in
the order they were learned.

Text is first cut into chunks by a GPT-2-like regular expression (words with at
most one leading space, numbers, punctuation, runs of whitespace), and merges
never cross a chunk boundary. So " the" can become one token, but the "x" and
the " " of "x the" never merge: a token never ends a word and starts the next.

Two systems lessons:

* **Train on counts, not on the text.** 4.8 MB of Shakespeare is 1.25 M chunks
  but only ~34 k distinct ones. Training works on the distinct chunks with
  their counts, and after each merge updates the pair counts of the chunks that
  contained the merged pair instead of recounting everything: the work per
  merge is proportional to what changed, not to the corpus.
* **Cache the encoding of each chunk.** Natural text repeats its words
  (Zipf's law), so ``encode`` runs the merge loop once per distinct chunk and
  looks the rest up in a dict: the whole corpus encodes in about a second.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import warnings
from collections import defaultdict
from itertools import pairwise
from typing import Any

from tinytorch.text._io import as_id_list, read_json, write_text_atomic

__all__ = ["GPT2_SPLIT_PATTERN", "BPETokenizer", "count_pairs", "merge_pair"]

#: Pre-tokenisation in GPT-2's spirit with the standard library's ``re`` (GPT-2's
#: ``\p{L}`` needs the third-party ``regex`` module): contractions, letters
#: (``[^\W\d_]``), digits, other symbols -- each with at most one leading space --
#: then whitespace. ``\s+(?= \S)`` leaves the last space of a run to the word
#: after it; unlike GPT-2's ``\s+(?!\S)`` it keeps "\n\n" before a word whole.
GPT2_SPLIT_PATTERN = (
    r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:_|[^\s\w])+|\s+(?= \S)|\s+"
)
_FORMAT = 1  # version of the JSON file written by save()
#: most chunks remembered by encode(); Shakespeare has ~34 k distinct ones, and
#: the limit keeps memory bounded (~100 MB) on text that never repeats itself
_CACHE_LIMIT = 1 << 18

Pair = tuple[int, int]


def count_pairs(
    words: list[list[int]], freqs: list[int]
) -> tuple[defaultdict[Pair, int], defaultdict[Pair, set[int]]]:
    """Count adjacent token pairs over distinct chunks ``words[w]`` seen ``freqs[w]`` times.

    Returns ``(counts, where)``: ``counts[(a, b)]`` is how often ``b`` follows
    ``a`` in the text (each occurrence inside word ``w`` counts ``freqs[w]``;
    overlapping pairs count, so ``[7, 7, 7]`` holds ``(7, 7)`` twice) and
    ``where[(a, b)]`` the set of word indices ``w`` that contain the pair.
    """
    counts: defaultdict[Pair, int] = defaultdict(int)
    where: defaultdict[Pair, set[int]] = defaultdict(set)
    # BEGIN SOLUTION 11
    for w, (ids, freq) in enumerate(zip(words, freqs, strict=True)):
        for pair in pairwise(ids):
            counts[pair] += freq
            where[pair].add(w)
    # END SOLUTION
    return counts, where


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair``, scanned left to right, replaced by ``new_id``.

    ``merge_pair([1, 2, 1, 2, 3], (1, 2), 9) == [9, 9, 3]``; occurrences do not
    overlap: ``merge_pair([7, 7, 7], (7, 7), 9) == [9, 7]``.
    """
    # BEGIN SOLUTION 11
    first, second = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == first and ids[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    # END SOLUTION


def _require_utf8(text: str) -> None:
    """Reject text with lone surrogates: it has no UTF-8 bytes to tokenize."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = text[error.start]
        raise ValueError(
            f"text has a lone surrogate {ascii(char)} (U+{ord(char):04X}) at position "
            f"{error.start}; it is not valid Unicode and has no UTF-8 encoding"
        ) from None


class BPETokenizer:
    """Byte-level BPE: ids 0..255 are the bytes, id ``256 + k`` is ``merges[k]``.

    Args:
        vocab_size: tokens wanted after training, V >= 256 (256 = plain bytes,
            usable without training).

    ``train(text)`` learns ``vocab_size - 256`` merges; ``encode`` / ``decode``
    convert between ``str`` and ``list[int]``; ``save`` / ``load`` keep the
    merges in a JSON file. ``vocab_size`` is the current number of tokens, less
    than ``requested_vocab_size`` when the training text ran out of pairs.
    """

    def __init__(self, vocab_size: int) -> None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256:
            raise ValueError(
                f"vocab_size must be at least 256 (one token per byte value), got {vocab_size}"
            )
        self.requested_vocab_size = vocab_size
        self.pattern = GPT2_SPLIT_PATTERN
        self._split = re.compile(self.pattern)
        self._set_merges([])
        # Only the pure byte tokenizer is usable before train() or load().
        self._trained = vocab_size == 256

    def _set_merges(self, merges: list[Pair]) -> None:
        """Install ``merges``: the byte string of every token, merge ranks, a fresh cache."""
        vocab = [bytes([b]) for b in range(256)]
        for a, b in merges:
            vocab.append(vocab[a] + vocab[b])
        self._merges = list(merges)
        self._vocab = vocab
        self._ranks: dict[Pair, int] = {pair: rank for rank, pair in enumerate(merges)}
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of tokens V = 256 + len(merges): the rows of the model's embedding table."""
        return len(self._vocab)

    @property
    def merges(self) -> list[Pair]:
        """The learned merges in order: ``merges[k] == (a, b)`` made token ``256 + k``."""
        return list(self._merges)

    @property
    def vocab(self) -> list[bytes]:
        """``vocab[i]`` is the byte string of token ``i`` (tokens may end mid-character)."""
        return list(self._vocab)

    @property
    def stopped_early(self) -> bool:
        """True when training ended before ``requested_vocab_size`` (the text was too small)."""
        return self._trained and self.vocab_size < self.requested_vocab_size

    def pre_tokenize(self, text: str) -> list[str]:
        """The chunks ``text`` is cut into before merging; ``"".join(chunks) == text``."""
        return self._split.findall(text)

    def train(self, text: str, verbose: bool = False, *, min_frequency: int = 2) -> None:
        """Learn up to ``requested_vocab_size - 256`` merges from ``text``.

        Each step merges the most frequent adjacent pair (ties: the smallest
        ``(a, b)``) inside the chunks of :meth:`pre_tokenize`. Training stops
        early, with a warning and ``stopped_early`` set, when no pair occurs at
        least ``min_frequency`` times: a pair seen once is memorised, not learned.
        ``verbose`` prints about ten progress lines.
        """
        if not isinstance(text, str):
            raise TypeError(f"train expects a str, got {type(text).__name__}")
        if min_frequency < 1:
            raise ValueError(f"min_frequency must be >= 1, got {min_frequency}")
        _require_utf8(text)
        # Distinct chunks and how often each occurs: words[w] (byte ids) seen freqs[w] times.
        chunk_counts: dict[str, int] = defaultdict(int)
        for chunk in self._split.findall(text):
            chunk_counts[chunk] += 1
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        counts, where = count_pairs(words, freqs)
        n_merges = self.requested_vocab_size - 256
        merges: list[Pair] = []
        report_every = max(1, n_merges // 10)
        vocab = [bytes([b]) for b in range(256)]
        # The merge loop: while fewer than n_merges merges and the best pair occurs at
        # least min_frequency times, append the best pair to merges (its bytes to vocab),
        # rewrite the words that contain it and keep counts/where true for the next step.
        # BEGIN SOLUTION 11
        # A heap of (-count, pair) pops the most frequent pair, smallest pair on ties.
        # Counts change as merges happen; instead of updating entries in place, push
        # the new count and skip popped entries whose count is out of date.
        heap = [(-count, pair) for pair, count in counts.items()]
        heapq.heapify(heap)
        while len(merges) < n_merges and heap:
            negative_count, pair = heapq.heappop(heap)
            if counts.get(pair) != -negative_count:
                continue
            if -negative_count < min_frequency:
                break
            new_id = 256 + len(merges)
            merges.append(pair)
            vocab.append(vocab[pair[0]] + vocab[pair[1]])
            changed: set[Pair] = set()
            # Only the words containing the pair change: move their pair counts from
            # the old segmentation to the new one.
            for w in where.pop(pair):
                old, freq = words[w], freqs[w]
                new = merge_pair(old, pair, new_id)
                old_pairs, new_pairs = set(pairwise(old)), set(pairwise(new))
                for p in pairwise(old):
                    counts[p] -= freq
                for p in pairwise(new):
                    counts[p] += freq
                for p in old_pairs - new_pairs - {pair}:
                    where[p].discard(w)
                for p in new_pairs - old_pairs:
                    where[p].add(w)
                changed |= old_pairs | new_pairs
                words[w] = new
            # One heap entry per changed pair and merge step, not per word: pushing per
            # word made 6x more entries (10x more stale pops) and training 4x slower.
            for p in changed:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    del counts[p]
                    where.pop(p, None)
            if verbose and (len(merges) % report_every == 0 or len(merges) == n_merges):
                # bytes reprs are ASCII: printable on any terminal
                print(f"merge {len(merges)}/{n_merges}: {pair} -> {new_id} "
                      f"{vocab[new_id]!r} ({-negative_count} occurrences)")
        # END SOLUTION
        self._set_merges(merges)
        self._trained = True
        if self.stopped_early:
            message = (
                f"BPE training stopped at vocab_size {self.vocab_size} of the requested "
                f"{self.requested_vocab_size}: no pair of tokens occurs {min_frequency} or more "
                "times in the training text (train on more text or ask for a smaller vocab_size)"
            )
            warnings.warn(message, UserWarning, stacklevel=2)
            if verbose:
                print(message)

    def _check_trained(self) -> None:
        if not self._trained:
            raise RuntimeError(
                f"BPETokenizer(vocab_size={self.requested_vocab_size}) has no merges yet: call "
                "train(text) or BPETokenizer.load(path) first"
            )

    def clear_cache(self) -> None:
        """Forget the cached chunk encodings (frees memory; lets a benchmark time cold encoding)."""
        self._cache = {}

    def encode_chunk(self, chunk: str) -> list[int]:
        """One chunk of :meth:`pre_tokenize` -> ids, without the cache: its UTF-8 bytes,
        then the learned merges in learned order.

        Repeatedly take the adjacent pair with the lowest merge rank (learned
        earliest, ``self._ranks``) and merge all its occurrences with
        :func:`merge_pair`, until no adjacent pair is a learned merge.
        """
        self._check_trained()
        ids = list(chunk.encode("utf-8"))
        # BEGIN SOLUTION 11
        ranks = self._ranks
        never = len(ranks)  # ranks run 0..len-1, so this sorts after every real merge
        while len(ids) > 1:
            pair = min(pairwise(ids), key=lambda p: ranks.get(p, never))
            rank = ranks.get(pair)
            if rank is None:
                break
            ids = merge_pair(ids, pair, 256 + rank)
        return ids
        # END SOLUTION

    def encode(self, s: str) -> list[int]:
        """Text -> token ids: split into chunks, encode each chunk, concatenate.

        Look each chunk up in ``self._cache`` (chunk -> ids) first and run
        :meth:`encode_chunk` only for chunks not seen before; store at most
        ``_CACHE_LIMIT`` entries.
        """
        if not isinstance(s, str):
            raise TypeError(f"encode expects a str, got {type(s).__name__}")
        self._check_trained()
        _require_utf8(s)
        # BEGIN SOLUTION 11
        cache, ids = self._cache, []
        for chunk in self._split.findall(s):
            tokens = cache.get(chunk)
            if tokens is None:
                tokens = self.encode_chunk(chunk)
                if len(cache) < _CACHE_LIMIT:
                    cache[chunk] = tokens
            ids.extend(tokens)
        return ids
        # END SOLUTION

    def decode(self, ids: Any) -> str:
        """Token ids (list, 1-D NumPy array or 1-D int Tensor) -> text.

        The tokens' bytes are joined and decoded as UTF-8 with ``errors="replace"``:
        ids from ``encode`` always give back the exact text, while ids that end
        (or start) inside a multi-byte character, as a model may generate, give
        U+FFFD for the broken character instead of an exception.
        """
        values = as_id_list(ids, self.vocab_size)
        vocab = self._vocab
        return b"".join([vocab[i] for i in values]).decode("utf-8", errors="replace")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the merges (and the split pattern) to ``path`` as JSON, atomically."""
        self._check_trained()
        record = {"kind": "BPETokenizer", "format": _FORMAT,
                  "requested_vocab_size": self.requested_vocab_size, "pattern": self.pattern,
                  "merges": [list(pair) for pair in self._merges]}
        write_text_atomic(path, json.dumps(record) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """The tokenizer :meth:`save` wrote to ``path``: identical merges, identical encodings."""
        data = read_json(path, "BPETokenizer")
        merges, pattern = data.get("merges"), data.get("pattern")
        requested = data.get("requested_vocab_size")
        if data.get("format") != _FORMAT or not isinstance(merges, list) or not isinstance(
            pattern, str
        ) or type(requested) is not int or requested < 256:
            raise ValueError(
                f"{path}: unsupported BPETokenizer file (format {data.get('format')!r})")
        pairs: list[Pair] = []
        for k, pair in enumerate(merges):
            # A merge may only join tokens that exist before it: ids below 256 + k.
            if not (isinstance(pair, list) and len(pair) == 2 and all(
                    type(v) is int and 0 <= v < 256 + k for v in pair)):
                raise ValueError(f"{path}: merge {k} is {pair!r}, not two ids below {256 + k}")
            pairs.append((pair[0], pair[1]))
        tokenizer = cls(256)
        tokenizer.requested_vocab_size = requested
        try:
            tokenizer._split = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{path}: the split pattern does not compile ({error})") from None
        tokenizer.pattern = pattern
        tokenizer._set_merges(pairs)
        tokenizer._trained = True
        return tokenizer

    def __repr__(self) -> str:
        state = "" if self._trained else ", untrained"
        return f"BPETokenizer(vocab_size={self.vocab_size}{state})"
