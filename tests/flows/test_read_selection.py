"""The runner decides a run's read files before any download: a run no pipeline can take fails at once.

No Slurm here: the decision comes before the launcher is asked anything.
"""

from __future__ import annotations

import pytest

from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Study
from devtools.ena_mirror.generator import LAYOUT_UNTAKEABLE_RUN, LAYOUTS_STUDY_ACCESSION
from ena.datamover import Datamover
from workflows.analysis_ledger import claimed, register_study_work
from workflows.analysis_runner import SELECT_STEP, Outcome, run_analysis
from workflows.ledger.models import WorkItem, WorkState
from workflows.pipelines import get_pipeline, launcher_for
from workflows.pipelines.workarea import WorkArea

pytestmark = pytest.mark.django_db


def test_a_run_whose_files_no_pipeline_can_take_fails_before_any_download(platform_config, mirror):
    import_ena_study(LAYOUTS_STUDY_ACCESSION)
    registration = register_study_work(
        study=Study.objects.by_accession(LAYOUTS_STUDY_ACCESSION).get(),
        pipeline_name="raw-reads",
        pipeline_version="2.0.0",
        actor="test",
    )
    analysis = Analysis.objects.select_related("study", "run__ena_run").get(
        run__ena_run__accession=LAYOUT_UNTAKEABLE_RUN
    )
    work = next(w for w in registration.work if w.accession == analysis.accession)
    pipeline = get_pipeline("raw-reads", "2.0.0")
    before = len(mirror.requests)

    with claimed(item_id=work.item_id, holder="test") as lease, Datamover(platform_config.ena) as datamover:
        outcome = run_analysis(
            analysis=analysis, pipeline=pipeline, launcher=launcher_for(pipeline), datamover=datamover, claim=lease
        )

    assert (outcome.outcome, outcome.failed_step) == (Outcome.FAILED, SELECT_STEP)
    assert "do not say which is read 1 and which is read 2" in outcome.message
    assert [r.path for r in mirror.requests[before:] if r.path.startswith("/vol1/")] == []
    assert not WorkArea.for_analysis(analysis.accession).path("reads").exists()
    analysis.refresh_from_db()
    assert analysis.state == Analysis.State.FAILED
    assert analysis.status["analysis_failed"]["message"].startswith(f"{SELECT_STEP}: {LAYOUT_UNTAKEABLE_RUN}: ")
    assert WorkItem.objects.get(pk=work.item_id).state == WorkState.FAILED
