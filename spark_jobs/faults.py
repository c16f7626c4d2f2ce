"""Crash points for fault-injection tests: SIGKILL the process at a named point.

Set LAKEHOUSE_CRASH_AT to a point name (e.g. `silver:after_history:clients`) to kill the job
there, as a lost EMR node or an OOM kill would. Unset, every call is a no-op.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("LAKEHOUSE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
