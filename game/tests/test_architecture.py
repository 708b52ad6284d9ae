"""The import rules of docs/architecture.md, checked by reading every module's imports with ``ast``.

Nothing is imported to do it: each module of ``game/`` and ``tictac/`` (the
tests aside) is parsed, and its ``import`` statements, at any depth, are
resolved to absolute names. Imports under ``if TYPE_CHECKING:`` are kept
apart: they never run, so the rules are about the others.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("game", "tictac")

# docs/architecture.md, "The parts": bottom first. A module may import its own layer and the
# layers below it. Patterns are fnmatch patterns over module names.
LAYERS: dict[str, tuple[str, ...]] = {
    "plumbing": (
        "tictac",
        "tictac.settings",
        "tictac.errors",
        "tictac.headers",
        "tictac.processes",
        "tictac.embedded_redis",
        "tictac.servers",
        "tictac.servers.uvicorn_http",
        "tictac.servers.uvicorn_websockets",
        "tictac.servers.daphne_compat",
        "tictac.origin",
        "tictac.servers.one_thread",
        "tictac.served_by",
    ),
    "pure": (
        "game",
        "game.domain",
        "game.actions",
        "game.storage",
        "game.realtime",
        "game.messages",
        "game.web",
        "game.domain.rules",
        "game.domain.clocks",
        "game.domain.search",
        "game.domain.glicko2",
        "game.domain.protocol",
        "game.domain.notation",
        "game.domain.token_bucket",
        "game.domain.state_order",
        "game.domain.pools",
        "game.domain.names",
        "game.domain.confusables",
        "game.domain.fair_queue",
    ),
    "side": (
        "game.realtime.presence",
        "game.realtime.presence_entries",
        "game.realtime.presence_redis",
        "game.realtime.budgets",
        "game.storage.group_commit",
        "game.storage.session_lifetime",
        "game.storage.session_store",
        "game.web.access",
        "game.web.qr",
        "game.realtime.message_limits",
        "game.web.socket_session",
        "game.storage.compiled_reads",
        "game.realtime.search_process",
        "game.realtime.shards",
        "game.storage.layer_internals",
        "game.realtime.seeks",
        "game.web.mailer",
        "game.web.lockouts",
    ),
    "models": ("game.models", "game.migrations", "game.migrations.*"),
    "services": (
        "game.actions.write",
        "game.actions.identities",
        "game.actions.turns",
        "game.actions.rooms",
        "game.actions.seating",
        "game.actions.moves",
        "game.actions.endings",
        "game.actions.offers",
        "game.actions.rematch",
        "game.actions.computer",
        "game.actions.chat",
        "game.actions.hosts",
        "game.actions.ratings",
        "game.storage.latest_game",
        "game.storage.cached_games",
        "game.realtime.presence_readings",
    ),
    "messages": ("game.messages.state", "game.messages.room_states", "game.messages.lobby", "game.realtime.metrics"),
    "publishing": (
        "game.realtime.broadcast",
        "game.realtime.computer_turns",
        "game.realtime.referee",
        "game.realtime.local_sockets",
        "game.web.host_actions",
        "game.realtime.lobby_feed",
    ),
    "edges": (
        "game.web.sockets",
        "game.web.room_consumer",
        "game.web.lobby_consumer",
        "game.web.pool_consumer",
        "game.web.views",
        "game.web.account_views",
        "game.web.replay_views",
        "game.web.rating_views",
        "game.web.qr_views",
        "game.web.forms",
        "game.admin",
    ),
    "wiring": (
        "tictac.asgi",
        "tictac.urls",
        "game.routing",
        "game.urls",
        "game.apps",
        "game.management",
        "game.management.*",
    ),
}

PURE = LAYERS["pure"]
# Standard-library modules that do I/O or run concurrently: not for the pure modules.
IO_MODULES = frozenset(
    {"asyncio", "concurrent", "multiprocessing", "os", "selectors", "socket", "sqlite3", "subprocess", "threading"}
)
VIEW_MODULES = (
    "game.web.views",
    "game.web.account_views",
    "game.web.replay_views",
    "game.web.rating_views",
    "game.web.qr_views",
)
# Only these may reach the channel layer (or Redis's layer) directly: they publish.
PUBLISHING_LAYERS = ("publishing", "edges", "wiring")
CHANNEL_LAYER_MODULES = ("channels.layers", "channels_redis")
# The modules that build messages from values: they read nothing (no Redis, presence, caches), so at
# run time they import the pure modules, the models, and the service layer's pure helpers alone.
BUILT_FROM_VALUES = ("game.messages.state",)
BUILDERS_MAY_IMPORT = ("game.models", "game.actions.endings", "game.actions.rematch", "game.actions.write")
# Below them, only the adapter of the layers' private parts (it reads, never publishes): shards
# (presence, budgets) take channels-redis's choice of host from it.
CHANNEL_LAYER_READERS = ("game.storage.layer_internals",)
# The type-only imports that point up a layer, each for annotations alone (docs/architecture.md).
TYPE_ONLY_UPWARDS = {("game.realtime.local_sockets", "game.web.room_consumer")}


@dataclass(frozen=True)
class Import:
    module: str
    """The imported module, absolute (``from . import rules`` in game/models.py: ``game.domain.rules``)."""
    line: int
    type_only: bool


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_modules(root: Path) -> dict[str, list[Import]]:
    """Every module of the packages under ``root`` (their tests aside), with the imports it makes."""
    paths = {
        module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if "tests" not in path.relative_to(root).parts
    }
    return {name: list(_imports(path, name, set(paths))) for name, path in paths.items()}


def _imports(path: Path, name: str, known: set[str]) -> Iterator[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node, type_only in _import_nodes(ast.parse(path.read_text(), str(path)), type_only=False):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, type_only)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield Import(submodule if submodule in known else base, node.lineno, type_only)


def _import_nodes(node: ast.AST, *, type_only: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``node``, at any depth, and whether it is under ``if TYPE_CHECKING:``."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_only
    elif isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _import_nodes(child, type_only=True)
        for child in node.orelse:
            yield from _import_nodes(child, type_only=type_only)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _import_nodes(child, type_only=type_only)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def layer_of(module: str) -> str | None:
    for layer, patterns in LAYERS.items():
        if any(fnmatchcase(module, pattern) for pattern in patterns):
            return layer
    return None


def _rank(module: str) -> int:
    """The module's layer, counted from the bottom; an unplaced module (see ``unplaced``) counts as the top."""
    layer = layer_of(module)
    return len(LAYERS) if layer is None else list(LAYERS).index(layer)


def _is_local(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def _top(module: str) -> str:
    return module.split(".")[0]


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _runtime(modules: dict[str, list[Import]]) -> Iterator[tuple[str, Import]]:
    for name, imports in modules.items():
        for imported in imports:
            if not imported.type_only:
                yield name, imported


# --- The rules: each returns the breaches it finds, as "module:line imports other (why)". ----------


def unplaced(modules: dict[str, list[Import]]) -> list[str]:
    return [f"{name} (give it a layer here and in docs/architecture.md)" for name in modules if layer_of(name) is None]


def upward_imports(modules: dict[str, list[Import]]) -> list[str]:
    return [
        f"{name}:{imported.line} imports {imported.module} ({layer_of(name)} is below {layer_of(imported.module)})"
        for name, imported in _runtime(modules)
        if imported.module in modules and _rank(imported.module) > _rank(name)
    ]


def impure_imports(modules: dict[str, list[Import]]) -> list[str]:
    breaches = []
    for name, imported in _runtime(modules):
        if layer_of(name) != "pure" or imported.module == "game":
            continue
        if _is_local(imported.module):
            allowed = layer_of(imported.module) == "pure"
        else:
            allowed = _top(imported.module) in sys.stdlib_module_names and _top(imported.module) not in IO_MODULES
        if not allowed:
            breaches.append(f"{name}:{imported.line} imports {imported.module} (pure: standard library, no I/O)")
    return breaches


# Besides the routing, only the consumer modules import each other: for their base classes.
CONSUMERS = ("game.web.sockets", "game.web.room_consumer", "game.web.lobby_consumer", "game.web.pool_consumer")
CONSUMERS_IMPORTED_BY = ("game.routing", *CONSUMERS)


def consumers_imported(modules: dict[str, list[Import]]) -> list[str]:
    return [
        f"{name}:{imported.line} imports {imported.module} (only {', '.join(CONSUMERS_IMPORTED_BY)} may)"
        for name, imported in _runtime(modules)
        if imported.module in CONSUMERS and name not in CONSUMERS_IMPORTED_BY
    ]


def views_imported(modules: dict[str, list[Import]]) -> list[str]:
    return [
        f"{name}:{imported.line} imports {imported.module} (only the URL confs may)"
        for name, imported in _runtime(modules)
        if imported.module in VIEW_MODULES and name not in ("game.urls", "tictac.urls")
    ]


def reads_in_builders(modules: dict[str, list[Import]]) -> list[str]:
    breaches = []
    for name, imported in _runtime(modules):
        if name not in BUILT_FROM_VALUES or imported.module == "game":
            continue
        if _is_local(imported.module):
            allowed = layer_of(imported.module) == "pure" or imported.module in BUILDERS_MAY_IMPORT
        else:
            allowed = _top(imported.module) in sys.stdlib_module_names and _top(imported.module) not in IO_MODULES
        if not allowed:
            breaches.append(f"{name}:{imported.line} imports {imported.module} (it builds from values, reads nothing)")
    return breaches


def publishing_below_publishers(modules: dict[str, list[Import]]) -> list[str]:
    return [
        f"{name}:{imported.line} imports {imported.module} (only publishers reach the channel layer)"
        for name, imported in _runtime(modules)
        if _in(imported.module, CHANNEL_LAYER_MODULES)
        and layer_of(name) not in PUBLISHING_LAYERS
        and name not in CHANNEL_LAYER_READERS
    ]


def project_app_crossings(modules: dict[str, list[Import]]) -> list[str]:
    breaches = []
    for name, imported in _runtime(modules):
        if _top(name) == "game" and _top(imported.module) == "tictac":
            breaches.append(f"{name}:{imported.line} imports {imported.module} (game never imports tictac)")
        if _top(name) == "tictac" and _top(imported.module) == "game" and name not in ("tictac.asgi", "tictac.urls"):
            breaches.append(f"{name}:{imported.line} imports {imported.module} (only tictac.asgi and urls may)")
    return breaches


def cycles(modules: dict[str, list[Import]]) -> list[str]:
    graph = {
        name: sorted({i.module for i in imports if not i.type_only and i.module in modules})
        for name, imports in modules.items()
    }
    found: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for imported in graph[name]:
            if state.get(imported) == "open":
                found.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported, [*path, imported])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def unlisted_type_only_upwards(modules: dict[str, list[Import]]) -> list[str]:
    return [
        f"{name}:{imported.line} imports {imported.module} for types only (list it in the doc and TYPE_ONLY_UPWARDS)"
        for name, imports in modules.items()
        for imported in imports
        if imported.type_only
        and imported.module in modules
        and _rank(imported.module) > _rank(name)
        and (name, imported.module) not in TYPE_ONLY_UPWARDS
    ]


Rule = Callable[[dict[str, list[Import]]], list[str]]

RULES: list[Rule] = [
    unplaced,
    upward_imports,
    impure_imports,
    consumers_imported,
    views_imported,
    reads_in_builders,
    publishing_below_publishers,
    project_app_crossings,
    cycles,
    unlisted_type_only_upwards,
]


@pytest.fixture(scope="module")
def modules() -> dict[str, list[Import]]:
    return read_modules(ROOT)


def test_the_reader_finds_the_imports_the_code_makes(modules: dict[str, list[Import]]) -> None:
    # Against a reader that quietly finds nothing, which every rule would pass.
    def imported_by(name: str) -> set[str]:
        return {i.module for i in modules[name]}

    assert {"game.domain.rules", "game.domain.clocks"} <= imported_by("game.models")  # from . import clocks, rules
    assert "game.domain.rules" in imported_by("game.domain.search")  # from game import rules
    assert "game.web.room_consumer" in imported_by("game.routing")
    assert "game.web.account_views" in imported_by("tictac.urls")
    assert "django.db" in imported_by("game.actions.write")
    assert "game.actions.rooms" in imported_by("game.web.views")
    assert len(modules) > 40


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_code_keeps_the_rule(rule: Rule, modules: dict[str, list[Import]]) -> None:
    assert rule(modules) == []


def test_every_listed_type_only_exception_is_still_there(modules: dict[str, list[Import]]) -> None:
    present = {(name, i.module) for name, imports in modules.items() for i in imports if i.type_only}
    assert present >= TYPE_ONLY_UPWARDS, "drop the gone exception from TYPE_ONLY_UPWARDS and docs/architecture.md"


# --- The rules catch what they say, on a small made-up tree ------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, list[Import]]:
    for relative, source in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return read_modules(tmp_path)


TYPE_ONLY = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
GOOD = {
    "game/__init__.py": "",
    "game/domain/rules.py": "from dataclasses import dataclass\n",
    "game/models.py": "from django.db import models\nfrom game.domain import rules\n",
    "game/actions/write.py": "from game.models import Game\nfrom channels.db import database_sync_to_async\n",
    "game/messages/state.py": "from game.actions import write\n",
    "game/realtime/broadcast.py": (
        "from channels.layers import get_channel_layer\nfrom game.messages.state import build\n"
    ),
    "game/realtime/local_sockets.py": TYPE_ONLY + "    from game.web.room_consumer import RoomConsumer\n",
    "game/storage/layer_internals.py": "from channels_redis.utils import _consistent_hash\n",
    "game/realtime/presence.py": "from game.storage.layer_internals import key_shard\n",
    "game/web/room_consumer.py": "from game.actions import write\nfrom game.realtime.broadcast import publish\n",
    "game/web/views.py": "from game.actions import write\n",
    "game/routing.py": "from game.web import room_consumer\n",
    "game/urls.py": "from game.web import views\n",
    "tictac/__init__.py": "",
    "tictac/settings.py": "import environ\n",
    "tictac/asgi.py": "from game.routing import websocket_urlpatterns\n",
}


def test_a_tree_that_keeps_every_rule_passes_them(tmp_path: Path) -> None:
    tree = _tree(tmp_path, GOOD)
    assert {rule.__name__: rule(tree) for rule in RULES} == {rule.__name__: [] for rule in RULES}
    assert [(i.module, i.type_only) for i in tree["game.realtime.local_sockets"]] == [
        ("typing", False),
        ("game.web.room_consumer", True),
    ]


@pytest.mark.parametrize(
    ("relative", "added", "rule"),
    [
        ("game/models.py", "from game.actions import write\n", upward_imports),
        ("game/actions/write.py", "def later():\n    from game.web import room_consumer\n", upward_imports),
        ("game/actions/write.py", "from game.messages import state\n", upward_imports),
        ("game/domain/rules.py", "from django.conf import settings\n", impure_imports),
        ("game/domain/rules.py", "import asyncio\n", impure_imports),
        ("game/domain/rules.py", "from game import models\n", impure_imports),
        ("game/web/views.py", "from game.web.room_consumer import RoomConsumer\n", consumers_imported),
        ("game/web/room_consumer.py", "from game.web.views import lobby\n", views_imported),
        ("game/actions/write.py", "from channels.layers import get_channel_layer\n", publishing_below_publishers),
        ("game/messages/state.py", "import channels_redis.pubsub\n", publishing_below_publishers),
        ("game/messages/state.py", "from game.realtime.presence import presence\n", reads_in_builders),
        ("game/messages/state.py", "from redis.exceptions import RedisError\n", reads_in_builders),
        ("game/messages/state.py", "from game.storage.cached_games import game_cache\n", reads_in_builders),
        (
            "game/realtime/presence.py",
            "from channels_redis.utils import _consistent_hash\n",
            publishing_below_publishers,
        ),
        ("game/models.py", "from tictac import settings\n", project_app_crossings),
        ("tictac/settings.py", "import game.domain.rules\n", project_app_crossings),
        ("game/actions/write.py", "from game.messages import state\n", cycles),
        (
            "game/messages/state.py",
            TYPE_ONLY + "    from game.web.views import x\n",
            unlisted_type_only_upwards,
        ),
        ("game/newcomer.py", "from game.domain import rules\n", unplaced),
    ],
)
def test_a_forbidden_import_breaks_its_rule(tmp_path: Path, relative: str, added: str, rule: Rule) -> None:
    files = dict(GOOD)
    files[relative] = files.get(relative, "") + added
    assert rule(_tree(tmp_path, files)) != []
