"""Approvals in Slack: the prompt with its buttons, in the answer's thread. Its calls
spend the workspace's Slack budget as answers do, waiting for room rather than
drawing a 429 (which would lose the prompt)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.conversation.approvals import Approval
from bot.slack import approval_blocks
from bot.slack.budget import SlackBudget
from bot.slack.calls import SIDE_CALL_ERRORS, slack_error
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


class SlackApprovalDesk:
    def __init__(self, workspaces: Workspaces, budget: SlackBudget) -> None:
        self._workspaces = workspaces  # each approval is shown with its workspace's token
        self._budget = budget

    async def ask(self, approval: Approval) -> dict[str, Any]:
        try:
            client = await self._workspaces.client_for(approval.team_id)
            budget = self._budget.for_answer(approval.team_id, approval.channel_id)
            post = budget.urgent("chat.postMessage", client.chat_postMessage)
            response = await post(
                channel=approval.channel_id,
                thread_ts=approval.thread_ts,
                **approval_blocks.prompt(approval),
            )
        except SIDE_CALL_ERRORS as error:
            why = slack_error(error) if isinstance(error, SlackApiError) else ""
            log.warning("could not post an approval prompt (%s)", why or type(error).__name__)
            return {}
        return {"ts": str(response["ts"])}

    async def settle(
        self, approval: Approval, place: dict[str, Any], outcome: str, by: str
    ) -> None:
        ts = place.get("ts")
        if not isinstance(ts, str):
            return
        client = await self._workspaces.client_for(approval.team_id)
        budget = self._budget.for_answer(approval.team_id, approval.channel_id)
        update = budget.urgent("chat.update", client.chat_update)
        await update(
            channel=approval.channel_id, ts=ts, **approval_blocks.settled(approval, outcome, by)
        )
