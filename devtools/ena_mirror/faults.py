"""Faults the mirror can be told to inject, for tests: 429 bursts, 5xx, truncated or empty bodies,
wrong md5s, downloads cut short, slow answers.

Set them in-process (``handle.faults.too_many_requests(3)``) or over HTTP
(``POST /_mirror/faults`` with ``{"rules": [{"kind": "status", "status": 429, "times": 3}],
"wrong_md5_runs": ["ERR9000002"]}``; ``DELETE /_mirror/faults`` clears them).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

FaultKind = Literal["status", "truncate", "empty", "delay", "truncate_download", "stall_download"]
FaultTarget = Literal["portal", "fastq"]


@dataclass
class FaultRule:
    """One fault, applied to the next ``times`` matching requests (``times=None``: every one).

    :param kind: ``status`` (answer ``status`` with a JSON error), ``truncate`` (200 with half the
        JSON body), ``empty`` (204 no body), ``delay`` (sleep ``delay_seconds`` then answer normally),
        ``truncate_download`` (send ``fraction`` of a FASTQ file, then close the connection),
        ``stall_download`` (send ``fraction`` of a FASTQ file, then send nothing for ``delay_seconds``
        with the connection open, as a stuck transfer does)
    :param result: only Portal API requests for this ``result=`` (e.g. ``read_run``)
    :param target: ``portal`` (the Portal API) or ``fastq`` (file downloads)
    """

    kind: FaultKind = "status"
    status: int = 500
    times: int | None = 1
    retry_after: float | None = None
    result: str | None = None
    target: FaultTarget = "portal"
    delay_seconds: float = 0.0
    fraction: float = 0.5

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        rule = cls(**data)
        if rule.kind not in ("status", "truncate", "empty", "delay", "truncate_download", "stall_download"):
            raise ValueError(f"unknown fault kind {rule.kind!r}")
        if rule.kind in ("truncate_download", "stall_download"):
            rule.target = "fastq"
        return rule


@dataclass
class Faults:
    """The mirror's current faults. Thread-safe; rules are consumed in the order they were added."""

    rules: list[FaultRule] = field(default_factory=list)
    wrong_md5_runs: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def take(self, target: FaultTarget, result: str | None = None) -> FaultRule | None:
        """The first rule matching this request, counting it as used."""
        with self._lock:
            for rule in self.rules:
                if rule.target != target or (rule.result is not None and rule.result != result):
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.wrong_md5_runs.clear()

    # Convenience setters -------------------------------------------------------------------

    def too_many_requests(self, times: int = 3, *, retry_after: float | None = 1.0, result: str | None = None):
        """``times`` answers of HTTP 429 with ``Retry-After``, then normal answers."""
        return self.add(FaultRule(kind="status", status=429, times=times, retry_after=retry_after, result=result))

    def server_error(self, times: int | None = None, *, status: int = 500, result: str | None = None):
        """HTTP ``status`` for ``times`` requests (default: every request until cleared)."""
        return self.add(FaultRule(kind="status", status=status, times=times, result=result))

    def truncated_body(self, times: int | None = 1, *, result: str | None = None):
        """HTTP 200 with the JSON body cut in half."""
        return self.add(FaultRule(kind="truncate", times=times, result=result))

    def empty_response(self, times: int | None = 1, *, result: str | None = None):
        """HTTP 204 with no body (what ENA sends for an empty result)."""
        return self.add(FaultRule(kind="empty", times=times, result=result))

    def slow(self, seconds: float, times: int | None = 1, *, target: FaultTarget = "portal"):
        return self.add(FaultRule(kind="delay", delay_seconds=seconds, times=times, target=target))

    def truncate_download(self, times: int | None = 1, *, fraction: float = 0.5):
        """Send only ``fraction`` of the next ``times`` FASTQ downloads, then drop the connection."""
        return self.add(FaultRule(kind="truncate_download", target="fastq", times=times, fraction=fraction))

    def stall_download(self, seconds: float = 60.0, times: int | None = 1, *, fraction: float = 0.3):
        """Send ``fraction`` of the next ``times`` FASTQ downloads, then stall for ``seconds`` and close."""
        return self.add(
            FaultRule(kind="stall_download", target="fastq", times=times, fraction=fraction, delay_seconds=seconds)
        )

    def wrong_md5(self, *run_accessions: str) -> None:
        """Advertise a wrong ``fastq_md5`` for these runs (their files are served unchanged)."""
        with self._lock:
            self.wrong_md5_runs.update(run_accessions)

    # JSON (control endpoint) ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [asdict(r) for r in self.rules], "wrong_md5_runs": sorted(self.wrong_md5_runs)}

    def add_from_json(self, data: dict[str, Any]) -> None:
        rules = [FaultRule.from_json(r) for r in data.get("rules", [])]
        runs = data.get("wrong_md5_runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise ValueError("wrong_md5_runs must be a list of run accessions")
        for rule in rules:
            self.add(rule)
        self.wrong_md5(*runs)
