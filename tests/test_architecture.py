"""The import contract (pyproject.toml ``[tool.importlinter]``, README "Layout") holds, and would catch a breach.

``lint-imports`` reads the source statically (grimp), so these tests need no database or Django.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "accounts", "ena", "drs", "analyses", "workflows", "emgapiv2", "devtools")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy_of_the_tree(tmp_path: Path) -> Path:
    """The product packages and the contract, copied, so a test can add a forbidden import."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    module.write_text(f"{statement}  # added by a test\n{module.read_text()}")


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        # a lower layer importing a higher one
        ("ena/models.py", "import analyses.models", "Each layer imports only the layers below it"),
        ("drs/services.py", "from analyses.models import Analysis", "Each layer imports only the layers below it"),
        ("core/fields.py", "import drs.models", "Each layer imports only the layers below it"),
        ("core/visibility.py", "import accounts.models", "Each layer imports only the layers below it"),
        ("accounts/tokens.py", "import ena.models", "Each layer imports only the layers below it"),
        ("analyses/admin/console.py", "import workflows.ledger", "Each layer imports only the layers below it"),
        # siblings of one layer are independent
        ("ena/services.py", "import drs.services", "Each layer imports only the layers below it"),
        # inside workflows: the Slurm client knows nothing of pipelines
        ("workflows/slurm/client.py", "import workflows.pipelines", "Inside workflows"),
        # a cycle between two modules of one package
        ("core/fields.py", "import core.bulk", "No import cycles"),
    ],
)
def test_a_forbidden_import_breaks_the_contract(copy_of_the_tree: Path, module: str, statement: str, broken: str):
    assert lint_imports(copy_of_the_tree).returncode == 0
    add_import(copy_of_the_tree / module, statement)
    result = lint_imports(copy_of_the_tree)
    assert result.returncode == 1, result.stdout
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
