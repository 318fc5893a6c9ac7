"""The garbage collector's full passes kept short, so that they never hold up acks.

A full (generation 2) pass walks every object the collector tracks, and the event
loop, with every acknowledgement waiting in it, stands still meanwhile. After the
start, nearly all of those objects live as long as the process: modules, bolt,
SQLAlchemy, pydantic, the settings. Measured with bench/ack_and_answers.py at 200
events/s, full passes took up to 220 ms each, the longest acks of the run.
`gc.freeze()` moves what exists once the bot is up into a generation the collector
no longer walks; full passes then cover only what answers allocate.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> None:
    """Once the bot serves: collect the start-up garbage, then freeze what is left."""
    gc.collect()
    gc.freeze()
