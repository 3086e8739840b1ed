"""The platform's configuration: one structured pydantic-settings object, ``EMG_CONFIG``.

Every value comes from the environment with the prefix ``EMG_`` and ``__`` between a section
and its field, e.g. ``EMG_WEBIN__EMG_WEBIN_ACCOUNT=Webin-123`` or
``EMG_SLURM__DEFAULT_PARTITION=pipelines``. Django reads it through ``settings.EMG_CONFIG``.

``EMG_ENVIRONMENT`` picks a profile: ``development`` (the default) generates a local secret key and
allows only loopback hosts; ``production`` refuses to start without a strong secret key, with
``EMG_DEBUG`` on, or with ``EMG_ALLOWED_HOSTS`` empty or ``*`` (see ``deployment/SECURITY.md``).
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = PROJECT_ROOT / ".local"
DEV_SECRET_KEY_FILE_NAME = "secret_key"
DEV_ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]


class Environment(StrEnum):
    """The deployment profile (``EMG_ENVIRONMENT``): how strict the configuration must be."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ProfileError(Exception):
    """The configuration is not allowed in its profile.

    Not a ``ValueError`` on purpose: pydantic lets it through unwrapped, so it keeps the setting's name.
    """

    def __init__(self, setting: str, reason: str):
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


class DatabaseConfig(BaseModel):
    """Where Postgres is. With no ``url``, an embedded Postgres is started under ``embedded_data_dir``."""

    url: str | None = Field(
        default=None, description="postgresql://user:pass@host:port/dbname; unset = embedded server"
    )
    embedded_data_dir: Path = LOCAL_STATE_DIR / "pgdata"
    embedded_database: str = "emg"
    conn_max_age: int = 60


class SecurityConfig(BaseModel):
    """HTTPS hardening. ``None`` means the profile's default: on in production, off in development (plain HTTP)."""

    hsts_seconds: NonNegativeInt | None = Field(
        default=None, description="Strict-Transport-Security max-age; unset = one year in production, 0 in development"
    )
    hsts_include_subdomains: bool = True
    hsts_preload: bool = True
    ssl_redirect: bool | None = Field(default=None, description="Redirect HTTP to HTTPS; unset = on in production")
    proxy_ssl_header: tuple[str, str] | None = Field(
        default=None,
        description='Header a TLS-terminating proxy sets, e.g. ["HTTP_X_FORWARDED_PROTO", "https"]; '
        "set it only if the proxy always overwrites that header",
    )


class DrsConfig(BaseModel):
    """Lifetimes of signed DRS access URLs: a leaked URL is only good for so long."""

    max_access_url_seconds: PositiveInt = Field(
        default=86_400, description="Hard cap: longer-lived signatures are neither issued nor accepted"
    )
    access_url_seconds: PositiveInt = 3600

    @field_validator("access_url_seconds")
    @classmethod
    def _within_cap(cls, value: int, info: ValidationInfo) -> int:
        cap = info.data.get("max_access_url_seconds")
        if cap is not None and value > cap:
            raise ValueError(f"exceeds max_access_url_seconds ({cap})")
        return value


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
    auth_url: AnyHttpUrl | None = Field(
        default=AnyHttpUrl("https://www.ebi.ac.uk/ena/submit/webin/auth/token"),
        description="Webin authentication service that checks submitters' passwords; unset = Webin logins off",
    )
    auth_timeout_seconds: PositiveFloat = 10.0


class AuthConfig(BaseModel):
    """Users' API tokens and abuse limits (failed logins, launches)."""

    token_default_days: PositiveInt = 30
    token_max_days: PositiveInt = Field(default=90, le=366)
    max_failures_per_account: PositiveInt = Field(default=10, description="Failed logins of one account per window")
    max_failures_per_address: PositiveInt = Field(default=50, description="Failed logins from one address per window")
    failure_window_seconds: PositiveInt = 900
    launches_per_hour: PositiveInt = Field(default=30, description="Launch requests per user per hour")
    max_analyses_per_launch: PositiveInt = Field(default=1000, description="Runs one launch request may analyse")


class StepPlacement(StrEnum):
    """Where a pipeline's steps run on Slurm."""

    #: every step inside the head job's allocation (sized for the largest step): no job per step
    HEAD_JOB = "head-job"
    #: every step its own Slurm job, with its own resources (a lost node costs one step, not the run)
    OWN_JOBS = "own-jobs"
    #: head-job when the inputs total at most ``inline_max_input_mb``, own-jobs above
    AUTO = "auto"


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
    step_placement: StepPlacement = Field(
        default=StepPlacement.AUTO,
        description="Steps inside the head job's allocation, each in its own job, or decided by input size",
    )
    inline_max_input_mb: PositiveInt = Field(
        default=2048,
        description="With step_placement=auto: inputs up to this size (MB) run inside the head job",
    )
    max_head_jobs_per_study: PositiveInt = Field(
        default=1000,
        description="A study's share of the cluster: head jobs one analyse-study run keeps submitted at once "
        "(Slurm queues what it cannot start); the study's other analyses wait in the work ledger",
    )
    fanout_threads: PositiveInt = Field(
        default=8,
        description="Threads of one analyse-study run that fetch reads and submit head jobs (and publish "
        "results); following all its pipelines takes one thread and one Slurm query per poll",
    )


class PrefectConfig(BaseModel):
    api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:4200/api")
    ui_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:4200")
    work_pool: str = "slurm"
    analyse_study_deployment: str = "analyse-study/analyse-study"


class ServiceURLsConfig(BaseModel):
    app_root: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    drs_hostname: str = "127.0.0.1:8000"


class StorageConfig(BaseModel):
    work_root: Path = LOCAL_STATE_DIR / "work"
    results_root: Path = LOCAL_STATE_DIR / "results"
    exports_root: Path = LOCAL_STATE_DIR / "exports"
    keep_work_dirs: bool = True


class NextflowConfig(BaseModel):
    """How Nextflow's Slurm executor paces itself: its ``executor`` scope in the generated config.

    ``EMG_PIPELINES__NEXTFLOW__POLL_INTERVAL_SECONDS`` etc.; the Nextflow launcher's defaults.
    """

    poll_interval_seconds: PositiveInt = Field(
        default=2, description="executor.pollInterval: how often a task's end is checked"
    )
    queue_stat_interval_seconds: PositiveInt = Field(
        default=5, description="executor.queueStatInterval: how often squeue is asked about the tasks"
    )
    submit_rate_limit: str = Field(
        default="10/1s",
        pattern=r"^\d+\s*(/\s*\d*\s*[a-z]*|\s+[a-z]+)$",
        description="executor.submitRateLimit: tasks per interval, e.g. 10/1s or 50/2min",
    )
    queue_size: PositiveInt = Field(default=20, description="executor.queueSize: tasks queued or running at once")


class PipelinesConfig(BaseModel):
    bundled_pipeline_name: str = "raw-reads"
    bundled_pipeline_version: str = "2.0.0"
    modules: list[str] = Field(
        default=["workflows.pipelines.raw_reads.pipeline", "workflows.pipelines.raw_reads_nf"],
        description="Modules that define (and register) the platform's pipelines, imported on first lookup",
    )
    lease_seconds: PositiveInt | None = Field(
        default=None,
        description="Work-ledger lease of one analysis for every pipeline; unset = each pipeline's own",
    )
    nextflow: NextflowConfig = NextflowConfig()
    snakemake_python: Path | None = Field(
        default=None,
        description="The Python that runs Snakemake in head jobs; unset = .venv-snakemake's if set up, else this one",
    )


class EMGConfig(BaseSettings):
    """All settings of the platform, grouped by the component they configure."""

    model_config = SettingsConfigDict(env_prefix="EMG_", env_nested_delimiter="__", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    debug: bool = False
    secret_key: SecretStr | None = Field(
        default=None, description="Required in production; unset in development = generated once into .local"
    )
    allowed_hosts: list[str] | None = Field(
        default=None, description="Required in production; unset in development = the loopback names"
    )
    security: SecurityConfig = SecurityConfig()
    drs: DrsConfig = DrsConfig()
    database: DatabaseConfig = DatabaseConfig()
    ena: ENAConfig = ENAConfig()
    webin: WebinConfig = WebinConfig()
    auth: AuthConfig = AuthConfig()
    slurm: SlurmConfig = SlurmConfig()
    prefect: PrefectConfig = PrefectConfig()
    service_urls: ServiceURLsConfig = ServiceURLsConfig()
    storage: StorageConfig = StorageConfig()
    pipelines: PipelinesConfig = PipelinesConfig()

    @model_validator(mode="before")
    @classmethod
    def _development_defaults(cls, data: Any) -> Any:
        """Unset key and hosts in development: a generated local key and the loopback names."""
        if not isinstance(data, dict) or str(data.get("environment", "")).lower() == Environment.PRODUCTION:
            return data
        if not data.get("secret_key"):
            data = {**data, "secret_key": dev_secret_key()}
        if data.get("allowed_hosts") is None:
            data = {**data, "allowed_hosts": list(DEV_ALLOWED_HOSTS)}
        return data

    @model_validator(mode="after")
    def _production_profile(self) -> EMGConfig:
        if self.environment is Environment.PRODUCTION:
            _check_production(self)
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


def secret_key_weakness(key: str) -> str | None:
    """Why Django's ``security.W009`` check would call ``key`` weak, or ``None`` if it is strong enough."""
    from django.core.checks.security.base import (
        SECRET_KEY_INSECURE_PREFIX,
        SECRET_KEY_MIN_LENGTH,
        SECRET_KEY_MIN_UNIQUE_CHARACTERS,
    )

    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"starts with {SECRET_KEY_INSECURE_PREFIX!r} (a generated development key)"
    return None


def _check_production(config: EMGConfig) -> None:
    """Refuse what would let anyone forge signatures or sessions, leak tracebacks, or answer any Host."""
    if config.secret_key is None or not config.secret_key.get_secret_value():
        raise ProfileError("EMG_SECRET_KEY", "required in production (a random string of 50+ characters)")
    weakness = secret_key_weakness(config.secret_key.get_secret_value())
    if weakness:
        raise ProfileError("EMG_SECRET_KEY", f"too weak for production: {weakness}")
    if config.debug:
        raise ProfileError("EMG_DEBUG", "must be false in production")
    if not config.allowed_hosts:
        raise ProfileError("EMG_ALLOWED_HOSTS", 'required in production, e.g. ["www.example.org"]')
    if "*" in config.allowed_hosts:
        raise ProfileError("EMG_ALLOWED_HOSTS", "'*' is not allowed in production: list the site's host names")


def local_secret(name: str, *, nbytes: int = 64) -> str:
    """A random development secret kept in ``LOCAL_STATE_DIR/<name>`` (mode 0600), generated on first use.

    Kept on disk so it survives restarts, and random so no secret is ever published. Written to a
    temporary file and hard-linked into place, so concurrent first starts agree on one value.

    :param name: the file's name under ``.local``
    :param nbytes: random bytes of a new secret
    """
    path = LOCAL_STATE_DIR / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(nbytes) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process wrote it first: use theirs
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def dev_secret_key() -> SecretStr:
    """The development key in ``LOCAL_STATE_DIR/secret_key`` (see :func:`local_secret`)."""
    key = local_secret(DEV_SECRET_KEY_FILE_NAME)
    if not key:
        path = LOCAL_STATE_DIR / DEV_SECRET_KEY_FILE_NAME
        raise ProfileError("EMG_SECRET_KEY", f"unset, and {path} is empty: delete it to generate a new key")
    return SecretStr(key)


def load_config() -> EMGConfig:
    """Read the configuration, or exit with one line naming the first bad setting."""
    from pydantic import ValidationError

    try:
        return EMGConfig()
    except ProfileError as error:
        raise SystemExit(f"Configuration error: {error.setting}: {error.reason}") from None
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
