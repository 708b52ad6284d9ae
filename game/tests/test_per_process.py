"""Everything a process keeps in memory is in one registry, which the tests reset before each test."""

from __future__ import annotations

import importlib
import pkgutil
import types

import game
from game.storage import per_process


def _modules() -> list[types.ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(game.__path__, "game.")
        if ".tests" not in info.name and ".migrations" not in info.name and ".management" not in info.name
    ]


def test_every_module_level_object_with_a_reset_is_kept_in_the_registry() -> None:
    modules = _modules()  # imported first: each registers what it keeps as it is imported
    kept = {id(thing) for thing in per_process.everything_kept()}
    unregistered = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        # The metrics (prometheus_client's) are counted for the process's life, never reset.
        if type(value).__module__.startswith("game.")
        and callable(getattr(value, "reset", None))
        and id(value) not in kept
    ]
    assert unregistered == []
    assert len(kept) >= 12  # the check finds them: the game cache, presence's store, the sockets...


def test_reset_all_resets_everything_kept() -> None:
    class Counted:
        resets = 0

        def reset(self) -> None:
            self.resets += 1

    counted = per_process.kept(Counted())
    try:
        per_process.reset_all()
        assert counted.resets == 1
    finally:
        per_process._kept.remove(counted)
