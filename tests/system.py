"""What the tests that run real system components share (tests/pgbouncer.py, tests/pgcron.py,
the browser and JavaScript tests): installing a Debian package where it is missing, the npm
packages a folder's lock file pins, and servers that die with the process that started them.

Needs only the standard library, so bench scripts can import it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class InstallFailed(RuntimeError):
    """The package cannot be installed here; the message says why."""


def apt_install(package: str, *, missing: str, timeout: float, recommends: bool = True) -> None:
    """`apt-get update` then `apt-get install -y package`, quietly, as root, within timeout
    seconds. missing names what the caller did not find (for the messages)."""
    if os.geteuid() != 0:
        raise InstallFailed(
            f"{missing} is not installed and this is not root, so it cannot be installed here:"
            f" run `apt-get install -y {package}` as root"
        )
    apt = shutil.which("apt-get")
    if apt is None:
        raise InstallFailed(f"{missing} is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + timeout
    lock_wait = ["-o", "DPkg::Lock::Timeout=120"]
    extra = [] if recommends else ["--no-install-recommends"]
    for command in (
        [apt, "-qq", *lock_wait, "update"],
        [apt, "-qq", "-y", *lock_wait, "install", *extra, package],
    ):
        try:
            done = subprocess.run(  # noqa: S603 - a fixed command, no input from outside
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InstallFailed(
                f"installing {package} took longer than {timeout:.0f} s ({' '.join(command)})"
            ) from None
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-800:]
            raise InstallFailed(f"`{' '.join(command)}` failed ({done.returncode}): {output}")


# Looked up here, not in the child: loading a library between fork and exec is not safe.
_PRCTL: Any = None
if sys.platform == "linux":
    with contextlib.suppress(OSError, AttributeError):
        _PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def npm_ci(folder: Path, package: str) -> None:
    """`npm ci` in folder (its lock file, no scripts) unless its node_modules already holds the
    version of `package` its package.json pins. InstallFailed says why it could not be."""
    pinned = json.loads((folder / "package.json").read_text())["dependencies"][package]
    installed = folder / "node_modules" / package / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == pinned:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise InstallFailed(f"{package} needs npm to be installed in {folder}; npm is not on PATH")
    done = subprocess.run(  # noqa: S603 - npm from PATH, on the folder's own lock file
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise InstallFailed(
            f"npm ci in {folder} failed (it needs the npm registry):\n{done.stderr}"
        )


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A preexec_fn that has the child get `sig` when the process that started it dies, however
    it dies (Linux's parent-death signal, set after any switch to an unprivileged user, which
    would clear it); None where the platform has none."""
    if _PRCTL is None:
        return None
    prctl = _PRCTL

    def arm() -> None:  # pragma: no cover - runs in the child, between fork and exec
        prctl(1, int(sig))  # PR_SET_PDEATHSIG

    return arm
