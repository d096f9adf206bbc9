"""Real training steps of AutoGluon's text model on the tiny T5 (seconds on a CPU)."""

from __future__ import annotations

from helpers._local_models import tiny_t5_folder
from helpers._measure import StepSettings, measure_here
from helpers.steps import StepMeasurement, measure_training_steps

import re

import pytest


def _here(checkpoint: str, **settings) -> list[StepMeasurement]:
    """Measure in this process, as the measuring server's child does."""
    return measure_here(StepSettings(checkpoint, **settings))


def test_measure_training_step_ia3_bias_with_checkpointing():
    checkpoint = str(tiny_t5_folder())
    results = _here(
        checkpoint,
        peft="ia3_bias",
        gradient_checkpointing=True,
        batch_sizes=(1, 2),
        steps=1,
    )
    assert [r.batch_size for r in results] == [1, 2]
    for r in results:
        assert isinstance(r, StepMeasurement)
        assert (
            r.model == checkpoint
            and r.peft == "ia3_bias"
            and r.gradient_checkpointing is True
        )
        assert r.seq_len == 128 and r.device == "cpu"
        assert 0 < r.trainable_params < 0.01 * r.total_params
        assert r.step_s > 0
        # fp32
        assert r.weights_gib == pytest.approx(r.total_params * 4 / 1024**3)
        # the tensors hold the weights and more; the process's resident size is
        # not compared here: in this shared test process, memory freed while the
        # half-megabyte model was built can outweigh it (a fresh process is
        # checked in test_measure_training_steps_matches_in_process)
        assert r.tensor_peak_gib > r.weights_gib
    assert results[0].total_params == results[1].total_params
    assert (
        results[0].as_dict()["trainable_params"]
        == results[0].trainable_params
    )


def test_full_finetuning_trains_everything():
    results = _here(
        str(tiny_t5_folder()),
        peft="full",
        gradient_checkpointing=False,
        seq_len=16,
        steps=2,
        label="tiny",
    )
    assert len(results) == 1
    (r,) = results
    assert r.peft == "full" and r.model == "tiny" and r.seq_len == 16
    assert r.trainable_params == r.total_params


def test_measure_training_steps_matches_in_process(capsys):
    checkpoint = str(tiny_t5_folder())
    kwargs = dict(
        peft="ia3_bias",
        gradient_checkpointing=True,
        batch_sizes=(1, 2),
        seq_len=32,
        steps=1,
    )
    here = _here(checkpoint, **kwargs)
    there = measure_training_steps(checkpoint, label="tiny-t5", **kwargs)
    assert [r.batch_size for r in there] == [1, 2]
    for a, b in zip(here, there):
        assert (b.total_params, b.trainable_params) == (
            a.total_params,
            a.trainable_params,
        )
        assert b.weights_gib == a.weights_gib
        assert (
            b.model == "tiny-t5"
            and b.peft == "ia3_bias"
            and b.gradient_checkpointing is True
        )
        assert b.seq_len == 32 and b.step_s > 0 and b.peak_gib > 0
        # exact, whichever process counts
        assert b.tensor_peak_gib == a.tensor_peak_gib
    assert capsys.readouterr().out.startswith(
        "measured tiny-t5: ia3_bias, checkpointing, batch 1, 2 ("
    )
    # a line longer than a page's code column goes on in a second one
    measure_training_steps(
        checkpoint, label="a-tiny-t5-" + "x" * 30, **kwargs
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) <= 76 for line in lines)
    assert lines[1].startswith("  batch 1, 2 (")
    # where the duration would reach past the column, it goes on the next line
    # whole, whatever its digits
    measure_training_steps(
        checkpoint, label="a-tiny-t5-" + "x" * 20, **kwargs
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].endswith(" batch 1, 2")
    assert re.fullmatch(r"  \(\d+ s\)", lines[1])


def test_measure_training_steps_reports_failure(tmp_path):
    missing = str(tmp_path / "no-such-checkpoint")
    with pytest.raises(RuntimeError) as error:
        measure_training_steps(
            missing, peft="ia3_bias", gradient_checkpointing=False
        )
    message = str(error.value)
    assert f"measuring {missing} failed:" in message
    # the child's traceback is included
    assert "Traceback" in message and "Error" in message
    # The server survives a failed measurement: the next one works.
    (ok,) = measure_training_steps(
        str(tiny_t5_folder()),
        peft="full",
        gradient_checkpointing=False,
        seq_len=8,
    )
    assert ok.trainable_params == ok.total_params


def test_a_measurement_without_the_free_memory_it_needs_is_skipped(capsys):
    """Checked by the measuring process before it builds anything: one printed line says
    what it needs and what is free, and nothing is measured (chapter 6's whole XXL)."""
    from helpers._measure import NotEnoughMemoryError

    kwargs = dict(peft="full", gradient_checkpointing=False, seq_len=8)
    skipped = measure_training_steps(
        str(tiny_t5_folder()), label="tiny-t5", needs_gib=1e6, **kwargs
    )
    assert skipped == []
    line = capsys.readouterr().out
    assert re.fullmatch(
        r"skipped tiny-t5: needs about 1000000\.0 GiB of free host memory, "
        r"and \d+\.\d GiB is free\n",
        line,
    )
    with pytest.raises(NotEnoughMemoryError, match="needs about 1000000"):
        _here(
            str(tiny_t5_folder()),
            ranks=2,
            strategy="ddp",
            needs_gib=1e6,
            **kwargs,
        )
    (enough,) = measure_training_steps(
        str(tiny_t5_folder()), needs_gib=0.01, **kwargs
    )
    assert enough.trainable_params == enough.total_params


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"precision": "bf16-mixed"}, "unknown precision 'bf16-mixed'"),
        ({"ranks": 0}, "ranks must be at least 1"),
        ({"ranks": 2, "strategy": "zero"}, "strategy one of ddp, fsdp"),
    ],
)
def test_measure_here_refuses_what_it_cannot_run(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _here(
            str(tiny_t5_folder()),
            peft="ia3_bias",
            gradient_checkpointing=False,
            **kwargs,
        )


def test_a_failing_rank_reports_its_traceback(tmp_path):
    missing = str(tmp_path / "no-such-checkpoint")
    with pytest.raises(RuntimeError, match="a rank failed") as error:
        _here(
            missing,
            peft="ia3_bias",
            gradient_checkpointing=False,
            ranks=2,
            strategy="ddp",
        )
    assert "Traceback" in str(error.value)


def test_a_long_traceback_keeps_its_first_line_and_its_end():
    from helpers.steps import _shortened

    long = (
        "Traceback (most recent call last):\n"
        + "x" * 5000
        + "\nKeyError: 'y'"
    )
    short = _shortened(long, limit=100)
    assert short.startswith("Traceback (most recent call last):\n...\n")
    assert short.endswith("KeyError: 'y'") and len(short) < 150
    assert (
        _shortened("Traceback\nValueError", limit=100)
        == "Traceback\nValueError"
    )


def test_build_with_overrides_moves_ia3():
    from helpers.steps import build_autogluon_text_model

    checkpoint = str(tiny_t5_folder())
    default, _ = build_autogluon_text_model(
        checkpoint, peft="ia3", gradient_checkpointing=False
    )
    moved, _ = build_autogluon_text_model(
        checkpoint,
        peft="ia3",
        gradient_checkpointing=False,
        overrides={"optim.lora.filter": ["^k$", "^v$", "^wi"]},
    )

    def scaled(model):
        return {
            name.split(".")[-2]
            for name, _ in model.named_parameters()
            if name.endswith("lora_b")
        }

    assert scaled(default) == {"q", "k", "v", "o"}
    assert scaled(moved) == {
        "k",
        "v",
        "wi_0",
        "wi_1",
    }  # the tiny T5 is gated, like FLAN-T5


@pytest.mark.parametrize("model", ["tiny T5", "e5-small"])
def test_stand_in_weights_build_the_same_model(model):
    """pretrained=False skips the initialisation, not a parameter, a tie or a buffer."""
    from helpers._e5_small import e5_small_folder
    from helpers.steps import build_autogluon_text_model

    import torch

    folder = str(
        tiny_t5_folder() if model == "tiny T5" else e5_small_folder()
    )

    def build(pretrained):
        built, _ = build_autogluon_text_model(
            folder,
            peft="ia3_bias",
            gradient_checkpointing=False,
            pretrained=pretrained,
        )
        return built

    trained, stand_in, again = build(True), build(False), build(False)
    shapes = {n: p.shape for n, p in trained.named_parameters()}
    assert {n: p.shape for n, p in stand_in.named_parameters()} == shapes
    for (name, buffer), (_, expected) in zip(
        stand_in.named_buffers(), trained.named_buffers(), strict=True
    ):
        assert torch.equal(buffer, expected), name
    values = torch.cat([p.detach().flatten() for p in stand_in.parameters()])
    assert torch.isfinite(values).all()
    assert values.std().item() == pytest.approx(0.02, rel=0.05)
    for first, second in zip(stand_in.parameters(), again.parameters()):
        assert torch.equal(first, second)  # seeded: the same every time


def test_the_measuring_server_leaves_cuda_to_its_children(monkeypatch):
    from helpers._measure import _fork, _server

    import subprocess

    import torch

    started = {}

    class Popen:
        pid = -1

        def __init__(self, *args, env, **kwargs):
            started["env"] = env

    monkeypatch.setattr(subprocess, "Popen", Popen)
    _server._MeasuringServer()
    assert started["env"]["PYTORCH_NVML_BASED_CUDA_CHECK"] == "1"
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(RuntimeError, match="initialised CUDA"):
        _fork.fork_child(list)


def test_stand_ins_are_built_once_on_the_device_in_their_precision():
    """Each stand-in weight is created once, where and as it will train: in bf16 no fp32
    copy of the model exists (chapter 6 builds XXL's 8.9 GiB, never its 17.7 GiB), and on
    CUDA nothing passes through the host (here the meta device stands in for the GPU)."""
    from helpers import architecture_folder
    from helpers._tensor_tracker import TensorMemoryTracker
    from helpers.steps import build_autogluon_text_model

    import torch

    # the folder is written on first use: outside the meta device
    folder = str(tiny_t5_folder())

    def build(**where):
        return build_autogluon_text_model(
            folder,
            peft="ia3_bias",
            gradient_checkpointing=False,
            pretrained=False,
            **where,
        )[0]

    assert {p.device.type for p in build(device="meta").parameters()} == {
        "meta"
    }
    # FLAN-T5-base's real width (2 blocks): the weights outweigh the seeded block
    folder = str(architecture_folder("google/flan-t5-base", 2))
    with TensorMemoryTracker() as built:
        half = build(precision="bf16-true")
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}
    weights = sum(p.numel() * p.element_size() for p in half.parameters())
    # the bf16 weights, and one fp32 matrix at a time while shapes are made: less
    # than the fp32 copy alone (an fp32 build then converted peaks at 3 x weights)
    assert weights <= built.peak_bytes < 2 * weights
    with pytest.raises(ValueError, match="unknown precision 'bf16'"):
        build(precision="bf16")


def test_overrides_reach_the_measured_model():
    """``overrides`` travel with the settings to the server's child, into the model it
    builds: IA3 moved to k, v and the feed-forward inputs trains other vectors."""
    from helpers.steps import build_autogluon_text_model

    folder = str(tiny_t5_folder())
    moved = {"optim.lora.filter": ["^k$", "^v$", "^wi"]}
    model = dict(peft="ia3", gradient_checkpointing=False)
    (default,) = measure_training_steps(folder, seq_len=8, **model)
    (measured,) = measure_training_steps(
        folder, seq_len=8, overrides=moved, **model
    )
    built, _ = build_autogluon_text_model(folder, overrides=moved, **model)
    trainable = sum(p.numel() for p in built.parameters() if p.requires_grad)
    assert measured.trainable_params == trainable
    assert measured.trainable_params != default.trainable_params


def test_settings_and_replies_cross_as_json():
    from helpers._measure import Reply

    settings = StepSettings(
        "folder",
        peft="ia3",
        gradient_checkpointing=True,
        batch_sizes=(1, 8),
        overrides={"optim.lora.filter": ["^k$"]},
    )
    assert StepSettings.from_json(settings.to_json()) == settings
    for reply in (
        Reply(records=({"batch_size": 1},)),
        Reply(skipped="needs about 2.0 GiB"),
        Reply(error="Traceback"),
    ):
        assert Reply.from_json(reply.to_json()) == reply


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float16"])
def test_half_products_on_a_cpu_without_half_instructions(
    monkeypatch, dtype_name
):
    """Where the CPU has no 16-bit instructions, a 16-bit product is the fp32 product
    rounded once, and the tracker counts the same tensors as a native one."""
    from helpers._measure import _half
    from helpers._tensor_tracker import TensorMemoryTracker

    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
    b = torch.randn(64, 32, generator=torch.Generator().manual_seed(1))
    a, b = a.to(dtype), b.to(dtype)
    bias = torch.ones(32, dtype=dtype)
    monkeypatch.setattr(_half, "native_half_matmul", lambda dtype: False)
    current = torch.utils._python_dispatch._get_current_dispatch_mode
    with _half.half_matmuls_in_fp32(dtype, "cpu"):
        assert current() is not None  # the products go through its mode
        with TensorMemoryTracker() as tracker:
            tracker.add([a, b, bias])
            product = a @ b
            summed = torch.addmm(bias, a, b)
            batched = torch.bmm(a[None], b[None])
    assert product.dtype == summed.dtype == batched.dtype == dtype
    assert torch.equal(product, (a.float() @ b.float()).to(dtype))
    assert torch.equal(summed, (a.float() @ b.float() + 1).to(dtype))
    assert torch.equal(batched[0], product)
    # the inputs and three 8 x 32 results, in 16 bits; no fp32 copy is counted
    assert tracker.peak_bytes == (8 * 64 + 64 * 32 + 32 + 3 * 8 * 32) * 2
    # fp32, or a GPU's tensors: no mode is entered
    assert current() is None
    for block in (
        _half.half_matmuls_in_fp32(torch.float32, "cpu"),
        _half.half_matmuls_in_fp32(dtype, "cuda"),
    ):
        with block:
            assert current() is None
