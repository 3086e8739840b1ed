"""Many worker processes, each with its own Postgres connection, against one ledger.

The processes are forked after the parent closes its connections, so each opens its own to the
test database (the forked settings already point at it).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import traceback

import pytest
from django.db import connections

from workflows.ledger import services
from workflows.ledger.models import Pipeline, WorkEvent, WorkItem, WorkState

WORKERS = 8
ITEMS = 10_000
CTX = multiprocessing.get_context("fork")


def _report_and_exit(results, payload: tuple) -> None:
    """Hand the child's results to the parent, flush the queue, and leave the process directly.

    After an in-process Prefect flow has run in the parent (as in a full test session), Prefect's
    after-fork handlers leave a forked child unable to finish ``threading._shutdown()``, so a child
    that did its work perfectly still exited with code 1. Errors travel in ``payload`` and are
    asserted by the parent; a child that crashes never gets here and still exits non-zero.
    """
    results.put(payload)
    results.close()
    results.join_thread()
    os._exit(0)


def _claimer(pipeline_id: int, worker: int, start, results) -> None:
    claimed: list[int] = []
    errors: list[str] = []
    try:
        connections.close_all()
        pipeline = Pipeline.objects.get(pk=pipeline_id)
        start.wait(timeout=60)
        rng = random.Random(worker)
        while True:
            batch = services.claim(pipeline=pipeline, holder=f"worker-{worker}", limit=rng.randint(1, 50))
            if not batch:
                break
            claimed.extend(item.pk for item in batch)
    except Exception:
        errors.append(traceback.format_exc())
    connections.close_all()
    _report_and_exit(results, (worker, claimed, errors))


def _registrar(pipeline_id: int, worker: int, runs: list[str], start, results) -> None:
    try:
        connections.close_all()
        pipeline = Pipeline.objects.get(pk=pipeline_id)
        start.wait(timeout=60)
        registrations = services.register_work(
            pipeline=pipeline, inputs=[{"run": run} for run in runs], actor=f"registrar-{worker}"
        )
        payload = (worker, [(item.pk, item.input_hash, created) for item, created in registrations], [])
    except Exception:
        payload = (worker, [], [traceback.format_exc()])
    connections.close_all()
    _report_and_exit(results, payload)


def _run_all(processes, results, count: int) -> list:
    for process in processes:
        process.start()
    collected = [results.get(timeout=300) for _ in range(count)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return collected


@pytest.mark.django_db(transaction=True)
def test_eight_workers_claim_ten_thousand_items_exactly_once(pipeline):
    registrations = services.register_work(
        pipeline=pipeline, inputs=[{"run": f"ERR{n:07d}"} for n in range(ITEMS)], actor="test"
    )
    all_ids = {item.pk for item, created in registrations if created}
    assert len(all_ids) == ITEMS
    connections.close_all()

    start, results = CTX.Barrier(WORKERS), CTX.Queue()
    processes = [CTX.Process(target=_claimer, args=(pipeline.pk, n, start, results)) for n in range(WORKERS)]
    began = time.monotonic()
    collected = _run_all(processes, results, WORKERS)
    elapsed = time.monotonic() - began

    errors = [error for _worker, _claimed, errs in collected for error in errs]
    assert errors == [], errors[0]
    claimed = [item_id for _worker, ids, _errs in collected for item_id in ids]
    assert len(claimed) == ITEMS, "every item claimed exactly once"
    assert set(claimed) == all_ids, "none lost, none invented"
    per_worker = {worker: len(ids) for worker, ids, _ in collected}
    assert sum(1 for n in per_worker.values() if n) >= 2, per_worker  # the work was really shared
    assert WorkItem.objects.filter(state=WorkState.CLAIMED, attempts=1).count() == ITEMS
    assert WorkEvent.objects.filter(to_state=WorkState.CLAIMED).count() == ITEMS
    holders = dict(WorkItem.objects.values_list("id", "lease_holder"))
    for worker, ids, _ in collected:
        assert all(holders[item_id] == f"worker-{worker}" for item_id in ids)
    print(f"\n{ITEMS} items claimed by {WORKERS} processes in {elapsed:.2f}s; per worker: {per_worker}")


@pytest.mark.django_db(transaction=True)
def test_concurrent_registration_of_the_same_work_creates_each_item_once(pipeline):
    runs = [f"ERR{n:05d}" for n in range(2000)]
    connections.close_all()
    start, results = CTX.Barrier(WORKERS), CTX.Queue()
    processes = []
    for n in range(WORKERS):
        shuffled = runs[:]
        random.Random(n).shuffle(shuffled)
        processes.append(CTX.Process(target=_registrar, args=(pipeline.pk, n, shuffled, start, results)))
    collected = _run_all(processes, results, WORKERS)
    errors = [error for _w, _r, errs in collected for error in errs]
    assert errors == [], errors[0]
    created = [item_id for _w, rows, _e in collected for item_id, _h, was_created in rows if was_created]
    assert len(created) == len(runs) == len(set(created))
    ids_by_hash: dict[str, set[int]] = {}
    for _w, rows, _e in collected:
        for item_id, digest, _c in rows:
            ids_by_hash.setdefault(digest, set()).add(item_id)
    assert all(len(ids) == 1 for ids in ids_by_hash.values()), "every registrar got the same item back"
    assert WorkItem.objects.count() == len(runs)


def _claim_and_hang(pipeline_id: int, ready) -> None:
    connections.close_all()
    pipeline = Pipeline.objects.get(pk=pipeline_id)
    [item] = services.claim(pipeline=pipeline, holder=f"doomed-{os.getpid()}", lease_seconds=1)
    services.transition(item=item, to_state=WorkState.RUNNING, actor="doomed", holder=item.lease_holder)
    ready.send(item.pk)
    time.sleep(600)  # "working" until killed


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_item_is_reclaimed_after_its_lease_expires(pipeline):
    services.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], actor="test")
    connections.close_all()
    receive, send = CTX.Pipe(duplex=False)
    worker = CTX.Process(target=_claim_and_hang, args=(pipeline.pk, send))
    worker.start()
    assert receive.poll(30), "the worker did not claim"
    item_id = receive.recv()
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=10)
    assert worker.exitcode == -signal.SIGKILL

    assert services.claim(pipeline=pipeline, holder="survivor") == []  # the lease has not expired yet
    time.sleep(1.3)
    [reclaimed] = services.claim(pipeline=pipeline, holder="survivor")
    assert reclaimed.pk == item_id and reclaimed.attempts == 2 and reclaimed.lease_holder == "survivor"
    expiry = WorkEvent.objects.get(item_id=item_id, from_state=WorkState.RUNNING, to_state=WorkState.PENDING)
    assert expiry.data["reason"] == services.REASON_LEASE_EXPIRED and expiry.data["holder"].startswith("doomed-")
    services.transition(item=reclaimed, to_state=WorkState.RUNNING, actor="survivor", holder="survivor")
    done = services.transition(item=reclaimed, to_state=WorkState.DONE, actor="survivor", holder="survivor")
    assert done.state == WorkState.DONE
