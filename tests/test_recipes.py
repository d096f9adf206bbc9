"""What ``fit`` resolved (``helpers.resolved_settings``), what a profile swapped
(``helpers.profile_swaps``), and the refusal to score a random-weight model.

The configurations come from AutoGluon's own ``get_config``, the function ``fit`` calls
to apply a preset and the keys passed in, so what chapter 3 says of the
``multilingual`` preset is checked here against AutoGluon's code too.
"""

from __future__ import annotations

import helpers
from helpers._local_models import RANDOM_WEIGHTS_MARKER

from types import SimpleNamespace

import pandas as pd
import pytest
from autogluon.multimodal.utils.config import get_config

RECIPE = {
    "model.hf_text.checkpoint_name": "google/flan-t5-xl",
    "model.hf_text.gradient_checkpointing": True,
    "optim.peft": "ia3_bias",
    "env.batch_size": 1,
}


def _fitted(presets: str | None, overrides: dict, num_gpus: int = 0):
    """A stand-in for a fitted predictor: AutoGluon's resolved configuration, with the
    devices and strategy ``fit`` writes back after it chose them."""
    config = get_config(
        problem_type="binary", presets=presets, overrides=overrides
    )
    config.env.num_gpus = num_gpus
    config.env.strategy = "auto"
    return SimpleNamespace(_learner=SimpleNamespace(_config=config))


def test_the_multilingual_preset_under_the_recipe():
    resolved = helpers.resolved_settings(_fitted("multilingual", RECIPE))
    assert resolved["model.hf_text.checkpoint_name"] == "google/flan-t5-xl"
    assert str(resolved["env.precision"]) == "32"  # the preset's
    assert resolved["env.per_gpu_batch_size"] == 4  # the preset's
    assert resolved["optim.top_k"] == 1  # the preset's
    assert resolved["env.batch_size"] == 1  # the recipe's
    assert resolved["accumulation (AutoGluon's rule)"] == 1
    assert resolved["optim.peft"] == "ia3_bias"
    assert resolved["model.hf_text.gradient_checkpointing"] is True


def test_without_a_preset_autogluon_trains_in_fp16_and_averages():
    resolved = helpers.resolved_settings(_fitted(None, RECIPE))
    assert resolved["env.precision"] == "16-mixed"
    assert resolved["env.per_gpu_batch_size"] == 8
    assert resolved["optim.top_k"] > 1


@pytest.mark.parametrize(
    "batch, micro, gpus, accumulated",
    [(128, 8, 0, 16), (128, 8, 2, 8), (1, 4, 1, 1)],
)
def test_accumulation_follows_autogluons_rule(
    batch, micro, gpus, accumulated
):
    overrides = {"env.batch_size": batch, "env.per_gpu_batch_size": micro}
    resolved = helpers.resolved_settings(_fitted(None, overrides, gpus))
    assert resolved["accumulation (AutoGluon's rule)"] == accumulated


def test_a_local_checkpoint_is_shown_by_its_name(tmp_path):
    for name, shown in (
        ("tiny-t5-v2", "tiny-t5 (local)"),
        ("e5-small-v1-trimmed-l16000-j6000-62a3996ea4", "e5-small (local)"),
        ("my-model", "my-model (local)"),
    ):
        overrides = {"model.hf_text.checkpoint_name": str(tmp_path / name)}
        resolved = helpers.resolved_settings(_fitted(None, overrides))
        assert resolved["model.hf_text.checkpoint_name"] == shown
        assert str(tmp_path) not in resolved.to_string()


def test_profile_swaps_lists_what_differs_and_what_was_added(tmp_path):
    used = {**RECIPE, "model.hf_text.checkpoint_name": str(tmp_path / "t5")}
    used["env.per_gpu_batch_size"] = 32
    table = helpers.profile_swaps(RECIPE, used)
    assert list(table.index) == [
        "model.hf_text.checkpoint_name",
        "env.per_gpu_batch_size",
    ]
    assert table.loc["model.hf_text.checkpoint_name"].tolist() == [
        "google/flan-t5-xl",
        "t5 (local)",
    ]
    assert table.loc["env.per_gpu_batch_size"].tolist() == ["(not set)", 32]
    assert helpers.profile_swaps(RECIPE, RECIPE).empty


def test_profile_swaps_prints_each_value_as_given():
    """A column of numbers alone keeps 32 an int beside 0.0 (chapter 6's table)."""
    used = {"model.hf_text.max_text_len": 32, "aug": 0.0}
    printed = helpers.profile_swaps({}, used).to_string()
    assert "32.0" not in printed and " 32" in printed and "0.0" in printed


def test_the_profile_swaps_the_recipes_checkpoint(tmp_path):
    tiny = helpers.get_profile("tiny")
    used = tiny.hyperparameters(RECIPE, checkpoint=str(tmp_path))
    assert used["model.hf_text.checkpoint_name"] == str(tmp_path)
    assert list(used)[0] == "model.hf_text.checkpoint_name"
    assert {k: used[k] for k in RECIPE if k != list(used)[0]} == {
        k: v for k, v in RECIPE.items() if k != list(used)[0]
    }


class _Scores:
    def __init__(self, checkpoint: str):
        config = SimpleNamespace(
            model=SimpleNamespace(
                hf_text=SimpleNamespace(checkpoint_name=checkpoint)
            )
        )
        self._learner = SimpleNamespace(_config=config)

    def evaluate(self, frame, metrics):
        return {metric: 0.6 for metric in metrics}


DATA = {"en_test": pd.DataFrame({"label": [0, 1], "text": ["a", "b"]})}


def test_a_random_weight_model_is_not_scored(tmp_path):
    (tmp_path / RANDOM_WEIGHTS_MARKER).write_text("random")
    with pytest.raises(ValueError, match="random-init weights"):
        helpers.evaluate_by_language(_Scores(str(tmp_path)), DATA)
    (tmp_path / RANDOM_WEIGHTS_MARKER).unlink()
    table = helpers.evaluate_by_language(_Scores(str(tmp_path)), DATA)
    assert table.loc["English", "roc_auc"] == 0.6
    hub = helpers.evaluate_by_language(_Scores("google/flan-t5-xl"), DATA)
    assert hub.loc["English", "accuracy"] == 0.6
