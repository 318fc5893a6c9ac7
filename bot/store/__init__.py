"""Persistence: threads and their chain heads, turns, seen messages, usage.

Knows nothing of Slack objects or stream events: ids, texts and numbers only.
"""

from bot.store.store import Store, TurnRecord

__all__ = ["Store", "TurnRecord"]
