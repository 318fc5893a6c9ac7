"""Tools that live with the model: the team's functions (BOT_FUNCTIONS) and what a
function may be told of who asks."""

from bot.tools.asker import Asker
from bot.tools.functions import time_limit

__all__ = ["Asker", "time_limit"]
