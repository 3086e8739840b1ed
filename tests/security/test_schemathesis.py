"""Schemathesis over both OpenAPI schemas of the platform, in process, as four kinds of caller.

Every operation of ``/api/v2/openapi.json`` and ``/ga4gh/drs/v1/openapi.json`` is fuzzed with positive and
negative data as each profile (anonymous, the owner of the private study with a bearer user token, a superuser by
HTTP Basic, an admin ledger token), then about each seeded object (public and private: its path parameters fixed,
the rest generated), then the links between operations (inferred by schemathesis from responses and path
parameters) are followed by its state machine. Each response must not be a server error and must conform to
the schema: a documented status, the documented content type and headers, a body matching the documented model.

The run is bounded (``max_examples`` per operation, a fixed number of stateful scenarios) and derandomized, so CI
sees the same cases every time; it ends with a table of operations, cases, server errors and schema violations.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import got_request_exception
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emgapiv2.wsgi import application
from tests.security.conftest import SESSION_SUMMARIES, Profile, World

SCHEMAS = ("/api/v2/openapi.json", "/ga4gh/drs/v1/openapi.json")
PROFILES = ("anonymous", "owner", "staff", "ledger-token")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: ``SCHEMATHESIS_SCALE=10`` multiplies every bound below, for a deeper run than CI's by hand.
SCALE = max(1, int(os.environ.get("SCHEMATHESIS_SCALE", "1")))
#: Generated cases per operation and profile, for each generation mode.
MAX_EXAMPLES = {GenerationMode.POSITIVE: 20 * SCALE, GenerationMode.NEGATIVE: 12 * SCALE}
#: Generated cases per operation, profile and seeded object (the object's path parameters fixed).
SEEDED_EXAMPLES = 3 * SCALE
#: Stateful scenarios per schema and profile, and the most steps in one.
STATEFUL_SCENARIOS = 25 * SCALE
STATEFUL_STEPS = 6
#: How many failures of each kind the report shows in full.
SHOWN_FAILURES = 12


def fuzz_settings(max_examples: int, **extra: Any) -> hypothesis.settings:
    """Reproducible, bounded hypothesis settings: no example database, no shrinking, no deadline."""
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **extra,
    )


@dataclass
class Tally:
    """What one profile's run saw."""

    profile: str
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    stateful_cases: int = 0
    links: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    flaky_replays: int = 0
    seconds: float = 0.0


def unavailable_as_documented(case: Case, response: Any) -> bool:
    """A 503 the operation documents: a service it needs is down (Prefect, here). Not a server error."""
    responses = case.operation.definition.raw.get("responses", {})
    return response.status_code == 503 and "503" in {str(status) for status in responses}


@dataclass
class Recorder:
    """Sends cases as a profile and files each response's check failures in its tally."""

    profile: Profile
    tally: Tally
    tracebacks: list[str] = field(default_factory=list)

    def send(self, case: Case) -> Any:
        """Call the app with the profile's headers and validate the response; never raises on a failed check."""
        self.tracebacks.clear()
        response = case.call(headers=self.profile.headers)
        self.check(case, response)
        return response

    def check(self, case: Case, response: Any, *, stateful: bool = False) -> None:
        """Run :data:`CHECKS` on ``response``; count the case and record failures with a reproduction."""
        self.tally.cases += 1
        self.tally.stateful_cases += stateful
        self.tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=self.profile.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                if isinstance(failure, ServerError) and unavailable_as_documented(case, response):
                    continue
                report = self.describe(case, response, failure)
                title = getattr(failure, "title", type(failure).__name__)
                self.tally.kinds[f"{case.operation.label} -> {response.status_code}: {title}"] += 1
                if isinstance(failure, ServerError):
                    self.tally.server_errors.append(report)
                else:
                    self.tally.violations.append(report)

    def describe(self, case: Case, response: Any, failure: Exception) -> str:
        """One failure: the operation, the check's title and message, the request and any server traceback."""
        title = getattr(failure, "title", type(failure).__name__)
        message = str(getattr(failure, "message", failure)).strip()
        request = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:600]
        lines = [f"[{self.profile.name}] {case.operation.label}: {title}: {message[:800]}", f"  request: {request}"]
        lines.append(f"  response: {response.status_code} {response.text[:300]!r}")
        lines.extend(f"  traceback: {tb}" for tb in self.tracebacks[-1:])
        return "\n".join(lines)

    def on_exception(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        """Keep the server-side traceback of a 500 (Django's ``got_request_exception``), last frames only."""
        self.tracebacks.append("".join(traceback.format_exc(limit=-6)).strip().replace("\n", "\n    "))


def load_schemas() -> list[schemathesis.BaseSchema]:
    """Both schemas, as the app serves them."""
    return [schemathesis.openapi.from_wsgi(path, application) for path in SCHEMAS]


def fuzz_operation(operation: schemathesis.APIOperation, recorder: Recorder, mode: GenerationMode) -> None:
    """Send ``MAX_EXAMPLES[mode]`` generated cases of ``operation``."""

    @fuzz_settings(MAX_EXAMPLES[mode])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        recorder.send(case)

    try:
        run()
    except Unsatisfiable:
        # No negative case exists when every parameter is an unconstrained string; nothing to send.
        if mode is not GenerationMode.NEGATIVE:
            raise


def seeded_parameters(operation: schemathesis.APIOperation, seeds: dict[str, list[str]]) -> list[dict[str, str]]:
    """Path parameters of real objects for ``operation``: the seeds of the longest template its path starts with.

    A seed names the values of a template's parameters in order, ``/``-separated (``raw-reads/6.0.1``).
    """
    matching = [template for template in seeds if operation.path.startswith(template)]
    if not matching:
        return []
    template = max(matching, key=len)
    names = re.findall(r"{(\w+)}", template)
    return [dict(zip(names, seed.split("/", len(names) - 1), strict=True)) for seed in seeds[template]]


def fuzz_seeded(operation: schemathesis.APIOperation, recorder: Recorder, parameters: dict[str, str]) -> None:
    """Send :data:`SEEDED_EXAMPLES` positive cases of ``operation`` about one real object (the rest generated)."""

    @fuzz_settings(SEEDED_EXAMPLES)
    @given(case=operation.as_strategy(path_parameters=parameters))
    def run(case: Case) -> None:
        recorder.send(case)

    run()


def raised_by_hypothesis_replay(error: BaseException) -> bool:
    """Whether hypothesis' choice tree asserted: a replay drew differently from the run it replays."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "hypothesis/internal/conjecture/datatree" in frames[-1].filename


def fuzz_stateful(schema: schemathesis.BaseSchema, recorder: Recorder) -> int:
    """Follow the schema's links for :data:`STATEFUL_SCENARIOS` scenarios; return the number of links."""
    base: type = schema.as_state_machine()
    links = schema.statistic.transitions.selected if hasattr(schema, "statistic") else 0

    class Machine(base):  # type: ignore[misc, valid-type]
        def call(self, case: Case, **kwargs: Any) -> Any:
            recorder.tracebacks.clear()
            return case.call(headers=recorder.profile.headers, **kwargs)

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            recorder.check(case, response, stateful=True)

    try:
        Machine.run(settings=fuzz_settings(STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS))
    except (Flaky, AssertionError) as error:
        # A replayed scenario met a server whose state earlier scenarios changed (a registered pipeline, a claimed
        # item): the links it offers differ, so hypothesis stops. Schemathesis' own runner counts this as a pass.
        if not isinstance(error, Flaky) and not raised_by_hypothesis_replay(error):
            raise
        recorder.tally.flaky_replays += 1
    return links


def fuzz_profile(profile: Profile, seeds: dict[str, list[str]]) -> Tally:
    """Every operation of both schemas, positive then negative, then about each seeded object, then the stateful
    scenarios, as ``profile``."""
    tally = Tally(profile.name)
    recorder = Recorder(profile, tally)
    receiver: Callable[..., None] = recorder.on_exception
    got_request_exception.connect(receiver)
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # every 4xx is logged as a warning, every 500 as an error: the tally records them
        logger.setLevel(logging.CRITICAL)
    started = time.monotonic()
    try:
        for schema in load_schemas():
            for result in schema.get_all_operations():
                operation = result.ok()
                tally.operations.add(operation.label)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    fuzz_operation(operation, recorder, mode)
                for parameters in seeded_parameters(operation, seeds):
                    fuzz_seeded(operation, recorder, parameters)
            tally.links += fuzz_stateful(schema, recorder)
    finally:
        got_request_exception.disconnect(receiver)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    tally.seconds = time.monotonic() - started
    return tally


TALLIES: dict[str, Tally] = {}


def summary_table(tallies: list[Tally]) -> str:
    """The run as a table: one row per profile and a total."""
    header = (
        f"{'profile':<14}{'operations':>11}{'cases':>8}{'stateful':>10}{'links':>7}"
        f"{'server errors':>15}{'schema violations':>19}{'seconds':>9}"
    )
    rows = [header, "-" * len(header)]
    for tally in tallies:
        rows.append(
            f"{tally.profile:<14}{len(tally.operations):>11}{tally.cases:>8}{tally.stateful_cases:>10}"
            f"{tally.links:>7}{len(tally.server_errors):>15}{len(tally.violations):>19}{tally.seconds:>9.1f}"
        )
    rows.append("-" * len(header))
    rows.append(
        f"{'total':<14}{len(set().union(*(t.operations for t in tallies))):>11}"
        f"{sum(t.cases for t in tallies):>8}{sum(t.stateful_cases for t in tallies):>10}{'':>7}"
        f"{sum(len(t.server_errors) for t in tallies):>15}{sum(len(t.violations) for t in tallies):>19}"
        f"{sum(t.seconds for t in tallies):>9.1f}"
    )
    return "\n".join(rows)


@pytest.fixture(scope="module", autouse=True)
def session_summary():
    """Leave the table for the session summary once all profiles have run."""
    yield
    tallies = [TALLIES[name] for name in PROFILES if name in TALLIES]
    if tallies:
        SESSION_SUMMARIES.append(
            "Both OpenAPI schemas, every operation, by profile (cases include the stateful ones)\n"
            + summary_table(tallies)
        )


@pytest.mark.parametrize("profile_name", PROFILES)
def test_schemathesis(fuzz_world: World, profile_name: str) -> None:
    """No server error and no schema violation, whoever calls."""
    tally = fuzz_profile(fuzz_world.profiles[profile_name], fuzz_world.seeds)
    TALLIES[profile_name] = tally
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    print(
        f"\n[{profile_name}] {tally.cases} cases in {tally.seconds:.1f} s; statuses {statuses}; "
        f"stateful runs ended by a changed server: {tally.flaky_replays}"
    )
    # The run reached every operation and followed links; a run that tested nothing cannot pass.
    assert len(tally.operations) >= 45 and tally.cases >= 20 * len(tally.operations), (tally.operations, tally.cases)
    assert tally.stateful_cases > 0 and tally.links > 0
    failures = tally.server_errors + tally.violations
    kinds = "\n".join(f"{count:>5}  {kind}" for kind, count in tally.kinds.most_common())
    shown = kinds + "\n\n" + "\n\n".join(tally.server_errors[:SHOWN_FAILURES] + tally.violations[:SHOWN_FAILURES])
    assert not failures, (
        f"{len(tally.server_errors)} server error(s) and {len(tally.violations)} schema violation(s) "
        f"as {profile_name}:\n\n{shown}"
    )
