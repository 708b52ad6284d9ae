"""The start-up check of what each patch and private read was written for (tictac.servers.written_for)."""

from __future__ import annotations

import types

import pytest

from tictac.servers.written_for import LibraryVersionError, check, series


def test_a_series_is_a_releases_major_and_minor() -> None:
    assert (series("5.2.19"), series("0.54.0"), series("26.10")) == ("5.2", "0.54", "26.10")


def test_a_module_written_for_the_installed_series_passes() -> None:
    check(types.SimpleNamespace(WRITTEN_FOR={"django": "5.2"}, __file__="patch.py"))  # type: ignore[arg-type]


def test_a_module_written_for_another_series_stops_the_start_naming_its_file() -> None:
    patch = types.SimpleNamespace(WRITTEN_FOR={"django": "4.2"}, __file__="game/storage/old_patch.py")
    with pytest.raises(
        LibraryVersionError, match=r"game/storage/old_patch.py was written for django 4.2, and 5\.2\.\d+"
    ):
        check(patch)  # type: ignore[arg-type]


def test_the_server_starts_only_after_checking_every_patch() -> None:
    from tictac import asgi

    assert asgi.application is not None  # tictac.asgi ran written_for.check on its way here
