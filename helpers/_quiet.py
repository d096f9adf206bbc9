"""Keep notebook output to what a reader needs: results, not library chatter.

Lightning logs its device summary, model summary, checkpoint paths (absolute paths of the
machine) and advertising tips at INFO level; transformers draws progress bars while it
loads weights; a few deprecation warnings come from inside the libraries and say nothing
the reader can act on. Real errors and warnings about the reader's own input still show.
"""

from __future__ import annotations

import logging
import os
import warnings
from types import ModuleType

_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    # MultiModalPredictor.load names the checkpoint it loads, an absolute path
    "autogluon.multimodal.utils.load",
)
_LIBRARY_WARNINGS = (
    # AutoGluon on CPU: the book's tiny profile runs on CPU on purpose.
    (UserWarning, r"Only CPU is detected in the instance"),
    # Lightning's own use of a torch API it deprecated (lightning 2.6 with torch 2.13).
    (Warning, r".*isinstance\(treespec, LeafSpec\)"),
    # Lightning, for tiny data sets: fewer batches than its logging interval.
    (Warning, r"The number of training batches"),
    # autogluon.multimodal imports pkg_resources.
    (UserWarning, r"pkg_resources is deprecated"),
    # AutoGluon gives BERT-style models one text segment where their config has two, on purpose.
    (UserWarning, r"provided text_segment_num"),
    # AutoGluon when a profile keeps fewer tokens than the model could take: the tiny profile
    # does on purpose (Profile.max_text_len); the warning names the machine's paths.
    (UserWarning, r"provided max length\W+\d+ is smaller than"),
    # tqdm and rich (Lightning's bar, full profile) in a kernel without ipywidgets: they fall
    # back to text bars, which work; Colab has ipywidgets.
    (Warning, r"IProgress not found"),
    (UserWarning, r'install "ipywidgets" for Jupyter support'),
)


def quiet_library_warnings() -> None:
    """Hide the libraries' warnings that say nothing a reader can act on, and their
    loggers' INFO messages. Run by ``import helpers``, before any library is imported."""
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for category, message in _LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    quiet_loggers()


def quiet_loggers() -> None:
    """Raise Lightning's and AutoGluon's loggers to WARNING. Run again once
    ``lightning.pytorch`` is imported: it sets its loggers to INFO when imported."""
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def quiet_transformers(transformers_logging: ModuleType) -> None:
    """Show only transformers' errors, and no loading bars (``transformers_logging``:
    ``transformers.utils.logging``, just imported). Bars come back for a profile that
    shows progress (:func:`helpers.get_profile`)."""
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def show_download_progress(show: bool) -> None:
    """Switch the Hugging Face hub's download bars and transformers' loading bars on or off."""
    from huggingface_hub.utils import (
        disable_progress_bars,
        enable_progress_bars,
    )
    from transformers.utils import logging as transformers_logging

    if show:
        enable_progress_bars()
        transformers_logging.enable_progress_bar()
    else:
        disable_progress_bars()
        transformers_logging.disable_progress_bar()
