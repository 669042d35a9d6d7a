"""Results → neutral documents (bot/doc.py): the one place that decides what each answer
says. `present` is one function dispatched on the result's type; each module here
registers the presentations of one family of results:

- core.py: the answers to commands, and the incident card;
- notices.py: what the bot says unasked (provider notices, reminders, announcements);
- oncall.py: schedules, on-call, overrides;
- people.py: invites and the list of open incidents;
- asks.py: the questions asked before something hard to undo;
- channel.py: the incident channel kept tidy (its call, its archive);
- retro.py: the retro draft as Markdown, and the line saying it was written;
- public.py: `duplicate` and `statuspage`, their questions and answers.
"""

from __future__ import annotations

from bot.present import asks, channel, notices, oncall, paging, people, public, retro  # noqa: F401  (they register their presentations)
from bot.present.core import present, shown

__all__ = ["present", "shown"]
