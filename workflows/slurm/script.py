"""Turning a JobSpec into the batch script text sbatch reads on stdin."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from workflows.slurm.models import JobSpec

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def batch_script(spec: JobSpec) -> str:
    """The script for ``spec``: its ``script`` with the environment exported after the ``#SBATCH``
    header, or a bash script around its ``command``.

    :param spec: the job.
    """
    exports = export_lines(spec.environment)
    if spec.script is not None:
        return _insert_after_header(spec.script, exports) if exports else spec.script
    return "#!/bin/bash\n" + exports + spec.command + "\n"


def export_lines(environment: Mapping[str, str]) -> str:
    """``export NAME='value'`` lines, shell-quoted.

    :param environment: variables for the job.
    :raises ValueError: a name is not a valid shell variable name.
    """
    lines = []
    for name, value in environment.items():
        if not _NAME.match(name):
            raise ValueError(f"not a valid environment variable name: {name!r}")
        lines.append(f"export {name}={shlex.quote(str(value))}\n")
    return "".join(lines)


def _insert_after_header(script: str, text: str) -> str:
    """Put ``text`` after the shebang, comments and ``#SBATCH`` lines: sbatch stops reading
    directives at the first command, so exports must not come before them.
    """
    lines = script.splitlines(keepends=True)
    position = 0
    for position, line in enumerate(lines):  # noqa: B007
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
    else:
        position = len(lines)
    if lines and position == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines[:position]) + text + "".join(lines[position:])
