"""Deploy a flow from ``workflows/flows/`` to the ``slurm`` work pool.

``python -m workflows.prefect_utils.deploy analyse_study [--file workflows/flows/x.py] [--name N]``
(``task deploy-flow FLOW=analyse_study [FILE=...]``). The deployment runs the flow from this
checkout on a process worker in the pool; Slurm is reached from inside the flow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.config import PROJECT_ROOT

FLOWS_DIR = Path("workflows") / "flows"


def deployment_name(flow_name: str) -> str:
    """Deployment names are the flow's name with dashes, e.g. ``analyse-study``."""
    return flow_name.replace("_", "-")


def ensure_work_pool(name: str) -> None:
    """Create the process work pool ``name`` if the Prefect server does not have it yet."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:  # created meanwhile by another deployer
                pass


def deploy(
    flow_function: str,
    *,
    file: Path | None = None,
    name: str | None = None,
    work_pool: str,
    cron: str | None = None,
) -> str:
    """Deploy ``flow_function`` and return its deployment id.

    :param flow_function: the flow function's name, e.g. ``analyse_study``
    :param file: the file defining it, relative to the project root; default ``workflows/flows/<flow>.py``
    :param name: deployment name; default derived from the flow name
    :param work_pool: the Prefect work pool the deployment runs in
    :param cron: an optional schedule
    """
    from prefect import Flow

    file = file or FLOWS_DIR / f"{flow_function}.py"
    if not (PROJECT_ROOT / file).is_file():
        raise SystemExit(f"deploy-flow: no flow file {file} (give FILE=... when it differs from the flow name)")
    ensure_work_pool(work_pool)
    flow = Flow.from_source(source=str(PROJECT_ROOT), entrypoint=f"{file}:{flow_function}")
    deployment_id = flow.deploy(
        name=name or deployment_name(flow_function),
        work_pool_name=work_pool,
        cron=cron,
        build=False,
        push=False,
        print_next_steps=False,
        ignore_warnings=True,
    )
    return str(deployment_id)


def main(argv: list[str] | None = None) -> int:
    from workflows.django_activation import EMG_CONFIG

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flow", help="flow function name, e.g. analyse_study")
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--cron", default=None)
    parser.add_argument("--pool", default=EMG_CONFIG.prefect.work_pool)
    args = parser.parse_args(argv)
    deployment_id = deploy(args.flow, file=args.file, name=args.name, work_pool=args.pool, cron=args.cron)
    print(f"deployed {args.flow} as {args.flow}/{args.name or deployment_name(args.flow)} ({deployment_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
