"""The type checker's escape hatch stays narrow: CI runs mypy (pyproject.toml's [tool.mypy]),
and a `type: ignore` in bot/ names the error it silences and says why on the same line, so
nobody silences a whole line or leaves one without a reason (issue 28)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
IGNORE = re.compile(r"type:\s*ignore(?P<code>\[[\w\-, ]+\])?(?P<rest>.*)")


def bare_ignores(source: str) -> list[int]:
    """Lines whose comment ignores without a code, or with no reason after it."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = IGNORE.search(token.string)
        if match and (not match["code"] or not match["rest"].strip().lstrip("#").strip()):
            found.append(token.start[0])
    return found


def test_the_check_finds_what_it_should() -> None:
    assert bare_ignores("x = 1  # type: ignore\n") == [1]
    assert bare_ignores("x = 1  # type: ignore[attr-defined]\n") == [1]
    assert bare_ignores("x = 1  # type: ignore[attr-defined]  # set by the adapter\n") == []
    assert bare_ignores('x = "# type: ignore"\n') == []  # text, not a comment


def test_every_type_ignore_names_its_error_and_a_reason() -> None:
    modules = sorted(BOT.rglob("*.py"))
    assert len(modules) > 50, "found too few modules: the scan is broken"
    bare = [
        f"{path.relative_to(BOT.parent)}:{line}"
        for path in modules
        for line in bare_ignores(path.read_text(encoding="utf-8"))
    ]
    assert bare == []
