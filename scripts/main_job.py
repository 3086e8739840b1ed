"""Drive the platform's main job through its public API, as a user would.

POST /api/v2/private/studies/{accession}/analyse, follow the flow run until it ends, then print
the study's analyses from /api/v2/studies/{MGYS}/analyses. Exits non-zero with one line on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx

TERMINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
DEV_PASSWORD_FILE = Path(__file__).resolve().parent.parent / ".local" / "dev_superuser_password"


def read_dev_password() -> str:
    if not DEV_PASSWORD_FILE.is_file():
        sys.exit(f"main job: no --password and no {DEV_PASSWORD_FILE}: run manage.py create_dev_superuser first")
    return DEV_PASSWORD_FILE.read_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="ENA study accession, e.g. PRJEB… from the local ENA mirror")
    parser.add_argument("--api", default="http://127.0.0.1:8000/api/v2")
    parser.add_argument("--user", default="admin")
    parser.add_argument(
        "--password",
        default=None,
        help=f"default: the development superuser's, from {DEV_PASSWORD_FILE} (manage.py create_dev_superuser)",
    )
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--rerun-failed", action="store_true", help="run analyses that failed before again")
    args = parser.parse_args(argv)

    password = args.password or os.environ.get("EMG_DEV_SUPERUSER_PASSWORD") or read_dev_password()
    client = httpx.Client(base_url=args.api, auth=(args.user, password), timeout=30)
    started = time.monotonic()
    response = client.post(f"/private/studies/{args.study}/analyse", json={"rerun_failed": args.rerun_failed})
    if response.status_code != 202:
        sys.exit(f"main job: launching the analysis failed ({response.status_code}): {response.text[:300]}")
    run = response.json()
    print(f"flow run {run['flow_run_name']} started: {run['ui_url']}")

    last_state = None
    while True:
        state = client.get(f"/private/flow-runs/{run['flow_run_id']}").json()
        if state["state_name"] != last_state:
            print(f"  [{time.monotonic() - started:6.1f}s] flow run {state['state_name']}")
            last_state = state["state_name"]
        if state["state_type"] in TERMINAL_STATES:
            break
        if time.monotonic() - started > args.timeout:
            sys.exit(f"main job: the flow run did not finish within {args.timeout:.0f}s: {run['ui_url']}")
        time.sleep(2)

    study = client.get(f"/studies/{args.study}").json()
    analyses = client.get(f"/studies/{study['accession']}/analyses", params={"page_size": 100}).json()
    print(f"\n{study['accession']} ({args.study}): {analyses['count']} analyses")
    failed = []
    for analysis in analyses["items"]:
        line = f"  {analysis['accession']}  {analysis.get('run_accession') or '':<12} {analysis['state']}"
        if analysis["state"] == "completed":
            results = client.get(f"/analyses/{analysis['accession']}/results").json()
            assembly = results.get("assembly") or {}
            line += f"  contigs {assembly.get('contig_count')}  N50 {assembly.get('n50')}"
            line += f"  proteins {results.get('predicted_proteins')}"
            pfam = client.get(f"/analyses/{analysis['accession']}/annotations/pfam").json().get("items", [])
            line += "  Pfam " + (", ".join(f"{c['name']} {c['domains']}" for c in pfam[:3]) or "none")
            rrna = client.get(f"/analyses/{analysis['accession']}/rrna").json().get("counts", [])
            line += "  rRNA " + (", ".join(f"{c['kingdom']} {c['gene']} {c['count']}" for c in rrna) or "none")
        elif analysis["state"] == "failed":
            detail = client.get(f"/analyses/{analysis['accession']}").json()
            message = (detail["status"].get("analysis_failed") or {}).get("message") or ""
            line += f"  {message.splitlines()[0][:100] if message else ''}"
            failed.append(analysis["accession"])
        print(line)
    print(f"\ncharts: {args.api}/studies/{study['accession']}/charts and {args.api}/analyses/<MGYA>/charts")
    if state["state_type"] != "COMPLETED":
        sys.exit(f"main job: the flow run ended {state['state_name']}: {run['ui_url']}")
    if failed:
        sys.exit(f"main job: {len(failed)} analyses failed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
