"""Where the mirror keeps things: its data directory and ENA's FASTQ path layout."""

from __future__ import annotations

from pathlib import Path

from core.config import LOCAL_STATE_DIR

DEFAULT_DATA_DIR = LOCAL_STATE_DIR / "ena-mirror"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PORTAL_API_PREFIX = "/ena/portal/api/"
#: Files the mirror serves: ENA's FASTQ (``vol1/fastq/``) and submitted files (``vol1/run/``).
FILES_PREFIX = "/vol1/"
FASTQ_PREFIX = "/vol1/fastq/"
#: ENA's Webin authentication service (checks submitters' passwords; see accounts.webin).
WEBIN_AUTH_TOKEN_PATH = "/ena/submit/webin/auth/token"
STUDIES_DIRNAME = "studies"
#: ``{"Webin-90005": "<password>"}``: the Webin accounts the mirror accepts, made by ``ensure_mirror_data``.
WEBIN_ACCOUNTS_FILENAME = "webin_accounts.json"


def fastq_dir(run_accession: str) -> str:
    """ENA's directory for a run's FASTQ files, relative to the server root (no leading slash).

    ``vol1/fastq/<first 6 chars>/`` then, for accessions with more than 6 digits, a subdirectory of
    the trailing digits beyond six, zero-padded to three (``ERR9000001`` -> ``ERR900/001/ERR9000001``).
    """
    prefix = run_accession[:6]
    digits = len(run_accession) - 3
    if digits <= 6:
        return f"vol1/fastq/{prefix}/{run_accession}"
    extra = run_accession[-(digits - 6) :].rjust(3, "0")
    return f"vol1/fastq/{prefix}/{extra}/{run_accession}"


def submitted_dir(run_accession: str) -> str:
    """ENA's directory for the files a submitter uploaded: ``vol1/run/<first 6 chars>/<run>`` (no digit level)."""
    return f"vol1/run/{run_accession[:6]}/{run_accession}"


def run_of_file(path: str) -> str:
    """The run a served file belongs to: the name of its directory (both FASTQ and submitted layouts)."""
    parts = path.strip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def fastq_names(run_accession: str, *, paired: bool) -> list[str]:
    """ENA's FASTQ file names: ``ERR1_1.fastq.gz`` + ``ERR1_2.fastq.gz`` (paired) or ``ERR1.fastq.gz``."""
    if paired:
        return [f"{run_accession}_1.fastq.gz", f"{run_accession}_2.fastq.gz"]
    return [f"{run_accession}.fastq.gz"]


def studies_dir(data_dir: Path) -> Path:
    return data_dir / STUDIES_DIRNAME


def webin_accounts_path(data_dir: Path) -> Path:
    return data_dir / WEBIN_ACCOUNTS_FILENAME
