"""The command ``python -m helpers.will_it_fit``: will finetuning a model fit a GPU?

It reads only the model's configuration (a local folder's ``config.json``, a published
configuration the planner knows by name, or the ``config.json`` of a Hugging Face Hub
model, never its weights), asks :func:`helpers.estimate_training_memory` about one
training step on CUDA, and prints the verdict, the largest batch that fits
(:func:`helpers.will_it_fit`) and the estimate term by term.

The logic lives here, not in ``helpers/will_it_fit.py``: a module of that name, once
imported, would replace the function :func:`helpers.will_it_fit` on the package. That
file only runs :func:`main` (see its docstring).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._architecture import LORA_RANK, PEFT_METHODS
from ._configs import PUBLISHED_NAMES, published_config
from .gpus import GPU_SPECS, usable_gpu_gib
from .planner import (
    PRECISIONS,
    MemoryEstimate,
    estimate_training_memory,
    will_it_fit,
)


class ConfigError(ValueError):
    """A model's configuration could not be read."""


def load_config(model: str) -> Any:
    """The configuration of ``model``: a local folder that holds ``config.json``, a name
    of :data:`helpers._configs.PUBLISHED_NAMES`, or a Hugging Face Hub model, of which
    only ``config.json`` is fetched.

    Raises
    ------
    ConfigError
        For a folder without ``config.json``, or a Hub model whose configuration cannot
        be fetched (offline, a wrong name) or read.
    """
    folder = Path(model)
    if not folder.is_dir() and model in PUBLISHED_NAMES:
        return published_config(model)  # no transformers, so no torch: fast
    from transformers import AutoConfig

    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ConfigError(f"the folder {model} holds no config.json")
        return AutoConfig.from_pretrained(folder)
    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"could not fetch the config of {model!r} from the Hugging Face Hub "
            f"({reason}). Offline, pass a local folder that holds the model's "
            f"config.json; names known without the Hub: {', '.join(PUBLISHED_NAMES)}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.will_it_fit",
        description=(
            "Will finetuning MODEL with AutoGluon fit one GPU? Estimates one training "
            "step's peak memory on CUDA from the model's config alone."
        ),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a folder with config.json, a Hugging Face Hub name (only its "
        "config.json is fetched), or one of: " + ", ".join(PUBLISHED_NAMES),
    )
    parser.add_argument("--gpu", required=True, choices=list(GPU_SPECS))
    parser.add_argument(
        "--peft",
        default="full",
        choices=PEFT_METHODS,
        help="AutoGluon's optim.peft ('full': full finetuning; default)",
    )
    parser.add_argument(
        "--checkpointing",
        action="store_true",
        help="gradient checkpointing (model.hf_text.gradient_checkpointing)",
    )
    parser.add_argument(
        "--batch",
        type=_positive,
        default=1,
        help="the batch on the GPU (env.per_gpu_batch_size; default 1)",
    )
    parser.add_argument(
        "--seq-len",
        type=_positive,
        default=128,
        help="tokens per text (model.hf_text.max_text_len; default 128)",
    )
    parser.add_argument(
        "--precision",
        default="32",
        choices=PRECISIONS,
        help="env.precision (default 32)",
    )
    parser.add_argument(
        "--lora-rank",
        type=_positive,
        default=LORA_RANK,
        help=f"optim.lora.r, for the methods with LoRA (default {LORA_RANK})",
    )
    return parser


def _positive(text: str) -> int:
    """``text`` as a whole number of at least 1 (for argparse)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at least 1, got {text!r}"
        )
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (by default the command line's); returns 0.

    A mistake (an unknown GPU, method, precision or architecture, a configuration that
    cannot be read) ends it as argparse does: usage and the error on stderr, exit code 2.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    step = dict(
        peft=args.peft,
        gradient_checkpointing=args.checkpointing,
        seq_len=args.seq_len,
        precision=args.precision,
        lora_rank=args.lora_rank,
    )
    try:
        config = load_config(args.model)
        estimate = estimate_training_memory(
            config, batch_size=args.batch, gpu=args.gpu, **step
        )
        largest = will_it_fit(config, args.gpu, **step)
    except ValueError as error:
        parser.error(str(error))
    print(report(args, estimate, largest))
    return 0


def report(
    args: argparse.Namespace, estimate: MemoryEstimate, largest: int
) -> str:
    """The verdict, the largest batch that fits and the terms, at most 79 characters wide."""
    budget = usable_gpu_gib(args.gpu)
    fits = estimate.total_gib <= budget
    settings = ", ".join(
        [
            args.peft,
            "checkpointing" if args.checkpointing else "no checkpointing",
            f"precision {args.precision}",
            f"{args.seq_len} tokens",
            f"batch {args.batch}",
        ]
        + ([f"LoRA rank {args.lora_rank}"] if "lora" in args.peft else [])
    )
    verdict = "fits" if fits else "does not fit"
    lines = [
        args.model,
        settings,
        f"It {verdict} on a {args.gpu}: {estimate.total_gib:.2f} GiB of the "
        f"{budget:.2f} GiB usable.",
        (
            f"The largest batch that fits: {largest}."
            if largest
            else "No batch fits, not even 1."
        ),
        "",
        f"{'term':<42}{'GiB':>8}  at the peak ({estimate.peak_phase})",
    ]
    for name, gib, counted in _terms(estimate):
        lines.append(f"{name:<42}{gib:>8.2f}  {'yes' if counted else 'no'}")
    lines.append(f"{'estimated peak':<42}{estimate.total_gib:>8.2f}")
    return "\n".join(lines)


def _terms(estimate: MemoryEstimate) -> list[tuple[str, float, bool]]:
    """Each term of ``estimate``: its name, GiB, and whether the peak counts it."""
    e = estimate
    step = e.peak_phase == "optimizer step"
    return [
        ("weights", e.weights_gib, True),
        ("gradients", e.gradients_gib, step or e.gradients_kept),
        ("AdamW's two moments", e.optimizer_gib, True),
        (
            "activations kept for the backward pass",
            e.activations_gib,
            e.counts_activations,
        ),
        ("short-lived buffers at the peak", e.transient_gib, True),
        ("cuBLAS workspaces, allocator rounding", e.cuda_gib, True),
    ]
