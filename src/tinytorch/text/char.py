"""Module 11: the character tokenizer -- one token per character.

The simplest tokenizer a language model can use: the vocabulary is the sorted
set of characters of a text, a token id is a character's position in it. For
Shakespeare that is about 65 tokens, so the embedding table is tiny, but every
character costs one position of the model's context: a 256-token context holds
256 characters, a few lines of verse. Byte-pair encoding (``bpe.py``) trades a
bigger vocabulary for shorter sequences.

Unknown characters are never dropped silently: ``encode`` raises a ValueError
naming the character and its position, unless an ``unk_token`` is given.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tinytorch.text._io import as_id_list, read_json, write_text_atomic

__all__ = ["CharTokenizer"]

_FORMAT = 1  # version of the JSON file written by save()


def _describe(char: str) -> str:
    """``'\\xe9' (U+00E9)``: the ASCII repr plus the code point, printable on any terminal."""
    return f"{ascii(char)} (U+{ord(char):04X})"


class CharTokenizer:
    """Characters <-> token ids over a fixed character vocabulary.

    Args:
        text: build the vocabulary from the distinct characters of this text.
        chars: or give the vocabulary's characters directly (exactly one of the two).
        unk_token: a single character that unknown characters map to; added to
            the vocabulary if it is not in it. Without it, an unknown character
            is a ValueError.

    ``itos[i]`` is the character of id ``i`` (ids follow sorted character order,
    as in nanoGPT's ``shakespeare_char``), ``stoi`` the inverse mapping.
    """

    def __init__(
        self, text: str | None = None, *, chars: str | None = None, unk_token: str | None = None
    ) -> None:
        if (text is None) == (chars is None):
            raise ValueError("CharTokenizer needs exactly one of text= or chars=")
        source = text if text is not None else chars
        if not isinstance(source, str):
            raise TypeError(f"CharTokenizer text/chars must be a str, got {type(source).__name__}")
        alphabet = set(source)
        if unk_token is not None:
            if not isinstance(unk_token, str) or len(unk_token) != 1:
                raise ValueError(f"unk_token must be a single character, got {unk_token!r}")
            alphabet.add(unk_token)
        if not alphabet:
            raise ValueError("CharTokenizer needs at least one character (the text is empty)")
        self.itos: list[str] = sorted(alphabet)
        self.stoi: dict[str, int] = {char: i for i, char in enumerate(self.itos)}
        self.unk_token = unk_token
        self.unk_id: int | None = None if unk_token is None else self.stoi[unk_token]

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens V: the rows of the model's embedding table."""
        return len(self.itos)

    def encode(self, s: str) -> list[int]:
        """Text -> token ids: ``len(encode(s)) == len(s)``, id ``stoi[c]`` per character ``c``.

        A character outside the vocabulary maps to ``unk_id`` when an ``unk_token``
        was given; otherwise raise ValueError naming the character (``_describe``)
        and its position in ``s``. Never drop it: a silently shorter sequence
        shifts every later target by one.
        """
        if not isinstance(s, str):
            raise TypeError(f"encode expects a str, got {type(s).__name__}")
        # BEGIN SOLUTION 11
        stoi = self.stoi
        if self.unk_id is not None:
            unk = self.unk_id
            return [stoi.get(char, unk) for char in s]
        try:
            # One comprehension of dict lookups runs at C speed; the position of an
            # unknown character is only searched for when there is one.
            return [stoi[char] for char in s]
        except KeyError:
            position, char = next((i, c) for i, c in enumerate(s) if c not in stoi)
            raise ValueError(
                f"character {_describe(char)} at position {position} is not in the "
                f"vocabulary of {self.vocab_size} characters; build the tokenizer from a text "
                "that contains it, or pass unk_token="
            ) from None
        # END SOLUTION

    def decode(self, ids: Any) -> str:
        """Token ids (list, 1-D NumPy array or 1-D int Tensor) -> text, ``itos[i]`` per id.

        Ids outside ``[0, vocab_size)`` are a ValueError (``as_id_list`` checks them).
        """
        values = as_id_list(ids, self.vocab_size)
        # BEGIN SOLUTION 11
        itos = self.itos
        return "".join([itos[i] for i in values])
        # END SOLUTION

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary to ``path`` as JSON (atomically: never a half-written file)."""
        record = {"kind": "CharTokenizer", "format": _FORMAT, "chars": "".join(self.itos),
                  "unk_token": self.unk_token}
        # ensure_ascii escapes every non-ASCII character: the file is plain ASCII.
        write_text_atomic(path, json.dumps(record, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CharTokenizer:
        """The tokenizer :meth:`save` wrote to ``path``; encodes exactly as the saved one."""
        data = read_json(path, "CharTokenizer")
        if data.get("format") != _FORMAT or not isinstance(data.get("chars"), str):
            raise ValueError(
                f"{path}: unsupported CharTokenizer file (format {data.get('format')!r})")
        chars, unk_token = data["chars"], data.get("unk_token")
        if len(set(chars)) != len(chars) or list(chars) != sorted(chars):
            raise ValueError(f"{path}: the vocabulary must be distinct characters in sorted order")
        return cls(chars=chars, unk_token=unk_token)

    def __repr__(self) -> str:
        unk = "" if self.unk_token is None else f", unk_token={self.unk_token!r}"
        return f"CharTokenizer(vocab_size={self.vocab_size}{unk})"
