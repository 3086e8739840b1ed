"""The platform's configuration: one structured pydantic-settings object, ``EMG_CONFIG``.

Every value comes from the environment with the prefix ``EMG_`` and ``__`` between a section
and its field, e.g. ``EMG_WEBIN__EMG_WEBIN_ACCOUNT=Webin-123`` or
``EMG_SLURM__DEFAULT_PARTITION=pipelines``. Django reads it through ``settings.EMG_CONFIG``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, Field, PositiveFloat, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = PROJECT_ROOT / ".local"


class DatabaseConfig(BaseModel):
    """Where Postgres is. With no ``url``, an embedded Postgres is started under ``embedded_data_dir``."""

    url: str | None = Field(
        default=None, description="postgresql://user:pass@host:port/dbname; unset = embedded server"
    )
    embedded_data_dir: Path = LOCAL_STATE_DIR / "pgdata"
    embedded_database: str = "emg"
    conn_max_age: int = 60


class ENAConfig(BaseModel):
    portal_api_url: AnyHttpUrl = AnyHttpUrl("https://www.ebi.ac.uk/ena/portal/api/")
    # ENA's fastq_ftp values have no scheme ("ftp.sra.ebi.ac.uk/vol1/..."); this scheme is prepended.
    fastq_url_scheme: str = "https"
    requests_per_second: PositiveFloat = 5.0
    timeout_seconds: PositiveFloat = 30.0
    max_retries: int = Field(default=5, ge=0)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    page_size: PositiveInt = 10_000
    metagenomic_data_portals: list[str] = ["metagenome", "ena"]


class WebinConfig(BaseModel):
    emg_webin_account: str | None = None
    emg_webin_password: SecretStr | None = None


class SlurmConfig(BaseModel):
    default_partition: str = "pipelines"
    default_account: str | None = None
    default_cpus: PositiveInt = 1
    default_memory_mb: PositiveInt = 2048
    default_time_limit_minutes: PositiveInt = 60
    poll_interval_seconds: PositiveFloat = 1.0
    max_poll_interval_seconds: PositiveFloat = 15.0
    head_time_limit_minutes: PositiveInt | None = Field(
        default=None, description="Time limit of every pipeline head job; unset = the launcher's default"
    )
    slurm_conf: Path | None = Field(
        default=None, description="SLURM_CONF for clients; unset = the environment's or /etc/slurm"
    )


class PrefectConfig(BaseModel):
    api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:4200/api")
    ui_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:4200")
    work_pool: str = "slurm"
    analyse_study_deployment: str = "analyse-study/analyse-study"
    max_parallel_analyses: PositiveInt = 4


class ServiceURLsConfig(BaseModel):
    app_root: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    drs_hostname: str = "127.0.0.1:8000"


class StorageConfig(BaseModel):
    work_root: Path = LOCAL_STATE_DIR / "work"
    results_root: Path = LOCAL_STATE_DIR / "results"
    exports_root: Path = LOCAL_STATE_DIR / "exports"
    keep_work_dirs: bool = True


class PipelinesConfig(BaseModel):
    bundled_pipeline_name: str = "raw-reads"
    bundled_pipeline_version: str = "1.0.0"
    modules: list[str] = Field(
        default=["workflows.pipelines.raw_reads.pipeline", "workflows.pipelines.raw_reads_nf"],
        description="Modules that define (and register) the platform's pipelines, imported on first lookup",
    )
    lease_seconds: PositiveInt | None = Field(
        default=None,
        description="Work-ledger lease of one analysis for every pipeline; unset = each pipeline's own",
    )


class EMGConfig(BaseSettings):
    """All settings of the platform, grouped by the component they configure."""

    model_config = SettingsConfigDict(env_prefix="EMG_", env_nested_delimiter="__", extra="ignore", frozen=True)

    debug: bool = False
    secret_key: SecretStr = SecretStr("dev-only-insecure-secret-key-change-me")
    allowed_hosts: list[str] = ["*"]
    database: DatabaseConfig = DatabaseConfig()
    ena: ENAConfig = ENAConfig()
    webin: WebinConfig = WebinConfig()
    slurm: SlurmConfig = SlurmConfig()
    prefect: PrefectConfig = PrefectConfig()
    service_urls: ServiceURLsConfig = ServiceURLsConfig()
    storage: StorageConfig = StorageConfig()
    pipelines: PipelinesConfig = PipelinesConfig()


def load_config() -> EMGConfig:
    """Read the configuration, or exit with one line naming the first bad setting."""
    from pydantic import ValidationError

    try:
        return EMGConfig()
    except ValidationError as error:
        first = error.errors()[0]
        name = "EMG_" + "__".join(str(part) for part in first["loc"]).upper()
        raise SystemExit(f"Configuration error: {name}: {first['msg']}") from None


def current_config() -> EMGConfig:
    """``settings.EMG_CONFIG`` when Django is configured; else the same settings read from the environment.

    For library code (Slurm client, launchers, work areas) that runs both inside Django and alone.
    """
    from django.conf import settings

    if settings.configured:
        return settings.EMG_CONFIG
    return EMGConfig()
