"""Mail sent on a thread of its own, never on the process's one database thread.

Page views run on the thread every socket's database calls use
(tictac/servers/one_thread.py), so a view that talked to an SMTP server would hold
up every game in the process for as long as the server took to answer. It
would also answer later when it had mail to send than when it had none,
which tells a stranger whether an address has an account. The view hands
its message here and answers at once; a failure to send is logged.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.core.mail import EmailMessage

from game.storage.per_process import kept

logger = logging.getLogger(__name__)


class Mailer:
    """One sending thread per process, made on first use; ``drain`` waits for what was handed over."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        # The one thread sends in order: once the last message handed over is done, all are.
        self._last: Future[None] | None = None

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` soon, on the mail thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")
        self._last = self._executor.submit(self._send, message)

    @staticmethod
    def _send(message: EmailMessage) -> None:
        try:
            message.send()
        except Exception as error:  # an SMTP server's refusal must not end the thread's later work
            logger.warning("mail not sent: %s: %s", error.__class__.__name__, error)

    def drain(self, timeout: float = 30) -> None:
        """Wait until every message handed over so far was sent or failed (tests, shutdown)."""
        if self._last is not None:
            wait([self._last], timeout=timeout)

    def reset(self) -> None:
        """Wait for what is pending, then start afresh as a new process would (tests)."""
        self.drain()
        self._last = None


mailer = kept(Mailer())
"""The process's mail thread."""
