"""Tool versions as the tools report them, parsed from the pipeline's ``tool_versions`` step output.

The step runs on the Slurm nodes (where the tools ran) and writes each tool's own version output
under a ``## <tool>`` header::

    ## fastp
    fastp 0.23.2
    ## megahit
    MEGAHIT v1.2.9
    ## prodigal
    Prodigal V2.6.3: February, 2016
    ## seqkit
    seqkit v2.3.0
    ## hmmsearch
    # hmmsearch :: search profile(s) against a sequence database
    # HMMER 3.3.2 (Nov 2020); http://hmmer.org/
    ## barrnap
    barrnap 0.9
"""

from __future__ import annotations

import re
from pathlib import Path

_PATTERNS: dict[str, re.Pattern[str]] = {
    "fastp": re.compile(r"fastp\s+v?(\S+)"),
    "megahit": re.compile(r"MEGAHIT\s+v?(\S+)", re.IGNORECASE),
    "prodigal": re.compile(r"Prodigal\s+V?(\d\S*?):?(?:\s|$)", re.IGNORECASE),
    "seqkit": re.compile(r"seqkit\s+v?(\S+)"),
    "hmmsearch": re.compile(r"HMMER\s+(\S+)"),
    "barrnap": re.compile(r"barrnap\s+v?(\S+)"),
}


def split_sections(text: str) -> dict[str, str]:
    """``## tool`` sections of the versions file: tool name -> its raw output."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {tool: "\n".join(lines).strip() for tool, lines in sections.items()}


def parse_tool_versions(path: Path) -> dict[str, str]:
    """Tool name -> version string, as reported by the tool itself.

    A tool whose output does not match the known pattern keeps its first output line, so nothing
    is silently lost; a tool that printed nothing is left out.
    """
    versions: dict[str, str] = {}
    for tool, output in split_sections(Path(path).read_text()).items():
        if not output:
            continue
        pattern = _PATTERNS.get(tool)
        match = pattern.search(output) if pattern else None
        versions[tool] = match.group(1) if match else output.splitlines()[0].strip()
    return versions
