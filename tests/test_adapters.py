"""The adapter saved alone, the training log read back, reviews scored: on small
stand-ins (chapter 2 runs them on a fitted predictor, and asserts that the base model plus
the adapter predicts what the trained predictor predicts)."""

from __future__ import annotations

import helpers

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file


def _peft_like_module() -> torch.nn.Module:
    """A frozen layer with a trainable scale and bias beside it, as PEFT leaves one."""
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    )
    module[0].weight.requires_grad_(False)
    module[1].weight.requires_grad_(False)
    return module


def test_save_adapter_writes_the_trainable_tensors_and_nothing_else(
    tmp_path,
):
    module = _peft_like_module()
    folder = tmp_path / "adapters"
    path = helpers.save_adapter(module, folder / "task.safetensors")
    saved = load_file(str(path))
    assert set(saved) == {"0.bias", "1.bias"}
    assert torch.equal(saved["1.bias"], module[1].bias.detach())
    assert [p.name for p in folder.iterdir()] == ["task.safetensors"]


def test_save_adapter_leaves_no_file_when_writing_fails(
    tmp_path, monkeypatch
):
    import safetensors.torch

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", fail)
    folder = tmp_path / "adapters"
    with pytest.raises(OSError, match="disk full"):
        helpers.save_adapter(_peft_like_module(), folder / "a.safetensors")
    assert list(folder.iterdir()) == []


def test_training_curve_reads_losses_and_scores_by_step(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as log:  # as Lightning writes it
        for step, loss in enumerate([0.7, 0.6, 0.5, 0.4]):
            log.add_scalar("train_loss", loss, step)
            log.add_scalar("lr-AdamW/pg1", 1e-3, step)
            log.add_scalar("epoch", 0, step)
        log.add_scalar("val_loss", 0.55, 1)
        log.add_scalar("val_roc_auc", 0.9, 1)
        log.add_scalar("val_roc_auc", 0.95, 3)
    curve = helpers.training_curve(SimpleNamespace(path=str(tmp_path)))
    assert list(curve.index) == [0, 1, 2, 3]
    assert set(curve.columns) == {"train_loss", "val_loss", "val_roc_auc"}
    assert curve["train_loss"].tolist() == pytest.approx(
        [0.7, 0.6, 0.5, 0.4]
    )
    assert curve["val_roc_auc"].dropna().to_dict() == pytest.approx(
        {1: 0.9, 3: 0.95}
    )
    ax = helpers.plot_training_curve(curve)
    labels = [line.get_label() for line in ax.get_legend().get_lines()]
    assert labels == ["train_loss", "val_loss", "val_roc_auc (right)"]


class _Scores:
    """Stands in for a fitted predictor: P(positive) is the review's length / 100."""

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        positive = frame["text"].str.len().to_numpy() / 100
        return pd.DataFrame({0: 1 - positive, 1: positive})


def test_predict_sentiment_names_the_side_of_one_half():
    table = helpers.predict_sentiment(_Scores(), ["x" * 80, "x" * 20])
    assert table["sentiment"].tolist() == ["positive", "negative"]
    assert np.allclose(table["P(positive)"], [0.8, 0.2])
    assert table["text"].tolist() == ["x" * 80, "x" * 20]
