"""What one request asks of the model beyond the turn itself. Pure.

The environment sets the defaults (`from_settings`); a workspace or a channel may
override some (`dataclasses.replace`). Unset fields are not sent, so the API's
defaults hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings import Settings, mcp_servers, names, text_format


@dataclass(frozen=True)
class Parameters:
    model: str
    instructions: str
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    text_verbosity: str | None = None
    text_format: Mapping[str, Any] | None = None  # None: plain text
    service_tier: str | None = None
    tools: tuple[str, ...] = ()  # built-in tools: web_search, file_search, …
    vector_store_ids: tuple[str, ...] = ()
    mcp_servers: tuple[Mapping[str, Any], ...] = ()  # `mcp` tools, as sent
    functions: tuple[Mapping[str, Any], ...] = ()  # `function` tools, as sent

    @classmethod
    def from_settings(cls, settings: Settings) -> Parameters:
        return cls(
            model=settings.OPENAI_MODEL,
            instructions=settings.BOT_INSTRUCTIONS,
            max_output_tokens=settings.OPENAI_MAX_OUTPUT_TOKENS,
            temperature=settings.OPENAI_TEMPERATURE,
            top_p=settings.OPENAI_TOP_P,
            reasoning_effort=settings.OPENAI_REASONING_EFFORT,
            reasoning_summary=settings.OPENAI_REASONING_SUMMARY,
            text_verbosity=settings.OPENAI_TEXT_VERBOSITY,
            text_format=text_format(settings.OPENAI_TEXT_FORMAT),
            service_tier=settings.OPENAI_SERVICE_TIER,
            tools=tuple(names(settings.OPENAI_TOOLS)),
            vector_store_ids=tuple(names(settings.OPENAI_VECTOR_STORE_IDS)),
            mcp_servers=tuple(mcp_servers(settings.OPENAI_MCP_SERVERS)),
        )

    @property
    def answers_in_json(self) -> bool:
        return self.text_format is not None

    def fields(self) -> dict[str, Any]:
        """The request's fields for these parameters (not its input or chain)."""
        body: dict[str, Any] = {"model": self.model, "instructions": self.instructions}
        for name in ("max_output_tokens", "temperature", "top_p", "service_tier"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        reasoning = {"effort": self.reasoning_effort, "summary": self.reasoning_summary}
        if any(reasoning.values()):
            body["reasoning"] = {k: v for k, v in reasoning.items() if v}
        text = {"verbosity": self.text_verbosity, "format": self.text_format}
        if any(value is not None for value in text.values()):
            body["text"] = {k: v for k, v in text.items() if v is not None}
        tools = [self._built_in(name) for name in self.tools]
        tools += [dict(server) for server in self.mcp_servers]
        tools += [dict(function) for function in self.functions]
        if tools:
            body["tools"] = tools
        return body

    def _built_in(self, name: str) -> dict[str, Any]:
        if name == "file_search":
            return {"type": "file_search", "vector_store_ids": list(self.vector_store_ids)}
        if name == "code_interpreter":
            return {"type": "code_interpreter", "container": {"type": "auto"}}
        return {"type": name}
