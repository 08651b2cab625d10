"""``tinytorch generate --checkpoint PATH --prompt TEXT``: sample text from a saved TinyGPT.

Reads a checkpoint written by ``tinytorch milestone tinygpt --checkpoint PATH``
(model configuration, weights and the tokenizer's vocabulary travel together)
and prints the prompt followed by ``--tokens`` sampled characters.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinytorch.backends import BACKEND_NAMES
from tinytorch.milestones import positive_int


def load_model(path: str):
    """(model, tokenizer) from a TinyGPT checkpoint; ValueError naming the file and key."""
    from tinytorch import serialization
    from tinytorch.milestones.tinygpt_run import CHECKPOINT_KIND
    from tinytorch.models import GPT
    from tinytorch.text import CharTokenizer

    try:
        state = serialization.load(path)
    except FileNotFoundError:
        raise ValueError(f"no checkpoint at {path}") from None
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{path} is not a TinyGPT checkpoint (expected 'kind': "
                         f"{CHECKPOINT_KIND!r}; write one with `tinytorch milestone tinygpt "
                         "--checkpoint PATH`)")
    for key in ("config", "model", "vocabulary"):
        if key not in state:
            raise ValueError(f"{path} has no {key!r} entry: not a complete TinyGPT checkpoint")
    try:
        model = GPT(**state["config"])
        model.load_state_dict(state["model"])
        tokenizer = CharTokenizer(chars=state["vocabulary"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: cannot rebuild the model from its 'config' and 'model' "
                         f"entries: {exc}") from None
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(f"{path}: the vocabulary has {tokenizer.vocab_size} characters but "
                         f"the model expects {model.config.vocab_size}")
    return model, tokenizer


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import tinytorch as tt

    if args.backend is not None:
        tt.set_backend(args.backend)
    try:
        model, tokenizer = load_model(args.checkpoint)
        prompt = tokenizer.encode(args.prompt)
        if not prompt:
            raise ValueError("--prompt must not be empty (give at least one character)")
        tt.manual_seed(args.seed)
        out = model.generate(tt.Tensor(np.asarray([prompt], dtype=np.int64)), args.tokens,
                             temperature=args.temperature, top_k=args.top_k,
                             use_cache=args.use_cache)
    except ValueError as exc:
        print(f"tinytorch generate: {exc}", file=sys.stderr)
        return 1
    try:
        print(tokenizer.decode(out.data[0]), flush=True)
    except BrokenPipeError:  # `| head`: the reader left; that is not an error
        # point stdout at /dev/null so the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value} (for greedy decoding "
                                         "pass --top-k 1)")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="sample text from a TinyGPT checkpoint (Module 14)",
        description="Sample characters from a model saved by `tinytorch milestone tinygpt "
                    "--checkpoint PATH`.")
    parser.add_argument("--checkpoint", required=True, metavar="PATH")
    parser.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    parser.add_argument("--tokens", type=positive_int, default=300,
                        help="characters to generate")
    parser.add_argument("--temperature", type=_positive_float, default=0.8)
    parser.add_argument("--top-k", type=positive_int, default=None,
                        help="sample among the K most likely characters only")
    parser.add_argument("--seed", type=int, default=0)
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--use-cache", dest="use_cache", action="store_true", default=True,
                       help="keep keys and values in a KV cache (the default; Module 16: the "
                            "same tokens, O(T) instead of O(T^2) work)")
    cache.add_argument("--no-cache", dest="use_cache", action="store_false",
                       help="recompute the whole context at every step (Module 14's loop)")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default=None)
    parser.set_defaults(func=run)
