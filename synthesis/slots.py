"""Request slots per model endpoint, shared by every worker: a counting semaphore.

An endpoint's `concurrency` is the most requests the server should see at once,
from all workers together, so adding workers never overruns a server. With a
Redis broker the slots live in Redis: one sorted set per endpoint whose members
are the slots held (score: when the hold expires). A holder renews its slots
while its requests run; a worker that is killed stops renewing, and its slots
come back after `ttl_s()`. Taking slots is one Lua script that, for each slot,
picks the endpoint with the fewest requests outstanding among a role's
replicas (least-outstanding-requests first).

With the filesystem broker of `make run` (no Redis) the slots are counted in
this process only: one worker, so the limit still holds for it.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings

TTL_S = 30  # a killed worker's slots come back after this (MEDSYN_SLOT_TTL_S)
_PREFIX = "medsyn:slots:"


def ttl_s() -> int:
    return int(getattr(settings, "MEDSYN_SLOT_TTL_S", TTL_S))


def renew_s() -> float:
    """How often holders push their slots' expiry forward."""
    return ttl_s() / 4


# KEYS: one sorted set per endpoint. ARGV: want, hold id, ttl, then each
# key's limit. Returns, per slot taken, the 1-based index of its endpoint.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local want = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  counts[i] = redis.call('ZCARD', key)
end
local taken = {}
for j = 1, want do
  local best = 0
  for i = 1, #KEYS do
    local free = counts[i] < tonumber(ARGV[3 + i])
    if free and (best == 0 or counts[i] < counts[best]) then best = i end
  end
  if best == 0 then break end
  counts[best] = counts[best] + 1
  redis.call('ZADD', KEYS[best], now + ttl, ARGV[2] .. ':' .. j)
  redis.call('EXPIRE', KEYS[best], ttl * 4)
  taken[#taken + 1] = best
end
return taken
"""

# KEYS: sorted sets; ARGV: ttl, then members (as many per key as ARGV lists,
# key of member k is KEYS[k]). Pushes the expiry of slots still held.
_RENEW = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for k = 2, #ARGV do
  redis.call('ZADD', KEYS[k - 1], 'XX', until_, ARGV[k])
end
return 0
"""


def _key(name: str) -> str:
    return _PREFIX + name


class Slot:
    """One request's hold on an endpoint."""

    __slots__ = ("endpoint", "member")

    def __init__(self, endpoint: str, member: str) -> None:
        self.endpoint = endpoint
        self.member = member


class RedisSlots:
    """Slots shared through Redis by every worker on the broker."""

    shared = True

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=10)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)

    def acquire(self, endpoints: Sequence[tuple[str, int]], want: int) -> list[Slot]:
        """Up to `want` slots over `endpoints` ((name, limit) pairs), each on
        the endpoint with the fewest requests outstanding; [] when all are full."""
        if want <= 0 or not endpoints:
            return []
        hold = uuid.uuid4().hex
        taken = self._acquire(
            keys=[_key(name) for name, _ in endpoints],
            args=[want, hold, ttl_s(), *(limit for _, limit in endpoints)],
        )
        return [
            Slot(endpoints[int(i) - 1][0], f"{hold}:{j}")
            for j, i in enumerate(taken, start=1)
        ]

    def release(self, slots: Sequence[Slot]) -> None:
        if not slots:
            return
        pipe = self._redis.pipeline(transaction=False)
        for slot in slots:
            pipe.zrem(_key(slot.endpoint), slot.member)
        pipe.execute()

    def renew(self, slots: Sequence[Slot]) -> None:
        if slots:
            self._renew(
                keys=[_key(s.endpoint) for s in slots],
                args=[ttl_s(), *(s.member for s in slots)],
            )

    def outstanding(self, endpoint: str) -> int:
        """Requests in flight on `endpoint` from all workers (for tests, pages)."""
        key = _key(endpoint)
        now = float(self._redis.time()[0])
        self._redis.zremrangebyscore(key, "-inf", now)
        return int(self._redis.zcard(key))


class LocalSlots:
    """Slots counted in this process: the fallback without Redis (one worker)."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def acquire(self, endpoints: Sequence[tuple[str, int]], want: int) -> list[Slot]:
        taken: list[Slot] = []
        with self._lock:
            for _ in range(max(0, want)):
                free = [
                    (self._counts.get(name, 0), name)
                    for name, limit in endpoints
                    if self._counts.get(name, 0) < limit
                ]
                if not free:
                    break
                _, name = min(free)
                self._counts[name] = self._counts.get(name, 0) + 1
                taken.append(Slot(name, ""))
        return taken

    def release(self, slots: Sequence[Slot]) -> None:
        with self._lock:
            for slot in slots:
                self._counts[slot.endpoint] = max(0, self._counts[slot.endpoint] - 1)

    def renew(self, slots: Sequence[Slot]) -> None:
        """Nothing expires in-process."""

    def outstanding(self, endpoint: str) -> int:
        with self._lock:
            return self._counts.get(endpoint, 0)


@functools.cache
def limiter() -> Any:
    """This process's slot keeper: Redis when the broker is Redis, else local."""
    url = getattr(settings, "CELERY_BROKER_URL", "")
    if isinstance(url, str) and url.startswith(("redis://", "rediss://")):
        return RedisSlots(url)
    return LocalSlots()
