"""The training-memory model: its counts, its coefficients, its errors, and will_it_fit."""

from __future__ import annotations

import helpers
from helpers._architecture import architecture, largest_optimizer_group
from helpers._measure import StepSettings, measure_here
from helpers._planner_terms import (
    T5_BLOCK,
    T5_OUTSIDE,
    deberta_activations,
)
from helpers.models import MDEBERTA_V3_BASE
from helpers.planner import (
    PEFT_METHODS,
    estimate_training_memory,
    parameter_counts,
    precision_mode,
)
from helpers.steps import build_autogluon_text_model

import pytest

XL = helpers.flan_t5_config("google/flan-t5-xl")


def _small_t5_folder(
    tmp_path, *, d=64, d_ff=128, heads=2, d_kv=16, layers=1, vocab=1000
):
    """A FLAN-T5 architecture with chosen sizes (a real tokenizer, random weights)."""
    source = helpers.architecture_folder("google/flan-t5-small")
    config = helpers.flan_t5_config("google/flan-t5-small")
    (
        config.d_model,
        config.d_ff,
        config.num_heads,
        config.d_kv,
        config.num_layers,
    ) = d, d_ff, heads, d_kv, layers
    config.vocab_size = vocab
    for item in source.iterdir():
        if item.name != "config.json":
            (tmp_path / item.name).symlink_to(item)
    config.save_pretrained(tmp_path)
    return config, str(tmp_path)


def _small_deberta_folder(
    tmp_path, *, d=96, d_ff=256, heads=2, layers=2, buckets=8
):
    """A DeBERTa-v3 architecture like mDeBERTa-v3-base's, with chosen sizes (random weights)."""
    from transformers import DebertaV2Config

    sizes = dict(
        vocab_size=1000,
        hidden_size=d,
        intermediate_size=d_ff,
        num_attention_heads=heads,
        num_hidden_layers=layers,
        position_buckets=buckets,
    )
    config = DebertaV2Config(**(MDEBERTA_V3_BASE | sizes))
    config.save_pretrained(tmp_path)
    return config, str(tmp_path)


@pytest.mark.parametrize("peft", ["full", "ia3_bias"])
def test_deberta_parameter_counts_and_activations_match(tmp_path, peft):
    config, folder = _small_deberta_folder(
        tmp_path, d=128, d_ff=256, heads=4, layers=3, buckets=16
    )
    _assert_counts_match(config, folder, peft)
    batch, length = 4, 64
    block, outside = deberta_activations(
        architecture(config), peft, batch, length, 8
    )
    # all but three 4-byte scalars per block (attention scale factors)
    assert (
        _saved_bytes(folder, peft, batch, length) - (3 * block + outside)
        == 3 * 3 * 4
    )


@pytest.mark.parametrize("peft", PEFT_METHODS)
def test_parameter_counts_match_autogluons_model(tmp_path, peft):
    config, folder = _small_t5_folder(tmp_path, layers=2)
    _assert_counts_match(config, folder, peft)


def _assert_counts_match(config, folder: str, peft) -> None:
    """parameter_counts agrees with the model AutoGluon builds from ``folder``."""
    model, optimizer = build_autogluon_text_model(
        folder, peft=peft, gradient_checkpointing=False, pretrained=False
    )
    total, trainable, largest = parameter_counts(config, peft)
    # AdamW's groups, as AutoGluon's layerwise decay makes them
    groups = sorted(
        sum(p.numel() for p in group["params"])
        for group in optimizer.param_groups
    )
    assert groups[-1] == largest_optimizer_group(architecture(config), peft)
    assert total == sum(p.numel() for p in model.parameters())
    assert trainable == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    assert largest == max(
        p.numel() for p in model.parameters() if p.requires_grad
    )


def _saved_bytes(
    folder: str,
    peft,
    batch: int,
    length: int,
    precision: str = "32",
    overrides: dict | None = None,
) -> int:
    """Bytes of the tensors (not parameters or buffers) the forward pass saves for backward, each storage
    once: in fp32, under bf16 autocast ("bf16-mixed") or in a bf16 model ("bf16-true"),
    with further AutoGluon hyperparameters ``overrides``."""
    import torch

    torch.manual_seed(0)
    model, _ = build_autogluon_text_model(
        folder,
        peft=peft,
        gradient_checkpointing=False,
        pretrained=False,
        overrides=overrides,
    )
    model.train()
    if precision == "bf16-true":
        model.to(torch.bfloat16)
    # parameters and buffers (such as BERT's position ids) exist before the step
    existing = [*model.parameters(), *model.buffers()]
    params = {t.untyped_storage().data_ptr() for t in existing}
    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    tokens = torch.randint(0, 1000, (batch, length))
    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        torch.autocast(
            "cpu", torch.bfloat16, enabled=precision == "bf16-mixed"
        ),
    ):
        model(tokens, torch.zeros_like(tokens), torch.full((batch,), length))
    return sum(saved.values())


@pytest.mark.parametrize("precision", ["32", "bf16-mixed", "bf16-true"])
@pytest.mark.parametrize("peft", ["full", "ia3_bias"])
def test_block_coefficients_count_the_saved_tensors(
    tmp_path, peft, precision
):
    """One more block adds exactly what the coefficients say (counted with saved-tensor hooks)."""
    d, d_ff, heads, d_kv, batch, length = 96, 200, 3, 24, 3, 40
    folders = {}
    for layers in (1, 2):
        (tmp_path / str(layers)).mkdir()
        _, folders[layers] = _small_t5_folder(
            tmp_path / str(layers),
            d=d,
            d_ff=d_ff,
            heads=heads,
            d_kv=d_kv,
            layers=layers,
        )
    one, two = folders[1], folders[2]
    block = _saved_bytes(two, peft, batch, length, precision) - _saved_bytes(
        one, peft, batch, length, precision
    )
    mode = precision_mode(precision)
    key = "full" if peft == "full" else "ia3"
    c_d, c_inner, c_ff, c_scores, c_tok, _, c_weight = T5_BLOCK[key, mode]
    tokens, inner = batch * length, heads * d_kv
    expected = (
        tokens * (c_d * d + c_inner * inner + c_ff * d_ff + c_tok)
        + c_scores * batch * heads * length**2
    )
    expected += c_weight * (4 * d * inner + 3 * d * d_ff)
    assert block == expected
    if (
        mode != "mixed"
    ):  # outside the blocks: embedding, final norm, head, position buckets
        o_d, o_tok, _, _ = T5_OUTSIDE[key, mode]
        outside = _saved_bytes(one, peft, batch, length, precision) - block
        assert outside == tokens * (o_d * d + o_tok) + 8 * length**2


@pytest.mark.parametrize("precision", ["32", "bf16-true"])
@pytest.mark.parametrize("peft", ["full", "ia3_bias"])
@pytest.mark.parametrize("checkpointing", [True, False])
def test_estimate_within_ten_percent_of_a_measured_step(
    tmp_path, peft, checkpointing, precision
):
    config, folder = _small_t5_folder(
        tmp_path, d=128, d_ff=256, heads=4, d_kv=32, layers=3
    )
    (measured,) = measure_here(
        StepSettings(
            folder,
            peft=peft,
            gradient_checkpointing=checkpointing,
            batch_sizes=(4,),
            seq_len=64,
            steps=2,
            precision=precision,
        )
    )
    assert measured.precision == precision
    predicted = helpers.estimate_training_memory(
        config,
        peft=peft,
        gradient_checkpointing=checkpointing,
        batch_size=4,
        seq_len=64,
        device="cpu",
        precision=precision,
    ).total_gib
    assert predicted == pytest.approx(measured.tensor_peak_gib, rel=0.10)


def test_a_fits_previous_gradients_are_alive_in_the_backward_pass(tmp_path):
    """Full finetuning, a batch large enough that the backward pass sets the peak: the
    second step holds the first one's gradients, as micro-batches of a fit do."""
    config, folder = _small_t5_folder(
        tmp_path, d=256, d_ff=1024, heads=4, d_kv=32, layers=2
    )
    (measured,) = measure_here(
        StepSettings(
            folder,
            peft="full",
            gradient_checkpointing=False,
            batch_sizes=(8,),
            seq_len=32,
            steps=2,
        )
    )

    def predicted(kept: bool):
        return helpers.estimate_training_memory(
            config,
            peft="full",
            gradient_checkpointing=False,
            batch_size=8,
            seq_len=32,
            device="cpu",
            gradients_kept=kept,
        )

    kept, zeroed = predicted(True), predicted(False)
    assert kept.peak_phase == "backward" and measured.gradients_kept
    assert kept.total_gib - zeroed.total_gib == pytest.approx(
        kept.gradients_gib
    )
    assert kept.total_gib == pytest.approx(
        measured.tensor_peak_gib, rel=0.03
    )
    assert zeroed.total_gib < 0.97 * measured.tensor_peak_gib


@pytest.mark.parametrize("strategy", ["ddp", "fsdp", "fsdp-per-block"])
@pytest.mark.parametrize("peft", ["full", "ia3_bias"])
def test_per_gpu_estimate_within_ten_percent_of_two_measured_ranks(
    tmp_path, peft, strategy
):
    config, folder = _small_t5_folder(
        tmp_path, d=128, d_ff=256, heads=4, d_kv=32, layers=3
    )
    measured = measure_here(
        StepSettings(
            folder,
            peft=peft,
            gradient_checkpointing=True,
            batch_sizes=(4,),
            seq_len=64,
            steps=2,
            ranks=2,
            strategy=strategy,
        )
    )
    assert [m.ranks for m in measured] == [2, 2]
    step = dict(
        peft=peft,
        gradient_checkpointing=True,
        batch_size=4,
        seq_len=64,
        device="cpu",
    )
    single = helpers.estimate_training_memory(config, **step)
    predicted = helpers.estimate_training_memory(
        config, **step, gpus=2, strategy=strategy
    )
    for rank in measured:
        assert predicted.total_gib == pytest.approx(
            rank.tensor_peak_gib, rel=0.10
        )
    if strategy != "ddp":  # half of every weight, gradient and moment
        assert predicted.weights_gib == pytest.approx(single.weights_gib / 2)
        assert predicted.optimizer_gib == pytest.approx(
            single.optimizer_gib / 2
        )
    else:  # all of them, and the gradient buckets
        assert predicted.weights_gib == single.weights_gib
        assert predicted.parallel_gib == pytest.approx(single.gradients_gib)


def test_one_unit_fsdp_peaks_at_the_end_of_the_forward_pass(tmp_path):
    """With frozen weights and FLAN-T5's whole vocabulary, one-unit FSDP peaks in the
    forward pass: the weights gathered twice beside the activations (FLAN-T5-small at
    128 tokens measured 12% above a model that left the activations out)."""
    config, folder = _small_t5_folder(
        tmp_path, d=128, d_ff=256, heads=4, d_kv=32, layers=3, vocab=32128
    )
    step = dict(
        peft="ia3_bias",
        gradient_checkpointing=True,
        seq_len=128,
        strategy="fsdp",
    )
    (measured, _) = measure_here(
        StepSettings(folder, batch_sizes=(4,), steps=2, ranks=2, **step)
    )
    predicted = helpers.estimate_training_memory(
        config, batch_size=4, device="cpu", gpus=2, **step
    )
    phases = measured.phase_peaks_gib
    assert max(phases, key=phases.get) == "forward"
    assert predicted.peak_phase == "end of forward"
    assert predicted.counts_activations and predicted.activations_gib > 0
    assert predicted.total_gib == pytest.approx(
        measured.tensor_peak_gib, rel=0.05
    )


def test_fsdp_divides_the_states_of_full_finetuning():
    xxl = helpers.flan_t5_config("google/flan-t5-xxl")

    def per_gpu(gpus: int, strategy: str, peft: str = "full") -> float:
        return helpers.estimate_training_memory(
            xxl,
            peft=peft,
            gradient_checkpointing=True,
            batch_size=1,
            gpus=gpus,
            strategy=strategy,
        ).total_gib

    blocks = "fsdp-per-block"
    assert per_gpu(8, blocks) < per_gpu(4, blocks) < per_gpu(2, blocks)
    assert per_gpu(2, blocks) < per_gpu(1, "ddp") < per_gpu(2, "ddp")
    assert per_gpu(8, "ddp") == per_gpu(2, "ddp")
    # weights, gradients and AdamW's moments: 16 bytes a parameter, over 8 GPUs
    total, _, _ = parameter_counts(xxl, "full")
    assert per_gpu(8, blocks) > 16 * total / 8 / 1024**3
    # one unit gathers every weight: per block is smaller, and with ia3_bias,
    # whose weights are nearly all of it, one unit holds more than one GPU alone
    assert per_gpu(8, blocks) < per_gpu(8, "fsdp") < per_gpu(1, "ddp")
    assert per_gpu(8, "fsdp", "ia3_bias") > per_gpu(1, "ddp", "ia3_bias")


@pytest.mark.parametrize("peft", ["full", "ia3_bias"])
@pytest.mark.parametrize("checkpointing", [True, False])
def test_deberta_estimate_within_ten_percent_of_a_measured_step(
    tmp_path, peft, checkpointing
):
    config, folder = _small_deberta_folder(
        tmp_path, d=128, d_ff=256, heads=4, layers=3, buckets=16
    )
    (measured,) = measure_here(
        StepSettings(
            folder,
            peft=peft,
            gradient_checkpointing=checkpointing,
            batch_sizes=(4,),
            seq_len=64,
            steps=2,
        )
    )
    predicted = helpers.estimate_training_memory(
        config,
        peft=peft,
        gradient_checkpointing=checkpointing,
        batch_size=4,
        seq_len=64,
        device="cpu",
    ).total_gib
    assert predicted == pytest.approx(measured.tensor_peak_gib, rel=0.10)


def test_terms_add_up_and_grow_as_they_should():
    small = estimate_training_memory(
        XL, peft="ia3_bias", gradient_checkpointing=True, batch_size=1
    )
    big = estimate_training_memory(
        XL, peft="ia3_bias", gradient_checkpointing=True, batch_size=8
    )
    no_ckpt = estimate_training_memory(
        XL, peft="ia3_bias", gradient_checkpointing=False, batch_size=8
    )
    full = estimate_training_memory(
        XL, peft="full", gradient_checkpointing=True, batch_size=1
    )
    assert small.weights_gib == pytest.approx(
        1_223_728_130 * 4 / 1024**3, rel=1e-3
    )
    assert small.total_gib < big.total_gib < no_ckpt.total_gib
    # the previous micro-batch's gradients are alive in the backward pass of a fit
    assert big.total_gib == pytest.approx(
        big.weights_gib
        + big.optimizer_gib
        + big.gradients_gib
        + big.activations_gib
        + big.transient_gib
        + big.cuda_gib
    )
    assert (
        full.peak_phase == "optimizer step" and big.peak_phase == "backward"
    )
    assert (
        full.optimizer_gib
        == pytest.approx(2 * full.gradients_gib)
        == pytest.approx(2 * full.weights_gib, rel=1e-3)
    )
    mixed = estimate_training_memory(
        XL,
        peft="ia3_bias",
        gradient_checkpointing=False,
        batch_size=8,
        precision="bf16-mixed",
    )
    assert (
        mixed.weights_gib == no_ckpt.weights_gib
        and mixed.activations_gib < no_ckpt.activations_gib
    )


def test_will_it_fit():
    t4 = helpers.will_it_fit(
        "google/flan-t5-xl",
        "T4",
        peft="ia3_bias",
        gradient_checkpointing=True,
    )
    budget = helpers.usable_gpu_gib("T4")

    def fits(b):
        return helpers.estimate_training_memory(
            XL,
            peft="ia3_bias",
            gradient_checkpointing=True,
            batch_size=b,
            gpu="T4",
        ).total_gib

    assert fits(t4) <= budget < fits(t4 + 1)
    assert (
        helpers.will_it_fit(
            XL, "T4", peft="full", gradient_checkpointing=False
        )
        == 0
    )
    assert (
        helpers.will_it_fit(
            "google/flan-t5-small",
            "H100-80GB",
            peft="ia3_bias",
            gradient_checkpointing=True,
            max_batch_size=64,
        )
        == 64
    )
    assert (
        helpers.will_it_fit(
            XL, "A100-80GB", peft="ia3_bias", gradient_checkpointing=True
        )
        > t4
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: helpers.will_it_fit(
                "google/flan-t5-xl",
                "RTX-9090",
                peft="full",
                gradient_checkpointing=False,
            ),
            "unknown GPU 'RTX-9090'",
        ),
        (
            lambda: helpers.will_it_fit(
                "google/flan-t5-huge",
                "T4",
                peft="full",
                gradient_checkpointing=False,
            ),
            "unknown model name .*intfloat/multilingual-e5-small",
        ),
        (
            lambda: helpers.estimate_training_memory(
                XL, peft="lora2", gradient_checkpointing=False, batch_size=1
            ),
            "no memory model for peft='lora2' on t5",
        ),
        (
            lambda: helpers.will_it_fit(
                "microsoft/mdeberta-v3-base",
                "T4",
                peft="IA3",
                gradient_checkpointing=False,
            ),
            "peft='IA3' on deberta-v2",
        ),
        (
            lambda: helpers.will_it_fit(
                "microsoft/mdeberta-v3-base",
                "T4",
                peft="full",
                gradient_checkpointing=False,
                precision="bf16-mixed",
            ),
            "T5 and BERT families only",
        ),
        (
            lambda: helpers.estimate_training_memory(
                XL, peft="full", gradient_checkpointing=False, batch_size=0
            ),
            "at least 1",
        ),
        (
            lambda: helpers.estimate_training_memory(
                XL,
                peft="full",
                gradient_checkpointing=False,
                batch_size=1,
                precision="fp8",
            ),
            "unknown precision",
        ),
        (
            lambda: helpers.estimate_training_memory(
                XL,
                peft="full",
                gradient_checkpointing=False,
                batch_size=1,
                device="tpu",
            ),
            "device must be",
        ),
        (
            lambda: helpers.estimate_training_memory(
                XL,
                peft="full",
                gradient_checkpointing=False,
                batch_size=1,
                gpus=2,
                strategy="zero",
            ),
            "strategy one of ddp, fsdp",
        ),
        (
            lambda: helpers.will_it_fit(
                "microsoft/mdeberta-v3-base",
                "T4",
                peft="full",
                gradient_checkpointing=False,
                gpus=2,
                strategy="fsdp-per-block",
            ),
            "FSDP per block is modelled for the T5 family only",
        ),
    ],
    ids=[
        "gpu",
        "name",
        "peft",
        "deberta-peft",
        "deberta-mixed",
        "batch",
        "precision",
        "device",
        "strategy",
        "deberta-fsdp",
    ],
)
def test_bad_input_is_refused_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_architectures_are_refused():
    from transformers import BertConfig, GPT2Config

    with pytest.raises(ValueError, match="bert, roberta.*model_type 'gpt2'"):
        helpers.estimate_training_memory(
            GPT2Config(),
            peft="full",
            gradient_checkpointing=False,
            batch_size=1,
        )
    with pytest.raises(ValueError, match="'relative_key'"):
        helpers.estimate_training_memory(
            BertConfig(position_embedding_type="relative_key"),
            peft="full",
            gradient_checkpointing=False,
            batch_size=1,
        )
    config = helpers.mdeberta_v3_base_config()
    config.share_att_key = False
    with pytest.raises(ValueError, match="this config differs"):
        helpers.estimate_training_memory(
            config, peft="full", gradient_checkpointing=False, batch_size=1
        )


def test_mdeberta_v3_base_config_is_the_published_one():
    config = helpers.mdeberta_v3_base_config()
    total, _, _ = parameter_counts(config, "full")
    assert (
        config.model_type,
        config.hidden_size,
        config.num_hidden_layers,
        config.vocab_size,
    ) == ("deberta-v2", 768, 12, 251000)
    # mDeBERTa-v3-base: 86M backbone + 190M embedding, head on top
    assert 278_000_000 < total < 279_000_000


def test_true_16_bit_precision_halves_the_weights_and_their_states():
    def estimate(precision):
        return estimate_training_memory(
            XL,
            peft="ia3_bias",
            gradient_checkpointing=True,
            batch_size=1,
            precision=precision,
        )

    fp32, bf16 = estimate("32"), estimate("bf16-true")
    assert estimate("16-true") == bf16  # the same bytes, either format
    for term in ("weights_gib", "gradients_gib", "optimizer_gib"):
        assert getattr(bf16, term) == pytest.approx(getattr(fp32, term) / 2)
    assert bf16.total_gib < 0.55 * fp32.total_gib
    # FLAN-T5-XXL's encoder: no fp32 strategy fits a T4; 16-bit weights do
    xxl = dict(peft="ia3_bias", gradient_checkpointing=True)
    assert helpers.will_it_fit("google/flan-t5-xxl", "T4", **xxl) == 0
    assert (
        helpers.will_it_fit(
            "google/flan-t5-xxl", "T4", precision="bf16-true", **xxl
        )
        > 0
    )


def test_cuda_adds_cublas_workspaces_and_block_rounding():
    from helpers._cuda_terms import allocated_block

    # batch 1: the optimizer step sets the peak, on CUDA and on a CPU
    kwargs = dict(peft="full", gradient_checkpointing=True, batch_size=1)
    cpu = helpers.estimate_training_memory(XL, device="cpu", **kwargs)
    t4 = helpers.estimate_training_memory(XL, gpu="T4", **kwargs)
    h100 = helpers.estimate_training_memory(XL, gpu="H100-80GB", **kwargs)
    assert cpu.cuda_gib == 0
    # two threads (forward, backward), each 8,320 KiB of cuBLAS and 1 MiB of cuBLASLt,
    # and 1 MiB for each of the embedding's four tensors: 251 MiB takes a 252 MiB block
    assert t4.cuda_gib * 1024 == pytest.approx(
        2 * (8320 / 1024 + 1) + 4, abs=0.01
    )
    assert h100.cuda_gib - t4.cuda_gib == pytest.approx(
        2 * (32 - 8320 / 1024) / 1024
    )
    # a T4 is not a Hopper, the default
    assert helpers.estimate_training_memory(XL, **kwargs) == t4
    assert t4.total_gib - t4.cuda_gib == pytest.approx(
        cpu.total_gib - cpu.transient_gib + t4.transient_gib
    )
    sizes = [allocated_block(n) for n in (1, 513, 5 << 20)]
    assert sizes == [512, 1024, 5 << 20]
    assert allocated_block(251 << 20) == 252 << 20  # 1 MiB left: not split
    assert allocated_block((248 << 20) + 512) == (248 << 20) + 512  # split
    with pytest.raises(ValueError, match="T5000"):
        helpers.estimate_training_memory(XL, gpu="T5000", **kwargs)


@pytest.mark.parametrize(
    "name", ["google/flan-t5-xl", "microsoft/mdeberta-v3-base"]
)
def test_parameter_tensors_add_up_to_the_counts(name):
    from helpers._architecture import parameter_tensors
    from helpers.planner import _resolve_config

    config = _resolve_config(name)
    sizes = architecture(config)
    for peft in ("full", "ia3_bias"):
        tensors = parameter_tensors(sizes, peft)
        total, trainable, _ = parameter_counts(config, peft)
        assert sum(n for n, _, _ in tensors) == total
        assert sum(n for n, t, _ in tensors if t) == trainable


def test_a_model_is_named_as_for_will_it_fit():
    """Every planner function takes a config or a name the planner knows."""
    step = dict(peft="ia3_bias", gradient_checkpointing=True, batch_size=8)
    by_name = helpers.estimate_training_memory("google/flan-t5-xl", **step)
    by_config = helpers.estimate_training_memory(
        helpers.flan_t5_config("google/flan-t5-xl"), **step
    )
    assert by_name == by_config
