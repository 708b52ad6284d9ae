"""The start of the computer's search process (game.bots): it ends when its server does.

The server's event loop starts the search process (``spawn``), which runs
only this and ``game.bot``. A server that exits cleanly shuts it down, but
one that is killed (SIGKILL after a stop timed out, the OOM killer) would
leave it behind, holding multiprocessing's resource tracker with it. So the
process asks Linux for a SIGTERM when its parent ends, however it ends.
Standard library only: the search process never sets Django up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> None:
    """Run in the search process as it starts: SIGTERM this process when ``parent_pid`` ends."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the server was gone before the prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
