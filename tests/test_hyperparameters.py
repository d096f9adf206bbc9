from __future__ import annotations

from helpers.hyperparameters import (
    RENAMED_KEYS,
    RenamedKeyWarning,
    migrate_hyperparameters,
)

import warnings

import pytest

# The two dictionaries of the original AutoGluon tutorial (PEFT with ia3_bias; FLAN-T5-XL).
ORIGINAL = {
    "optimization.efficient_finetune": "ia3_bias",
    "optimization.lr_decay": 0.9,
    "optimization.learning_rate": 3e-03,
    "optimization.end_lr": 3e-03,
    "optimization.max_epochs": 2,
    "optimization.warmup_steps": 0,
    "env.batch_size": 32,
}
ORIGINAL_XL = {
    "model.hf_text.checkpoint_name": "google/flan-t5-xl",
    "model.hf_text.gradient_checkpointing": True,
    "model.hf_text.low_cpu_mem_usage": True,
    "optimization.efficient_finetune": "ia3_bias",
    "optimization.lr_decay": 0.9,
    "optimization.learning_rate": 3e-03,
    "optimization.end_lr": 3e-03,
    "optimization.max_epochs": 1,
    "optimization.warmup_steps": 0,
    "env.batch_size": 1,
    "env.eval_batch_size_ratio": 1,
}
MIGRATED = {
    "optim.peft": "ia3_bias",
    "optim.lr_decay": 0.9,
    "optim.lr": 3e-03,
    "optim.end_lr": 3e-03,
    "optim.max_epochs": 2,
    "optim.warmup_steps": 0,
    "env.batch_size": 32,
}
MIGRATED_XL = {
    "model.hf_text.checkpoint_name": "google/flan-t5-xl",
    "model.hf_text.gradient_checkpointing": True,
    "model.hf_text.low_cpu_mem_usage": True,
    "optim.peft": "ia3_bias",
    "optim.lr_decay": 0.9,
    "optim.lr": 3e-03,
    "optim.end_lr": 3e-03,
    "optim.max_epochs": 1,
    "optim.warmup_steps": 0,
    "env.batch_size": 1,
    "env.inference_batch_size_ratio": 1,
}
CASES = [(ORIGINAL, MIGRATED), (ORIGINAL_XL, MIGRATED_XL)]


def _migrate_recording(old):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = migrate_hyperparameters(old)
    return new, caught


@pytest.mark.parametrize(("old", "expected"), CASES)
def test_migrates_the_tutorial_dictionaries(old, expected):
    snapshot = dict(old)
    new, _ = _migrate_recording(old)
    assert new == expected
    assert list(new) == list(expected)  # order kept
    assert old == snapshot  # input unchanged


@pytest.mark.parametrize(("old", "expected"), CASES)
def test_one_warning_per_renamed_key(old, expected):
    new, caught = _migrate_recording(old)
    assert all(issubclass(w.category, RenamedKeyWarning) for w in caught)
    renamed = [(o, n) for o, n in zip(old, new) if o != n]
    assert len(caught) == len(renamed) == (6 if old is ORIGINAL else 7)
    for (o, n), warning in zip(renamed, caught):
        assert repr(o) in str(warning.message) and repr(n) in str(
            warning.message
        )
    assert caught[0].filename == __file__  # points at the caller's line


def test_pytest_warns_sees_renamed_key_warning():
    with pytest.warns(
        RenamedKeyWarning,
        match="'env.eval_batch_size_ratio' -> 'env.inference_batch_size_ratio'",
    ):
        assert migrate_hyperparameters({"env.eval_batch_size_ratio": 2}) == {
            "env.inference_batch_size_ratio": 2
        }
    assert issubclass(RenamedKeyWarning, UserWarning)


def test_every_renamed_key_from_the_old_namespace():
    for old_key, new_key in RENAMED_KEYS.items():
        spelled = old_key.replace("optim.", "optimization.", 1)
        with pytest.warns(RenamedKeyWarning):
            assert migrate_hyperparameters({spelled: 1}) == {new_key: 1}


def test_current_keys_pass_unchanged_without_warning():
    current = {**MIGRATED_XL, "env.per_gpu_batch_size": 4, "optim.lora.r": 8}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = migrate_hyperparameters(current)
    assert new == current and new is not current
    assert migrate_hyperparameters({}) == {}


@pytest.mark.filterwarnings(
    "ignore::helpers.hyperparameters.RenamedKeyWarning"
)
@pytest.mark.parametrize(
    "conflicting",
    [
        {"optimization.learning_rate": 1e-3, "optim.lr": 2e-3},
        {"optim.lr": 2e-3, "optimization.learning_rate": 1e-3},
        {"optimization.max_epochs": 1, "optim.max_epochs": 2},
        {
            "optimization.efficient_finetune": "lora",
            "optim.efficient_finetune": "ia3",
        },
        {
            "env.eval_batch_size_ratio": 1,
            "env.inference_batch_size_ratio": 2,
        },
        {"optimization.learning_rate": 1e-3, "optim.learning_rate": 2e-3},
    ],
)
def test_conflicting_keys_raise(conflicting):
    with pytest.raises(ValueError, match="keep only"):
        migrate_hyperparameters(conflicting)


@pytest.mark.filterwarnings(
    "ignore::helpers.hyperparameters.RenamedKeyWarning"
)
@pytest.mark.parametrize(("old", "expected"), CASES)
def test_autogluon_accepts_the_migrated_dictionaries(old, expected):
    from autogluon.multimodal.utils.config import get_config

    with pytest.raises(KeyError, match="optimization.lr_decay"):
        get_config(problem_type="binary", presets=None, overrides=old)
    config = get_config(
        problem_type="binary",
        presets=None,
        overrides=migrate_hyperparameters(old),
    )
    assert config.optim.peft == "ia3_bias"
    assert config.optim.lr == pytest.approx(3e-3)
    assert config.optim.end_lr == pytest.approx(3e-3)
    assert config.optim.lr_decay == pytest.approx(0.9)
    assert config.optim.max_epochs == expected["optim.max_epochs"]
    assert config.optim.warmup_steps == 0
    assert config.env.batch_size == expected["env.batch_size"]
    if old is ORIGINAL_XL:
        assert config.model.hf_text.checkpoint_name == "google/flan-t5-xl"
        assert config.model.hf_text.gradient_checkpointing is True
        assert config.env.inference_batch_size_ratio == 1


def test_conflict_message_names_both_spellings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as error:
            migrate_hyperparameters(
                {"optimization.learning_rate": 1e-3, "optim.lr": 2e-3}
            )
    assert (
        "both 'optimization.learning_rate' and its new name 'optim.lr' are given"
        in str(error.value)
    )
    assert caught == []  # refused before announcing a rename
