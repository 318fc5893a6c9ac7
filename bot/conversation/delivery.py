"""How an answer reaches people: the interface every surface implements."""

from __future__ import annotations

from typing import Protocol


class Delivery(Protocol):
    async def start(self) -> None:
        """Show at once that an answer is coming."""

    async def show(self, text: str) -> None:
        """The answer so far (Markdown). Cheap: the delivery paces what it sends."""

    async def working(self, activity: str) -> None:
        """The model is busy with something other than text (a search, a tool call)."""

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        """The final text, always written last; `notice` tells what went wrong or was cut.

        An empty `text` keeps what was shown so far. `feedback_id` (the stored
        response's id) asks for 👍/👎 on the answer where the surface has them.
        """
