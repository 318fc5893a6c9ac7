"""Reading a bot's `/metrics` as Prometheus does: with prometheus-client's own parser."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@dataclass
class Scrape:
    samples: list[Sample]
    types: dict[str, str]  # family name → counter, gauge, histogram …

    def value(self, name: str, **labels: str) -> float | None:
        """The sample `name` with exactly these labels (None when absent)."""
        for sample in self.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
        return None

    def with_labels(self, name: str, **labels: str) -> list[Sample]:
        """Samples `name` whose labels include these."""
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]


async def scrape(port: int) -> Scrape:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as reply,
    ):
        assert reply.status == 200, await reply.text()
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = await reply.text()
    families = list(text_string_to_metric_families(text))
    return Scrape([s for f in families for s in f.samples], {f.name: f.type for f in families})
