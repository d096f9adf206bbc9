"""The peers' estimates as their sources define them, and the table that holds them
against measured peaks."""

from __future__ import annotations

import helpers
from helpers.gpus import GIB
from helpers.peers import (
    accelerate_training_gib,
    deepspeed_zero2_gib,
    transformers_docs_gib,
)

import pandas as pd
import pytest

PARAMS = 1_000_000


def test_each_peer_counts_bytes_per_parameter_as_its_source_does():
    weights = 4 * PARAMS  # fp32
    assert accelerate_training_gib(weights) * GIB == 4 * weights
    assert transformers_docs_gib(PARAMS) * GIB == 16 * PARAMS
    assert transformers_docs_gib(PARAMS, "bf16-mixed") * GIB == 18 * PARAMS
    assert deepspeed_zero2_gib(PARAMS) * GIB == 20 * PARAMS
    assert deepspeed_zero2_gib(PARAMS, gpus=4) * GIB == 8 * PARAMS


def test_estimator_errors_are_estimate_over_measured_minus_one():
    step = {
        "measured_gib": 16 * PARAMS / GIB,
        "planner_gib": 8 * PARAMS / GIB,
        "total_params": PARAMS,
        "weights_gib": 4 * PARAMS / GIB,
        "precision": "32",
    }
    errors = helpers.estimator_errors([step, step])
    assert list(errors.columns) == [
        "planner",
        "accelerate",
        "Transformers docs",
        "DeepSpeed ZeRO-2",
    ]
    assert errors.iloc[0].tolist() == pytest.approx([-0.5, 0.0, 0.0, 0.25])
    ax = helpers.plot_estimator_errors(errors, ["ia3_bias", "full"])
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == list(errors)


def test_a_step_without_its_measurement_is_named():
    with pytest.raises(KeyError, match="measured_gib"):
        helpers.estimator_errors([{"planner_gib": 1.0}])
    with pytest.raises(ValueError, match="one group per step"):
        helpers.plot_estimator_errors(
            pd.DataFrame({"planner": [0.0, 0.1]}), ["full"]
        )
