"""What the curator's console shows on an analysis, study, sample or run page, built from loaded rows.

Each function takes objects already loaded (with ``select_related``) and returns safe HTML or plain data
for ``admin/analyses/console_change_form.html``; none runs a query of its own unless its docstring says so,
so a page costs the same few queries whatever the size of the tables.

The chain a page links: study → sample, run → analysis → work item (the ledger's admin, by the
analysis' MGYA: this app cannot import ``workflows``, so the link is by URL name only) → Prefect flow
run → Slurm jobs → result files.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from analyses.admin.failure import TAIL_LINES, failed_step_log
from analyses.admin.html import (
    EMPTY,
    STATE_TONES,
    Tone,
    admin_change_url,
    admin_url,
    badge,
    change_link,
    details,
    external_link,
    human_bytes,
    human_seconds,
    link,
    number,
    privacy_badge,
    state_badge,
    table,
)
from analyses.charts import AnalysisChart, StudyChart
from analyses.models import Analysis, Study
from analyses.schemas import AnalysisStatusFlag
from ena.admin import pretty_json

#: Pfam domains shown in the table (the chart shows its own top 20).
PFAM_TOP = 10
#: The admin URL (``workflows.ledger.admin``) that opens the newest work item of an MGYA.
WORK_ITEM_BY_REF_URL = "workflows_workitem_by_ref"
#: The Slurm job records' fields shown, in order.
SLURM_JOB_HEADERS = ("step", "job id", "node", "state", "exit code", "elapsed")
#: A failed flag's ``<step>: <message>`` (``recording.mark_failed``); steps are lower-case words, which an
#: exception's class name (``RuntimeError: …``, a message of no step) is not.
_FLAG_STEP = re.compile(r"^(?P<step>[a-z][a-z0-9_.-]*): (?P<message>.+)$", re.DOTALL)


@dataclass(frozen=True)
class ChainLink:
    """One step of the chain in a page's header: what it is, and the link or value."""

    label: str
    value: SafeString | str


@dataclass(frozen=True)
class Section:
    """A titled block of the console under the header (a table, charts, raw JSON)."""

    title: str
    body: SafeString | str
    anchor: str = ""


@dataclass
class Console:
    """Everything the console template shows on one change page."""

    chain: list[ChainLink] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    sections: list[Section] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- links


def prefect_flow_run_url(flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run (``EMG_CONFIG.prefect.ui_url``), for a well-formed id only."""
    if not flow_run_id:
        return None
    try:
        parsed = uuid.UUID(str(flow_run_id))
    except ValueError:
        return None
    return f"{str(settings.EMG_CONFIG.prefect.ui_url).rstrip('/')}/runs/flow-run/{parsed}"


def work_item_url(accession: str) -> str | None:
    """The ledger admin's redirect to the newest work item producing ``accession`` (None if not installed)."""
    return admin_url(WORK_ITEM_BY_REF_URL, accession)


def drs_file_url(object_id: str) -> str:
    """The file view of a DRS blob, relative to this site (the admin's session authorises private blobs)."""
    return reverse("drs-file", kwargs={"object_id": object_id})


def drs_object_url(object_id: str) -> str:
    """The DRS object (JSON) of a blob."""
    return reverse("drs:get_object", kwargs={"object_id": object_id})


def analysis_chart_url(accession: str, chart: AnalysisChart) -> str:
    return reverse("api:get_analysis_chart", kwargs={"accession": accession, "chart": chart.value, "format": "svg"})


def study_chart_url(accession: str, chart: StudyChart) -> str:
    return reverse("api:get_study_chart", kwargs={"accession": accession, "chart": chart.value, "format": "svg"})


def accessions_text(accessions: list[str] | None) -> str:
    return ", ".join(accessions or []) or EMPTY


def study_label(study: Study) -> SafeString:
    """``MGYS… (PRJEB…)`` linked to the study's change page."""
    ena = f" ({accessions_text(study.ena_accessions)})" if study.ena_accessions else ""
    return link(admin_change_url(study), f"{study.accession}{ena}")


# ---------------------------------------------------------------------------------------------- analysis


def flow_run_link(flow_run_id: str | None) -> SafeString | str:
    url = prefect_flow_run_url(flow_run_id)
    return external_link(url, flow_run_id) if url else (flow_run_id or "none recorded")


def analysis_chain(analysis: Analysis) -> list[ChainLink]:
    """Study → sample → run → assembly → analysis → work item → flow run → Slurm jobs → results."""
    provenance = analysis.provenance or {}
    jobs = provenance.get("slurm_jobs") or []
    downloads = analysis.downloads or []
    chain = [
        ChainLink("study", study_label(analysis.study)),
        ChainLink("sample", change_link(analysis.sample)),
        ChainLink("run", change_link(analysis.run)),
    ]
    if analysis.assembly_id:
        chain.append(ChainLink("assembly", change_link(analysis.assembly)))
    work_url = work_item_url(analysis.accession)
    chain += [
        ChainLink("analysis", format_html("{} {}", analysis.accession, state_badge(analysis.state))),
        ChainLink("work item", link(work_url, "ledger item") if work_url else EMPTY),
        ChainLink("flow run", flow_run_link(provenance.get("prefect_flow_run_id"))),
        ChainLink("Slurm jobs", link("#console-slurm", f"{len(jobs)} job(s)") if jobs else "none recorded"),
        ChainLink("results", link("#console-files", f"{len(downloads)} file(s)") if downloads else "none yet"),
    ]
    report = fastp_report_url(analysis)
    if report:
        chain.append(ChainLink("QC report", external_link(report, "fastp HTML")))
    return chain


def failure_box(analysis: Analysis) -> dict[str, Any] | None:
    """The failed step, the message and the end of the step's log, for a FAILED analysis (reads one log tail).

    An analysis that failed before it had a provenance (selecting or fetching its reads) has only its status
    flag, which ``recording.mark_failed`` writes as ``<step>: <message>``: the step is read from there.
    """
    if analysis.state != Analysis.State.FAILED:
        return None
    provenance = analysis.provenance or {}
    flag = (analysis.status or {}).get(AnalysisStatusFlag.ANALYSIS_FAILED.value) or {}
    flag_message = flag.get("message") or ""
    step, message = provenance.get("failed_step"), provenance.get("error_message")
    if not step and not message and (prefixed := _FLAG_STEP.match(flag_message)):
        step, message = prefixed["step"], prefixed["message"]
    message = message or flag_message or "no message recorded"
    log = failed_step_log(provenance.get("work_dir"), step)
    return {
        "step": step or "unknown",
        "message": message,
        # the flag only when it says more than the box already does
        "flag_message": flag_message if flag_message not in (message, f"{step}: {message}") else None,
        "failed_at": flag.get("at"),
        "log": log,
        "log_lines": "\n".join(log.lines),
        "tail_lines": TAIL_LINES,
    }


def slurm_jobs_table(jobs: list[dict[str, Any]]) -> SafeString | str:
    """``provenance.slurm_jobs`` as a table: step, job id, node, state, exit code, elapsed."""
    return table(
        SLURM_JOB_HEADERS,
        (
            (
                job.get("step"),
                job.get("job_id"),
                job.get("node"),
                state_badge(job.get("state")),
                job.get("exit_code"),
                human_seconds(job.get("elapsed_seconds")),
            )
            for job in jobs
        ),
    )


def fastp_report_url(analysis: Analysis) -> str | None:
    """fastp's HTML report among the downloads, published as a DRS blob (the API's ``fastp_report`` link)."""
    for item in analysis.downloads or []:
        path = item.get("relative_path") or ""
        if (path == "fastp.html" or path.endswith("/fastp.html")) and item.get("drs_object_id"):
            return drs_file_url(item["drs_object_id"])
    return None


def downloads_table(downloads: list[dict[str, Any]]) -> SafeString | str:
    """The result files: name (a link to the bytes once published), type, size, DRS object, md5."""

    def row(item: dict[str, Any]) -> tuple:
        object_id = item.get("drs_object_id")
        name = external_link(drs_file_url(object_id), item.get("alias")) if object_id else item.get("alias")
        drs = link(drs_object_url(object_id), object_id) if object_id else "not published"
        return (
            name,
            item.get("description"),
            item.get("file_type"),
            human_bytes(item.get("size_bytes")),
            drs,
            format_html("<code>{}</code>", item.get("md5", "")),
        )

    return table(("file", "description", "type", "size", "DRS object", "md5"), (row(item) for item in downloads))


def quality_table(qc: dict[str, Any] | None) -> SafeString | str:
    """fastp's read statistics before and after filtering, side by side."""
    if not qc:
        return EMPTY
    before, after = qc.get("before_filtering") or {}, qc.get("after_filtering") or {}
    rows = [
        ("reads", number(before.get("total_reads")), number(after.get("total_reads"))),
        ("bases", number(before.get("total_bases")), number(after.get("total_bases"))),
        ("mean read length", number(before.get("mean_read_length")), number(after.get("mean_read_length"))),
        ("Q20 bases", number(before.get("q20_rate"), percent=True), number(after.get("q20_rate"), percent=True)),
        ("Q30 bases", number(before.get("q30_rate"), percent=True), number(after.get("q30_rate"), percent=True)),
        ("GC content", number(before.get("gc_content"), percent=True), number(after.get("gc_content"), percent=True)),
    ]
    filtered = [
        ("passed filter", number(qc.get("passed_filter_reads"))),
        ("low quality", number(qc.get("low_quality_reads"))),
        ("too short", number(qc.get("too_short_reads"))),
    ]
    return format_html(
        '<div class="console-row">{}{}</div>',
        table(("", "before filtering", "after filtering"), rows),
        table(("reads filtered", "count"), filtered),
    )


def results_table(results: dict[str, Any] | None) -> SafeString | str:
    """The results summary: assembly statistics, predicted proteins, and seqkit's table of the files."""
    if not results:
        return EMPTY
    assembly = results.get("assembly") or {}
    summary = [
        ("contigs", number(assembly.get("contig_count"))),
        ("total length", number(assembly.get("total_length"))),
        ("N50", number(assembly.get("n50"))),
        ("longest contig", number(assembly.get("longest_contig"))),
        ("GC content", number(assembly.get("gc_content"), percent=True)),
        ("predicted proteins", number(results.get("predicted_proteins"))),
    ]
    parts = [table(("summary", "value"), [row for row in summary if row[1] != EMPTY])]
    stats = results.get("sequence_stats") or []
    if stats:
        parts.append(
            table(
                ("file", "format", "sequences", "total length", "min", "mean", "max", "N50"),
                (
                    (
                        s.get("file"),
                        s.get("format"),
                        number(s.get("num_seqs")),
                        number(s.get("sum_len")),
                        number(s.get("min_len")),
                        number(s.get("avg_len")),
                        number(s.get("max_len")),
                        number(s.get("n50")),
                    )
                    for s in stats
                ),
            )
        )
    hits = results.get("profile_hits") or []
    if hits:
        parts.append(
            table(("profile", "proteins hit"), ((h.get("profile"), number(h.get("proteins_hit"))) for h in hits))
        )
    return format_html('<div class="console-row">{}</div>', format_html_join("", "{}", ((p,) for p in parts)))


def pfam_table(counts: list[dict[str, Any]] | None) -> SafeString | str:
    """The Pfam domains with most hits (they come sorted, most domains first)."""
    return table(
        ("Pfam", "name", "description", "domains", "proteins", "threshold"),
        (
            (
                c.get("accession"),
                c.get("name"),
                c.get("description"),
                number(c.get("domains")),
                number(c.get("proteins")),
                c.get("threshold"),
            )
            for c in (counts or [])[:PFAM_TOP]
        ),
    )


def rrna_table(counts: list[dict[str, Any]] | None) -> SafeString | str:
    return table(
        ("kingdom", "gene", "count"), ((c.get("kingdom"), c.get("gene"), number(c.get("count"))) for c in counts or [])
    )


def charts_html(charts: list[tuple[str, str]]) -> SafeString | str:
    """SVG charts from the read API, loaded lazily (the API takes the admin's session, so private ones work)."""
    if not charts:
        return "no charts yet (their data is missing)"
    return format_html(
        '<div class="console-charts">{}</div>',
        format_html_join(
            "",
            '<figure><a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}" loading="lazy"></a>'
            "<figcaption>{1}</figcaption></figure>",
            charts,
        ),
    )


def analysis_charts(analysis: Analysis, pfam_counts: Any, rrna_counts: Any) -> list[tuple[str, str]]:
    """The analysis' charts whose data exists, judged from the columns the page loaded (no query)."""
    qc, results = analysis.quality_control or {}, analysis.results or {}
    available = {
        AnalysisChart.QUALITY: bool(qc.get("quality_curves")),
        AnalysisChart.CONTIG_LENGTHS: bool((results.get("contig_lengths") or {}).get("counts")),
        AnalysisChart.PFAM: bool(pfam_counts),
        AnalysisChart.RRNA: bool(rrna_counts),
    }
    return [(analysis_chart_url(analysis.accession, chart), chart.title) for chart in AnalysisChart if available[chart]]


def raw_json(analysis: Analysis) -> SafeString:
    """The JSON columns as stored, each folded away (``annotations`` is left out: it is large, see the API)."""
    blocks = [
        ("status flags", analysis.status),
        ("quality control", analysis.quality_control),
        ("results", analysis.results),
        ("downloads", analysis.downloads),
        ("provenance", analysis.provenance),
    ]
    return format_html_join("", "{}", ((details(name, pretty_json(value)),) for name, value in blocks))


def analysis_console(analysis: Analysis) -> Console:
    """The console of an analysis page (``analysis`` loaded with :meth:`AnalysisAdmin.get_queryset`)."""
    provenance = analysis.provenance or {}
    pfam_counts = getattr(analysis, "pfam_counts", None)
    rrna_counts = getattr(analysis, "rrna_counts", None)
    console = Console(chain=analysis_chain(analysis), failure=failure_box(analysis))
    console.sections = [
        Section("Slurm jobs", slurm_jobs_table(provenance.get("slurm_jobs") or []), "console-slurm"),
        Section("Result files", downloads_table(analysis.downloads or []), "console-files"),
        Section("Read quality (fastp)", quality_table(analysis.quality_control), "console-qc"),
        Section("Results summary", results_table(analysis.results), "console-results"),
        Section(f"Pfam: top {PFAM_TOP} domains", pfam_table(pfam_counts), "console-pfam"),
        Section("rRNA genes", rrna_table(rrna_counts), "console-rrna"),
        Section("Charts", charts_html(analysis_charts(analysis, pfam_counts, rrna_counts)), "console-charts"),
        Section("Raw JSON", raw_json(analysis), "console-json"),
    ]
    return console


# ---------------------------------------------------------------------------------------------- study, sample, run


def state_counts_html(counts: dict[str, int], changelist_url: str, filter_field: str) -> SafeString | str:
    """``completed 12 · failed 3 ...``, each a badge linking to the filtered analyses list."""
    shown = [(state, n) for state, n in counts.items() if n]
    if not shown:
        return "no analyses"
    return format_html_join(
        " ",
        '<a href="{}?{}&amp;state={}">{}</a>',
        (
            (changelist_url, filter_field, state, badge(f"{state} {n}", STATE_TONES.get(state, Tone.NEUTRAL)))
            for state, n in shown
        ),
    )


def study_console(
    study: Study, *, state_counts: dict[str, int], charts_available: dict[str, bool], counts: dict[str, int]
) -> Console:
    """The console of a study page: ENA study, counts with links, analyses by state, the study charts.

    :param state_counts: the study's active analyses per state (``selectors.study_analysis_states``)
    :param charts_available: per study chart, whether its data exists (``selectors.study_json_paths_exist``)
    :param counts: ``{"samples": n, "runs": n}``
    """
    analyses_url = reverse("admin:analyses_analysis_changelist")
    filter_field = f"study__id__exact={study.pk}"
    ena_study = getattr(study, "ena_study", None)
    chain = [
        ChainLink("study", format_html("{} {}", study.accession, privacy_badge(study.is_private))),
        ChainLink("ENA study", change_link(ena_study, accessions_text(study.ena_accessions)) if ena_study else EMPTY),
        ChainLink("biome", format_html("{}", study.biome.lineage) if study.biome_id else EMPTY),
        ChainLink(
            "samples",
            link(f"{reverse('admin:analyses_sample_changelist')}?studies__id__exact={study.pk}", counts["samples"]),
        ),
        ChainLink("runs", link(f"{reverse('admin:analyses_run_changelist')}?{filter_field}", counts["runs"])),
        ChainLink("analyses", state_counts_html(state_counts, analyses_url, filter_field)),
    ]
    charts = [
        (study_chart_url(study.accession, chart), chart.title)
        for chart in StudyChart
        if (sum(state_counts.values()) if chart is StudyChart.ANALYSIS_STATES else charts_available.get(chart))
    ]
    return Console(chain=chain, sections=[Section("Charts", charts_html(charts), "console-charts")])


def run_console(run: Any, analyses: list[Analysis]) -> Console:
    """The console of a run page: study, sample, ENA run, and the run's analyses with their states."""
    chain = [
        ChainLink("study", study_label(run.study)),
        ChainLink("sample", change_link(run.sample)),
        ChainLink("run", format_html("{} {}", accessions_text(run.ena_accessions), privacy_badge(run.is_private))),
        ChainLink("ENA run", change_link(run.ena_run, run.ena_run.accession)),
    ]
    return Console(
        chain=chain, sections=[Section("Analyses of this run", analyses_table(analyses), "console-analyses")]
    )


def sample_console(sample: Any, studies: list[Study], runs: list[Any]) -> Console:
    """The console of a sample page: its studies, ENA sample, and runs."""
    chain = [
        ChainLink("studies", format_html_join(", ", "{}", ((study_label(study),) for study in studies)) or EMPTY),
        ChainLink(
            "sample", format_html("{} {}", accessions_text(sample.ena_accessions), privacy_badge(sample.is_private))
        ),
        ChainLink("ENA sample", change_link(sample.ena_sample, sample.ena_sample.accession)),
        ChainLink("runs", format_html_join(", ", "{}", ((change_link(run),) for run in runs)) or EMPTY),
    ]
    return Console(chain=chain)


def analyses_table(analyses: list[Analysis]) -> SafeString | str:
    """Analyses (loaded without their JSON) as rows: accession, pipeline, type, state, superseded."""
    return table(
        ("analysis", "pipeline", "type", "state", "superseded", "updated"),
        (
            (
                change_link(analysis, analysis.accession),
                f"{analysis.pipeline_name} {analysis.pipeline_version}",
                analysis.experiment_type,
                state_badge(analysis.state),
                "superseded" if analysis.is_superseded else EMPTY,
                analysis.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
            for analysis in analyses
        ),
    )
