"""Run Snakemake's command line, then leave at once: the head job's entry point.

Snakemake 9 leaves a non-daemon ``threading.Timer`` of its job rate limiter (one second by default)
behind when its scheduler ends, and the interpreter waits for it, then tears down every module
Snakemake imported: about 1.5 s between Snakemake's last line and the head job's end, on every
launch. Once Snakemake's ``main`` has returned, all its work is written (outputs, metadata, its
log), so this flushes the streams and logging and exits with Snakemake's code.

Run as a script (``python snakemake_entry.py <snakemake arguments>``): it imports nothing of the
platform, so the head job needs only Snakemake on its path.
"""

from __future__ import annotations

import logging
import os
import sys


def exit_code(code: object) -> int:
    """A process exit status from ``SystemExit.code`` (None is success; a message is failure)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def main() -> None:
    # Run as a script, this file's folder is first on the path, and its sibling snakemake.py (the
    # launcher) would shadow the snakemake package.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    from snakemake.cli import main as snakemake_main

    try:
        snakemake_main()
        code = 0
    except SystemExit as stop:
        code = exit_code(stop.code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
