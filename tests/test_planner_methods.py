"""Every finetuning method of AutoGluon, and the BERT family, in the planner: parameter
counts against the model AutoGluon builds, activations against the tensors the forward
pass saves, and estimates within 10% of measured training steps (small random-init
configurations, on the CPU)."""

from __future__ import annotations

import helpers
from helpers._architecture import (
    PEFT_METHODS,
    architecture,
    largest_optimizer_group,
    parameter_counts,
)
from helpers._configs import published_config
from helpers._measure import StepSettings, measure_here
from helpers._planner_terms import saved_activations
from helpers.planner import precision_mode
from helpers.steps import build_autogluon_text_model

import pytest

from tests.test_planner import (
    _saved_bytes,
    _small_deberta_folder,
    _small_t5_folder,
)

LORA = {"optim.lora.r": 4}


def _small_bert_folder(
    tmp_path, model_type="bert", *, d=128, d_ff=256, heads=4, layers=3
):
    """A random-init encoder of the BERT family (``model_type`` bert, roberta, xlm-roberta
    or electra, whose embeddings are half as wide and projected), with chosen sizes."""
    from transformers import AutoConfig

    sizes = dict(
        vocab_size=1000,
        hidden_size=d,
        intermediate_size=d_ff,
        num_attention_heads=heads,
        num_hidden_layers=layers,
    )
    if model_type in {"roberta", "xlm-roberta"}:
        sizes |= dict(max_position_embeddings=130, type_vocab_size=1)
    else:
        sizes |= dict(max_position_embeddings=128)
    if model_type == "electra":
        sizes |= dict(embedding_size=d // 2)
    config = AutoConfig.for_model(model_type, **sizes)
    config.save_pretrained(tmp_path)
    return config, str(tmp_path)


def _folder(tmp_path, family: str, layers: int = 3):
    """A small random-init model folder of ``family`` (a model_type, or "deberta-v2")."""
    if family == "t5":
        return _small_t5_folder(
            tmp_path, d=128, d_ff=256, heads=4, d_kv=24, layers=layers
        )
    if family == "deberta-v2":
        return _small_deberta_folder(
            tmp_path, d=128, d_ff=256, heads=4, layers=layers, buckets=16
        )
    return _small_bert_folder(tmp_path, family, layers=layers)


@pytest.mark.parametrize(
    ("family", "peft"),
    [("bert", p) for p in PEFT_METHODS]
    + [("deberta-v2", p) for p in PEFT_METHODS if p != "ia3_bias"]
    + [("electra", p) for p in ("full", "lora_bias", "norm_fit")]
    + [("xlm-roberta", p) for p in ("full", "ia3_lora")],
)
def test_parameter_counts_match_autogluons_model(tmp_path, family, peft):
    """Totals, what trains, the largest trainable tensor and the largest AdamW group,
    with LoRA of rank 4. A BERT pooler requires gradients but gets none (AutoGluon
    classifies from the first token's hidden state): it is left out of what trains."""
    config, folder = _folder(tmp_path, family, layers=2)
    model, optimizer = build_autogluon_text_model(
        folder,
        peft=peft,
        gradient_checkpointing=False,
        pretrained=False,
        overrides=LORA,
    )
    unused = {id(p) for n, p in model.named_parameters() if ".pooler." in n}
    trained = [
        p
        for p in model.parameters()
        if p.requires_grad and id(p) not in unused
    ]
    total, trainable, largest = parameter_counts(config, peft, lora_rank=4)
    assert total == sum(p.numel() for p in model.parameters())
    assert trainable == sum(p.numel() for p in trained)
    assert largest == max(p.numel() for p in trained)
    groups = [
        sum(p.numel() for p in g["params"] if id(p) not in unused)
        for g in optimizer.param_groups
    ]
    assert max(groups) == largest_optimizer_group(
        architecture(config), peft, 4
    )


@pytest.mark.parametrize(
    ("family", "peft"),
    [("bert", "ia3_bias"), ("bert", "full"), ("t5", "full")],
)
def test_unused_parameters_are_those_without_a_gradient(
    tmp_path, family, peft
):
    """A training step of AutoGluon's model leaves exactly the parameters that
    ``helpers.unused_parameters`` counts without a gradient: BERT's pooler; none in T5."""
    from helpers._measure._process import training_step
    from helpers.parameters import unused_parameters

    _, folder = _folder(tmp_path, family, layers=2)
    model, optimizer = build_autogluon_text_model(
        folder, peft=peft, gradient_checkpointing=False, pretrained=False
    )
    training_step(model, optimizer, 2, 8, 100, "cpu")
    no_gradient = sum(
        p.numel()
        for p in model.parameters()
        if p.requires_grad and p.grad is None
    )
    assert unused_parameters(model) == no_gradient
    assert (no_gradient > 0) == (family == "bert")


# one method of each class (helpers._planner_terms), with and without biases
ACTIVATION_CASES = [
    ("bert", p, "32")
    for p in (
        "full",
        "bit_fit",
        "lora",
        "ia3_bias",
        "ia3_lora",
        "Ia3_lora_norm",
    )
] + [
    ("bert", "full", "bf16-true"),
    ("bert", "lora", "bf16-true"),
    ("bert", "bit_fit", "bf16-mixed"),
    ("bert", "ia3_lora", "bf16-mixed"),
    ("electra", "full", "32"),
    ("electra", "lora_bias", "32"),
    ("xlm-roberta", "ia3", "32"),
    ("t5", "bit_fit", "32"),
    ("t5", "lora_bias", "32"),
    ("t5", "ia3_lora", "32"),
    ("t5", "lora", "bf16-true"),
    ("t5", "norm_fit", "bf16-mixed"),
    ("t5", "lora", "bf16-mixed"),
    ("deberta-v2", "norm_fit", "32"),
    ("deberta-v2", "lora", "32"),
    ("deberta-v2", "ia3_lora_bias", "32"),
]


@pytest.mark.parametrize(("family", "peft", "precision"), ACTIVATION_CASES)
def test_activations_count_the_saved_tensors(
    tmp_path, family, peft, precision
):
    """One more block adds what the block's terms say, and one block alone the block and
    what lies outside (counted with saved-tensor hooks; DeBERTa's three attention scale
    factors, 4-byte scalars, aside)."""
    batch, length, saved = 3, 40, {}
    for layers in (1, 2):
        (tmp_path / str(layers)).mkdir()
        config, folder = _folder(tmp_path / str(layers), family, layers)
        saved[layers] = _saved_bytes(
            folder, peft, batch, length, precision, overrides=LORA
        )
    block, outside = saved_activations(
        architecture(config),
        peft,
        precision_mode(precision),
        batch,
        length,
        "cpu",
        4,
    )
    scalars = 12 if family == "deberta-v2" else 0
    assert saved[2] - saved[1] == pytest.approx(block + scalars, abs=4)
    if precision_mode(precision) != "mixed":
        assert saved[1] == pytest.approx(block + outside + scalars, abs=4)


# (family, method, checkpointing, precision): the methods of each class, the BERT
# family's members, the book's baseline's family with LoRA, 16-bit weights
STEP_CASES = [
    ("bert", "full", True, "32"),
    ("bert", "lora", True, "32"),
    ("bert", "ia3_bias", True, "32"),
    ("bert", "Ia3_lora_norm", False, "32"),
    ("bert", "lora", True, "bf16-true"),
    ("electra", "full", False, "32"),
    ("xlm-roberta", "ia3_lora", True, "32"),
    ("t5", "lora", False, "32"),
    ("t5", "bit_fit", True, "32"),
    ("t5", "ia3_lora_bias", False, "bf16-true"),
    ("deberta-v2", "lora", False, "32"),
    ("deberta-v2", "ia3", True, "32"),
]


@pytest.mark.parametrize(
    ("family", "peft", "checkpointing", "precision"), STEP_CASES
)
def test_estimate_within_ten_percent_of_a_measured_step(
    tmp_path, family, peft, checkpointing, precision
):
    config, folder = _folder(tmp_path, family)
    (measured,) = measure_here(
        StepSettings(
            folder,
            peft=peft,
            gradient_checkpointing=checkpointing,
            batch_sizes=(4,),
            seq_len=64,
            steps=2,
            precision=precision,
            overrides=LORA,
        )
    )
    predicted = helpers.estimate_training_memory(
        config,
        peft=peft,
        gradient_checkpointing=checkpointing,
        batch_size=4,
        seq_len=64,
        device="cpu",
        precision=precision,
        lora_rank=4,
    ).total_gib
    assert predicted == pytest.approx(measured.tensor_peak_gib, rel=0.10)


def test_the_books_baseline_is_plannable():
    """multilingual-e5-small (a BERT encoder) by name, with every method and LoRA's rank."""
    e5 = published_config("intfloat/multilingual-e5-small")
    total, _, _ = parameter_counts(e5, "full")
    assert 117_000_000 < total < 118_500_000  # 117.7M with the unused pooler
    step = dict(gradient_checkpointing=True, batch_size=32, gpu="T4")
    by_method = {
        peft: helpers.estimate_training_memory(e5, peft=peft, **step)
        for peft in PEFT_METHODS
    }
    assert (
        min(by_method.values(), key=lambda e: e.total_gib)
        != by_method["full"]
    )
    low, high = (
        helpers.estimate_training_memory(
            e5, peft="lora", lora_rank=r, **step
        )
        for r in (4, 64)
    )
    assert low.optimizer_gib < high.optimizer_gib
    assert (
        helpers.will_it_fit(
            "intfloat/multilingual-e5-small",
            "T4",
            peft="lora",
            gradient_checkpointing=True,
            max_batch_size=64,
        )
        == 64
    )


def test_conv_lora_and_a_bad_rank_are_refused_clearly():
    e5 = published_config("intfloat/multilingual-e5-small")
    step = dict(gradient_checkpointing=False, batch_size=1)
    with pytest.raises(
        ValueError, match="peft='conv_lora' on bert; known: 'full'"
    ):
        helpers.estimate_training_memory(e5, peft="conv_lora", **step)
    with pytest.raises(ValueError, match="lora_rank must be"):
        helpers.estimate_training_memory(
            e5, peft="lora", lora_rank=0, **step
        )
