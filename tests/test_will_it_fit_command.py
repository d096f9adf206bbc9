"""``python -m helpers.will_it_fit``: the verdict, the largest batch and the terms for a
config read from a folder or known by name, and clear errors for what it does not know."""

from __future__ import annotations

import helpers
from helpers._will_it_fit_cli import main

import subprocess
import sys

import pytest


@pytest.fixture
def bert_folder(tmp_path):
    """A folder holding only the config.json of a BERT encoder (multilingual-e5-small's
    sizes)."""
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=250037,
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=1536,
    )
    config.save_pretrained(tmp_path / "e5")
    return tmp_path / "e5"


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_folder_gets_the_verdict_the_largest_batch_and_the_terms(
    bert_folder, capsys
):
    argv = [bert_folder, "--gpu", "T4", "--peft", "lora", "--checkpointing"]
    code, out, _ = _run(
        [*argv, "--batch", "32", "--lora-rank", "16"], capsys
    )
    config = helpers._will_it_fit_cli.load_config(str(bert_folder))
    estimate = helpers.estimate_training_memory(
        config,
        peft="lora",
        gradient_checkpointing=True,
        batch_size=32,
        gpu="T4",
        lora_rank=16,
    )
    assert code == 0
    assert "It fits on a T4" in out and "LoRA rank 16" in out
    assert f"estimated peak {estimate.total_gib:.2f}" in " ".join(
        out.split()
    )
    for term in ("weights", "AdamW's two moments", "activations kept"):
        assert term in out
    assert max(len(line) for line in out.splitlines()) <= 79
    largest = int(out.split("largest batch that fits: ")[1].split(".")[0])
    assert largest == helpers.will_it_fit(
        config,
        "T4",
        peft="lora",
        gradient_checkpointing=True,
        lora_rank=16,
    )


def test_a_known_name_that_does_not_fit(capsys):
    argv = ["google/flan-t5-xxl", "--gpu", "T4", "--peft", "full"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    assert "It does not fit on a T4" in out and "No batch fits" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--gpu", "RTX-9090"],
            "invalid choice: 'RTX-9090' (choose from T4",
        ),
        (
            ["--gpu", "T4", "--peft", "conv_lora"],
            "choose from full, bit_fit",
        ),
        (["--gpu", "T4", "--batch", "0"], "at least 1, got '0'"),
    ],
    ids=["gpu", "method", "batch"],
)
def test_mistakes_are_refused_with_what_is_known(
    bert_folder, capsys, argv, message
):
    code, _, err = _run([bert_folder, *argv], capsys)
    assert code == 2 and message in err


def test_an_unknown_architecture_or_an_unreachable_hub(tmp_path, capsys):
    from transformers import GPT2Config

    GPT2Config().save_pretrained(tmp_path / "gpt2")
    code, _, err = _run([tmp_path / "gpt2", "--gpu", "T4"], capsys)
    assert code == 2 and "model_type 'gpt2'" in err and "xlm-roberta" in err
    code, _, err = _run([tmp_path, "--gpu", "T4"], capsys)
    assert code == 2 and "holds no config.json" in err
    # the tests run offline (HF_HUB_OFFLINE): a Hub name cannot be fetched
    code, _, err = _run(["someone/some-model", "--gpu", "T4"], capsys)
    assert code == 2
    assert "could not fetch the config of 'someone/some-model'" in err
    assert "pass a local folder" in err


def test_the_command_runs_with_python_m_and_leaves_the_function_alone(
    bert_folder,
):
    with pytest.raises(ImportError, match="is a command"):
        import helpers.will_it_fit  # noqa: F401
    assert callable(helpers.will_it_fit)
    done = subprocess.run(
        [sys.executable, "-m", "helpers.will_it_fit", str(bert_folder)]
        + ["--gpu", "T4", "--peft", "ia3_bias", "--checkpointing"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "It fits on a T4" in done.stdout
