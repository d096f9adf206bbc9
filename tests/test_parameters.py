from __future__ import annotations

from helpers.parameters import count_parameters, trainable_parameter_table

import pytest
import torch


def _model() -> torch.nn.Module:
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)
    )
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


@pytest.mark.parametrize(
    "thing",
    [
        object(),
        None,
        42,
        [torch.nn.Parameter(torch.zeros(3))],
        torch.zeros(3),
    ],
)
def test_rejects_other_objects(thing):
    with pytest.raises(
        TypeError, match="torch.nn.Module or a fitted MultiModalPredictor"
    ):
        count_parameters(thing)


def test_rejects_an_unfitted_predictor():
    import helpers

    from autogluon.multimodal import MultiModalPredictor

    predictor = MultiModalPredictor(
        label="label",
        path=str(helpers.fresh_run_dir("unfitted")),
        verbosity=0,
    )
    with pytest.raises(TypeError, match="fit the predictor first"):
        count_parameters(predictor)


class _Layered(torch.nn.Module):
    """Three layers with trainable biases only, and a trainable head."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList(
            torch.nn.Linear(4, 4) for _ in range(3)
        )
        for layer in self.encoder.layer:
            layer.weight.requires_grad_(False)
        self.head = torch.nn.Linear(4, 2)


def test_trainable_parameter_table_groups_layers():
    model = _Layered()
    table = trainable_parameter_table(model)
    assert table.index.name == "trainable parameter"
    assert list(table.columns) == ["tensors", "parameters"]
    assert table.to_dict("index") == {
        "encoder.layer.*.bias": {"tensors": 3, "parameters": 12},
        "head.weight": {"tensors": 1, "parameters": 8},
        "head.bias": {"tensors": 1, "parameters": 2},
    }
    assert list(table.index) == [
        "encoder.layer.*.bias",
        "head.weight",
        "head.bias",
    ]  # largest first
    assert table["parameters"].sum() == count_parameters(model)[0]


def test_trainable_parameter_table_of_a_frozen_model_is_empty():
    model = torch.nn.Linear(3, 3).requires_grad_(False)
    table = trainable_parameter_table(model)
    assert len(table) == 0 and list(table.columns) == [
        "tensors",
        "parameters",
    ]


def test_trainable_parameter_table_rejects_other_objects():
    with pytest.raises(TypeError, match="fit the predictor first"):
        trainable_parameter_table(object())
