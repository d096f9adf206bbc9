"""``python -m helpers.will_it_fit``: the verdict, the largest batch and the terms for a
config read from a folder or known by name, and clear errors for what it does not know."""

from __future__ import annotations

import helpers
from helpers._will_it_fit_cli import main

import ast
import importlib
import runpy
import subprocess
import sys
from pathlib import Path

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
            ("invalid choice: 'RTX-9090'", "T4", "H200"),
        ),
        (
            ["--gpu", "T4", "--peft", "conv_lora"],
            ("invalid choice: 'conv_lora'", "bit_fit", "Ia3_lora_norm"),
        ),
        (["--gpu", "T4", "--batch", "0"], ("at least 1, got '0'",)),
    ],
    ids=["gpu", "method", "batch"],
)
def test_mistakes_are_refused_with_what_is_known(
    bert_folder, capsys, argv, message
):
    code, _, err = _run([bert_folder, *argv], capsys)
    assert code == 2 and all(part in err for part in message)


def test_an_unknown_architecture_or_an_unreachable_hub(
    tmp_path, capsys, monkeypatch
):
    import huggingface_hub.constants

    # offline as the tests are, also for this process's Hub client (read at its import)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    from transformers import GPT2Config

    GPT2Config().save_pretrained(tmp_path / "gpt2")
    code, _, err = _run([tmp_path / "gpt2", "--gpu", "T4"], capsys)
    assert code == 2 and "model_type 'gpt2'" in err and "xlm-roberta" in err
    code, _, err = _run([tmp_path, "--gpu", "T4"], capsys)
    assert code == 2 and "holds no config.json" in err
    # a Hub name cannot be fetched
    code, _, err = _run(["someone/some-model", "--gpu", "T4"], capsys)
    assert code == 2
    assert "could not fetch the config of 'someone/some-model'" in err
    assert "pass a local folder" in err


def test_the_command_runs_as_python_m_and_leaves_the_function_alone(
    bert_folder, capsys, monkeypatch
):
    """``python -m`` runs the module through runpy, as here, without importing it under
    its name; importing it is refused, so ``helpers.will_it_fit`` stays the function."""
    argv = ["--gpu", "T4", "--peft", "ia3_bias", "--checkpointing"]
    monkeypatch.setattr(
        sys, "argv", ["will_it_fit", str(bert_folder), *argv]
    )
    with pytest.raises(SystemExit) as done:
        runpy.run_module("helpers.will_it_fit", run_name="__main__")
    assert done.value.code == 0
    assert "It fits on a T4" in capsys.readouterr().out
    with pytest.raises(ImportError, match="is a command"):
        importlib.import_module("helpers.will_it_fit")
    assert callable(helpers.will_it_fit)


def test_the_command_loads_no_library_that_trains():
    """``import helpers`` and the command for a known name load none of torch,
    transformers, Lightning, AutoGluon, matplotlib, pandas or scipy: the command took
    10 s when ``import helpers`` imported them all."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['will_it_fit', 'google/flan-t5-xl', '--gpu', 'T4',\n"
        "            '--peft', 'ia3_bias', '--checkpointing']\n"
        "try:\n"
        "    runpy.run_module('helpers.will_it_fit', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(helpers.__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "It fits on a T4" in result.stdout
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    heavy = {"torch", "transformers", "lightning", "autogluon", "matplotlib"}
    assert loaded & (heavy | {"pandas", "scipy", "torchvision"}) == set()
