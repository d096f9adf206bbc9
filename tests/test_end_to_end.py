"""One real AutoGluon fit: the tiny T5 with ia3_bias and gradient checkpointing (seconds on a CPU)."""

from __future__ import annotations

import helpers
from helpers import _reviews_data
from helpers.parameters import count_parameters, trainable_parameter_table


def test_fit_tiny_t5_with_ia3_bias_and_gradient_checkpointing(book_cache):
    from autogluon.multimodal import MultiModalPredictor
    from autogluon.multimodal.models.hf_text import (
        HFAutoModelForTextPrediction,
    )

    profile = helpers.get_profile("tiny")
    data = _reviews_data.generate_reviews(n_train=200, n_test=40, seed=123)
    hyperparameters = profile.hyperparameters(
        {
            "optim.peft": "ia3_bias",
            "optim.max_epochs": 1,
            "model.hf_text.gradient_checkpointing": True,
        },
        checkpoint=profile.large_checkpoint(),
    )
    path = helpers.fresh_run_dir("e2e")
    predictor = MultiModalPredictor(
        label="label", path=str(path), verbosity=0, enable_progress_bar=False
    )
    predictor.fit(
        data["en_train"], hyperparameters=hyperparameters, seed=123
    )

    assert path.is_dir() and path.parent == book_cache / "runs"

    trainable, total = count_parameters(predictor)
    assert 0 < trainable < 0.01 * total
    assert (trainable, total) == (
        predictor.trainable_parameters,
        predictor.total_parameters,
    )

    # What ia3_bias trains here: a scaling vector on the q, k, v and o projections of every
    # attention layer (AutoGluon stores it as lora_b), biases, the final norm and the head;
    # nothing in the feed-forward blocks.
    table = trainable_parameter_table(predictor)
    assert table["parameters"].sum() == trainable
    scaled = {
        name.split(".")[-2]
        for name in table.index
        if name.endswith(".lora_b")
    }
    assert scaled == {"q", "k", "v", "o"}
    assert {
        "head.weight",
        "head.bias",
        "model.encoder.final_layer_norm.weight",
    } <= set(table.index)
    assert not any("DenseReluDense" in name for name in table.index)

    model = predictor._learner._model
    assert isinstance(model, HFAutoModelForTextPrediction)
    assert model.checkpoint_name == profile.large_checkpoint()
    # AutoGluon keeps the encoder only
    assert model.is_t5 and not hasattr(model.model, "decoder")
    assert model.gradient_checkpointing is True
    assert model.model.is_gradient_checkpointing

    scores = predictor.evaluate(
        data["en_test"], metrics=["roc_auc", "accuracy"]
    )
    assert 0.0 <= scores["roc_auc"] <= 1.0
    assert 0.0 <= scores["accuracy"] <= 1.0
