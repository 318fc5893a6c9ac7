"""Answer one turn: look up the chain head, stream the model, deliver, move the head."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from bot.conversation import context_window, notices
from bot.conversation.approvals import Approvals, Waiting, approval_item
from bot.conversation.delivery import Delivery, DeliveryUnavailable
from bot.conversation.file_reading import FileReader, NoFiles, Read, read_files
from bot.conversation.files import FileRef
from bot.conversation.files_out import FileSource, joined, made_files, put_in_thread
from bot.conversation.outcome import Final, Outcome, record_of, started
from bot.conversation.parameters import Parameters
from bot.conversation.policy import Open, Policy, Refusal, both
from bot.conversation.progress import Progress, answer_from
from bot.conversation.recorder import NoRecorder, Recorder, error_code
from bot.conversation.request import MAX_HEARD, MAX_HEARD_CHARS, Said, build_request, most_recent
from bot.conversation.rounds import (
    Tools,
    approval_requests,
    carried,
    followup_request,
    function_calls,
    restarted_outputs,
    with_usage,
)
from bot.conversation.stops import Stops
from bot.conversation.turn import Turn
from bot.render.sources import with_sources
from bot.responses.activities import Activity
from bot.responses.asks import FunctionCall
from bot.responses.errors import ModelError, ModelRejected, ModelStreamBroken
from bot.responses.events import Event
from bot.responses.reducer import Answer, Ending, reduce
from bot.store import Store, TurnRecord
from bot.store.database import Work
from bot.store.live import DELIVERING, WAITING, LiveAnswers, LiveRow
from bot.store.store import ThreadState, now
from bot.tools.asker import NoTimeZones, TimeZones
from bot.tools.functions import Functions

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that mean "the chain cannot go on", recovered by starting a new chain.
CHAIN_LOST = "previous_response_not_found"
TOO_LONG = "context_length_exceeded"
STORED = ("completed", "incomplete")
FINAL_ATTEMPTS = 10  # a final write that cannot land is tried this often, then given up


class Model(FileSource, Protocol):
    def stream(self, request: dict[str, Any]) -> AsyncIterator[Event]: ...

    def resume(self, response_id: str, after: int) -> AsyncIterator[Event]:
        """A background response's events after sequence number `after`, then live."""

    async def cancel(self, response_id: str) -> bool:
        """Stop a background response."""

    async def status(self, response_id: str) -> str | None:
        """The status the API reports for a response, or None if it cannot tell."""


class ThreadSource(Protocol):
    """What the surface knows of a thread beyond the turn itself."""

    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        """What was said in the thread before this turn, recent and bounded."""

    async def surroundings(self, turn: Turn) -> str:
        """A note on where the user is (e.g. the channel they are viewing), or ""."""


class NoSource:
    async def earlier(self, turn: Turn) -> tuple[Said, ...]:
        return ()

    async def surroundings(self, turn: Turn) -> str:
        return ""


@dataclass(frozen=True)
class Options:
    parameters: Parameters  # the defaults; a policy may override them per turn
    max_question_chars: int = 20_000
    context_management: str = "compaction"  # or "truncation", "off"
    compact_threshold: int = 200_000
    background: str = "auto"  # or "true", "false"
    final_retry_after: float = 120.0  # a final write that could not land: tried again then
    max_file_bytes: int = 20 * 1024 * 1024  # BOT_MAX_FILE_MB: the largest file read
    functions: Functions | None = None  # BOT_FUNCTIONS, imported at start
    max_tool_rounds: int = 8  # BOT_MAX_TOOL_ROUNDS


class Conversation:
    def __init__(
        self,
        store: Store,
        model: Model,
        options: Options,
        source: ThreadSource | None = None,
        stops: Stops | None = None,
        live: LiveAnswers | None = None,
        policy: Policy | None = None,
        files: FileReader | None = None,
        time_zones: TimeZones | None = None,
        approvals: Approvals | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self._store = store
        self._model = model
        self._options = options
        self._source = source or NoSource()
        self.stops = stops or Stops()
        self._live = live or store.live()
        self._policy = policy or Open()
        self._files = files or NoFiles()
        self._approvals = approvals
        self._tools = Tools(
            options.functions or Functions(),
            options.max_tool_rounds,
            time_zones or NoTimeZones(),
        )
        self._recorder = recorder or NoRecorder()
        self._accepted: dict[str, float] = {}  # turn key → when accepted (monotonic)
        # Per turn key, the write that counts the tokens of its latest response: run in the
        # transaction that ends the answer, or on its own once another response follows.
        self._uncounted: dict[str, Work[None]] = {}
        self._context_mode = options.context_management
        self._background = options.background != "false"
        # The answers this worker is responsible for (queued or running): their leases are
        # renewed. A key that leaves this set unfinished is taken over once its lease ends.
        self.holding: set[str] = set()

    # Taking a message on ------------------------------------------------------------

    async def accept(self, turn: Turn, route: dict[str, Any]) -> bool:
        """Keep the turn (and `route`, how its answer is delivered) before it is queued, so
        no acknowledged message is dropped; False for one accepted before (a redelivery)."""
        kept = {"turn": turn.kept(), "route": route}
        if not await self._live.accept(turn.key, *turn.thread, kept):
            return False
        self.holding.add(turn.key)
        self._accepted[turn.key] = time.monotonic()
        return True

    def took_over(self, row: LiveRow) -> None:
        self.holding.add(row.key)

    async def turn_away(self, turn: Turn, delivery: Delivery) -> None:
        """Too many answers wait already: say so, and let the turn go."""
        async with self._guarded(turn.key, delivery):
            await self._deliver(turn.key, delivery, Final("", notices.BUSY))
            self._recorder.answered("refused", self._since(turn.key))

    async def answer(self, turn: Turn, delivery: Delivery) -> None:
        """Answer an accepted turn."""
        async with self._guarded(turn.key, delivery):
            await self._its_turn(turn.key)
            await self._begin(turn, delivery)

    async def resume(self, row: LiveRow, delivery: Delivery) -> None:
        """Finish an answer this worker took over: one still waiting, one whose model
        stream was under way, or one whose final write is left."""
        turn = turn_of(row)
        async with self._guarded(turn.key, delivery):
            if row.state != DELIVERING:
                await self._its_turn(turn.key)
            if row.state == DELIVERING:
                await self._deliver(turn.key, delivery, Final.of(row.progress))
            elif row.state == WAITING or not row.response_id:
                # Not started, or stopped before the model said anything: answer it now.
                await self._begin(turn, delivery)
            elif row.progress.get("background"):
                log.info("resuming an answer after sequence number %d", row.sequence)
                await self._continue(turn, delivery, row)
            else:
                # A response streamed without background mode ends with its stream.
                log.info("an answer was interrupted and cannot be resumed")
                answer = answer_from(row.progress, row.response_id)
                await self._deliver(turn.key, delivery, Final(answer.text, notices.INTERRUPTED))

    async def _its_turn(self, key: str) -> None:
        """Wait until the turns of the thread accepted before this one have their answers
        (on any worker). One worker alone has them in order already (TurnQueue)."""
        if self._store.one_process:
            return
        pause = 0.1
        while not await self._live.next_in_thread(key):
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    @contextlib.asynccontextmanager
    async def _guarded(self, key: str, delivery: Delivery) -> AsyncIterator[None]:
        """An exception in one answer never touches another, and never means silence."""
        try:
            yield
        except Exception:
            log.exception("answering a turn failed")
            await self._deliver(key, delivery, Final("", notices.UNEXPECTED))
            self._recorder.answered("error", self._since(key))
        finally:
            self.holding.discard(key)
            self._accepted.pop(key, None)
            if key in self._uncounted:  # the answer ended without its last transaction
                await asyncio.shield(self._count(key))

    def _since(self, key: str) -> float | None:
        """Seconds since the turn was accepted here; None for one taken over."""
        accepted = self._accepted.get(key)
        return None if accepted is None else time.monotonic() - accepted

    async def _begin(self, turn: Turn, delivery: Delivery) -> None:
        state = await self._start(turn)
        if state is None:
            log.info("skipping an answer another worker has taken over")
            return
        question = turn.text.strip()
        if not question and not turn.files and turn.continues is None:
            await self._deliver(turn.key, delivery, Final(notices.HELP))
            return
        if len(question) > self._options.max_question_chars:
            limit = self._options.max_question_chars
            await self._deliver(turn.key, delivery, Final(notices.too_long(limit)))
            self._recorder.answered("refused", self._since(turn.key))
            return
        decision = await self._policy.admit(turn, self._options.parameters)
        if isinstance(decision, Refusal):
            await self._refuse(turn, delivery, decision)
            return
        await self._answer(turn, delivery, state, decision)

    async def _start(self, turn: Turn) -> ThreadState | None:
        """The answer's start, with what the policy will read (one transaction); where the
        policy's read fails, the start alone (the policy reads for itself)."""
        try:
            reads = self._policy.prepare(turn)
        except Exception as error:
            log.warning("could not prepare a policy's read (%s)", type(error).__name__)
            reads = None
        if reads is None:
            return await self._live.begin(turn.key)
        try:
            return await self._live.begin(turn.key, reads)
        except Exception as error:
            log.warning("could not read for the policy with the start (%s)", type(error).__name__)
            return await self._live.begin(turn.key)

    async def _refuse(self, turn: Turn, delivery: Delivery, refusal: Refusal) -> None:
        """Told to the asker alone; nothing is kept of the turn."""
        log.info("a turn was refused before the model was asked")
        try:
            await delivery.refuse(refusal.text)
        except Exception as error:  # the refusal is a courtesy: the turn ends either way
            log.warning("could not tell a refusal (%s)", type(error).__name__)
        await self._live.done(turn.key, None)
        self._recorder.answered("refused", self._since(turn.key))

    # Answering ------------------------------------------------------------------------

    async def _answer(
        self, turn: Turn, delivery: Delivery, state: ThreadState, parameters: Parameters
    ) -> None:
        started_at = now()
        going_on = turn.continues
        if turn.one_off:
            state = ThreadState(None, False)
        head = state.chain_head
        if going_on is not None:
            # After an approval: chained on the response that asked, nothing else to say.
            head = str(going_on["response_id"])
            earlier: tuple[Said, ...] = ()
            earlier_ids: tuple[int, ...] = ()
            note = ""
        else:
            earlier, earlier_ids = await self._context_before(turn, state)
            note = await self._source.surroundings(turn)
        await delivery.start()
        # After an approval the files went with the question already.
        read = await self._read_files(turn, earlier) if going_on is None else Read()
        about = {
            "head": head,
            "heard": list(earlier_ids),
            "started_at": started_at.isoformat(),
            "model": parameters.model,
            "json": parameters.answers_in_json,
            "files_note": read.note,
            "round": int(going_on.get("rounds") or 0) if going_on else 0,
            "mcp": bool(parameters.mcp_servers),
        }
        if not turn.text.strip() and turn.files and not read.parts:
            # Only files, and none the model can take: the notes are the answer.
            await self._deliver(turn.key, delivery, Final("", read.note))
            return
        with self._watching(turn) as stop:
            progress = self._progress(turn, delivery, about)
            ask = Asking(turn, parameters, note, read.parts)
            items = list(going_on["input"]) if going_on else None
            outcome = await self._call(ask, delivery, stop, progress, head, earlier, items)
            code = outcome.error.code if outcome.error else outcome.answer.error_code
            restarted = not going_on and not outcome.answer.text and code in (CHAIN_LOST, TOO_LONG)
            if restarted:
                # The chain is gone upstream, or has grown past the context window:
                # start a new one from the thread's recent messages.
                log.warning("thread chain unusable (%s); starting a new chain", code)
                head = about["head"] = None
                earlier = () if turn.one_off else await self._source.earlier(turn)
                outcome = await self._call(ask, delivery, stop, progress, None, earlier)
            outcome = await self._rounds(ask, delivery, stop, progress, outcome)
        notice = outcome.notice
        if restarted and code == TOO_LONG and notice is None:
            notice = notices.STARTED_OVER
        notice = with_files_note(about, notice)
        await self._conclude(turn, delivery, outcome, notice, progress)

    async def _continue(self, turn: Turn, delivery: Delivery, row: LiveRow) -> None:
        """Resume a background response's stream after the last sequence number kept."""
        assert row.response_id is not None
        kept: tuple[str, ...] = ("head", "heard", "started_at", "background", "model", "json")
        kept += ("files_note", "round", "ran", "calls", "usage", "mcp")
        about: dict[str, Any] = {k: row.progress.get(k) for k in kept}
        if "files_put" in row.progress:  # put in the thread already: not again
            about["files_put"] = row.progress["files_put"]
        await delivery.start()
        with self._watching(turn) as stop:
            start = answer_from(row.progress, row.response_id)
            progress = Progress(self._live, turn.key, delivery, about, start, row.sequence)
            if about.get("ran") == row.response_id and about.get("calls"):
                # The response had ended with function calls, under way at the restart:
                # the answer goes on from them (never running them twice).
                calls = tuple(FunctionCall(**c) for c in about["calls"] or ())
                done = replace(start, ending=Ending.COMPLETED, asks=calls)
                outcome = Outcome(done, stored=True)
            else:
                events = self._model.resume(row.response_id, row.sequence)
                outcome = await self._stream(
                    events, delivery, stop, turn.key, progress, start, about
                )
                self._spent(turn, str(about.get("model") or ""), outcome)
            if outcome.answer.ended:
                parameters = self._options.parameters
                if about.get("model"):
                    parameters = replace(parameters, model=str(about["model"]))
                ask = Asking(turn, parameters)
                outcome = await self._rounds(ask, delivery, stop, progress, outcome)
        notice = outcome.notice
        if outcome.error is not None and not outcome.answer.ended:
            # The response is gone (expired, or never kept): what was shown stays.
            log.warning("could not resume an answer: %s", type(outcome.error).__name__)
            notice = notices.INTERRUPTED
        notice = with_files_note(about, notice)
        await self._conclude(turn, delivery, outcome, notice, progress)

    def _progress(self, turn: Turn, delivery: Delivery, about: dict[str, Any]) -> Progress:
        about.setdefault("background", self._background)
        return Progress(self._live, turn.key, delivery, about)

    @contextlib.contextmanager
    def _watching(self, turn: Turn) -> Iterator[asyncio.Event]:
        """The event Stop sets while this answer runs."""
        stop = self.stops.watch(turn.key)
        self._recorder.writing(+1)
        try:
            yield stop
        finally:
            self._recorder.writing(-1)
            self.stops.forget(turn.key)

    async def _conclude(
        self,
        turn: Turn,
        delivery: Delivery,
        outcome: Outcome,
        notice: str | None,
        progress: Progress,
    ) -> None:
        """Write the final text, then keep the turn (the chain moves)."""
        answer, waiting, approvals = outcome.answer, outcome.waiting, self._approvals
        about = progress.about
        if waiting is not None and approvals is not None:
            # Kept before the answer lets go of its lease: it must outlive a restart.
            await approvals.keep(turn, answer.response_id, waiting)
        feedback_id = answer.response_id if answer.text and outcome.stored else None
        if waiting is not None:
            feedback_id = None  # the answer goes on below
        # A refusal is shown in the model's words, under the notice that it declined;
        # the sources the model cited are listed under the text.
        text = with_sources(answer)
        if about.get("json") and answer.text and not answer.refusal:
            text = as_code_block(answer.text)
        notice = joined(notice, await self._put_files(answer, delivery, progress))
        final = Final(text, notice, feedback_id)
        record = None if turn.one_off else record_of(turn, outcome, about)
        await self._deliver(turn.key, delivery, final, record)
        if waiting is not None and approvals is not None:
            await approvals.show(turn, answer.response_id, waiting)
        elif approvals is not None and outcome.stored and about.get("mcp") and record:
            # The thread's conversation went on: an approval left pending there is stale.
            try:
                await approvals.went_on(turn)
            except Exception as error:  # a press on it is still told it expired
                log.warning("could not expire stale approvals (%s)", type(error).__name__)
        self._recorder.answered(outcome.status, self._since(turn.key))
        log.info(
            "answered in %.1fs: %s, %d chars, %s tokens, chained=%s",
            (now() - started(about)).total_seconds(),
            outcome.status,
            len(answer.text),
            answer.usage.total_tokens if answer.usage else "?",  # the last response's
            about.get("head") is not None,
        )

    async def _put_files(
        self, answer: Answer, delivery: Delivery, progress: Progress
    ) -> str | None:
        """The files the model made, into the thread beside the answer before its final
        text, once (see files_out): kept as done, so a successor after a crash does not
        put them there again. The note on those that could not be, if any."""
        about = progress.about
        if "files_put" in about:
            return about["files_put"] or None
        files = made_files(answer)
        if not files:
            return None
        note = await put_in_thread(files, delivery, self._model)
        about["files_put"] = note or ""
        await progress.keep()
        return note

    async def _deliver(
        self, key: str, delivery: Delivery, final: Final, record: TurnRecord | None = None
    ) -> None:
        """Write the final text and keep the turn. Where the surface refuses the text
        outright, it goes once more with a notice; where the surface cannot take it now,
        the turn is kept all the same and any worker writes the text later."""
        try:
            await self._finish(delivery, final)
        except asyncio.CancelledError:
            raise
        except DeliveryUnavailable as error:
            await self._leave_for_later(key, delivery, final, record, error)
            return
        except Exception as error:
            log.warning("an answer's final write was refused (%s)", type(error).__name__)
            try:
                await self._finish(delivery, Final(final.text, notices.UNEXPECTED))
            except Exception as again:
                await self._leave_for_later(key, delivery, final, record, again)
                return
        held = await self._counted(key, lambda counting: self._live.done(key, record, counting))
        if not held:
            # This worker lost the answer (its lease ran out): the worker that took it
            # over moves the chain; two must never both do.
            log.warning("another worker took this answer over; leaving the chain to it")

    async def _counted(self, key: str, end: Callable[[Work[None] | None], Awaitable[T]]) -> T:
        """Run the answer's last transaction (`end`) with its uncounted tokens counted in
        it; where that fails, once more without them: counting never costs the answer."""
        counting = self._uncounted.pop(key, None)
        if counting is None:
            return await end(None)
        try:
            return await end(counting)
        except Exception as error:
            log.warning("could not count an answer's usage (%s)", type(error).__name__)
            return await end(None)

    @staticmethod
    async def _finish(delivery: Delivery, final: Final) -> None:
        await delivery.finish(final.text, final.notice, feedback_id=final.feedback_id)

    async def _leave_for_later(
        self,
        key: str,
        delivery: Delivery,
        final: Final,
        record: TurnRecord | None,
        error: Exception,
    ) -> None:
        delay = timedelta(seconds=self._options.final_retry_after)
        kept = {**final.kept(), "place": delivery.place()}
        attempts = await self._counted(
            key, lambda counting: self._live.left(key, record, kept, delay, counting)
        )
        if attempts >= FINAL_ATTEMPTS:
            log.error("gave up writing an answer after %d attempts", attempts)
            await self._live.drop(key)
            return
        log.warning(
            "could not write an answer (%s); trying again in %ds",
            type(error).__name__,
            delay.total_seconds(),
        )

    async def _context_before(
        self, turn: Turn, state: ThreadState
    ) -> tuple[tuple[Said, ...], tuple[int, ...]]:
        """What the model has not heard yet: a whole thread the bot joins late, or
        what people wrote in the thread since the bot's last answer (the most recent,
        whole, within bounds, with a note of how many earlier ones are left out); and
        the ids of all those heard messages, sent or left out, dropped once a stored
        response has taken them in (so none is sent later, out of order)."""
        if turn.one_off or (state.chain_head is None and turn.thread_ts == turn.message_ts):
            return (), ()  # a one-off, or a new thread
        heard = []
        if state.heard:
            heard = await self._store.heard_before(*turn.thread, before_ts=turn.message_ts)
        ids = tuple(h.id for h in heard)
        said = most_recent(
            [Said(h.user_id, h.text, files=tuple(FileRef.of(f) for f in h.files)) for h in heard],
            messages=MAX_HEARD,
            chars=MAX_HEARD_CHARS,
        )
        if state.chain_head is None and turn.shared:
            # Joined late, or the chain never started: the thread's history holds
            # what was heard too.
            return (await self._source.earlier(turn) or said), ids
        return said, ids

    async def _call(
        self,
        ask: Asking,
        delivery: Delivery,
        stop: asyncio.Event,
        progress: Progress,
        head: str | None,
        earlier: tuple[Said, ...],
        items: list[dict[str, Any]] | None = None,
        start: Answer | None = None,
    ) -> Outcome:
        """One response: to the turn, or (`items`) to tool outputs chained on `head`."""
        while True:
            mode, background = self._context_mode, self._background
            extra = context_window.fields(mode, self._options.compact_threshold)
            if background:
                extra["background"] = True  # the response outlives this process
            if items is not None and head is not None:
                request = followup_request(ask.parameters, head, items, extra)
            else:
                request = build_request(
                    ask.turn,
                    ask.parameters,
                    previous_response_id=head,
                    earlier=earlier,
                    note=ask.note,
                    extra=extra,
                    files=ask.files,
                )
            await self._count(ask.turn.key)  # another response follows the one before
            events = self._model.stream(request)
            outcome = await self._stream(
                events, delivery, stop, ask.turn.key, progress, start or Answer(), progress.about
            )
            self._spent(ask.turn, ask.parameters.model, outcome)
            error = outcome.error
            if error is not None and background and refuses_background(error):
                self._background = False
                log.warning("the endpoint refuses background mode; streaming without it")
                if self._options.background == "auto":
                    continue
                return outcome
            if error is None or not context_window.refused(error, mode):
                return outcome
            # Remembered for later turns: this endpoint does not take that field.
            self._context_mode = context_window.WEAKER[mode]
            log.warning("the endpoint refuses %s; using %s", mode, self._context_mode)

    async def _rounds(
        self,
        ask: Asking,
        delivery: Delivery,
        stop: asyncio.Event,
        progress: Progress,
        outcome: Outcome,
    ) -> Outcome:
        """While the model ends a response with function calls: run them, send their outputs
        on a chained request, and stream on into the same message. A response that asks
        approval of an MCP tool call ends the answer (`Outcome.waiting`) where the asker can
        be asked; elsewhere the call is denied and the answer goes on."""
        about = progress.about
        while True:
            calls = function_calls(outcome.answer)
            requests = approval_requests(outcome.answer)
            if not (calls or requests) or outcome.error is not None or outcome.stopped_by:
                return outcome
            response_id = outcome.answer.response_id
            rounds = int(about.get("round") or 0) + 1
            if rounds > self._tools.max_rounds:
                log.info("an answer reached the limit of %d tool rounds", self._tools.max_rounds)
                outcome.round_limit = self._tools.max_rounds
                outcome.stored = False  # its calls have no outputs: the chain cannot go on
                return outcome
            items = await self._outputs(ask, delivery, stop, progress, outcome, rounds)
            if items is None:
                outcome.stopped_by = self.stops.stopped_by(ask.turn.key)
                outcome.stored = False  # calls without outputs: the chain cannot go on
                return outcome
            if requests:
                if self._approvals is not None and not ask.turn.one_off:
                    # The answer ends here; the asker's choice starts the next part.
                    outcome.waiting = Waiting(requests, items, rounds)
                    return outcome
                # Nowhere to ask (e.g. /ask, the console): denied.
                log.info("an MCP tool call needs approval where none can be asked; denied")
                items += [approval_item(r.id, False) for r in requests]
            about["round"] = rounds
            usage = with_usage(about.get("usage"), outcome.answer.usage)
            about["usage"] = asdict(usage) if usage else None  # for the turn's record
            start = carried(outcome.answer)
            progress.next_round(start)
            outcome = await self._call(
                ask, delivery, stop, progress, response_id, (), items=items, start=start
            )

    async def _outputs(
        self,
        ask: Asking,
        delivery: Delivery,
        stop: asyncio.Event,
        progress: Progress,
        outcome: Outcome,
        rounds: int,
    ) -> list[dict[str, Any]] | None:
        """The outputs of the function calls a response ended with ([] for none); None when
        Stop was pressed while they ran."""
        calls = function_calls(outcome.answer)
        response_id = outcome.answer.response_id
        about = progress.about
        if not calls:
            return []
        if about.get("ran") == response_id:
            # The bot stopped while these calls ran: never run a function twice.
            log.info("function calls were under way at a restart; not running them again")
            return restarted_outputs(calls)
        about["round"], about["ran"] = rounds, response_id
        about["calls"] = [asdict(c) for c in calls]
        await progress.keep()  # kept before anything runs: a successor must not run them
        # While they run, each shows as "Calling <name>…".
        running = tuple(Activity(c.call_id, "function_call", detail=c.name) for c in calls)
        before = tuple(a for a in outcome.answer.activities if a.kind != "function_call")
        await delivery.working(before + running)
        log.info("running %d function call(s), round %d", len(calls), rounds)
        try:
            return await self._tools.outputs_unless_stopped(calls, ask.turn, stop)
        except asyncio.CancelledError:
            # The bot is stopping: a background answer is left for the next start.
            await self._leave(ask.turn.key, delivery, progress, outcome.answer)
            raise

    async def _stream(
        self,
        events: AsyncIterator[Event],
        delivery: Delivery,
        stop: asyncio.Event,
        key: str,
        progress: Progress,
        start: Answer,
        about: dict[str, Any],
    ) -> Outcome:
        outcome = Outcome(start)
        present = as_code_block if about.get("json") else None

        async def consume() -> None:
            shown, work = start.text, start.activities
            if shown:
                await delivery.show(present(shown) if present else shown)
            async for event in events:
                outcome.answer = answer = reduce(outcome.answer, event)
                progress.offer(answer, event.sequence)
                if answer.text != shown:
                    if not shown:
                        self._first_text(key)
                    shown = answer.text
                    await delivery.show(present(shown) if present else shown)
                if answer.activities is not work:
                    work = answer.activities
                    await delivery.working(work)

        streaming = asyncio.create_task(consume())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({streaming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # The bot is stopping: so does the stream. A background response goes on
            # upstream and is resumed by the next worker; any other ends here.
            streaming.cancel()
            await self._leave(key, delivery, progress, outcome.answer)
            raise
        finally:
            stopping.cancel()
        if not streaming.done():
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError, ModelError):
                await streaming
            await progress.close()
            answer = outcome.answer
            if progress.background and answer.response_id:
                # Closing the stream does not stop a background response: cancel it.
                await self._model.cancel(answer.response_id)
            outcome.stopped_by = self.stops.stopped_by(key)
            outcome.stored = await self._stored_after_stop(answer)
            return outcome
        await progress.close()
        try:
            streaming.result()
        except ModelError as error:
            self._log_model_error(error)
            self._recorder.model_error(error_code(error))
            outcome.error = error
            return outcome
        answer = outcome.answer
        if not answer.ended:
            outcome.error = ModelStreamBroken("the stream ended early")
            self._recorder.model_error(error_code(outcome.error))
        elif answer.ending is Ending.FAILED:
            log.warning("the model's answer failed: code=%s", answer.error_code)
            self._recorder.model_error(answer.error_code or "failed")
        outcome.stored = outcome.error is None and answer.stored
        return outcome

    def _first_text(self, key: str) -> None:
        seconds = self._since(key)
        if seconds is not None:
            self._recorder.first_text(seconds)

    async def _leave(
        self, key: str, delivery: Delivery, progress: Progress, answer: Answer
    ) -> None:
        """The bot stops mid-answer: keep what a successor needs, or say it was cut."""

        async def leave() -> None:
            if progress.background or not answer.response_id:
                # Resumed by the next worker (or, with no response yet, answered again).
                await delivery.leave()
                await progress.close(keep=True)
                return
            await progress.close()
            await self._deliver(key, delivery, Final(answer.text, notices.INTERRUPTED))

        try:
            await asyncio.shield(leave())
        except Exception:
            log.exception("could not leave an answer for the next start")

    async def _read_files(self, turn: Turn, earlier: tuple[Said, ...]) -> Read:
        """The files of the turn's message and of the messages heard before it."""
        refs = [ref for said in earlier for ref in said.files] + list(turn.files)
        if not refs:
            return Read()
        read = await read_files(self._files, turn, refs, self._options.max_file_bytes)
        log.info("read %d of %d file(s)", len(read.parts), len(refs))
        return read

    def _spent(self, turn: Turn, model: str, outcome: Outcome) -> None:
        """Count what a response cost against the asker's and the workspace's budgets: with
        the answer's last transaction, or on its own once another response follows."""
        if outcome.answer.usage is None:
            return
        try:
            write = self._policy.spent(turn, model, outcome.answer.usage)
        except Exception as error:  # counting must never cost the answer
            log.warning("could not count an answer's usage (%s)", type(error).__name__)
            return
        earlier = self._uncounted.pop(turn.key, None)
        either = both(earlier, write)
        if either is not None:
            self._uncounted[turn.key] = either

    async def _count(self, key: str) -> None:
        """Count the tokens not counted yet of the answer to `key`, in a transaction of their
        own."""
        write = self._uncounted.pop(key, None)
        if write is None:
            return
        try:
            await self._store.run(write)
        except Exception as error:  # counting must never cost the answer
            log.warning("could not count an answer's usage (%s)", type(error).__name__)

    async def _stored_after_stop(self, answer: Answer) -> bool:
        """Ask the API whether a stopped response was stored; only then may the chain move."""
        if answer.stored:
            return True
        if not answer.response_id:
            return False
        try:
            status = await self._model.status(answer.response_id)
        except ModelError:
            return False
        return status in STORED

    @staticmethod
    def _log_model_error(error: ModelError) -> None:
        if isinstance(error, ModelRejected):
            # For the operator: a wrong model name, a refused key, a bad parameter.
            log.error(
                "the model's service refused the request: status=%s code=%s message=%s",
                error.status,
                error.code or "-",
                error.message,
            )
        else:
            log.warning("model call failed: %s (status=%s)", type(error).__name__, error.status)


@dataclass(frozen=True)
class Asking:
    """One turn as the model is asked it: with its parameters and where the user is."""

    turn: Turn
    parameters: Parameters
    note: str = ""
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # parts by file id


def as_code_block(text: str) -> str:
    """A JSON answer (OPENAI_TEXT_FORMAT) is shown as it came, in a code block."""
    return f"```json\n{text.strip()}\n```"


def with_files_note(about: dict[str, Any], notice: str | None) -> str | None:
    """The answer's notice, after the note of any file the model was not given."""
    files_note = str(about.get("files_note") or "")
    return " ".join(n for n in (files_note, notice) if n) or None


def turn_of(row: LiveRow) -> Turn:
    return Turn(**row.turn["turn"])


def refuses_background(error: ModelError) -> bool:
    """The endpoint rejected the request because of `background` (a proxy without it)."""
    return (
        isinstance(error, ModelRejected)
        and error.status == 400
        and ("background" in error.message or "background" in error.code)
    )
