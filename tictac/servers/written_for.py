"""The library releases each patch or private read was written for, checked as the server starts.

A module under game/storage/ or tictac/servers/ that patches a library, copies
its code or reads its private parts declares ``WRITTEN_FOR``: each
distribution it leans on and the release series (``major.minor``) it was
written and tested against. tictac.asgi hands them all to :func:`check` as
it loads, so every server (daphne, uvicorn, runserver) refuses to start on
another series, with a message that names the module, rather than run on
internals that may have moved. To upgrade: run the module's
``game/tests/test_upgrade_<library>_internals.py`` against the new release,
mend what it finds, then change ``WRITTEN_FOR``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from types import ModuleType


class LibraryVersionError(RuntimeError):
    """An installed library is of a release series a patch or private read was not written for."""


def series(release: str) -> str:
    """``"5.2"`` for ``"5.2.19"``: the part of a release a patch is written for."""
    return ".".join(release.split(".")[:2])


def check(*modules: ModuleType) -> None:
    """Raise :class:`LibraryVersionError` for the first module whose ``WRITTEN_FOR`` the installed libraries break."""
    for module in modules:
        written_for: Mapping[str, str] = module.WRITTEN_FOR
        for distribution, expected in written_for.items():
            installed = version(distribution)
            if series(installed) != expected:
                raise LibraryVersionError(
                    f"{module.__file__} was written for {distribution} {expected}, and {installed} is installed:"
                    f" check what it uses against this release (its test_upgrade_*_internals.py test module),"
                    f" then change its WRITTEN_FOR."
                )
