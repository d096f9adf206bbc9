from __future__ import annotations

import pytest
import torch

from helpers.parameters import count_parameters


def _model() -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    for parameter in model[0].parameters():  # 4*3 + 3 = 15 frozen
        parameter.requires_grad_(False)
    return model  # 3*2 + 2 = 8 trainable


def test_counts_a_module_with_frozen_parameters():
    assert count_parameters(_model()) == (8, 23)


def test_all_trainable_and_all_frozen():
    model = torch.nn.Linear(10, 5)
    assert count_parameters(model) == (55, 55)
    model.requires_grad_(False)
    assert count_parameters(model) == (0, 55)


def test_accepts_an_object_that_holds_a_model_like_a_fitted_predictor():
    class Learner:
        _model = _model()

    class FittedPredictor:
        _learner = Learner()

    assert count_parameters(FittedPredictor()) == (8, 23)


@pytest.mark.parametrize("thing", [object(), None, 42, [torch.nn.Parameter(torch.zeros(3))], torch.zeros(3)])
def test_rejects_other_objects(thing):
    with pytest.raises(TypeError, match="torch.nn.Module or a fitted MultiModalPredictor"):
        count_parameters(thing)


def test_rejects_an_unfitted_predictor():
    import helpers
    from autogluon.multimodal import MultiModalPredictor

    predictor = MultiModalPredictor(label="label", path=str(helpers.fresh_run_dir("unfitted")), verbosity=0)
    with pytest.raises(TypeError, match="fit the predictor first"):
        count_parameters(predictor)
