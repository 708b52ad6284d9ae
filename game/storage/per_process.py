"""What this process keeps in memory, in one registry.

Each per-process object (the game cache, presence's store, the sockets, the
rate limits' buckets, the computer's rooms and searches, compiled SQL, the
mail thread...) is made once, at module level, through :func:`kept`, and has
a ``reset()`` that makes it as a new process's. :func:`reset_all` resets
every one: the tests start each from there (game/tests/conftest.py), and
game/tests/test_per_process.py fails for a module-level object with a
``reset()`` that was not made through :func:`kept`.
"""

from __future__ import annotations

from typing import Protocol, TypeVar


class Resettable(Protocol):
    def reset(self) -> None: ...


Kept = TypeVar("Kept", bound=Resettable)

_kept: list[Resettable] = []


def kept(thing: Kept) -> Kept:
    """``thing``, registered as part of this process's memory."""
    _kept.append(thing)
    return thing


def everything_kept() -> tuple[Resettable, ...]:
    return tuple(_kept)


def reset_all() -> None:
    """Make everything this process keeps as a new process's (in the order it was made)."""
    for thing in _kept:
        thing.reset()
