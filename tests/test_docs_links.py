"""The README and docs/ hold together: every relative link leads to a file that exists
(and, with a #fragment into Markdown, to a heading there), and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MOST_LINES = 320

# [text](target) and [text](target "title"); images too. Reference-style definitions: [x]: target
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DEFINED = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE = re.compile(r"`+[^`\n]*`+")


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where brackets are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE.findall(prose) + _DEFINED.findall(prose)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", path.read_text()).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading[1])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links in `page` that lead nowhere (named relative to `root`)."""

    def shown(path: Path) -> str:
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    wrong = []
    for target in links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.I):  # https:, mailto: …: not ours to check
            continue
        path_part, _, fragment = target.partition("#")
        path_part = unquote(path_part)
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            wrong.append(f"{target}: no file {shown(resolved)}")
            continue
        if fragment and resolved.suffix == ".md" and resolved.is_file():
            if unquote(fragment).lower() not in anchors(resolved):
                wrong.append(f"{target}: no heading #{fragment} in {shown(resolved)}")
    return wrong


def test_there_are_pages_and_links_to_check() -> None:
    assert (ROOT / "docs" / "README.md").exists()
    assert len(PAGES) > 2
    assert sum(len(links(page.read_text())) for page in PAGES) > 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken(page) == []


def test_every_docs_page_is_reachable_from_the_docs_index() -> None:
    index = ROOT / "docs" / "README.md"
    listed = {(index.parent / t.partition("#")[0]).resolve() for t in links(index.read_text())}
    missing = [p.name for p in PAGES if p.parent == index.parent and p != index and p.resolve() not in listed]
    assert missing == []


def test_the_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_the_configuration_page_lists_every_setting() -> None:
    from bot.config import Settings

    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in text]
    assert missing == [], "document these in docs/configuration.md"


def test_the_readme_verbs_table_names_every_verb() -> None:
    from bot.commands import registry

    section = (ROOT / "README.md").read_text().split("## What you can type", 1)[1].split("\n## ", 1)[0]
    named = " ".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| "))
    missing = [verb.name for verb in registry.VERBS if not re.search(rf"\b{re.escape(verb.name)}\b", named)]
    assert missing == [], "add these to the README's verbs table"


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    """The checker itself: a missing file and a missing heading are both reported."""
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok too](other.md#real-heading) [here](#top)\n\n# Top\n\n"
        "[gone](missing.md) [no such](other.md#nowhere) `[not a link](nowhere.md)`\n"
    )
    assert broken(page, root=tmp_path) == [
        "missing.md: no file missing.md",
        "other.md#nowhere: no heading #nowhere in other.md",
    ]
