"""Models that work offline, built or found on first use (machinery of the tiny profile).

* :func:`helpers._e5_small.e5_small_folder` (its own module): the tiny profile's real
  pretrained, multilingual baseline.
* :func:`tiny_t5_folder`: a random-init T5 with a SentencePiece tokenizer trained on
  generated reviews, built deterministically into the book cache on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ._files import staged
from .cache import book_cache_dir

#: The file that marks a checkpoint folder's weights as random-init; evaluation
#: (:func:`helpers.evaluate_by_language`) refuses to score such a model.
RANDOM_WEIGHTS_MARKER = "RANDOM_WEIGHTS"

TINY_T5_VERSION = (
    "2"  # bump when the recipe below changes, so old builds are rebuilt
)


_COMPLETE_MARKER = ".complete"


def _tokenizer_corpus() -> list[str]:
    from ._reviews_data import generate_reviews

    frames = generate_reviews(n_train=2000, n_test=500, seed=7)
    return [text for frame in frames.values() for text in frame["text"]]


def _build_tiny_t5(folder: Path) -> None:
    import sentencepiece as spm
    import torch
    from transformers import T5Config, T5Model, T5Tokenizer

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(_tokenizer_corpus()), encoding="utf-8")
    spm.set_random_generator_seed(0)
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spiece"),
        vocab_size=512,
        character_coverage=1.0,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    corpus.unlink()
    (folder / "spiece.vocab").unlink()
    pieces = spm.SentencePieceProcessor(
        model_file=str(folder / "spiece.model")
    )
    vocab = [
        (pieces.id_to_piece(i), pieces.get_score(i))
        for i in range(pieces.get_piece_size())
    ]
    (
        folder / "spiece.model"
    ).unlink()  # its header records the temporary paths used above
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=100)
    tokenizer.save_pretrained(folder)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=64,
        d_ff=128,
        d_kv=16,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(0)
    T5Model(config).save_pretrained(folder)
    (folder / RANDOM_WEIGHTS_MARKER).write_text(
        "Random-init weights: scores of a model trained from them are chance.\n",
        encoding="utf-8",
    )


def build_staged(
    folder: Path,
    build: Callable[[Path], None],
    is_complete: Callable[[Path], bool] | None = None,
) -> Path:
    """Return ``folder``, building it first unless it is complete already.

    ``build`` fills a fresh temporary folder beside ``folder`` (same file system); only
    when it returns and the result is complete is that folder renamed to ``folder``,
    replacing an incomplete one. A failed build leaves nothing behind, so a folder that
    looks complete always is.

    Parameters
    ----------
    folder
        The folder to return.
    build
        Fills the empty folder it is given; it writes the marker that ``is_complete``
        checks.
    is_complete
        Whether a folder is complete; by default, whether it holds ``.complete``.

    Raises
    ------
    RuntimeError
        If ``build`` returned a folder that is not complete.
    """
    complete = is_complete or (
        lambda path: (path / _COMPLETE_MARKER).is_file()
    )
    if complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with staged(folder, folder=True) as staging:
        build(staging)
        if not complete(staging):
            raise RuntimeError(f"building {folder.name} left it incomplete")
    return folder


def tiny_t5_folder() -> Path:
    """Folder of a small random-init T5 (encoder 2 layers, d_model 64) with its tokenizer.

    Built offline on first use into ``<book cache>/checkpoints/tiny-t5-v<N>`` (seconds),
    the same bytes every time; rebuilt when the folder is missing or incomplete.
    """

    def build(staging: Path) -> None:
        _build_tiny_t5(staging)
        (staging / _COMPLETE_MARKER).write_text(TINY_T5_VERSION)

    return build_staged(
        book_cache_dir() / "checkpoints" / f"tiny-t5-v{TINY_T5_VERSION}",
        build,
    )
