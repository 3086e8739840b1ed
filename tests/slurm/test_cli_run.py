"""How the CLI backend runs a command: input on stdin, output captured, killed after its timeout.

Plain local programs stand in for Slurm's commands here (the cluster tests use the real ones): what
is checked is the plumbing every Slurm command goes through, not Slurm.
"""

from __future__ import annotations

import time

import pytest

from workflows.slurm.cli import CliBackend
from workflows.slurm.errors import SlurmUnavailableError


def test_input_goes_to_stdin_and_both_outputs_are_captured() -> None:
    result = CliBackend()._run(["sh", "-c", "cat; echo oops >&2; exit 3"], stdin="#!/bin/bash\ntrue\n")
    assert (result.returncode, result.stdout, result.stderr) == (3, "#!/bin/bash\ntrue\n", "oops\n")


def test_a_command_still_running_after_the_timeout_is_killed_and_reported() -> None:
    backend = CliBackend(command_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SlurmUnavailableError, match=r"sleep did not answer within 0.3s"):
        backend._run(["sleep", "30"])
    assert time.monotonic() - started < 10  # killed, not waited for


def test_a_missing_command_is_reported_as_unavailable() -> None:
    with pytest.raises(SlurmUnavailableError, match="is not installed"):
        CliBackend()._run(["no-such-slurm-command-here"])
