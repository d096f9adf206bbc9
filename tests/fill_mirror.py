"""``make mirror MIRROR=<folder>`` (``python -m tests.fill_mirror <folder>``): fill a
mirror with everything the ``full`` profile downloads. Needs internet access.

A tool of the book's checkout, not of ``helpers``: only ``make`` runs it."""

from __future__ import annotations

from helpers._mirror import MIRROR_ENV, fill_mirror
from helpers._reviews_data import DATASET_FOLDER, DATASET_SHA1, DATASET_URL
from helpers.cache import NotOwnedError
from helpers.profiles import get_profile

import argparse
from pathlib import Path


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Fill a mirror folder with everything the full profile downloads."
    )
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    full = get_profile("full")
    try:
        size = fill_mirror(
            args.folder,
            [full.baseline_checkpoint_name, full.large_checkpoint_name],
            DATASET_URL,
            DATASET_SHA1,
            f"{DATASET_FOLDER}.zip",
        )
    except NotOwnedError as error:  # a folder of the user's
        raise SystemExit(f"make mirror stopped: {error}") from error
    except OSError as error:  # no network, a refused connection, a full disk
        raise SystemExit(
            f"make mirror stopped: {error}. It needs internet access and room "
            f"for about 13 GB in {args.folder}; run it again to resume."
        ) from error
    print(f"mirror ready: {args.folder.resolve()} ({size / 2**30:.1f} GiB)")
    print(f"use it with: export {MIRROR_ENV}={args.folder.resolve()}")


if __name__ == "__main__":
    _main()
