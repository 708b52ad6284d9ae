"""Who is served next when one client has asked for far more than the others: a queue per client, in turn.

Pure (no I/O, no clock): :class:`FairQueue` only orders work, and its owner
(``game.realtime.computer_turns``) says when a piece of work starts and ends. Each client
(an address, or a session when there is none) has its own first-in,
first-out queue; the clients take turns, one item each, and a client may
have at most ``per_client`` items started and not yet done. So a client
with twenty-four items waiting delays another client's one item by at most
one item of its own, however early its twenty-four arrived.

>>> queue = FairQueue[str, str]()
>>> for search in ("a1", "a2", "a3"):
...     queue.push("10.0.0.1", search)
>>> queue.push("10.0.0.2", "b1")
>>> queue.pop()
('10.0.0.1', 'a1')
>>> queue.pop()  # the first address has one started: the other's turn, though it came last
('10.0.0.2', 'b1')
>>> queue.pop() is None  # each has one started
True
>>> queue.done("10.0.0.1")
>>> queue.pop()
('10.0.0.1', 'a2')
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

Client = TypeVar("Client", bound=Hashable)
Item = TypeVar("Item")


class FairQueue(Generic[Client, Item]):
    """Queues per client, served round-robin, with at most ``per_client`` items of a client started at once."""

    def __init__(self, *, per_client: int = 1) -> None:
        if per_client < 1:
            raise ValueError("per_client must be at least 1")
        self.per_client = per_client
        self._clients: OrderedDict[Client, deque[Item]] = OrderedDict()
        """Every client with items waiting or started, in turn: one goes to the back when it is served and
        again when an item of its own ends, so a client that arrives behind it is next."""
        self._started: dict[Client, int] = {}
        self._count = 0

    def push(self, client: Client, item: Item) -> None:
        """Queue ``item`` behind ``client``'s other items; a client new to the queue goes to the back."""
        self._clients.setdefault(client, deque()).append(item)
        self._count += 1

    def pop(self) -> tuple[Client, Item] | None:
        """The next item to start and its client, counted as started; ``None`` if every waiting item's client
        already has ``per_client`` started (or nothing waits)."""
        for client, items in self._clients.items():
            if items and self._started.get(client, 0) < self.per_client:
                item = items.popleft()
                self._count -= 1
                self._started[client] = self._started.get(client, 0) + 1
                self._clients.move_to_end(client)
                return client, item
        return None

    def done(self, client: Client) -> None:
        """One of ``client``'s started items has finished (or failed): its next may start, after the others'."""
        left = self._started[client] - 1
        if left:
            self._started[client] = left
        else:
            del self._started[client]
        if left or self._clients[client]:
            self._clients.move_to_end(client)
        else:
            del self._clients[client]

    def __len__(self) -> int:
        """How many items wait (started ones not counted)."""
        return self._count

    def waiting(self, client: Client) -> Iterator[Item]:
        """``client``'s waiting items, the next first."""
        return iter(tuple(self._clients.get(client, ())))

    def started(self, client: Client) -> int:
        return self._started.get(client, 0)
