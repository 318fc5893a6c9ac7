"""What people read when something is not a plain answer. Plain words, no jargon, no secrets."""

from __future__ import annotations

from bot.responses.errors import (
    ModelError,
    ModelRejected,
    ModelStalled,
    ModelStreamBroken,
    ModelUnavailable,
)
from bot.responses.reducer import Answer, Ending

HELP = (
    "Hi! Ask me anything: mention me with your question, e.g. `@bot what is a good name "
    "for a release train?`. I answer in the thread and remember the thread's conversation."
)
ASK_USAGE = "Usage: `/ask your question`. I answer right here, without earlier context."
THINKING = "Thinking…"
BUSY = "I'm answering a lot of questions right now. Please try again in a minute."
UNEXPECTED = "Something went wrong on my side while answering. Please try again."
INTERRUPTED = "I was restarted before this answer was finished. Please ask again."
DECLINED = "The model declined to answer this."
EMPTY = "The model finished without writing an answer. Please try rephrasing."
STARTED_OVER = (
    "This thread grew longer than the model can take in, so I continued from its recent "
    "messages only."
)


APPROVAL_WAITING = "Waiting for approval to use a tool (below)."
APPROVAL_EXPIRED = "That request has expired, so the tool was not used."
APPROVAL_ALREADY = "That request has already been answered."
APPROVAL_WENT_ON = "The conversation went on without this, so the tool was not used."


def not_your_approval(asker: str) -> str:
    return f"Only <@{asker}> can approve or deny this."


def approval_timed_out(minutes: int) -> str:
    return (
        f"No one approved this within {minutes} minutes, so the tool was not used. "
        "Ask again if you still need it."
    )


def stopped(user_id: str) -> str:
    return f"Stopped by <@{user_id}>."


def too_many_rounds(limit: int) -> str:
    return (
        f"I stopped here: the answer needed more than {limit} rounds of tool calls. "
        "Please ask again more narrowly."
    )


def too_long(limit: int) -> str:
    return (
        f"That question is longer than I can take ({limit:,} characters at most). "
        "Could you shorten it?"
    )


def for_model_error(error: ModelError, *, text_shown: bool) -> str:
    """The notice for a failed call to the model."""
    if isinstance(error, ModelStalled):
        return "The answer stopped arriving, so it may be incomplete. Please try again."
    if isinstance(error, ModelStreamBroken):
        return "The connection to the model dropped, so the answer may be incomplete."
    if isinstance(error, ModelUnavailable):
        if error.status == 429:
            return "The model is busy right now. Please try again in a minute."
        return "I couldn't reach the model just now. Please try again in a minute."
    if isinstance(error, ModelRejected):
        if error.status == 401:
            return "The model's service refused the bot's API key. Please tell the bot's admin."
        if error.status == 403:
            return "The bot isn't allowed to use this model. Please tell the bot's admin."
        if error.status == 404:
            return f"The model's service didn't find what I asked for: {_brief(error.message)}"
        return f"The model's service refused the request: {_brief(error.message)}"
    if text_shown:
        return "Something went wrong, so the answer may be incomplete."
    return UNEXPECTED


def for_ending(answer: Answer) -> str | None:
    """The notice for how a stream ended, or None for a complete answer."""
    if answer.refusal and answer.ending in (Ending.COMPLETED, Ending.INCOMPLETE):
        return DECLINED
    if answer.ending is Ending.COMPLETED:
        return None if answer.text else EMPTY
    if answer.ending is Ending.INCOMPLETE:
        if answer.incomplete_reason == "max_output_tokens":
            return "The answer was cut short: it reached the length limit."
        if answer.incomplete_reason == "content_filter":
            return "The answer was cut short by the content filter."
        return "The answer was cut short."
    code = f" ({answer.error_code})" if answer.error_code else ""
    if answer.text:
        return f"Something went wrong on the model's side{code}, so the answer may be incomplete."
    return f"Something went wrong on the model's side{code}. Please try again."


def _brief(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
