"""The layers hold: the domain at the bottom imports nothing of ours, and the Slack adapter
reaches neither the store nor a provider (it speaks to the command layer and the domain)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.commands.registry import VERBS

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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports, wherever the import stands (a lazy import
    in a function, or one only for the type checker, still ties the two)."""
    modules = {_module_name(p): p for p in BOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    edges.add(full if full in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_in_the_bot() -> None:
    graph = import_graph()
    assert "bot.commands.service" in graph["bot.commands.pipeline"]  # the scan sees imports
    assert circles(graph) == []


def test_an_import_circle_is_seen() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


_VERB_NAMES = "|".join(sorted(verb.name for verb in VERBS))


def test_no_verb_name_is_compared_outside_the_registry() -> None:
    """What is particular to a verb is declared on its `Verb`: a comparison of a verb's
    name with a string elsewhere is a second declaration, and drifts."""
    compared = re.compile(rf"""verb(?:\.name)?\s*(?:==|!=|\bin\b)\s*[\(\[{{]?\s*["']({_VERB_NAMES})["']""")
    found = {
        str(path.relative_to(BOT)): line.strip()
        for path in BOT.rglob("*.py")
        if path.name != "registry.py"
        for line in path.read_text().splitlines()
        if compared.search(line)
    }
    assert found == {}
    assert compared.search('if ctx.verb.name == "lead":')  # the pattern does catch one


def test_each_provider_declares_the_settings_it_reads() -> None:
    """A provider's settings are its spec's: each named one exists, and every setting named
    after a provider is claimed by that provider's spec (configuration reads the specs)."""
    from bot.config import Settings
    from bot.providers import SPECS

    fields = set(Settings.model_fields)
    for spec in SPECS:
        assert set(spec.settings) <= fields, spec.name
        if spec.key_setting:
            assert spec.key_setting in spec.settings
        if spec.webhook:
            assert spec.webhook.secret_setting == f"{spec.name}_webhook_secret"  # config's convention
        named = {f for f in fields if f.startswith(f"{spec.name}_")}
        assert named <= set(spec.settings), (spec.name, named - set(spec.settings))
    assert len({spec.name for spec in SPECS}) == len(SPECS) >= 4


def test_providers_are_named_only_in_their_packages_and_the_settings() -> None:
    """Outside bot/providers/, a provider's name as a string appears only among the settings
    (their variable names are the user's words); anything else iterates the specs."""
    from bot.providers import SPECS

    named = re.compile("|".join(rf"""["']{re.escape(spec.name)}["']""" for spec in SPECS))
    found = {
        f"{path.relative_to(BOT)}:{n}": line.strip()
        for path in BOT.rglob("*.py")
        if "providers" not in path.relative_to(BOT).parts and path.name != "config.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if named.search(line)
    }
    assert found == {}


def test_slack_code_reaches_the_command_layer_only_through_its_ports() -> None:
    """Slack's listeners ask the command service (its `handle`, `choices`, `first_click`,
    `card_store`, …), never its store or providers by attribute; only the server, which
    builds the runtime, holds those."""
    reaching = re.compile(r"\.(store|providers|fresh|guard|locks|notifier)\b(?!\s*=)")
    found = {
        f"{path.name}:{n}": line.strip()
        for path in sorted((BOT / "slack").glob("*.py"))
        if path.name != "server.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if reaching.search(line) and "service()" in line
    }
    assert found == {}
    assert reaching.search("service().store.claims")  # the pattern does catch one
