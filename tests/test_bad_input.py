"""A reader's likely mistakes with each public function of ``helpers``, and what they get.

One table: per mistake, the call, the class of the error it must raise, and words its
message must hold, which say what was wrong and what is valid. Every call fails before
anything slow starts: no model is built, nothing is fitted, measured or downloaded, and
nothing is deleted (the folder ``clean_cache`` gets is not the book's).
"""

from __future__ import annotations

import helpers

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

#: Public names the table leaves out, and why: no argument a reader passes, or checked by
#: the heavy object they need first.
LEFT_OUT = {
    "book_cache_dir": "takes no argument",
    "this_gpu": "takes no argument",
    "gpu_runs": "takes no argument",
    "StepMeasurement": "a record measure_training_steps returns",
    "MemoryEstimate": "a record estimate_training_memory returns",
    "RenamedKeyWarning": "a warning class",
    "ChecksumError": "an error class",
    "GPUTooSmallError": "an error class",
    "MirrorError": "an error class",
    "NotOwnedError": "an error class",
    "OfflineError": "an error class",
    "predictor_from_adapter": "MultiModalPredictor.load checks the folder first",
}


@dataclass
class Reader:
    """What a reader has at hand in a chapter."""

    profile: helpers.Profile
    not_the_books: Path  # a folder clean_cache must refuse


class Evaluates:
    """Stands in for a fitted predictor: it has ``evaluate``."""

    def evaluate(self, frame, metrics):
        return {metric: 0.5 for metric in metrics}


def _nested_monitors() -> None:
    with helpers.MemoryMonitor(label="outer", device="cpu"):
        with helpers.MemoryMonitor(label="inner", device="cpu"):
            pass


def _step(**wrong) -> None:
    helpers.measure_training_steps(
        "google/flan-t5-small",
        peft="ia3_bias",
        gradient_checkpointing=True,
        **wrong,
    )


def _estimate(config=None, **wrong) -> None:
    settings = {
        "peft": "ia3_bias",
        "gradient_checkpointing": True,
        "batch_size": 1,
    }
    helpers.estimate_training_memory(
        config or helpers.flan_t5_config("google/flan-t5-small"),
        **{**settings, **wrong},
    )


def _fit(name="google/flan-t5-xl", gpu="T4", **wrong) -> None:
    helpers.will_it_fit(
        name,
        gpu,
        **{"peft": "ia3_bias", "gradient_checkpointing": True, **wrong},
    )


def _build(**wrong) -> None:
    helpers.build_autogluon_text_model(
        "google/flan-t5-small",
        **{"peft": "ia3_bias", "gradient_checkpointing": False, **wrong},
    )


SCORES = pd.DataFrame({"run": [0.9, 0.6]}, index=["English", "German"])
METHODS = pd.DataFrame(
    {"roc_auc": [0.9, 0.8], "trainable": [10, 1000]}, index=["a", "b"]
)
XL = "google/flan-t5-xl"


def _trained_whole():
    import torch

    return torch.nn.Linear(2, 2)  # every parameter trainable


Call = Callable[[Reader], object]
#: (function, the mistake, the call, the error, words its message holds)
TABLE: list[tuple[str, str, Call, type[BaseException], tuple[str, ...]]] = [
    ("save_adapter", "a .pt file", lambda r: helpers.save_adapter(object(), r.not_the_books / "a.pt"), ValueError, ("'a.pt'", "<name>.safetensors")),
    ("save_adapter", "a fully finetuned model", lambda r: helpers.save_adapter(_trained_whole(), r.not_the_books / "a.safetensors"), ValueError, ("every parameter is trainable", "right after fit")),
    ("training_curve", "no predictor", lambda r: helpers.training_curve(object()), TypeError, ("fitted MultiModalPredictor", "got object")),
    ("training_curve", "a folder without a log", lambda r: helpers.training_curve(type("P", (), {"path": str(r.not_the_books)})()), FileNotFoundError, ("no training log", "fit the predictor first")),
    ("plot_training_curve", "a dict", lambda r: helpers.plot_training_curve({"train_loss": [1.0]}), TypeError, ("helpers.training_curve(predictor)", "train_loss")),
    ("predict_sentiment", "one review as a string", lambda r: helpers.predict_sentiment(Evaluates(), "Great."), TypeError, ("list of reviews", "not str")),
    ("predict_sentiment", "no reviews", lambda r: helpers.predict_sentiment(Evaluates(), []), ValueError, ("no reviews", "at least one")),
    ("estimator_errors", "a step without its peak", lambda r: helpers.estimator_errors([{"planner_gib": 1.0}]), KeyError, ("a step without", "measured_gib")),
    ("plot_estimator_errors", "a dict", lambda r: helpers.plot_estimator_errors({"planner": [0.1]}, ["full"]), TypeError, ("helpers.estimator_errors(steps)",)),
    ("GPURun.planner_table", "an unknown chapter", lambda r: helpers.gpu_runs()[-1].planner_table("ch7"), ValueError, ("'ch7'", "ch3, ch5, ch6")),
    ("get_profile", "a number", lambda r: helpers.get_profile(1), TypeError, ("got int", "tiny, full")),
    ("get_profile", "the profile itself", lambda r: helpers.get_profile(r.profile), TypeError, ("got Profile", "tiny, full")),
    ("get_profile", "an unknown name", lambda r: helpers.get_profile("huge"), ValueError, ("'huge'", "tiny, full")),
    ("Profile.hyperparameters", "a list for the settings", lambda r: r.profile.hyperparameters([1, 2]), TypeError, ("settings must be a dict", "got list")),
    ("Profile.hyperparameters", "old keys", lambda r: r.profile.hyperparameters({"optimization.learning_rate": 1e-4}), ValueError, ("optimization.learning_rate", "migrate_hyperparameters")),
    ("check_gpu", "an unknown chapter", lambda r: helpers.check_gpu("99", r.profile), ValueError, ("unknown chapter '99'", "01_multilingual_baseline")),
    ("check_gpu", "a chapter number", lambda r: helpers.check_gpu(1, r.profile), TypeError, ("chapter must be a string", "01_multilingual_baseline")),
    ("check_gpu", "the profile's name", lambda r: helpers.check_gpu("05_will_it_fit", "full"), TypeError, ("got str", "helpers.get_profile('full')")),
    ("load_reviews", "the profile's name", lambda r: helpers.load_reviews("tiny"), TypeError, ("got str", "helpers.get_profile('tiny')")),
    ("fresh_run_dir", "a path", lambda r: helpers.fresh_run_dir("runs/ch1"), ValueError, ("'runs/ch1'", "plain name")),
    ("fresh_run_dir", "a number", lambda r: helpers.fresh_run_dir(1), TypeError, ("run name must be a string", "got int")),
    ("MemoryMonitor", "an unknown device", lambda r: helpers.MemoryMonitor(device="gpu"), ValueError, ("'gpu'", "'cpu' or 'cuda'")),
    ("MemoryMonitor", "an interval of 0", lambda r: helpers.MemoryMonitor(interval=0), ValueError, ("got 0", "above 0")),
    ("MemoryMonitor", "two monitors at once", lambda r: _nested_monitors(), RuntimeError, ("'inner'", "'outer'", "one block after the other")),
    ("count_parameters", "a checkpoint's name", lambda r: helpers.count_parameters("google/flan-t5-xl"), TypeError, ("got str", "torch.nn.Module")),
    ("trainable_parameter_table", "an unfitted predictor", lambda r: helpers.trainable_parameter_table(object()), TypeError, ("got object", "fitted MultiModalPredictor")),
    ("unused_parameters", "an unfitted predictor", lambda r: helpers.unused_parameters(object()), TypeError, ("got object", "fitted MultiModalPredictor")),
    ("evaluate_by_language", "a list for the data", lambda r: helpers.evaluate_by_language(Evaluates(), [SCORES]), TypeError, ("data must be a dict", "got list")),
    ("evaluate_by_language", "data without test frames", lambda r: helpers.evaluate_by_language(Evaluates(), {"en_train": SCORES}), ValueError, ("<lang>_test", "'en_train'")),
    ("evaluate_by_language", "one metric as a string", lambda r: helpers.evaluate_by_language(Evaluates(), {"en_test": SCORES}, metrics="roc_auc"), TypeError, ("got a string", "('roc_auc',)")),
    ("resolved_settings", "the dictionary passed in", lambda r: helpers.resolved_settings({"optim.peft": "ia3_bias"}), TypeError, ("fitted MultiModalPredictor", "got dict")),
    ("profile_swaps", "a list for the recipe", lambda r: helpers.profile_swaps([XL], {}), TypeError, ("recipe must be a dict", "got list")),
    ("evaluate_by_language", "the checkpoint for the predictor", lambda r: helpers.evaluate_by_language("model", {"en_test": SCORES}), TypeError, ("got str", "MultiModalPredictor")),
    ("language_names", "a list of keys", lambda r: helpers.language_names(["en_test"]), TypeError, ("data must be a dict", "got list")),
    ("plot_scores_by_language", "a dict for the table", lambda r: helpers.plot_scores_by_language({"English": 0.9}), TypeError, ("scores must be a DataFrame", "got dict")),
    ("plot_scores_by_language", "an empty table", lambda r: helpers.plot_scores_by_language(pd.DataFrame()), ValueError, ("no scores",)),
    ("save_results", "the profile for its name", lambda r: helpers.save_results("01_multilingual_baseline", r.profile, {}), TypeError, ("profile.name", "got Profile")),
    ("save_results", "a list for the record", lambda r: helpers.save_results("01_multilingual_baseline", "tiny", [0.9]), TypeError, ("record must be a dict", "got list")),
    ("save_results", "a path for the chapter", lambda r: helpers.save_results("../01", "tiny", {}), ValueError, ("'../01'", "plain name")),
    ("load_results", "a record for rerun", lambda r: helpers.load_results("01_multilingual_baseline", "tiny", rerun={"a": 1}), TypeError, ("rerun must be a function", "got dict")),
    ("load_results", "the profile for its name", lambda r: helpers.load_results("01_multilingual_baseline", r.profile), TypeError, ("profile.name", "got Profile")),
    ("migrate_hyperparameters", "a list", lambda r: helpers.migrate_hyperparameters([1, 2]), TypeError, ("must be a dict", "got list")),
    ("migrate_hyperparameters", "numbers for keys", lambda r: helpers.migrate_hyperparameters({1: 2}), TypeError, ("'optim.lr'", "[1]")),
    ("migrate_hyperparameters", "old and new key", lambda r: helpers.migrate_hyperparameters({"optimization.learning_rate": 1, "optim.lr": 2}), ValueError, ("'optimization.learning_rate'", "keep only 'optim.lr'")),
    ("plot_trainable_parameters", "a list of pairs", lambda r: helpers.plot_trainable_parameters([(1, 10)]), TypeError, ("counts must be a dict", "got list")),
    ("plot_trainable_parameters", "one count, not a pair", lambda r: helpers.plot_trainable_parameters({"a": 5}), TypeError, ("(trainable, total) pair", "got 5")),
    ("plot_trainable_parameters", "(total, trainable)", lambda r: helpers.plot_trainable_parameters({"a": (10, 1)}), ValueError, ("trainable at most total", "(10, 1)")),
    ("plot_trainable_parameters", "nothing", lambda r: helpers.plot_trainable_parameters({}), ValueError, ("no parameter counts",)),
    ("plot_peak_memory", "a list of peaks", lambda r: helpers.plot_peak_memory([1.0]), TypeError, ("peaks_gib must be a dict", "got list")),
    ("plot_peak_memory", "one GPU as a string", lambda r: helpers.plot_peak_memory({"a": 1.0}, gpus="T4"), TypeError, ("('T4',)", "got a string")),
    ("plot_peak_memory", "an unknown GPU", lambda r: helpers.plot_peak_memory({"a": 1.0}, gpus=["V100"]), ValueError, ("'V100'", "T4")),
    ("flan_t5_config", "a short name", lambda r: helpers.flan_t5_config("flan-t5-xl"), ValueError, ("'flan-t5-xl'", "google/flan-t5-xl")),
    ("flan_t5_config", "no name", lambda r: helpers.flan_t5_config(None), TypeError, ("got None", "google/flan-t5-xl")),
    ("flan_t5_config", "0 blocks", lambda r: helpers.flan_t5_config(XL, 0), ValueError, ("num_layers", "at least 1; got 0")),
    ("flan_t5_config", "a fraction of blocks", lambda r: helpers.flan_t5_config(XL, 2.5), TypeError, ("whole number", "got 2.5")),
    ("multilingual_e5_small_config", "no blocks", lambda r: helpers.multilingual_e5_small_config(0), ValueError, ("num_layers", "at least 1; got 0")),
    ("mdeberta_v3_base_config", "negative blocks", lambda r: helpers.mdeberta_v3_base_config(-2), ValueError, ("num_layers", "at least 1; got -2")),
    ("architecture_folder", "an unknown model", lambda r: helpers.architecture_folder("t5-11b"), ValueError, ("'t5-11b'", "google/flan-t5-xl")),
    ("architecture_folder", "0 blocks", lambda r: helpers.architecture_folder(XL, 0), ValueError, ("num_layers", "got 0")),
    ("measure_training_steps", "a batch of 0", lambda r: _step(batch_sizes=(0,)), ValueError, ("batch_sizes", "at least 1; got 0")),
    ("measure_training_steps", "one batch size, not a tuple", lambda r: _step(batch_sizes=8), TypeError, ("(8,)", "got int")),
    ("measure_training_steps", "a negative length", lambda r: _step(seq_len=-1), ValueError, ("seq_len", "got -1")),
    ("measure_training_steps", "no steps", lambda r: _step(steps=0), ValueError, ("steps", "got 0")),
    ("measure_training_steps", "mixed precision", lambda r: _step(precision="16-mixed"), ValueError, ("'16-mixed'", "bf16-true")),
    ("measure_training_steps", "an unknown strategy", lambda r: _step(ranks=2, strategy="zero3"), ValueError, ("'zero3'", "ddp, fsdp")),
    ("measure_training_steps", "a timeout of 0", lambda r: _step(timeout_s=0), ValueError, ("timeout_s", "above 0")),
    ("plot_memory_timeline", "a monitor's samples without a label", lambda r: helpers.plot_memory_timeline([(0.0, 1.0)]), TypeError, ("samples must be a dict", "monitor.samples")),
    ("plot_memory_timeline", "GiB without seconds", lambda r: helpers.plot_memory_timeline({"fit": [1.0, 2.0]}), TypeError, ("'fit'", "(seconds, GiB) pairs")),
    ("plot_memory_timeline", "nothing", lambda r: helpers.plot_memory_timeline({}), ValueError, ("no samples",)),
    ("clean_cache", "a folder that is not the book's", lambda r: helpers.clean_cache(r.not_the_books), helpers.NotOwnedError, ("did not make it", ".peft-book-owned", "rm -r")),
    ("clean_cache", "no path", lambda r: helpers.clean_cache(None), TypeError, ("path of a folder", "got NoneType")),
    ("checkpoint_folder", "no checkpoint", lambda r: helpers.checkpoint_folder(None), TypeError, ("Hugging Face name", "got None")),
    ("usable_gpu_gib", "an unknown GPU", lambda r: helpers.usable_gpu_gib("V100"), ValueError, ("'V100'", "T4")),
    ("usable_gpu_gib", "its memory for its name", lambda r: helpers.usable_gpu_gib(16), TypeError, ("GPU must be a string", "T4", "got 16")),
    ("usable_gpu_gib", "a list of GPUs", lambda r: helpers.usable_gpu_gib(["T4"]), TypeError, ("GPU must be a string", "got ['T4']")),
    ("build_autogluon_text_model", "an unknown precision", lambda r: _build(precision="fp16"), ValueError, ("'fp16'", "bf16-true")),
    ("roc_auc_intervals", "labels of one class", lambda r: helpers.roc_auc_intervals([1, 1], {"a": [0.2, 0.9]}), ValueError, ("all 1", "both classes")),
    ("roc_auc_intervals", "a list of probabilities", lambda r: helpers.roc_auc_intervals([0, 1], [[0.2, 0.9]]), TypeError, ("probabilities must be a dict", "got list")),
    ("roc_auc_differences", "an unknown reference", lambda r: helpers.roc_auc_differences([0, 1], {"a": [0.2, 0.9]}, "full"), ValueError, ("'full'", "a")),
    ("roc_auc_differences", "no comparison", lambda r: helpers.roc_auc_differences([0, 1], {"a": [0.2, 0.9]}, "a", comparisons=0), ValueError, ("at least 1", "got 0")),
    ("roc_auc_intervals", "a percentage for the level", lambda r: helpers.roc_auc_intervals([0, 1], {"a": [0.2, 0.9]}, level=95), ValueError, ("level", "between 0 and 1; got 95")),
    ("pareto_front", "dicts", lambda r: helpers.pareto_front({"a": 1}, {"a": 0.9}), TypeError, ("lists of numbers", "got a dict")),
    ("pareto_front", "a missing score", lambda r: helpers.pareto_front([1, 2], [0.9, float("nan")]), ValueError, ("finite", "nan")),
    ("pareto_front", "lengths that differ", lambda r: helpers.pareto_front([1], [0.9, 0.8]), ValueError, ("1 costs but 2 scores",)),
    ("plot_method_tradeoffs", "a dict for the table", lambda r: helpers.plot_method_tradeoffs({"a": 0.9}, "roc_auc", {"trainable": "x"}, "t"), TypeError, ("table must be a DataFrame", "got dict")),
    ("plot_method_tradeoffs", "a list of costs", lambda r: helpers.plot_method_tradeoffs(METHODS, "roc_auc", ["trainable"], "t"), TypeError, ("costs must be a dict", "got list")),
    ("plot_method_tradeoffs", "a column it lacks", lambda r: helpers.plot_method_tradeoffs(METHODS, "accuracy", {"trainable": "x"}, "t"), ValueError, ("['accuracy']", "'roc_auc'")),
    ("estimate_training_memory", "a name it does not know", lambda r: _estimate("google/flan-t5-xxxl"), ValueError, ("'google/flan-t5-xxxl'", "google/flan-t5-xxl")),
    ("estimate_training_memory", "a batch of 0", lambda r: _estimate(batch_size=0), ValueError, ("at least 1", "got 0")),
    ("estimate_training_memory", "a batch as text", lambda r: _estimate(batch_size="8"), TypeError, ("batch_size must be a whole number", "got '8'")),
    ("estimate_training_memory", "a negative length", lambda r: _estimate(seq_len=-128), ValueError, ("at least 1", "-128")),
    ("estimate_training_memory", "an unknown method", lambda r: _estimate(peft="LoRA"), ValueError, ("'LoRA'", "'lora'")),
    ("estimate_training_memory", "an unknown precision", lambda r: _estimate(precision="fp16"), ValueError, ("'fp16'", "bf16-true")),
    ("estimate_training_memory", "an unknown GPU", lambda r: _estimate(gpu="V100"), ValueError, ("'V100'", "T4")),
    ("estimate_training_memory", "an unknown strategy", lambda r: _estimate(gpus=2, strategy="zero3"), ValueError, ("'zero3'", "ddp, fsdp")),
    ("estimate_training_memory", "an unknown device", lambda r: _estimate(device="tpu"), ValueError, ("'tpu'", "'cuda' or 'cpu'")),
    ("will_it_fit", "an unknown GPU", lambda r: _fit(gpu="V100"), ValueError, ("'V100'", "T4")),
    ("will_it_fit", "an unknown model", lambda r: _fit(name="google/flan-t5-xxxl"), ValueError, ("'google/flan-t5-xxxl'", "google/flan-t5-xxl")),
    ("will_it_fit", "an unknown method", lambda r: _fit(peft="LoRA"), ValueError, ("'LoRA'", "'lora'")),
    ("will_it_fit", "a precision AutoGluon spells otherwise", lambda r: _fit(precision="bf16"), ValueError, ("'bf16'", "bf16-mixed")),
    ("plot_predicted_vs_measured", "lengths that differ", lambda r: helpers.plot_predicted_vs_measured([1.0], [1.0, 2.0], ["a"], "t"), ValueError, ("as many predictions, measurements and labels",)),
    ("plot_predicted_vs_measured", "a measurement of 0", lambda r: helpers.plot_predicted_vs_measured([1.0], [0.0], ["a"], "t"), ValueError, ("above 0 GiB", "[0.0]")),
    ("plot_predicted_vs_measured", "a percentage for the tolerance", lambda r: helpers.plot_predicted_vs_measured([1.0], [1.0], ["a"], "t", tolerance=10), ValueError, ("0.1 for 10%", "got 10")),
]  # fmt: skip


@pytest.fixture
def reader(tmp_path) -> Reader:
    return Reader(helpers.get_profile("tiny"), tmp_path / "my-models")


@pytest.mark.parametrize(
    "function, mistake, call, error, says",
    TABLE,
    ids=[f"{row[0]}: {row[1]}" for row in TABLE],
)
def test_a_mistake_gets_an_error_that_says_what_is_valid(
    reader, function, mistake, call, error, says
):
    with pytest.raises(error) as raised:
        call(reader)
    assert type(raised.value) is error  # not a subclass that says less
    for words in says:
        assert words in str(raised.value), (mistake, str(raised.value))


def test_the_table_covers_every_public_function():
    called = {
        name
        for name in helpers.__all__
        if inspect.isfunction(getattr(helpers, name))
        or inspect.isclass(getattr(helpers, name))
    }
    in_table = {row[0].split(".")[0] for row in TABLE}  # Profile: its method
    assert in_table <= called
    assert called - in_table == set(LEFT_OUT)
