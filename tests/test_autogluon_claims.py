"""What the book says AutoGluon does, checked against AutoGluon's own code.

A sentence on a page that states what AutoGluon does (a default, what a preset sets, what
a key changes, what a strategy becomes) carries an invisible marker right after it,
``<!-- autogluon: <claim> -->`` (an HTML comment: neither Jupyter Book nor Colab shows
it). Each claim is a function below that asks AutoGluon 1.6.3 itself, no fit needed;
the test pairs them both ways: every marker names a check, and every check is marked on
some page. Chapter 3 also asserts its claims against the configuration its own ``fit``
resolved (``helpers.resolved_settings``).
"""

from __future__ import annotations

import helpers  # noqa: F401  (AutoGluon importable beside a CPU torch)

import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import torch
from autogluon.multimodal.learners.base import BaseLearner
from autogluon.multimodal.models.adaptation_layers import IA3Linear
from autogluon.multimodal.utils import precision as ag_precision
from autogluon.multimodal.utils.config import get_config
from autogluon.multimodal.utils.presets import get_presets

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- autogluon: ([a-z0-9-]+) -->")


def _config(presets=None, **overrides):
    return get_config(
        problem_type="binary", presets=presets, overrides=overrides
    )


def multilingual_preset() -> None:
    """The multilingual preset sets mDeBERTa-v3-base, fp32, a micro-batch of 4 and
    top_k 1 (and nothing else of what the book teaches)."""
    preset, _ = get_presets("default", "multilingual")
    preset.pop("model.names")
    assert preset == {
        "model.hf_text.checkpoint_name": "microsoft/mdeberta-v3-base",
        "optim.top_k": 1,
        "env.precision": "32",
        "env.per_gpu_batch_size": 4,
    }


def keys_win_over_the_preset() -> None:
    """Keys passed in ``hyperparameters`` replace the preset's; the rest stays."""
    config = _config(
        "multilingual",
        **{"model.hf_text.checkpoint_name": "google/flan-t5-xl"},
    )
    assert config.model.hf_text.checkpoint_name == "google/flan-t5-xl"
    assert str(config.env.precision) == "32" and config.optim.top_k == 1


def default_precision() -> None:
    """Without a preset, AutoGluon trains in 16-bit mixed precision on a GPU."""
    assert _config().env.precision == "16-mixed"


def default_top_k_averages() -> None:
    """Without a preset, AutoGluon averages its best 3 checkpoints (greedy soup)."""
    config = _config()
    assert config.optim.top_k == 3
    assert config.optim.top_k_average_method == "greedy_soup"


def accumulation_rule() -> None:
    """A step sees ``env.batch_size`` reviews: ``max(batch // micro-batch, 1)``
    micro-batches are accumulated, so a batch below the micro-batch is one micro-batch."""
    for batch, micro, steps in ((1, 4, 1), (128, 8, 16), (6, 4, 1)):
        config = _config(
            **{"env.batch_size": batch, "env.per_gpu_batch_size": micro}
        )
        assert BaseLearner.get_grad_steps(num_gpus=1, config=config) == steps


def cpu_trains_in_fp32() -> None:
    """On a CPU AutoGluon trains in fp32, whatever precision is asked."""
    for asked in ("16-mixed", "bf16-mixed", "32"):
        assert (
            ag_precision.infer_precision(0, asked, cpu_only_warning=False)
            == 32
        )


def bf16_falls_back_to_fp32() -> None:
    """On a GPU without bf16, AutoGluon turns a bf16 precision into fp32."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
        assert ag_precision.infer_precision(1, "bf16-mixed") == 32
        assert ag_precision.infer_precision(1, "16-mixed") == "16-mixed"


def ia3_scales_the_bias_too() -> None:
    """AutoGluon's IA3 layer computes ``l * (W x + b)``: the bias is scaled too."""
    torch.manual_seed(0)
    layer = IA3Linear(3, 2, merge_weights=False)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([1.0, -2.0]))
        layer.lora_b.copy_(torch.tensor([[2.0], [3.0]]))
    x = torch.randn(4, 3)
    expected = (x @ layer.weight.T + layer.bias) * torch.tensor([2.0, 3.0])
    assert torch.allclose(layer(x), expected)


def notebook_strategy_is_ddp_fork() -> None:
    """In Jupyter or Colab (``sys.ps1`` set) AutoGluon rewrites every strategy but
    ``ddp_fork``/``ddp_notebook`` to ``ddp_fork``: FSDP and DeepSpeed never take
    effect there; a script keeps them."""
    asked = ("fsdp", "deepspeed_stage_3_offload", "ddp", "ddp_notebook")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "ps1", ">>> ", raising=False)
        got = [
            BaseLearner.update_strategy_by_env(
                _config(**{"env.strategy": s})
            ).env.strategy
            for s in asked
        ]
        assert got == ["ddp_fork", "ddp_fork", "ddp_fork", "ddp_notebook"]
        patch.delattr(sys, "ps1")
        kept = BaseLearner.update_strategy_by_env(
            _config(**{"env.strategy": "fsdp"})
        ).env.strategy
        assert kept == "fsdp"


def one_device_strategy() -> None:
    """On one device (or none), AutoGluon trains with Lightning's ``auto``
    strategy, whatever ``env.strategy`` asks."""
    for devices in (0, 1):
        config = _config(**{"env.strategy": "fsdp"})
        assert BaseLearner.get_strategy_per_run(devices, config) == "auto"


def default_schedule() -> None:
    """By default (the multilingual preset keeps it) AutoGluon trains at 1e-4, warming up
    over the first 10% of steps, then decaying along a cosine; it validates twice per
    epoch."""
    optim = _config("multilingual").optim
    assert optim.lr == 1e-4 and optim.lr_schedule == "cosine_decay"
    assert optim.warmup_steps == 0.1 and optim.val_check_interval == 0.5


def pooler_is_never_called() -> None:
    """AutoGluon's text model classifies from the last hidden states (the first token's,
    by the preset's default ``pooling_mode: cls``) and never reads a pooler's output, so
    a BERT pooler gets no gradient (``tests/test_planner_methods.py`` trains one step to
    show it)."""
    import inspect

    from autogluon.multimodal.models.hf_text import (
        HFAutoModelForTextPrediction,
    )

    assert _config("multilingual").model.hf_text.pooling_mode == "cls"
    forward = inspect.getsource(HFAutoModelForTextPrediction.forward)
    assert "outputs.last_hidden_state[:, 0, :]" in forward
    assert "pooler" not in forward


CLAIMS: dict[str, Callable[[], None]] = {
    "multilingual-preset": multilingual_preset,
    "keys-win-over-preset": keys_win_over_the_preset,
    "default-precision": default_precision,
    "default-top-k": default_top_k_averages,
    "accumulation": accumulation_rule,
    "cpu-fp32": cpu_trains_in_fp32,
    "bf16-fallback": bf16_falls_back_to_fp32,
    "ia3-bias": ia3_scales_the_bias_too,
    "notebook-strategy": notebook_strategy_is_ddp_fork,
    "one-device-strategy": one_device_strategy,
    "pooler-unused": pooler_is_never_called,
    "default-schedule": default_schedule,
}


def _pages() -> dict[str, str]:
    """The text of every page a reader sees: prose pages and notebooks' markdown."""
    pages = {
        str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "book").glob("*.md"))
    }
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + [
        ROOT / "book" / "workshop.ipynb"
    ]:
        notebook = nbformat.read(path, as_version=4)
        pages[str(path.relative_to(ROOT))] = "\n".join(
            c.source for c in notebook.cells if c.cell_type == "markdown"
        )
    return pages


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_autogluon_does_what_the_book_says(claim: str) -> None:
    CLAIMS[claim]()


def test_every_marked_claim_has_a_check_and_every_check_a_page() -> None:
    marked = {
        name: page
        for page, text in _pages().items()
        for name in MARKER.findall(text)
    }
    unknown = sorted(set(marked) - set(CLAIMS))
    assert not unknown, f"markers without a check: {unknown}"
    unused = sorted(set(CLAIMS) - set(marked))
    assert not unused, f"checks no page marks: {unused}"
