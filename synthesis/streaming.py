"""The streaming pipeline: both stages in flight at once, up to each endpoint's limit.

A chunk's units go to the generator; each item is sent to the verifier as soon
as its generation is parsed, and each finished item (or failed try) is handed
to `flush` in small groups, so results land as they come rather than at the
end of the chunk. Requests to a server that takes them one at a time (HTTP:
`backend.concurrent`) each hold a slot of their endpoint from `slots`, shared
by every worker; a role with several endpoints (replicas) sends each request
to the one with the fewest outstanding. Such a request is prepared first (its
payload built and its prompt counted against the server's context, see
`OpenAICompatBackend.prepare`) without a slot; then a sender thread takes a
slot and keeps it while prepared requests for its endpoint are waiting: as
soon as an answer arrives it sends the next one, so a slot never waits for
this loop to notice, settle and ask Redis again (on a 200 ms request that
round trip cost a fifth of the server's time). An in-process runtime (transformers,
vLLM offline, test doubles) gets the requests waiting for it in one call, one
call at a time: it batches on its own.

Between rounds the runner asks `should_stop` (the batch was cancelled or
paused) and `flush` may say the chunk's lease was lost; then nothing more is
sent, and what is in flight is finished and written. Nothing here touches the
database: the caller's callbacks do.
"""

from __future__ import annotations

import queue as queues
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from synthesis import pipeline
from synthesis.backends.base import Backend, GenerationRequest
from synthesis.slots import Slot, renew_s

GENERATOR, VERIFIER = "generator", "verifier"
# How often a worker looks again at endpoints whose slots are all taken (a
# slot another worker gives back is idle until then), and waits for answers:
# a tenth of the requests' recent latency, within these bounds, so a freed
# slot idles for at most ~10 % of a request and a worker waiting on slow
# requests does not spin (at L = 1 s, 50 looks a second cost more CPU than
# the requests).
_POLL_S = 0.02
_MAX_POLL_S = 0.2
_MAX_FULL_WAIT_S = 0.5
_MAX_THREADS = 512
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One pool per process: its threads (and the HTTP connections backends
    keep for them) outlive a chunk; it only grows to what is in flight."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_MAX_THREADS, thread_name_prefix="medsyn-stream")
        return _POOL


@dataclass
class Lane:
    """One endpoint a role may send to, as this worker holds it."""

    endpoint: str
    backend: Backend
    limit: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: bool = False  # an in-process lane has a call running

    @property
    def concurrent(self) -> bool:
        return bool(getattr(self.backend, "concurrent", False))

    @property
    def prepares(self) -> bool:
        """Whether requests can be made ready before a slot is taken."""
        return self.concurrent and hasattr(self.backend, "prepare")


@dataclass
class Results:
    """What finished since the last flush."""

    items: list[tuple[pipeline.Generated, pipeline.Verdict, str, str]] = field(
        default_factory=list
    )  # (generation, verdict, generator model, verifier model)
    failures: list[tuple[pipeline.Generated, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items) + len(self.failures)


@dataclass(frozen=True)
class _Job:
    role: str
    request: GenerationRequest
    unit: pipeline.Unit
    generated: pipeline.Generated | None = None  # what a verification checks
    generator_model: str = ""
    prepared: Any = None  # the request made ready to send (Lane.prepares)


@dataclass(frozen=True)
class _Answer:
    """What a sender, a preparation or an in-process call hands the loop."""

    jobs: list[_Job]
    lane: Lane
    completions: list | None = None
    error: BaseException | None = None
    prepared: str = ""  # the role of a job made ready (now waiting in `ready`)


def _model(lane: Lane) -> str:
    return getattr(lane.backend, "model_name", "")


def _sizes_carry_over(lanes: dict[str, list[Lane]]) -> bool:
    """Whether a generation's prompt size bounds its verification's: both
    roles on the same endpoints, all one model sent the same image size."""
    names = {role: {lane.endpoint for lane in lanes[role]} for role in lanes}
    kinds = {
        (_model(lane), getattr(lane.backend, "max_image_long_side", None))
        for lane in lanes[VERIFIER]
    }
    return (
        names[GENERATOR] == names[VERIFIER]
        and len(kinds) == 1
        and all(model for model, _ in kinds)
    )


class Runner:
    """Runs a chunk's units through generate and verify, streaming.

    `flush(results)` writes and returns False once the chunk is no longer
    ours; `should_stop()` is True once the batch stops running. `run` returns
    "done", "stopped" or "superseded"; a backend error is raised after what
    is in flight has been written.
    """

    def __init__(
        self,
        *,
        lanes: dict[str, list[Lane]],
        settings: pipeline.Settings,
        slots: Any,
        flush: Callable[[Results], bool],
        should_stop: Callable[[], bool],
        allowed_tries: int,
        tries: Counter,
        flush_items: int = 64,
        flush_seconds: float = 1.0,
        check_seconds: float = 0.2,
        renew_seconds: float = 10.0,
        pause_check: Callable[[str, list], bool] | None = None,
        pause_after: int = 4,
    ) -> None:
        self.lanes = lanes
        self.settings = settings
        self.slots = slots
        self._flush = flush
        self.should_stop = should_stop
        self.allowed = allowed_tries
        self.tries = tries
        self.flush_items = flush_items
        self.flush_seconds = flush_seconds
        self.check_seconds = check_seconds
        self.renew_seconds = renew_seconds  # write (renewing the lease) at least
        # Endpoints whose slots were all taken: not asked again until one of
        # our own requests there finishes, or this time passes.
        self._full_until: dict[str, float] = {}
        self._full_wait: dict[str, float] = {}  # doubles while it stays full
        self._latency = 0.0  # recent request latency (moving average), seconds
        # Each role's errors until its first success: when the first requests
        # all fail alike, `pause_check` may pause the batch (configuration).
        self.pause_check = pause_check
        self.pause_after = pause_after
        self._first: dict[str, list | None] = {GENERATOR: [], VERIFIER: []}
        self._made: dict[str, list[pipeline.Generated]] = {}  # items by group
        # A verification's prompt bounded by its generation's (its server
        # need not count it then: a quarter of an item's HTTP calls).
        self._bound_verifications = _sizes_carry_over(lanes)
        self.waiting: dict[str, deque[_Job]] = {GENERATOR: deque(), VERIFIER: deque()}
        # Jobs prepared for a role whose endpoints prepare (HTTP), and how
        # many preparations run; senders take from `ready`.
        self.ready: dict[str, deque[_Job]] = {GENERATOR: deque(), VERIFIER: deque()}
        self.preparing: Counter = Counter()
        self._preparer = {
            role: next((lane for lane in lanes[role] if lane.prepares), None)
            for role in (GENERATOR, VERIFIER)
        }
        # Sender threads and in-process calls; each puts what it got (jobs,
        # lane, completions or the exception) on `answers`.
        self.in_flight: set[Future] = set()  # only changed under _flight_lock
        self._flight_lock = threading.Lock()
        self.answers: queues.SimpleQueue = queues.SimpleQueue()
        self.held: set[Slot] = set()  # slots our senders hold (renewed here)
        self._held_lock = threading.Lock()
        self.sending = True  # senders stop taking waiting jobs once False
        self.results = Results()
        self.outcome = "done"
        self.error: BaseException | None = None

    # -- the loop ------------------------------------------------------------------

    def run(self, units: Sequence[pipeline.Unit]) -> str:
        self.pause_after = max(1, min(self.pause_after, len(units)))
        for unit in units:
            self._queue_generation(unit)
        try:
            self._loop(_pool())
        finally:
            self.sending = False  # after an error in a write, say
            with self._flight_lock:
                running = list(self.in_flight)
            wait(running)
            with self._held_lock:
                held, self.held = list(self.held), set()
            self.slots.release(held)
        if self.error is not None:
            raise self.error
        return self.outcome

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        stopping = False
        now = time.monotonic()
        next_check = next_renew = now
        last_flush = now
        while True:
            now = time.monotonic()
            if not stopping and self._pending() and now >= next_check:
                # Still within one round of requests: half their latency.
                next_check = now + max(self.check_seconds, min(self._latency / 2, 1))
                if self.should_stop():
                    stopping, self.outcome = True, "stopped"
            if stopping:
                self.sending = False
            else:
                self._dispatch(pool)
            # Read before waiting: a future that finishes during the wait has
            # put its answer on the queue, to be taken on the next round.
            busy = bool(self.in_flight)
            answers = self._answers(timeout=self._poll_s() if busy else 0)
            if not answers and not busy:
                if stopping or not self._pending():
                    break
                # Every slot is taken by other workers: wait, still renewing
                # the lease below (a killed worker's slots take a while back).
                wake = min(self._full_until.values(), default=now) - time.monotonic()
                time.sleep(min(max(wake, self._poll_s()), _MAX_FULL_WAIT_S))
            for answer in answers:
                if answer.prepared:
                    self.preparing[answer.prepared] -= 1
                elif not answer.lane.concurrent:
                    answer.lane.busy = False
                if answer.jobs:
                    self._settle(answer)
            if self.error is not None or self.outcome == "paused":
                stopping = True
                self.sending = False
            if not stopping:
                self._dispatch(pool)  # new verifications, before writing
            now = time.monotonic()
            if now >= next_renew:
                next_renew = now + renew_s()
                with self._held_lock:
                    held = list(self.held)
                self.slots.renew(held)
            since = now - last_flush
            if (
                len(self.results) >= self.flush_items
                or (self.results and since >= self.flush_seconds)
                or since >= self.renew_seconds
            ):
                last_flush = now
                if not self._write() and not stopping:
                    stopping, self.outcome = True, "superseded"
        self._write()

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable, *args: Any) -> None:
        future = pool.submit(fn, *args)
        with self._flight_lock:
            self.in_flight.add(future)
        # Runs once `fn` has returned, so a future that has left `in_flight`
        # has put its last answer on the queue already.
        future.add_done_callback(self._landed)

    def _landed(self, future: Future) -> None:
        with self._flight_lock:
            self.in_flight.discard(future)

    def _poll_s(self) -> float:
        return min(max(_POLL_S, self._latency / 10), _MAX_POLL_S)

    def _wait_full(self, lane: Lane) -> float:
        """How long to leave a full endpoint before asking again: the poll
        interval, doubled each time it is still full, up to half a request
        (slots held by a worker mid-chunk come back only as its chunk ends,
        and every look is a Redis round trip)."""
        cap = max(self._poll_s(), min(self._latency / 2, _MAX_FULL_WAIT_S))
        last = self._full_wait.get(lane.endpoint)
        wait_s = self._poll_s() if last is None else min(2 * last, cap)
        self._full_wait[lane.endpoint] = wait_s
        return wait_s

    def _pending(self) -> bool:
        """Whether jobs wait to be prepared or sent."""
        return any(self.waiting.values()) or any(self.ready.values())

    def _answers(self, timeout: float) -> list[_Answer]:
        """Everything answered so far, waiting up to `timeout` for the first."""
        try:
            got = [
                self.answers.get(timeout=timeout)
                if timeout
                else self.answers.get_nowait()
            ]
        except queues.Empty:
            return []
        while True:
            try:
                got.append(self.answers.get_nowait())
            except queues.Empty:
                return got

    def _write(self) -> bool:
        results, self.results = self.results, Results()
        if self.outcome in ("superseded", "paused"):
            return False  # not ours any more (a paused chunk went back)
        if not self._flush(results):
            self.outcome = "superseded"
            return False
        return True

    # -- sending -------------------------------------------------------------------

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        # Verifications first: they finish items, and keep the queue short.
        for role in (VERIFIER, GENERATOR):
            queue = self.waiting[role]
            if not queue and not self.ready[role]:
                continue
            lanes = self.lanes[role]
            for lane in lanes:
                if queue and not lane.concurrent and not lane.busy:
                    jobs = [queue.popleft() for _ in range(len(queue))]
                    lane.busy = True
                    self._submit(pool, self._call, lane, jobs)
            preparer = self._preparer[role]
            if preparer is not None:
                room = sum(lane.limit for lane in lanes if lane.prepares)
                room -= len(self.ready[role]) + self.preparing[role]
                for _ in range(min(room, len(queue))):
                    job = queue.popleft()
                    self.preparing[role] += 1
                    self._submit(pool, self._prepare, preparer, role, job)
                queue = self.ready[role]
            now = time.monotonic()
            shared = [
                lane
                for lane in lanes
                if lane.concurrent and self._full_until.get(lane.endpoint, 0) <= now
            ]
            if queue and shared:
                by_name = {lane.endpoint: lane for lane in shared}
                taken = self.slots.acquire(
                    [(lane.endpoint, lane.limit) for lane in shared], len(queue)
                )
                # Full: our own senders carry on with what waits; others'
                # freed slots only show at the next look.
                full = len(taken) < len(queue)
                for lane in shared:
                    if full:
                        self._full_until[lane.endpoint] = now + self._wait_full(lane)
                    else:
                        self._full_wait.pop(lane.endpoint, None)
                with self._held_lock:
                    self.held.update(taken)
                for slot in taken:
                    job = self._take(slot.endpoint)
                    if job is None:  # our senders took them meanwhile
                        self._give_back(slot)
                        continue
                    lane = by_name[slot.endpoint]
                    self._submit(pool, self._send, lane, slot, job)

    def _take(self, endpoint: str) -> _Job | None:
        """The next waiting job that may go to `endpoint` (verifications first);
        called from sender threads too, so a deque that empties meanwhile is
        not an error."""
        for role in (VERIFIER, GENERATOR):
            if any(lane.endpoint == endpoint for lane in self.lanes[role]):
                prepared = self._preparer[role] is not None
                try:
                    return (self.ready if prepared else self.waiting)[role].popleft()
                except IndexError:
                    continue
        return None

    def _give_back(self, slot: Slot) -> None:
        with self._held_lock:
            self.held.discard(slot)
        self.slots.release([slot])
        self._full_until.pop(slot.endpoint, None)  # worth asking again
        self._full_wait.pop(slot.endpoint, None)

    def _send(self, lane: Lane, slot: Slot, job: _Job) -> None:
        """A sender: one request at a time on `slot`, the next as soon as the
        answer is in, until nothing waits for this endpoint or sending stops."""
        try:
            while True:
                try:
                    if job.prepared is not None:
                        completions = lane.backend.send(job.prepared)
                    else:
                        completions = lane.backend.generate([job.request])
                except Exception as exc:  # noqa: BLE001 - raised by run()
                    self.answers.put(_Answer([job], lane, error=exc))
                    return
                self.answers.put(_Answer([job], lane, completions))
                next_job = self._take(slot.endpoint) if self.sending else None
                if next_job is None:
                    return
                job = next_job
        finally:
            self._give_back(slot)

    def _prepare(self, lane: Lane, role: str, job: _Job) -> None:
        """Make a job ready to send; one that cannot be sent is answered now."""
        try:
            prepared = lane.backend.prepare(job.request)
        except Exception as exc:  # noqa: BLE001 - raised by run()
            self.answers.put(_Answer([job], lane, error=exc, prepared=role))
            return
        if prepared.failed is not None:
            answer = _Answer([job], lane, [prepared.failed], prepared=role)
            self.answers.put(answer)
            return
        self.ready[role].append(replace(job, prepared=prepared))
        self.answers.put(_Answer([], lane, prepared=role))

    def _call(self, lane: Lane, jobs: list[_Job]) -> None:
        """One call into an in-process model with everything waiting for it."""
        try:
            with lane.lock:
                completions = lane.backend.generate([job.request for job in jobs])
        except Exception as exc:  # noqa: BLE001 - raised by run()
            self.answers.put(_Answer(jobs, lane, error=exc))
            return
        self.answers.put(_Answer(jobs, lane, completions))

    # -- receiving -----------------------------------------------------------------

    def _settle(self, answer: _Answer) -> None:
        jobs, lane, completions = answer.jobs, answer.lane, answer.completions
        if answer.error is not None or completions is None:
            if self.error is None:
                self.error = answer.error
            return
        by_id = {c.request_id: c for c in completions}
        if lane.concurrent:
            for completion in completions:
                if completion.latency_s > 0:
                    self._latency += (completion.latency_s - self._latency) / 8
        for job in jobs:
            rid = job.request.request_id
            completion = by_id.get(rid) or pipeline.missing(rid)
            if job.role == GENERATOR:
                parsed = pipeline.parse_generation(job.unit, completion, self.settings)
                self._generated(job, parsed, _model(lane))
            else:
                verdict = pipeline.score_verdict(completion, self.settings)
                self._first_results(VERIFIER, verdict.error)
                self.results.items.append(
                    (job.generated, verdict, job.generator_model, _model(lane))
                )

    def _first_results(self, role: str, error: Any) -> None:
        seen = self._first[role]
        if seen is None:
            return
        if error is None:
            self._first[role] = None  # the role works: never pause for it
            return
        seen.append(error)
        if (
            len(seen) >= self.pause_after
            and self.outcome != "paused"
            and self.pause_check is not None
            and self.pause_check(role, seen)
        ):
            self.outcome = "paused"

    def _generated(self, job: _Job, generated: pipeline.Generated, model: str) -> None:
        self._first_results(GENERATOR, generated.error)
        earlier = self._made.setdefault(job.unit.group.key, [])
        alike = pipeline.near_duplicate(generated, earlier)
        if alike is not None:
            # Recorded as a failed try, not retried (as a whole chunk does).
            self.results.failures.append((alike, job.unit.attempt))
            return
        if generated.item is not None:
            earlier.append(generated)
            self.waiting[VERIFIER].append(
                _Job(
                    VERIFIER,
                    pipeline.verification_request(
                        job.unit.group,
                        vars(generated.item),
                        self.settings,
                        job.unit.request_id,
                        generation_prompt_tokens=generated.prompt_tokens
                        if self._bound_verifications
                        else 0,
                    ),
                    job.unit,
                    generated,
                    generator_model=model,
                )
            )
            return
        slot = (job.unit.group.key, job.unit.sample_index)
        self.tries[slot] += 1
        self.results.failures.append((generated, self.tries[slot]))
        if self.tries[slot] < self.allowed and generated.retryable:
            self._queue_generation(replace(job.unit, attempt=self.tries[slot] + 1))

    def _queue_generation(self, unit: pipeline.Unit) -> None:
        self.waiting[GENERATOR].append(
            _Job(GENERATOR, pipeline.generation_request(unit, self.settings), unit)
        )
