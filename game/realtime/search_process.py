"""The start of the computer's search process (game.realtime.computer_turns).

It yields the CPU to its server, and ends when it does.

The server's event loop starts the search process (``spawn``), which runs
only this and ``game.domain.search`` (with ``game.domain.analysis``, which searches through
it). A server that exits cleanly shuts it down, but
one that is killed (SIGKILL after a stop timed out, the OOM killer) would
leave it behind, holding multiprocessing's resource tracker with it. So the
process asks Linux for a SIGTERM when its parent ends, however it ends.
It also runs at a lower priority than its server (``SEARCH_NICENESS``): when
the cores are short (two, shared with Redis and the database), the event
loop answering every person's move goes first, and the search, which stops
on a wall clock, searches a little less deep. Standard library only: the
search process never sets Django up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1

SEARCH_NICENESS = 10
"""Added to the server's niceness in its search process (Unix; at most 19 in all)."""


def start(parent_pid: int) -> None:
    """The search process's initializer: lower its priority, and end it with ``parent_pid``."""
    if hasattr(os, "nice"):
        os.nice(SEARCH_NICENESS)
    end_with_parent(parent_pid)


def end_with_parent(parent_pid: int) -> None:
    """Run in the search process as it starts: SIGTERM this process when ``parent_pid`` ends."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the server was gone before the prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
