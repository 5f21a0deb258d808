"""A runner waiting for slots other workers hold keeps its chunk's lease."""

from __future__ import annotations

import threading
import time
from collections import Counter

from synthesis import pipeline, streaming
from synthesis.backends.base import Completion, CompletionError
from synthesis.slots import LocalSlots


class _Refusing:
    """A served model (concurrent, no preparation) that answers with an error."""

    concurrent = True
    model_name = "m"

    def generate(self, requests):
        error = CompletionError("bad request", retryable=False)
        return [
            Completion(r.request_id, "", finish_reason="error", error=error)
            for r in requests
        ]


def test_the_lease_is_renewed_while_every_slot_is_taken_elsewhere():
    slots = LocalSlots()
    (held,) = slots.acquire([("ep", 1)], 1)  # another worker's request
    freed = threading.Timer(0.8, slots.release, args=([held],))
    flushes: list[float] = []

    def flush(results: streaming.Results) -> bool:
        flushes.append(time.monotonic())
        return True

    lane = streaming.Lane("ep", _Refusing(), limit=1)
    runner = streaming.Runner(
        lanes={streaming.GENERATOR: [lane], streaming.VERIFIER: [lane]},
        settings=pipeline.Settings(),
        slots=slots,
        flush=flush,
        should_stop=lambda: False,
        allowed_tries=1,
        tries=Counter(),
        renew_seconds=0.1,
    )
    group = pipeline.Group("g", (pipeline.FigureText("A chest CT."),))
    started = time.monotonic()
    freed.start()
    try:
        assert runner.run([pipeline.Unit(group, 0)]) == "done"
    finally:
        freed.cancel()
    waiting = [t for t in flushes if t - started < 0.75]
    # Written (so the lease renewed) every ~0.1 s before the slot came back.
    assert len(waiting) >= 4, flushes
    assert len(runner.results) == 0  # the failed try was written at the end


class _CountingSlots(LocalSlots):
    def __init__(self) -> None:
        super().__init__()
        self.asks: list[float] = []

    def acquire(self, endpoints, want):
        self.asks.append(time.monotonic())
        return super().acquire(endpoints, want)


def test_a_full_endpoint_is_asked_again_less_and_less_often():
    slots = _CountingSlots()
    (held,) = slots.acquire([("ep", 1)], 1)  # another worker's request
    slots.asks.clear()
    freed = threading.Timer(1.5, slots.release, args=([held],))
    lane = streaming.Lane("ep", _Refusing(), limit=1)
    runner = streaming.Runner(
        lanes={streaming.GENERATOR: [lane], streaming.VERIFIER: [lane]},
        settings=pipeline.Settings(),
        slots=slots,
        flush=lambda results: True,
        should_stop=lambda: False,
        allowed_tries=1,
        tries=Counter(),
    )
    runner._latency = 1.0  # requests there take about a second
    group = pipeline.Group("g", (pipeline.FigureText("A chest CT."),))
    freed.start()
    try:
        assert runner.run([pipeline.Unit(group, 0)]) == "done"
    finally:
        freed.cancel()
    gaps = [b - a for a, b in zip(slots.asks, slots.asks[1:], strict=False)]
    # Polled every 0.1 s that would be ~15 asks; the wait doubles to 0.5 s.
    assert 3 <= len(slots.asks) <= 8, gaps
    assert max(gaps) >= 0.35, gaps
    # ...and the freed slot was taken within half a request.
    assert slots.asks[-1] - slots.asks[0] < 1.5 + 0.55
