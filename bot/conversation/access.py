"""Who may ask: BOT_ALLOWED_USERS and BOT_ALLOWED_CHANNELS. Anyone outside is told so
privately, once per message, and the model is not asked. Direct messages are allowed
whatever the channel list says."""

from __future__ import annotations

from collections.abc import Iterable

from bot.conversation.parameters import Parameters
from bot.conversation.policy import HandOver, Refusal
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.store.database import Work

NOT_FOR_YOU = "Sorry, I only answer the people this bot is set up for. Ask its admin for access."
NOT_HERE = (
    "Sorry, I don't answer in this channel. Send me a direct message, or ask in a channel "
    "where I'm set up to answer."
)


def is_direct(turn: Turn) -> bool:
    """A DM with the bot: a message there is not `shared`; /ask comes from a DM channel,
    whose id starts with D."""
    return not turn.shared or turn.channel_id.startswith("D")


class AllowLists:
    """Empty lists allow everyone, everywhere."""

    def __init__(self, users: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        self.users = frozenset(users)
        self.channels = frozenset(channels)

    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        return None

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        if self.users and turn.user_id not in self.users:
            return Refusal(NOT_FOR_YOU)
        if self.channels and turn.channel_id not in self.channels and not is_direct(turn):
            return Refusal(NOT_HERE)
        return parameters

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        return None
