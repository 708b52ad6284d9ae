"""The import rules of docs/architecture.md that `.importlinter` cannot say, and proof that it says the rest;
and the line limit of every module.

`lint-imports` (run by `python3 run.py test`) checks the layers and the
forbidden imports. It sees a third-party package only whole (``channels``,
not ``channels.layers``), and it cannot say "the standard library only": those
two rules are read here from the same import graph (grimp's, which
import-linter builds on). The last test breaks each contract on a copy of
the code and expects `lint-imports` to notice, so that a contract that no
longer matches any module cannot pass unnoticed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# Below game.realtime nothing publishes: the one reader of the channel layers' private parts reads.
BELOW_REALTIME = ("game.domain", "game.models", "game.storage", "game.actions", "game.messages")
CHANNEL_LAYER_READER = "game.storage.layer_internals"

MAX_LINES = 450
"""No module outside tests and migrations is longer (the project's rule; the pages' scripts: test_static_modules)."""
GENERATED = {"game/domain/confusables.py"}
"""Data written by ``manage.py confusables_table`` from Unicode's file, not code anyone reads: over the limit."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("game", "tictac", include_external_packages=True)


def _modules_of(graph: grimp.ImportGraph, package: str) -> list[str]:
    return sorted(module for module in graph.modules if module == package or module.startswith(package + "."))


def test_the_domain_imports_the_standard_library_alone(graph: grimp.ImportGraph) -> None:
    breaches = [
        f"{module} imports {imported}"
        for module in _modules_of(graph, "game.domain")
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("game.domain") and imported.split(".")[0] not in sys.stdlib_module_names
    ]
    assert breaches == []


def test_below_realtime_only_the_layers_reader_imports_channels_layers(graph: grimp.ImportGraph) -> None:
    breaches = [
        f"{module}:{detail['line_number']} {detail['line_contents']}"
        for package in BELOW_REALTIME
        for module in _modules_of(graph, package)
        if module != CHANNEL_LAYER_READER
        for detail in graph.get_import_details(importer=module, imported="channels")
        if "channels.layers" in detail["line_contents"]
    ]
    assert breaches == []
    reader = graph.get_import_details(importer=CHANNEL_LAYER_READER, imported="channels")
    assert any("channels.layers" in detail["line_contents"] for detail in reader)  # the check sees the imports


def _lint_imports(root: Path) -> str:
    done = subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=root, capture_output=True, text=True)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def code_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """game/ and tictac/ as they are, with .importlinter, in a folder of their own."""
    copy = tmp_path_factory.mktemp("code")
    for package in ("game", "tictac"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_code_keeps_every_contract(code_copy: Path) -> None:
    assert "0 broken" in _lint_imports(code_copy)


@pytest.mark.slow  # a lint-imports run of two seconds each
@pytest.mark.parametrize(
    ("module", "added", "contract"),
    [
        ("game/models.py", "from game.actions import write", "game: each layer"),
        ("game/actions/write.py", "from game.messages import state", "game: each layer"),
        ("game/realtime/broadcast.py", "from game.web import access", "game: each layer"),
        ("game/newcomer.py", "from game.domain import rules", "game: each layer"),
        ("game/web/room_consumer.py", "from game.web import room_views", "game.web: only the URL confs"),
        ("game/web/forms.py", "from game.web import sockets", "game.web: only the URL confs"),
        ("game/models.py", "from tictac import settings", "game never imports tictac"),
        ("tictac/settings.py", "import game.domain.rules", "Of tictac, only"),
        ("game/domain/rules.py", "import asyncio", "game.domain is pure"),
        ("game/domain/rules.py", "from django.conf import settings", "game.domain is pure"),
        ("game/messages/state.py", "from game.storage import cached_games", "game.messages builds from values"),
        ("game/actions/write.py", "import channels_redis", "Below game.realtime nothing"),
        ("game/realtime/shards.py", "from game.realtime import room_states", "No import cycles"),  # same layer
    ],
)
def test_lint_imports_breaks_the_contract_an_import_breaks(
    code_copy: Path, tmp_path: Path, module: str, added: str, contract: str
) -> None:
    tree = tmp_path / "code"
    shutil.copytree(code_copy, tree)
    path = tree / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{added}\n")
    report = _lint_imports(tree)
    assert "Broken contracts" in report, report
    # An upward import makes a cycle too, so other contracts may break beside the one named.
    assert f"\n{contract}" in report.split("Broken contracts")[1], report


def _tracked_python_modules() -> list[str]:
    """Every .py file git tracks, outside tests and migrations, as paths from the root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [
        path
        for path in listed.split("\0")
        if path and not {"tests", "migrations"} & set(Path(path).parts) and (ROOT / path).exists()
    ]


def test_no_module_outside_tests_and_migrations_is_over_the_line_limit() -> None:
    modules = _tracked_python_modules()
    assert set(modules) >= GENERATED  # what is left out is still there, under that name
    assert set(modules) >= {"bench/runner.py", "testing/deploy_check.py", "run.py", "game/models.py"}
    lengths = {path: len((ROOT / path).read_text(encoding="utf-8").splitlines()) for path in modules}
    assert {path: lines for path, lines in lengths.items() if lines > MAX_LINES and path not in GENERATED} == {}
