"""The curator's console (issue 17), display half: what the admin's pages show and refuse.

Each test renders a real admin page against real Postgres and asserts on the HTML a curator gets:
the chain of links, the failure box with a real log file in a temporary work area, tables and charts,
read-only pipeline fields refusing POSTed changes, the ledger refusing deletes, search by every
accession, and bounded query counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from analyses import recording
from analyses.admin.console import failure_box
from analyses.admin.failure import TAIL_BYTES, failed_step_log, tail_lines
from analyses.models import Analysis, Run, Sample, Study
from analyses.schemas import (
    AnalysisAnnotations,
    PfamAnnotations,
    PfamDomainCount,
    PfamThreshold,
    QualityCurve,
    RrnaAnnotations,
    RrnaCount,
    RrnaGeneType,
    RrnaKingdom,
)
from workflows.ledger import services as ledger
from workflows.ledger.models import WorkEvent, WorkItem, WorkState

pytestmark = pytest.mark.django_db

FLOW_RUN_ID = "6f1c3d0e-8b1a-4c55-9a43-0d3e2b7f9a10"
PREFECT_UI = "http://127.0.0.1:4200"


@pytest.fixture
def dev_data(db) -> None:
    call_command("make_dev_data", stdout=open("/dev/null", "w"))


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _change(obj) -> str:
    return _url(type(obj), "change", obj.pk)


def _register_item(analysis: Analysis, *, name: str = "raw-reads", version: str = "9.9.9") -> WorkItem:
    """A ledger item for ``analysis`` as ``analyse-study`` registers it: input ``{"run": ERR…}``, ref the MGYA."""
    pipeline = ledger.ensure_pipeline(name=name, version=version)
    [(item, _created)] = ledger.register_work(
        pipeline=pipeline,
        inputs=[{"run": analysis.run.ena_accessions[0]}],
        external_refs=[analysis.accession],
        actor="test",
    )
    return item


def _with_provenance(analysis: Analysis, **changes) -> Analysis:
    analysis.provenance = {**analysis.provenance, **changes}
    analysis.save(update_fields=["provenance"])
    return analysis


def _failed(work_dir: Path | None, step: str = "fastp") -> Analysis:
    analysis = Analysis.objects.filter(state=Analysis.State.FAILED, is_private=False).select_related("run").first()
    return _with_provenance(
        analysis, work_dir=str(work_dir) if work_dir else None, failed_step=step, error_message="fastp exited 255"
    )


# ---------------------------------------------------------------------------------------------- the chain


def test_analysis_page_links_the_whole_chain(admin_client, dev_data):
    analysis = Analysis.objects.filter(state="completed").select_related("study", "run", "sample").first()
    jobs = [
        {"job_id": "5001", "step": "head", "state": "COMPLETED", "exit_code": 0},
        {
            "job_id": "5002",
            "step": "fastp",
            "state": "COMPLETED",
            "exit_code": 0,
            "node": "node-7",
            "elapsed_seconds": 3725,
        },
    ]
    _with_provenance(analysis, prefect_flow_run_id=FLOW_RUN_ID, slurm_jobs=jobs)
    downloads = [dict(item) for item in analysis.downloads]
    downloads[0]["drs_object_id"] = "drs-object-1"
    downloads.append(
        {**downloads[0], "alias": "fastp.html", "relative_path": "qc/fastp.html", "drs_object_id": "rep-1"}
    )
    Analysis.objects.filter(pk=analysis.pk).update(downloads=downloads)
    item = _register_item(analysis)

    content = admin_client.get(_change(analysis)).content.decode()

    assert f'href="{_change(analysis.study)}"' in content
    assert f'href="{_change(analysis.run)}"' in content
    assert f'href="{_change(analysis.sample)}"' in content
    by_ref = reverse("admin:workflows_workitem_by_ref", args=[analysis.accession])
    assert f'href="{by_ref}"' in content
    assert f'href="{PREFECT_UI}/runs/flow-run/{FLOW_RUN_ID}"' in content
    # the Slurm jobs table: step, job id, node, state (a badge), exit code, elapsed
    assert re.search(
        r"<td>fastp</td><td>5002</td><td>node-7</td><td><span[^>]*good[^>]*>COMPLETED</span></td>"
        r"<td>0</td><td>1h 02m 05s</td>",
        content,
    )
    # result files: the bytes and the DRS object, and fastp's report in the header
    assert f'href="{reverse("drs-file", kwargs={"object_id": "drs-object-1"})}"' in content
    assert 'href="/ga4gh/drs/v1/objects/drs-object-1"' in content
    assert f'href="{reverse("drs-file", kwargs={"object_id": "rep-1"})}"' in content
    # following the work-item link lands on the item
    response = admin_client.get(by_ref)
    assert response.status_code == 302 and response["Location"] == _change(item)


def test_by_ref_opens_the_newest_item_and_404s_without_one(admin_client, dev_data):
    analysis = Analysis.objects.select_related("run").first()
    older = _register_item(analysis, version="1.0.0")
    newer = _register_item(analysis, version="2.0.0")
    assert newer.pk > older.pk
    response = admin_client.get(reverse("admin:workflows_workitem_by_ref", args=[analysis.accession]))
    assert response["Location"] == _change(newer)
    assert admin_client.get(reverse("admin:workflows_workitem_by_ref", args=["MGYA99999999"])).status_code == 404


def test_work_item_page_links_analysis_and_flow_run(admin_client, dev_data):
    analysis = Analysis.objects.select_related("run", "study").first()
    item = _register_item(analysis)
    WorkItem.objects.filter(pk=item.pk).update(
        state=WorkState.RUNNING, lease_holder=f"flow:{FLOW_RUN_ID}", lease_expires_at="2030-01-01T00:00:00Z"
    )
    content = admin_client.get(_change(item)).content.decode()
    assert f'href="{_change(analysis)}"' in content
    assert f'href="{_change(analysis.study)}"' in content
    assert f'href="{PREFECT_UI}/runs/flow-run/{FLOW_RUN_ID}"' in content
    assert "console-badge--busy" in content  # running
    listing = admin_client.get(_url(WorkItem, "changelist")).content.decode()
    assert f'href="{_change(analysis)}"' in listing and f"/runs/flow-run/{FLOW_RUN_ID}" in listing


def test_study_and_run_pages_link_their_records(admin_client, dev_data):
    study = Study.objects.get(ena_accessions__contains=["PRJEB40002"])
    content = admin_client.get(_change(study)).content.decode()
    assert f'href="{_change(study.ena_study)}"' in content
    assert f"study__id__exact={study.pk}&amp;state=" in content  # analyses by state, each a filtered list
    assert "Sample_studies object" not in content
    run = Run.objects.filter(analyses__isnull=False).select_related("ena_run", "study").first()
    content = admin_client.get(_change(run)).content.decode()
    assert f'href="{_change(run.study)}"' in content and f'href="{_change(run.ena_run)}"' in content
    assert f'href="{_change(run.analyses.first())}"' in content


# ---------------------------------------------------------------------------------------------- failures


def test_failed_analysis_opens_with_the_step_and_the_log_tail(admin_client, dev_data, tmp_path):
    logs = tmp_path / "MGYA" / "logs"
    logs.mkdir(parents=True)
    (logs / "fastp.log").write_text("".join(f"fastp line {n}\n" for n in range(1, 101)))
    (logs / "launch-001.log").write_text("head job log\n")
    analysis = _failed(tmp_path / "MGYA")

    content = admin_client.get(_change(analysis)).content.decode()

    box = content[content.index('class="console-failure"') :]
    box = box[: box.index("</section>")]
    assert "<code>fastp</code>" in box and "fastp exited 255" in box
    assert str(logs / "fastp.log") in box
    assert "fastp line 100" in box and "fastp line 61\n" in box
    assert "fastp line 60\n" not in box  # the last 40 lines only
    assert "head job log" not in box


def test_engine_failure_shows_the_newest_launch_log(admin_client, dev_data, tmp_path):
    logs = tmp_path / "w" / "logs"
    logs.mkdir(parents=True)
    (logs / "launch-001.log").write_text("first launch\n")
    (logs / "launch-002.log").write_text("second launch: TIMEOUT\n")
    analysis = _failed(tmp_path / "w", step="snakemake")
    content = admin_client.get(_change(analysis)).content.decode()
    assert "second launch: TIMEOUT" in content and "first launch" not in content


def test_nextflow_task_log_is_found_through_the_trace(tmp_path):
    task_dir = tmp_path / "nf-work" / "ab" / "cdef"
    task_dir.mkdir(parents=True)
    (task_dir / ".command.log").write_text("hmmsearch: out of memory\n")
    (tmp_path / "pipeline_info").mkdir()
    (tmp_path / "pipeline_info" / "trace-001.txt").write_text(
        f"task_id\tname\tstatus\tworkdir\n1\tPFAM (r1)\tFAILED\t{task_dir}\n"
    )
    log = failed_step_log(str(tmp_path), "PFAM (r1)")
    assert log.found and log.path == task_dir / ".command.log" and log.lines == ["hmmsearch: out of memory"]


def test_missing_log_says_where_it_was_looked_for(admin_client, dev_data, tmp_path):
    (tmp_path / "empty").mkdir()
    analysis = _failed(tmp_path / "empty")
    content = admin_client.get(_change(analysis)).content.decode()
    assert f"log not found at <code>{tmp_path / 'empty' / 'logs' / 'fastp.log'}</code>" in content


def test_failure_before_any_provenance_names_the_step_once(admin_client, dev_data):
    """Failing while fetching reads leaves no provenance, only the status flag ``<step>: <message>``: the box
    names the step from it and shows the message once (it read "step unknown" and repeated the message)."""
    analysis = Analysis.objects.filter(is_private=False).exclude(state=Analysis.State.COMPLETED).first()
    Analysis.objects.filter(pk=analysis.pk).update(state=Analysis.State.RUNNING, provenance=None, status={})
    analysis.refresh_from_db()
    message = "ERR1_1.fastq.gz failed its check: ENA says md5 0000, got md5 0b9e; file not kept"
    recording.mark_failed(analysis=analysis, failed_step="fetch_reads", message=message)

    content = admin_client.get(_change(analysis)).content.decode()

    box = content[content.index('class="console-failure"') :]
    box = box[: box.index("</section>")]
    assert "<code>fetch_reads</code>" in box
    assert box.count("ENA says md5 0000") == 1 and "Status flag" not in box
    # a message of no step (an exception's name before the colon) is not read as a step
    analysis.status = {"analysis_failed": {"message": "RuntimeError: boom"}}
    assert failure_box(analysis)["step"] == "unknown" and failure_box(analysis)["message"] == "RuntimeError: boom"


def test_step_names_cannot_leave_the_work_area(tmp_path):
    (tmp_path / "secret.log").write_text("secret\n")
    (tmp_path / "work" / "logs").mkdir(parents=True)
    log = failed_step_log(str(tmp_path / "work"), "../../secret")
    assert not log.found and "secret" not in "".join(log.lines)


def test_tail_reads_only_the_end_of_a_big_log(tmp_path):
    path = tmp_path / "big.log"
    path.write_text("x" * (TAIL_BYTES * 4) + "\n" + "".join(f"line {n}\n" for n in range(10)))
    lines, truncated = tail_lines(path, lines=3)
    assert lines == ["line 7", "line 8", "line 9"] and truncated


def test_private_analysis_log_is_not_shown_to_who_cannot_see_it(client, dev_data, tmp_path):
    (tmp_path / "p" / "logs").mkdir(parents=True)
    (tmp_path / "p" / "logs" / "fastp.log").write_text("PRIVATE-LOG-LINE\n")
    analysis = _failed(tmp_path / "p")
    Analysis.objects.filter(pk=analysis.pk).update(is_private=True, webin_submitter="Webin-1")
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_analysis"))
    client.force_login(staff)
    response = client.get(_change(analysis), follow=True)
    assert "PRIVATE-LOG-LINE" not in response.content.decode()
    assert response.redirect_chain  # the admin says it does not exist and goes back to the index


# ---------------------------------------------------------------------------------------------- results


def test_results_are_tables_and_charts_with_raw_json_folded(admin_client, dev_data):
    analysis = Analysis.objects.filter(state="completed", results__isnull=False).first()
    qc = {
        **analysis.quality_control,
        "quality_curves": [
            QualityCurve(mate="read1", before_filtering=[30.0, 31.0], after_filtering=[32.0, 33.0]).model_dump()
        ],
    }
    annotations = AnalysisAnnotations(
        pfam=PfamAnnotations(
            counts=[
                PfamDomainCount(
                    accession="PF00069.17", name="Pkinase", domains=12, proteins=9, threshold=PfamThreshold.GATHERING
                )
            ]
        ),
        rrna=RrnaAnnotations(counts=[RrnaCount(kingdom=RrnaKingdom.BACTERIA, gene=RrnaGeneType.SSU, count=3)]),
    ).model_dump(mode="json")
    Analysis.objects.filter(pk=analysis.pk).update(quality_control=qc, annotations=annotations)

    content = admin_client.get(_change(analysis)).content.decode()

    assert "<td>PF00069.17</td><td>Pkinase</td>" in content
    assert "<td>bacteria</td><td>SSU</td><td>3</td>" in content
    assert "before filtering" in content and "predicted proteins" in content
    for chart in ("quality", "pfam", "rrna"):
        url = reverse(
            "api:get_analysis_chart", kwargs={"accession": analysis.accession, "chart": chart, "format": "svg"}
        )
        assert re.search(rf'<img src="{re.escape(url)}"[^>]*loading="lazy"', content), chart
    assert '<details class="console-details"><summary>provenance</summary>' in content


def test_study_page_embeds_the_study_charts(admin_client, dev_data):
    study = Study.objects.get(ena_accessions__contains=["PRJEB40002"])
    content = admin_client.get(_change(study)).content.decode()
    url = reverse(
        "api:get_study_chart", kwargs={"accession": study.accession, "chart": "analysis-states", "format": "svg"}
    )
    assert f'<img src="{url}"' in content


# ---------------------------------------------------------------------------------------------- badges, lists


def test_lists_link_their_records_and_show_states_as_badges(admin_client, dev_data):
    analysis = Analysis.objects.select_related("study", "run").order_by("-id").first()
    Analysis.objects.filter(pk=analysis.pk).update(is_superseded=False)
    content = admin_client.get(_url(Analysis, "changelist")).content.decode()
    assert f'href="{_change(analysis.study)}"' in content and f'href="{_change(analysis.run)}"' in content
    assert "console-badge--good" in content and "console-badge--bad" in content
    assert "icon-no.svg" not in content  # "not superseded" is no red cross
    run = Run.objects.select_related("study", "sample").order_by("-id").first()
    content = admin_client.get(_url(Run, "changelist")).content.decode()
    assert f'href="{_change(run.study)}"' in content and f'href="{_change(run.sample)}"' in content


def test_the_two_families_are_named_apart(admin_client, dev_data):
    assert "<h1>ENA studies</h1>" in admin_client.get("/admin/ena/study/").content.decode()
    assert "<h1>MGnify studies</h1>" in admin_client.get(_url(Study, "changelist")).content.decode()


# ---------------------------------------------------------------------------------------------- read-only, deletes


def test_pipeline_fields_refuse_posted_changes(admin_client, dev_data):
    analysis = Analysis.objects.filter(state="failed", is_private=False).first()
    other_run = Run.objects.exclude(pk=analysis.run_id).first()
    response = admin_client.post(
        _change(analysis),
        {
            "experiment_type": analysis.experiment_type,
            "is_private": "on",
            "webin_submitter": "Webin-7",
            "state": "completed",
            "pipeline_name": "forged",
            "pipeline_version": "0",
            "run": other_run.pk,
            "is_superseded": "on",
            "results": '{"predicted_proteins": 1}',
        },
    )
    assert response.status_code == 302
    fresh = Analysis.objects.get(pk=analysis.pk)
    assert (fresh.state, fresh.pipeline_name, fresh.pipeline_version, fresh.run_id, fresh.is_superseded) == (
        analysis.state,
        analysis.pipeline_name,
        analysis.pipeline_version,
        analysis.run_id,
        analysis.is_superseded,
    )
    assert fresh.results == analysis.results
    assert fresh.is_private and fresh.webin_submitter == "Webin-7"  # curator metadata stays editable


def test_work_item_fields_refuse_posted_changes(admin_client, dev_data):
    item = _register_item(Analysis.objects.select_related("run").first())
    response = admin_client.post(
        _change(item), {"max_attempts": 5, "external_ref": "MGYA00000666", "state": "done", "input": '{"run": "x"}'}
    )
    assert response.status_code == 302
    fresh = WorkItem.objects.get(pk=item.pk)
    assert (fresh.external_ref, fresh.state, fresh.input) == (item.external_ref, item.state, item.input)
    assert fresh.max_attempts == 5


def test_ledger_records_cannot_be_deleted(admin_client, dev_data):
    item = _register_item(Analysis.objects.select_related("run").first())
    event = WorkEvent.objects.filter(item=item).first()
    assert admin_client.get(_url(WorkItem, "delete", item.pk)).status_code == 403
    assert admin_client.post(_url(WorkItem, "delete", item.pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(_url(WorkEvent, "delete", event.pk)).status_code == 403
    listing = admin_client.get(_url(WorkItem, "changelist"))
    assert "delete_selected" not in listing.content.decode()
    response = admin_client.post(
        _url(WorkItem, "changelist"), {"action": "delete_selected", "_selected_action": [item.pk], "post": "yes"}
    )
    assert WorkItem.objects.filter(pk=item.pk).exists() and response.status_code in (200, 302)


def test_analyses_cannot_be_deleted(admin_client, dev_data):
    """An analysis is the record of work done: its ledger item, files and DRS objects point at it."""
    analysis = Analysis.objects.first()
    assert admin_client.get(_url(Analysis, "delete", analysis.pk)).status_code == 403
    assert admin_client.post(_url(Analysis, "delete", analysis.pk), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin_client.get(_url(Analysis, "changelist")).content.decode()
    assert Analysis.objects.filter(pk=analysis.pk).exists()


# ---------------------------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("term", "expected"),
    [("PRJEB40002", "study"), ("ERP123402", "study"), ("ERR7100201", "run"), ("SAMEA7100201", "sample")],
)
def test_analyses_are_found_by_every_accession(admin_client, dev_data, term, expected):
    response = admin_client.get(_url(Analysis, "changelist"), {"q": term})
    found = list(response.context["cl"].result_list)
    assert found
    lookup = {"study": "study__ena_accessions", "run": "run__ena_accessions", "sample": "sample__ena_accessions"}
    assert {a.pk for a in found} == set(
        Analysis.objects.filter(**{f"{lookup[expected]}__contains": [term]}).values_list("pk", flat=True)
    )


def test_analyses_found_by_mgys(admin_client, dev_data):
    study = Study.objects.get(ena_accessions__contains=["PRJEB40002"])
    response = admin_client.get(_url(Analysis, "changelist"), {"q": study.accession})
    assert response.context["cl"].result_count == study.analyses.count() > 0


def test_work_items_are_found_by_mgya_and_by_run(admin_client, dev_data):
    analysis = Analysis.objects.select_related("run").first()
    item = _register_item(analysis)
    other = _register_item(Analysis.objects.exclude(run=analysis.run).select_related("run").first())
    # a wrapper's item of another input shape, which names the analysis only through its external_ref
    pipeline = ledger.ensure_pipeline(name="wrapper", version="1")
    [(wrapped, _)] = ledger.register_work(
        pipeline=pipeline, inputs=[{"reads": ["a.fq"]}], external_refs=[analysis.accession], actor="test"
    )

    def found(term: str) -> set[int]:
        return {i.pk for i in admin_client.get(_url(WorkItem, "changelist"), {"q": term}).context["cl"].result_list}

    assert found(analysis.accession) == {item.pk, wrapped.pk}
    assert found(analysis.run.ena_accessions[0]) == {item.pk, wrapped.pk}
    assert other.pk not in found(analysis.run.ena_accessions[0])
    assert found(str(other.pk)) == {other.pk}
    assert found(other.input_hash) == {other.pk}


def test_every_search_box_has_help(admin_client, dev_data):
    urls = [_url(model, "changelist") for model in (Analysis, Study, Run, Sample, WorkItem, WorkEvent)]
    for url in [*urls, "/admin/ena/study/", "/admin/ena/sample/", "/admin/ena/run/"]:
        assert 'id="searchbar_helptext"' in admin_client.get(url).content.decode(), url


# ---------------------------------------------------------------------------------------------- queries


def test_lists_cost_a_fixed_number_of_queries(admin_client, dev_data, django_assert_max_num_queries):
    study = Study.objects.first()
    run = study.runs.first()
    Analysis.objects.bulk_create(
        [Analysis(study=study, run=run, pipeline_name="p", pipeline_version=f"0.{i}") for i in range(120)]
    )
    for analysis in Analysis.objects.select_related("run").order_by("-id")[:60]:
        _register_item(analysis, version=f"q{analysis.pk}")
    for url in (
        _url(Analysis, "changelist"),
        _url(WorkItem, "changelist"),
        _url(Run, "changelist"),
        _url(Sample, "changelist"),
        _url(Study, "changelist"),
        "/admin/workflows/workevent/",
    ):
        with django_assert_max_num_queries(12):
            assert admin_client.get(url).status_code == 200


def test_change_pages_cost_a_fixed_number_of_queries(admin_client, dev_data, django_assert_max_num_queries):
    analysis = Analysis.objects.select_related("run").filter(state="completed").first()
    item = _register_item(analysis)
    study = Study.objects.get(ena_accessions__contains=["PRJEB40002"])
    for obj in (analysis, item, study, analysis.run, analysis.sample):
        with django_assert_max_num_queries(20):
            assert admin_client.get(_change(obj)).status_code == 200


def test_flow_run_link_refuses_a_malformed_id(admin_client, dev_data):
    analysis = _with_provenance(Analysis.objects.first(), prefect_flow_run_id='"><script>x</script>')
    content = admin_client.get(_change(analysis)).content.decode()
    assert "<script>x</script>" not in content and "/runs/flow-run/" not in content
