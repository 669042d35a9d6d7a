"""The text after `/incident` as tokens: words, quoted parts, mentions, channels, links.

Slack sends the text escaped (`should_escape: true`): mentions arrive as `<@U123|bea>`,
channels as `<#C1|inc-4>`, groups as `<!subteam^S1|@oncall>`, and a literal `<` as
`&lt;`. Every token keeps a plain rendering (`@bea`), so free text rebuilt from tokens can
never ping anyone when it is shown again.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from bot.commands.parsed import GroupRef, UserRef
from bot.commands.refs import looks_like_trailing_reference

_TOKEN = re.compile(
    r"""(?P<angle><[^<>\s][^<>]*>)
      | (?P<opt>[A-Za-z_]+:(?:"[^"]*"|“[^”]*”))
      | (?P<quoted>"[^"]*"|“[^”]*”)
      | (?P<word>\S+)""",
    re.VERBOSE,
)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_HANDLE = re.compile(r"@[\w.\-]{1,80}")
_HASH_NUMBER = re.compile(r"^#\d{1,9}$")


def unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


class Token(BaseModel):
    kind: str  # word, quoted, user, channel, group, special, link
    value: str  # plain-text rendering, safe to show
    user: UserRef | None = None
    group: GroupRef | None = None
    quoted: str | None = None  # a quoted token as typed, its quotes kept: inside free text, they are words


def _angle(body: str) -> Token:
    inner = body[1:-1]
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        name = label or None
        return Token(
            kind="user",
            value=f"@{name or uid}",
            user=UserRef(id=uid, name=name),
        )
    if target.startswith("#"):
        return Token(kind="channel", value=f"#{label or target[1:]}")
    if target.startswith("!subteam^"):
        group_id = target.split("^", 1)[1]
        handle = label or "@" + group_id
        return Token(
            kind="group",
            value=handle if handle.startswith("@") else "@" + handle,
            group=GroupRef(id=group_id, handle=handle.lstrip("@")),
        )
    if target.startswith("!"):
        return Token(kind="special", value="@" + (label or target[1:]).lstrip("@"))
    return Token(kind="link", value=unescape(target))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        if match["angle"]:
            tokens.append(_angle(match["angle"]))
        elif match["quoted"]:
            tokens.append(
                Token(kind="quoted", value=unescape(match["quoted"][1:-1]), quoted=unescape(match["quoted"]))
            )
        else:
            raw = match["opt"] or match["word"]
            value = unescape(raw)
            user = None
            if value.lower() in ("me", "@me"):
                user = UserRef(me=True)
            elif _HANDLE.fullmatch(value):
                user = UserRef(name=value[1:])
            tokens.append(Token(kind="user" if user else "word", value=value, user=user))
    return tokens


def plain(tokens: list[Token]) -> str:
    """Rebuild free text from tokens, one space between words (runs of spaces fold)."""
    return " ".join(token.value for token in tokens).strip()


def words(tokens: list[Token]) -> str:
    """Free text as typed: quotes around a part of it are part of it (`error is "connection
    refused" on db-2`); quotes around the whole of it only group it (`declare "DB down"`)."""
    if len(tokens) == 1:
        return tokens[0].value.strip()
    return " ".join(t.quoted or t.value for t in tokens).strip()


def is_number(token: Token) -> bool:
    """`#7` typed as a word: not quoted (`"#7"` is text), not a channel (`<#C1|7>`)."""
    return token.kind == "word" and _HASH_NUMBER.match(token.value) is not None


def is_reference(token: Token) -> bool:
    return token.kind == "word" and looks_like_trailing_reference(token.value)


def member(token: Token) -> UserRef | GroupRef | None:
    """A person or a user group in a list of them, a comma after it allowed (`@bea, @sam`)."""
    if token.user is not None or token.group is not None:
        return token.user or token.group
    name = token.value.rstrip(",")
    if token.kind == "word" and _HANDLE.fullmatch(name):
        return UserRef(name=name[1:])
    return None


def joining(token: Token) -> bool:
    """`@bea, @sam and @sre-leads`: the words between mentions in a list."""
    return token.kind == "word" and token.value.lower() in (",", "and", "&", "+")
