"""The pages' ES modules (docs/architecture.md, "The pages' scripts"), read as text.

The pages load their scripts with ``<script type="module">`` and no bundler. A
browser learns a module's imports only once it has fetched it, so each template
preloads every module its script imports, at any depth: the page then fetches
them all at once instead of one level of imports after another.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
MAX_LINES = 450

# Static imports only, one statement each (its braces may span lines); JSDoc's import('…') types are not imports.
IMPORT = re.compile(r"^import\s+(?:\{[^}]*\}|[\w$*\s,]+)\s+from\s+'([^']+)';", re.MULTILINE)
ENTRY = re.compile(r"""<script type="module" src="\{% static '([^']+)' %\}"></script>""")
PRELOAD = re.compile(r"""<link rel="modulepreload" href="\{% static '([^']+)' %\}">""")


def imports_in(text: str, module: str) -> list[str]:
    """The modules that ``module`` (a path under static/) imports, as paths under static/."""
    folder = Path(module).parent
    names = []
    for target in IMPORT.findall(text):
        parts: list[str] = []
        for part in (folder / target).parts:
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        names.append("/".join(parts))
    return names


def import_graph() -> dict[str, list[str]]:
    return {
        path.relative_to(STATIC).as_posix(): imports_in(path.read_text(), path.relative_to(STATIC).as_posix())
        for path in sorted(STATIC.rglob("*.js"))
    }


def reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    waiting = [start]
    while waiting:
        module = waiting.pop()
        for imported in graph[module]:
            if imported not in seen:
                seen.add(imported)
                waiting.append(imported)
    return seen


def a_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """Some chain of imports that comes back to where it started, or None."""
    done: set[str] = set()

    def walk(module: str, chain: list[str]) -> list[str] | None:
        if module in chain:
            return [*chain[chain.index(module) :], module]
        if module in done:
            return None
        for imported in graph.get(module, []):
            found = walk(imported, [*chain, module])
            if found:
                return found
        done.add(module)
        return None

    for module in graph:
        found = walk(module, [])
        if found:
            return found
    return None


PAGES = sorted(path for path in TEMPLATES.rglob("*.html") if ENTRY.search(path.read_text()))


def test_the_reader_finds_the_imports_the_modules_make() -> None:
    text = "import { a,\n  b } from './x.js';\nimport { c } from '../y.js';\n/** @typedef {import('./z.js').Z} Z */\n"
    assert imports_in(text, "game/room/m.js") == ["game/room/x.js", "game/y.js"]
    # The room's state.js takes clock.js's names in one statement over several lines.
    assert "game/room/clock.js" in import_graph()["game/room/state.js"]


def test_every_page_with_a_module_script_is_checked() -> None:
    assert {path.name for path in PAGES} >= {"room.html", "replay.html", "lobby.html", "seek.html"}


@pytest.mark.parametrize("template", PAGES, ids=lambda path: path.name)
def test_a_page_preloads_exactly_the_modules_its_script_imports(template: Path) -> None:
    html = template.read_text()
    graph = import_graph()
    (entry,) = ENTRY.findall(html)
    assert set(PRELOAD.findall(html)) == reachable(graph, entry)


def test_the_modules_import_each_other_without_a_cycle() -> None:
    assert a_cycle(import_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert a_cycle({"a.js": ["b.js"], "b.js": ["c.js"], "c.js": ["a.js"]}) == ["a.js", "b.js", "c.js", "a.js"]
    assert a_cycle({"a.js": ["b.js", "c.js"], "b.js": ["c.js"], "c.js": []}) is None


@pytest.mark.parametrize("module", sorted(STATIC.rglob("*.js")), ids=lambda path: path.relative_to(STATIC).as_posix())
def test_no_script_is_over_the_line_limit(module: Path) -> None:
    assert len(module.read_text().splitlines()) <= MAX_LINES
