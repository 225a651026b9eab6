"""The guides for each role, linked from the README, name only pages, calls, commands and
client methods that exist."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from flask import Flask

from registry.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
GUIDES = sorted((ROOT / "docs" / "guides").glob("*.md"))
CLIENT = ROOT / "clients" / "python" / "gatehouse_client"
METHOD = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)$")


def test_there_is_a_guide_for_each_role_linked_from_the_readme() -> None:
    names = {g.stem for g in GUIDES}
    assert names == {"officer", "dpo", "data-scientist", "frontline"}
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert f"(docs/guides/{name}.md)" in readme


def _pattern(rule: str) -> re.Pattern[str]:
    """A URL rule as a regex matching it written with placeholders (`<id>`) or values."""
    out, pos = "", 0
    for m in re.finditer(r"<[^>]+>", rule):
        out += re.escape(rule[pos:m.start()]) + r"[^/]+"
        pos = m.end()
    return re.compile(out + re.escape(rule[pos:]) + "$")


def _routes(app: Flask) -> list[tuple[set[str], re.Pattern[str]]]:
    return [(set(r.methods or ()), _pattern(r.rule)) for r in app.url_map.iter_rules()]


def _paths(text: str) -> list[tuple[str | None, str]]:
    """(method or None, path) of every page or call written in backticks."""
    found = []
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # fenced examples: not inline names
    for code in re.findall(r"`([^`]+)`", text):
        words = code.split()
        for i, word in enumerate(words):
            if word.startswith("/") and len(word) > 1 and not word.startswith("//"):
                method = words[i - 1] if i and METHOD.match(words[i - 1]) else None
                found.append((method, word.rstrip(".,;:)").split("#")[0].split("?")[0]))
    return found


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.stem)
def test_every_page_and_call_a_guide_names_exists(app: Flask, guide: Path) -> None:
    routes = _routes(app)
    named = _paths(guide.read_text())
    assert len(named) >= 5, "a guide names the pages and calls it uses"
    for method, path in named:
        path = path.replace("…", "x")
        if path.startswith(("/docs/", "/clients/")):
            continue
        matching = [methods for methods, pattern in routes if pattern.match(path)]
        assert matching, f"{guide.name}: no page or endpoint {path}"
        if method:
            assert any(method in m for m in matching), f"{guide.name}: no {method} {path}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.stem)
def test_every_command_file_and_client_method_a_guide_names_exists(guide: Path) -> None:
    text = guide.read_text()
    groups = {c.name: c for c in COMMANDS}
    for command in re.findall(r"`gatehouse ([a-z -]+?)`", text):
        words = command.split()
        found = groups.get(words[0])
        assert found is not None, f"{guide.name}: no command gatehouse {words[0]}"
        if len(words) > 1:
            assert isinstance(found, click.Group) and words[1] in found.commands, command
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (guide.parent / link).exists(), f"{guide.name}: broken link {link}"
    for path in re.findall(r"`((?:docs|clients)/[^`\s]+)`", text):
        assert (ROOT / path).exists(), f"{guide.name}: no file {path}"
    client = "".join(p.read_text() for p in CLIENT.glob("*.py"))
    for method in set(re.findall(r"\b(?:sam|tool)\.([a-z_]+)\(", text)):
        assert f"def {method}(" in client, f"{guide.name}: the client has no {method}()"
