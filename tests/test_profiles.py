from __future__ import annotations

from helpers import profiles
from helpers._e5_small import e5_small_folder
from helpers.hyperparameters import migrate_hyperparameters
from helpers.profiles import PROFILE_ENV, Profile, get_profile

import json
import re

import pytest


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tiny", "tiny"),
        ("full", "full"),
        ("TINY", "tiny"),
        ("Full", "full"),
        (" full\n", "full"),
    ],
    ids=["tiny", "full", "upper", "capitalised", "padded"],
)
def test_get_profile_by_name(no_env, given, expected):
    profile = get_profile(given)
    assert isinstance(profile, Profile)
    assert profile.name == expected


def test_profiles_differ_as_the_design_says(no_env):
    tiny, full = get_profile("tiny"), get_profile("full")
    assert full.baseline_checkpoint() == "microsoft/mdeberta-v3-base"
    assert full.large_checkpoint() == "google/flan-t5-xl"
    assert (full.n_train, full.n_test) == (1000, 200)
    assert tiny.baseline_checkpoint() == str(e5_small_folder())
    assert tiny.per_gpu_batch_size > full.per_gpu_batch_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [("tiny", "tiny"), ("FULL", "full"), ("  Tiny ", "tiny")],
    ids=["tiny", "upper", "padded"],
)
def test_get_profile_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv(PROFILE_ENV, value)
    monkeypatch.setattr(
        profiles,
        "_cuda_available",
        lambda: pytest.fail("CUDA must not be consulted"),
    )
    assert get_profile().name == expected


def test_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "full")
    assert get_profile("tiny").name == "tiny"


@pytest.mark.parametrize(
    ("cuda", "expected"), [(True, "full"), (False, "tiny")]
)
def test_get_profile_auto_follows_cuda(no_env, monkeypatch, cuda, expected):
    monkeypatch.setattr(profiles, "_cuda_available", lambda: cuda)
    assert get_profile().name == expected


def test_empty_environment_variable_means_auto(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "")
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert get_profile().name == "full"


def test_unknown_name_from_argument(no_env):
    with pytest.raises(ValueError) as error:
        get_profile("huge")
    message = str(error.value)
    assert "'huge'" in message and "argument" in message
    assert "tiny" in message and "full" in message


def test_unknown_name_from_environment(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "medium")
    with pytest.raises(ValueError) as error:
        get_profile()
    message = str(error.value)
    assert "'medium'" in message and f"${PROFILE_ENV}" in message
    assert "tiny" in message and "full" in message


# --- Profile.hyperparameters ---------------------------------------------------------------


_TINY_ONLY = {
    "model.hf_text.max_text_len": 32,
    # on a 2-core CPU, batches are made in the training process
    "env.num_workers": 0,
    "env.num_workers_inference": 0,
}


@pytest.mark.parametrize(
    ("name", "extra"), [("tiny", _TINY_ONLY), ("full", {})]
)
def test_hyperparameters_defaults(name, extra):
    profile = get_profile(name)
    hp = profile.hyperparameters()
    assert hp == {
        "model.hf_text.checkpoint_name": profile.baseline_checkpoint(),
        "model.hf_text.text_trivial_aug_maxscale": 0.0,
        "env.per_gpu_batch_size": profile.per_gpu_batch_size,
        **extra,
    }


def test_hyperparameters_checkpoint_and_settings():
    profile = get_profile("full")
    settings = {"optim.peft": "ia3_bias", "optim.max_epochs": 1}
    hp = profile.hyperparameters(settings, checkpoint="some/other-model")
    assert hp["model.hf_text.checkpoint_name"] == "some/other-model"
    assert hp["optim.peft"] == "ia3_bias" and hp["optim.max_epochs"] == 1
    assert hp["env.per_gpu_batch_size"] == 4
    assert settings == {
        "optim.peft": "ia3_bias",
        "optim.max_epochs": 1,
    }  # input not modified


def test_settings_override_profile_values():
    hp = get_profile("full").hyperparameters(
        {
            "env.per_gpu_batch_size": 1,
            "model.hf_text.text_trivial_aug_maxscale": 0.1,
            "model.hf_text.checkpoint_name": "x",
        }
    )
    assert hp["env.per_gpu_batch_size"] == 1
    assert hp["model.hf_text.text_trivial_aug_maxscale"] == 0.1
    assert hp["model.hf_text.checkpoint_name"] == "x"


def test_hyperparameters_refuse_old_keys():
    with pytest.raises(ValueError, match="migrate_hyperparameters") as error:
        get_profile("full").hyperparameters(
            {"optimization.learning_rate": 1e-3, "optim.max_epochs": 1}
        )
    assert "optimization.learning_rate" in str(error.value)
    assert "optim.max_epochs" not in str(error.value)


@pytest.mark.filterwarnings(
    "ignore::helpers.hyperparameters.RenamedKeyWarning"
)
def test_profile_hyperparameters_are_accepted_by_autogluon():
    from autogluon.multimodal.utils.config import get_config

    old = {
        "optimization.efficient_finetune": "ia3_bias",
        "optimization.max_epochs": 1,
    }
    hp = get_profile("full").hyperparameters(migrate_hyperparameters(old))
    config = get_config(problem_type="binary", presets=None, overrides=hp)
    assert (
        config.model.hf_text.checkpoint_name == "microsoft/mdeberta-v3-base"
    )
    assert config.model.hf_text.text_trivial_aug_maxscale == 0.0
    assert config.env.per_gpu_batch_size == 4
    assert config.optim.peft == "ia3_bias"


# --- progress, score claims and the CPU rehearsal switch -----------------------------------


def test_checkpoints_switch_download_bars_as_the_profile_says():
    from helpers._quiet import show_download_progress

    from huggingface_hub.utils import are_progress_bars_disabled

    show_download_progress(False)
    full, tiny = get_profile("full"), get_profile("tiny")
    assert are_progress_bars_disabled(), (
        "choosing a profile switches nothing"
    )
    full.baseline_checkpoint()
    assert full.show_progress and not are_progress_bars_disabled()
    tiny.baseline_checkpoint()
    assert not tiny.show_progress and are_progress_bars_disabled()


@pytest.mark.parametrize("name", ["tiny", "full"])
def test_score_claims_are_asserted_without_a_stand_in_mirror(
    name, monkeypatch, capsys
):
    monkeypatch.delenv("PEFT_BOOK_MIRROR", raising=False)
    assert get_profile(name).asserts_scores("English ROC-AUC above 0.9")
    assert capsys.readouterr().out == ""


def test_overrides_replace_fields_and_cut_training(monkeypatch):
    from tests.rehearsal import CPU_CUTS

    monkeypatch.setenv(profiles.OVERRIDES_ENV, json.dumps(CPU_CUTS))
    profile = get_profile("full")
    assert profile.measured_blocks == 2 and profile.xxl_batch_sizes == (1,)
    assert profile.name == "full" and profile.n_train == 1000
    hp = profile.hyperparameters(
        {"optim.max_epochs": 2, "optim.val_check_interval": 1.0}
    )
    assert hp["optim.max_steps"] == 4
    # a cut epoch never ends: validate within the steps
    assert hp["optim.val_check_interval"] == 4
    assert hp["optim.max_epochs"] == 2


def test_without_overrides_nothing_is_cut(monkeypatch):
    monkeypatch.delenv(profiles.OVERRIDES_ENV, raising=False)
    profile = get_profile("full")
    assert profile.measured_blocks is None and profile.max_steps is None
    hp = profile.hyperparameters({"optim.val_check_interval": 1.0})
    assert "optim.max_steps" not in hp
    assert hp["optim.val_check_interval"] == 1.0


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{max_steps: 4}", "is not JSON"),
        ('{"max_step": 4}', "unknown: ['max_step']"),
        ('{"name": "tiny"}', "unknown: ['name']"),
        ("[4]", "must be a JSON object"),
    ],
)
def test_overrides_refuse_what_is_not_a_field(monkeypatch, value, says):
    monkeypatch.setenv(profiles.OVERRIDES_ENV, value)
    with pytest.raises(ValueError, match=re.escape(says)):
        get_profile("full")


def test_profiles_differ_in_fields_not_names():
    tiny, full = get_profile("tiny"), get_profile("full")
    assert tiny.published and not full.published
    assert full.measures_every_size and not tiny.measures_every_size
    assert full.large_is_pretrained and not tiny.large_is_pretrained
    assert tiny.xxl_batch_sizes == (1,) and full.xxl_batch_sizes == (1, 8)
    # chapter 3's step without checkpointing at batch 8 took 12.4 GiB of RAM in tiny
    assert tiny.xl_batch_sizes == (1, 4) and full.xl_batch_sizes == (1, 8)
