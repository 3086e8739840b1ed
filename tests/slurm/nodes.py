"""Node controls for tests on the multi-node dev cluster (``task slurm:up NODES=3``).

Plain functions over ``slurm-dev-environment/node.sh``, ``sinfo``, ``squeue`` and ``scontrol``, for
any test that loses nodes (import them: ``from tests.slurm.nodes import kill_node, ...``).

What Slurm does here (Debian's 22.05, the multi-node config written by up.sh):

- ``kill_node`` SIGKILLs everything in the node's network namespace (slurmd, slurmstepd, the jobs).
  The node shows ``<state>*`` (not responding) after ~7 s and ``down*`` after 15-23 s
  (SlurmdTimeout=10, MessageTimeout=5).
- Its batch jobs are then requeued: squeue shows them PENDING (reason ``BeginTime``: a requeued job
  may start again only ``cred_expire`` + 1 = 31 s after the requeue), then RUNNING on another node,
  with ``SLURM_RESTART_COUNT=1`` in their environment. Their output file starts afresh.
- ``start_node`` starts slurmd again; ReturnToService=2 makes the node ``idle`` within a second.
- ``link_down`` cuts the node off without killing anything: ``down*`` after ~17 s, while its
  processes keep running. After ``link_up`` the node stays ``down*`` until slurmctld's periodic
  registration request reaches it (slurmctld does not ping DOWN nodes): ~50 s here.
  ``resume_node`` (``scontrol update State=RESUME``) brings it back within a second.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

NODE_SH = Path(__file__).resolve().parents[2] / "slurm-dev-environment" / "node.sh"

#: sinfo's compact states (``%t``) in which a node takes jobs; ``*`` would mean "not responding"
USABLE_STATES = frozenset({"idle", "mix", "alloc", "comp"})


class NodeControlError(RuntimeError):
    """node.sh or a Slurm command refused or failed; the message is theirs."""


def _run(command: list[str], timeout: float = 30) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise NodeControlError(f"{' '.join(command)}: no answer within {timeout} s") from error
    if result.returncode != 0:
        raise NodeControlError(f"{' '.join(command)}: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def _node_sh(*args: str) -> str:
    return _run(["bash", str(NODE_SH), *args]).strip()


def node_names() -> list[str]:
    """The cluster's nodes (``emgnode1``... in multi-node mode; this host's name on one node)."""
    return _node_sh("list").split()


def kill_node(name: str) -> str:
    """Lose node ``name`` for real: SIGKILL every process in its network namespace. Returns node.sh's line."""
    return _node_sh("kill", name)


def start_node(name: str) -> str:
    """Start node ``name``'s slurmd again (a no-op if it runs). Returns node.sh's line."""
    return _node_sh("start", name)


def link_down(name: str) -> str:
    """Cut node ``name``'s network link (a partition: its processes keep running)."""
    return _node_sh("link-down", name)


def link_up(name: str) -> str:
    """Bring node ``name``'s network link back."""
    return _node_sh("link-up", name)


def resume_node(name: str) -> None:
    """``scontrol update NodeName=<name> State=RESUME``: back to service if its slurmd answers."""
    _run(["scontrol", "update", f"NodeName={name}", "State=RESUME"], timeout=10)


def node_states() -> dict[str, str]:
    """Every node's state as ``sinfo -N -o %t`` prints it (``idle``, ``alloc``, ``mix``, ``down*``, ``idle*``...)."""
    states = {}
    for line in _run(["sinfo", "-h", "-N", "-o", "%N %t"], timeout=10).splitlines():
        name, _, state = line.strip().partition(" ")
        if name:
            states[name] = state.strip()
    return states


def node_state(name: str) -> str:
    """Node ``name``'s state as sinfo prints it; a trailing ``*`` means slurmctld gets no answer from it."""
    state = _run(["sinfo", "-h", "-N", "-n", name, "-o", "%t"], timeout=10).strip()
    if not state:
        raise NodeControlError(f"sinfo knows no node {name!r}")
    return state.splitlines()[0]


def wait_node_state(name: str, states: Iterable[str], timeout: float = 60, poll: float = 0.25) -> str:
    """Wait until node ``name`` is in one of ``states`` (sinfo's exact ``%t`` text, e.g. ``{"down*", "down"}``).

    :return: the state reached
    :raises TimeoutError: not within ``timeout`` seconds (the message has the last state)
    """
    wanted = set(states)
    deadline = time.monotonic() + timeout
    state = ""
    while True:
        try:
            state = node_state(name)
        except NodeControlError:
            state = "?"
        if state in wanted:
            return state
        if time.monotonic() >= deadline:
            raise TimeoutError(f"node {name} is {state!r}, not one of {sorted(wanted)}, after {timeout} s")
        time.sleep(poll)


def job_node(job_id: str) -> str | None:
    """The node a running job is on (``None`` while it waits or once squeue has forgotten it)."""
    try:
        text = _run(["squeue", "-h", "-j", str(job_id), "-o", "%T %N"], timeout=10).strip()
    except NodeControlError:
        return None
    state, _, nodes = text.partition(" ")
    if state not in ("RUNNING", "COMPLETING"):
        return None
    return nodes.strip() or None


def restore_all_nodes(timeout: float = 60) -> None:
    """Bring every node back to service: links up, slurmds started, down/drained nodes resumed.

    A no-op on the single-node cluster (node.sh cannot lose its node). Waits until all are usable.
    """
    names = node_names()
    if len(names) < 2:
        return
    for name in names:
        link_up(name)
        start_node(name)
    deadline = time.monotonic() + timeout
    resumed_at: dict[str, float] = {}
    while True:
        states = node_states()
        waiting = {name: states.get(name, "?") for name in names if states.get(name) not in USABLE_STATES}
        if not waiting:
            return
        for name, state in waiting.items():
            # A restarted slurmd registers and ReturnToService=2 does the rest; a node that was cut
            # off, or drained, needs a nudge (again every few seconds, until it answers).
            if state.startswith(("down", "drain", "drng", "fail")) and time.monotonic() - resumed_at.get(name, 0) > 3:
                try:
                    resume_node(name)
                except NodeControlError:
                    pass
                resumed_at[name] = time.monotonic()
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nodes not back in service after {timeout} s: {waiting}")
        time.sleep(0.25)
