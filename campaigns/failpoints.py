"""Crash points for the crash-recovery tests: ``FAILPOINTS=publish.after_call`` makes the process
SIGKILL itself there, the way a power cut or an OOM kill would. Never set it in production."""

from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    armed = os.environ.get("FAILPOINTS", "")
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
