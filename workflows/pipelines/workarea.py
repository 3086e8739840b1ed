"""Each analysis' own directory under the configured work root; pipelines write nowhere else.

Layout::

    <work_root>/<name>/
        pipeline/   launch records, generated configs and head-job scripts
        logs/       one log per step, one per launch attempt (the head job's)
        results/    the pipeline's declared outputs (what becomes downloads)
        benchmarks/ per-step run times as measured by the engine
        tmp/        TMPDIR of every step
        .cache/     XDG_CACHE_HOME of every step (engines cache sources there)
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from core.config import current_config

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def configured_work_root() -> tuple[Path, bool]:
    """``(storage.work_root, storage.keep_work_dirs)`` from EMG_CONFIG (Django's, or the environment's)."""
    storage = current_config().storage
    return Path(storage.work_root), bool(storage.keep_work_dirs)


@dataclass(frozen=True)
class WorkArea:
    """One analysis' work directory.

    :param root: the directory itself (``<work_root>/<name>``)
    :param keep: whether :meth:`finish` keeps it (True) or removes it (False)
    """

    root: Path
    keep: bool = True

    @classmethod
    def for_analysis(cls, accession: str, *, work_root: Path | None = None, keep: bool | None = None) -> WorkArea:
        """The work area of an analysis, e.g. ``MGYA00000001``, created if missing.

        :param accession: the analysis' accession (the directory's name)
        :param work_root: the root; defaults to ``EMG_CONFIG.storage.work_root``
        :param keep: keep after :meth:`finish`; defaults to ``EMG_CONFIG.storage.keep_work_dirs``
        :raises ValueError: an accession that is not a safe directory name
        """
        if not _SAFE_NAME.match(accession):
            raise ValueError(f"not a safe work area name: {accession!r}")
        if work_root is None or keep is None:
            configured_root, configured_keep = configured_work_root()
            work_root = work_root if work_root is not None else configured_root
            keep = keep if keep is not None else configured_keep
        area = cls(root=(Path(work_root) / accession).resolve(), keep=keep)
        area.create()
        return area

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def pipeline_dir(self) -> Path:
        return self.root / "pipeline"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def benchmarks_dir(self) -> Path:
        return self.root / "benchmarks"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    def create(self) -> None:
        for directory in (
            self.root,
            self.pipeline_dir,
            self.logs_dir,
            self.results_dir,
            self.benchmarks_dir,
            self.tmp_dir,
            self.cache_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True)

    def path(self, relative: str | Path) -> Path:
        """An absolute path inside the work area.

        :raises ValueError: if ``relative`` escapes the work area
        """
        candidate = (self.root / relative).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise ValueError(f"{relative} is outside the work area {self.root}")
        return candidate

    def environment(self) -> dict[str, str]:
        """Environment variables that keep temporary and cache files inside the work area."""
        return {
            "TMPDIR": str(self.tmp_dir),
            "XDG_CACHE_HOME": str(self.cache_dir),
        }

    def write_json(self, relative: str | Path, payload: BaseModel | dict | list) -> Path:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = payload.model_dump_json(indent=2) if isinstance(payload, BaseModel) else json.dumps(payload, indent=2)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_text(text)
        tmp.replace(target)
        return target

    def read_json(self, relative: str | Path) -> dict | list:
        return json.loads(self.path(relative).read_text())

    def finish(self) -> bool:
        """Clean up after the results were imported: remove the directory unless it is kept.

        :return: True if the directory was removed
        """
        if self.keep:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            return False
        shutil.rmtree(self.root, ignore_errors=True)
        return True
