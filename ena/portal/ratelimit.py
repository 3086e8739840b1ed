"""A thread-safe token bucket: at most ``rate`` requests per second on average, bursts up to ``capacity``.

ENA publishes no rate limit for the Portal API; its guidance is to stay at "a few requests per
second". The client keeps ``EMG_CONFIG.ena.requests_per_second`` (5 by default) on average and allows
a burst of up to :data:`DEFAULT_BURST` requests (never more than one second's worth, see
:func:`burst_for`), so the handful of requests of a small study (study, samples, a few pages of
runs) go out without waiting, while any longer stretch still averages the configured rate: over any
``T`` seconds at most ``capacity + rate * T`` requests are sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: The largest burst the ENA client allows (requests sent back to back before the rate applies).
DEFAULT_BURST = 5
#: Token shortfall treated as none: rounding may leave a refill a hair under one token, and a clock
#: that advances by whole ticks would otherwise make :meth:`TokenBucket.acquire` sleep for ever.
_EPSILON = 1e-9


def burst_for(rate: float, burst: int = DEFAULT_BURST) -> float:
    """The bucket capacity for ``rate`` requests per second: ``burst``, but at most one second's worth (>= 1).

    :param rate: the average rate allowed
    :param burst: the largest burst wanted
    """
    return max(1.0, min(float(burst), rate))


class TokenBucket:
    """Blocks callers of :meth:`acquire` so that requests stay under ``rate`` per second.

    The bucket starts full: the first ``capacity`` requests go at once, then one per ``1 / rate`` s.

    :param rate: tokens added per second (ENA publishes no limit; the platform stays at a few per second)
    :param capacity: the most tokens that can accumulate (the largest burst); defaults to 1
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available. Return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0 - _EPSILON:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait
