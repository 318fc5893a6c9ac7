"""What holds the bot's event loop up (and every ack waiting in it), for bench/serve_bot.py.

With `BENCH_STALLS=1` in its environment (and `BENCH_HEAP=1`: what the largest full
collection walked, by type), the bot notes every garbage-collector pass
(wall and CPU time) and every stall of its event loop over 30 ms: a 5 ms sleep that
woke late. For each stall it notes the main thread's CPU meanwhile (the loop busy
with its own callbacks), the whole process's (with the database thread's), and
whether a full collection ran in it; what is left is time the process waited for a
core (a shared machine) or the main thread waited for the GIL. The summary goes to
stderr (the bot's log) when it stops.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import Counter
from dataclasses import dataclass, field

STALL = 0.030  # seconds late: a stall
TICK = 0.005


@dataclass
class Stall:
    start: float
    end: float
    main_cpu: float
    process_cpu: float
    full_collection: float  # seconds of generation-2 passes within it


@dataclass
class Stalls:
    passes: dict[int, list[tuple[float, float, float]]] = field(
        default_factory=lambda: {0: [], 1: [], 2: []}
    )  # generation -> (start, wall, cpu)
    stalls: list[Stall] = field(default_factory=list)
    _gc_start: tuple[float, float] = (0.0, 0.0)
    freed: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    heap: list[str] = field(default_factory=list)
    _most: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._watch())

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if phase == "start":
            self._gc_start = (now, cpu)
        else:
            started, cpu_before = self._gc_start
            self.passes[info["generation"]].append((started, now - started, cpu - cpu_before))
            self.freed[info["generation"]] += info["collected"]
            if info["generation"] == 2 and os.environ.get("BENCH_HEAP"):
                # What a full pass walks, outside the collector (slow: a diagnosis only).
                asyncio.get_running_loop().call_soon(self._count_heap)

    def _count_heap(self) -> None:
        kinds = Counter(type(o).__qualname__ for o in gc.get_objects())
        if sum(kinds.values()) <= self._most:
            return
        self._most = sum(kinds.values())
        self.heap = [f"{n} {kind}" for kind, n in kinds.most_common(12)]
        self.heap.insert(0, f"{self._most} objects tracked")

    async def _watch(self) -> None:
        while True:
            wall, main, process = time.perf_counter(), time.thread_time(), time.process_time()
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            if now - wall - TICK > STALL:
                full = sum(
                    min(now, s + w) - max(wall, s)
                    for s, w, _ in self.passes[2]
                    if s < now and s + w > wall
                )
                self.stalls.append(
                    Stall(wall, now, time.thread_time() - main, time.process_time() - process, full)
                )

    def summary(self) -> str:
        lines = []
        for generation, passes in self.passes.items():
            walls = [w for _, w, _ in passes]
            cpus = [c for _, _, c in passes]
            lines.append(
                f"gen {generation}: {len(passes)} passes, {sum(walls) * 1000:.0f} ms, "
                f"longest {max(walls, default=0) * 1000:.1f} ms (CPU {sum(cpus) * 1000:.0f} ms, "
                f"longest {max(cpus, default=0) * 1000:.1f} ms); "
                f"{self.freed[generation]} objects freed"
            )
        stalls = sorted(self.stalls, key=lambda s: s.end - s.start, reverse=True)
        collecting = [s for s in stalls if s.full_collection >= (s.end - s.start) / 2]
        waiting = [s for s in stalls if s not in collecting and s.main_cpu < (s.end - s.start) / 3]
        lines.append(
            f"{len(stalls)} loop stalls over {STALL * 1000:.0f} ms: {len(collecting)} mostly a "
            f"full collection, {len(waiting)} mostly waiting (for a core or the GIL), "
            f"{len(stalls) - len(collecting) - len(waiting)} the loop busy with its callbacks"
        )
        for s in stalls[:8]:
            lines.append(
                f"  stall {(s.end - s.start) * 1000:.0f} ms: main thread CPU "
                f"{s.main_cpu * 1000:.0f} ms, process CPU {s.process_cpu * 1000:.0f} ms, "
                f"full collection {s.full_collection * 1000:.0f} ms"
            )
        lines += [f"  heap at the largest full collection: {line}" for line in self.heap]
        return "\n".join(f"BENCH_STALLS {line}" for line in lines)


def keep_cycles() -> None:
    """`BENCH_CYCLES=1`: keep what the collector frees (gc.DEBUG_SAVEALL), to see which
    objects answers leave in reference cycles; `cycles()` names the most common."""
    gc.set_debug(gc.DEBUG_SAVEALL)


def cycles() -> str:
    gc.collect()
    kinds = Counter(
        f"{type(o).__qualname__} {getattr(o, '__qualname__', '')}".strip() for o in gc.garbage
    )
    lines = [f"{len(gc.garbage)} objects in cycles"]
    lines += [f"  {n} {kind}" for kind, n in kinds.most_common(25)]
    return "\n".join(f"BENCH_CYCLES {line}" for line in lines)
