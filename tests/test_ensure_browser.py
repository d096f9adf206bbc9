"""``make test``'s first step: Chromium is there, or installed, or the run stops at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "ensure_browser.sh"


def _run(
    path_dir: Path, *args: str, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": str(path_dir), **env},
    )


def _tool(folder: Path, name: str, body: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/bash\n{body}\n")
    tool.chmod(0o755)


def test_a_browser_on_the_path_is_used(tmp_path):
    _tool(tmp_path, "chromium", "exit 0")
    done = _run(tmp_path)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_chromium_env_names_the_browser(tmp_path):
    _tool(tmp_path, "my-chrome", "exit 0")
    assert _run(tmp_path, CHROMIUM="my-chrome").returncode == 0


def test_without_root_or_sudo_it_stops_at_once_with_the_command(tmp_path):
    _tool(tmp_path, "id", "echo 1000")  # not root, and no sudo on the PATH
    start = time.perf_counter()
    done = _run(tmp_path)
    assert done.returncode == 1 and time.perf_counter() - start < 5
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "sudo apt-get install -y --no-install-recommends chromium"
        in lines[0]
    )


def test_sudo_that_asks_for_a_password_counts_as_no_sudo(tmp_path):
    _tool(tmp_path, "id", "echo 1000")
    # `sudo -n true` fails: a password would be needed
    _tool(tmp_path, "sudo", "exit 1")
    done = _run(tmp_path)
    assert done.returncode == 1 and "sudo apt-get" in done.stderr


def test_as_root_it_installs_with_apt_get(tmp_path):
    log = tmp_path / "apt.log"
    _tool(tmp_path, "id", "echo 0")
    _tool(tmp_path, "apt-get", f'echo "$@" >> {log}')
    done = _run(tmp_path)
    assert done.returncode == 0
    assert log.read_text().splitlines() == [
        "update -qq",
        "install -y --no-install-recommends chromium -qq",
    ]


def test_check_says_it_can_install_and_installs_nothing(tmp_path):
    log = tmp_path / "apt.log"
    _tool(tmp_path, "id", "echo 0")
    _tool(tmp_path, "apt-get", f'echo "$@" >> {log}')
    done = _run(tmp_path, "--check")
    assert done.returncode == 0 and done.stdout == ""
    assert not log.exists()


def test_check_without_root_or_sudo_stops_with_the_command(tmp_path):
    _tool(tmp_path, "id", "echo 1000")
    done = _run(tmp_path, "--check")
    assert done.returncode == 1 and "sudo apt-get install" in done.stderr
