"""The layers hold: the domain at the bottom imports nothing of ours, and the Slack adapter
reaches neither the store nor a provider (it speaks to the command layer and the domain)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def ours(path: Path) -> set[str]:
    return {name for name in imports_of(path) if name == "bot" or name.startswith("bot.")}


def test_the_domain_imports_nothing_of_ours() -> None:
    assert ours(BOT / "domain.py") == set()


def test_the_slack_adapter_reaches_neither_store_nor_providers() -> None:
    modules = sorted((BOT / "slack").rglob("*.py"))
    assert len(modules) > 5, "found no Slack modules: the scan is broken"
    crossing = {
        str(path.relative_to(BOT)): sorted(
            name for name in ours(path) if name.startswith(("bot.store", "bot.providers"))
        )
        for path in modules
    }
    assert {path: names for path, names in crossing.items() if names} == {}


def test_the_rule_can_fail() -> None:
    """A module that does import the store is seen as doing so."""
    assert "bot.store.db" in ours(BOT / "runtime.py")


def test_each_provider_adapter_is_a_package_of_small_modules() -> None:
    """An adapter is read part by part (its client, incidents, work, on-call): none of its
    modules grows past 300 lines, and no adapter is one module again."""
    providers = BOT / "providers"
    adapters = {"builtin", "incidentio", "pagerduty", "firehydrant"}
    assert {p.name for p in providers.iterdir() if p.is_dir() and (p / "__init__.py").exists()} >= adapters
    assert [name for name in adapters if (providers / f"{name}.py").exists()] == []
    long = {
        str(module.relative_to(providers)): n
        for module in providers.rglob("*.py")
        if (n := len(module.read_text().splitlines())) > 300
    }
    assert long == {}
