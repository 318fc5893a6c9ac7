"""How an answer reaches people: the interface every surface implements."""

from __future__ import annotations

from typing import Any, Protocol

from bot.responses.activities import Activities


class DeliveryUnavailable(Exception):
    """The surface cannot take the answer now (e.g. Slack is down): try again later."""


class ShownText(Protocol):
    """Told what Slack is about to show of an answer, so its progress is kept first."""

    async def showing(self, text: str) -> None: ...

    async def placed(self) -> None:
        """The answer's message has just appeared: where it is must be kept too."""


class Delivery(Protocol):
    async def start(self) -> None:
        """Show at once that an answer is coming."""

    async def show(self, text: str) -> None:
        """The answer so far (Markdown). Cheap: the delivery paces what it sends."""

    async def working(self, activities: Activities) -> None:
        """The model's work other than text so far, each with its status: its tool calls
        (one per call) and its reasoning (with the summary's text so far). Called when they
        change, so it must be cheap: the delivery paces what it sends (`bot.conversation.work`
        has the words)."""

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        """The final text, always written last; `notice` tells what went wrong or was cut.

        An empty `text` keeps what was shown so far. `feedback_id` (the stored
        response's id) asks for 👍/👎 on the answer where the surface has them.
        """

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        """Put a file the model made (an image, a file its code wrote) beside the answer,
        before its final text; `alt` describes an image. Raises when the surface cannot
        take it."""

    def place(self) -> dict[str, Any]:
        """Where the answer is shown (e.g. its message's ts), as plain JSON values: kept with
        the answer's progress so a successor can finish the same message."""

    def report_to(self, watcher: ShownText) -> None:
        """Tell `watcher` each text of the answer before it is sent to Slack."""

    async def refuse(self, text: str) -> None:
        """Tell the asker alone why the turn is not answered (nothing else is shown)."""

    async def leave(self) -> None:
        """Send nothing more: the bot stops mid-answer and a successor finishes it."""
