"""hmmsearch run by a test itself, to check the pipeline's Pfam counts against (not through) its parsers.

Shared by the pipeline's Slurm test and the end-to-end test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from workflows.pipelines.raw_reads import RawReadsParameters
from workflows.pipelines.raw_reads.pipeline import PFAM_MODELS_DIR


def domtblout_domains(path: Path) -> dict[str, list[str]]:
    """Model (accession, or name without one) -> the protein of each domain row, read here from
    hmmsearch's ``--domtblout`` (target is field 1, query name field 4, query accession field 5)."""
    domains: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            fields = line.split()
            domains.setdefault(fields[4] if fields[4] != "-" else fields[3], []).append(fields[0])
    return domains


def independent_hmmsearch(proteins: Path, tmp_path: Path) -> dict[str, list[str]]:
    """hmmsearch run here with each of the pipeline's model files: --cut_ga where the model has GA
    lines, else the default parameters' E-values; the domains per model of :func:`domtblout_domains`."""
    params = RawReadsParameters()
    domains: dict[str, list[str]] = {}
    for model in sorted(PFAM_MODELS_DIR.glob("*.hmm")):
        has_ga = any(line.startswith("GA ") for line in model.read_text().splitlines())
        cutoffs = ["--cut_ga"] if has_ga else ["-E", str(params.pfam_evalue), "--domE", str(params.pfam_domain_evalue)]
        table = tmp_path / f"{model.stem}.domtblout"
        subprocess.run(
            ["hmmsearch", *cutoffs, "--domtblout", table, "-o", "/dev/null", model, proteins],
            check=True,
            capture_output=True,
        )
        domains.update(domtblout_domains(table))
    return domains
