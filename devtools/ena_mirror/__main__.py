"""``python -m devtools.ena_mirror serve|generate``: run the local ENA mirror or (re)generate its data.

``serve`` accepts the Webin accounts of ``<data-dir>/webin_accounts.json`` (the private study's
generated password) and any ``--webin-account ACCOUNT:PASSWORD`` (which wins for the same account).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from devtools.ena_mirror.fanout_study import FANOUT_STUDY_ACCESSION, fanout_study_record
from devtools.ena_mirror.generator import (
    LARGE_STUDY_ACCESSION,
    ensure_webin_accounts,
    generate_amplicon_study,
    generate_layouts_study,
    generate_private_study,
    generate_synthetic_study,
    large_study_record,
    synthetic_genomes,
    write_study,
)
from devtools.ena_mirror.layout import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    PORTAL_API_PREFIX,
    webin_accounts_path,
)
from devtools.ena_mirror.server import make_server


def _webin_accounts(values: list[str]) -> dict[str, str]:
    accounts = {}
    for value in values:
        account, sep, password = value.partition(":")
        if not sep:
            raise SystemExit(f"--webin-account wants ACCOUNT:PASSWORD, got {account!r}")
        accounts[account] = password
    return accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ena_mirror", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the Portal API and FASTQ files")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    serve.add_argument("--large-runs", type=int, default=None, help=f"also serve {LARGE_STUDY_ACCESSION} with N runs")
    serve.add_argument("--webin-account", action="append", default=[], metavar="ACCOUNT:PASSWORD")
    serve.add_argument(
        "--fanout-runs",
        type=int,
        default=0,
        help=f"also serve {FANOUT_STUDY_ACCESSION} with N runs of tiny real FASTQ files (written under --data-dir)",
    )
    serve.add_argument("--no-generate", action="store_true", help="serve only what is in --data-dir")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request")
    generate = sub.add_parser("generate", help="(re)generate the synthetic studies")
    generate.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    generate.add_argument("--large-runs", type=int, default=0, help=f"also write {LARGE_STUDY_ACCESSION} with N runs")
    args = parser.parse_args(argv)

    if args.command == "generate":
        genomes = synthetic_genomes()
        made = [
            generate_synthetic_study(args.data_dir),
            generate_amplicon_study(args.data_dir),
            generate_layouts_study(args.data_dir, genomes=genomes),
            generate_private_study(args.data_dir, genomes=genomes),
        ]
        ensure_webin_accounts(args.data_dir)
        if args.large_runs:
            record = large_study_record(args.large_runs)
            write_study(record, args.data_dir)
            made.append(record)
        for record in made:
            print(f"{record.accession}: {len(record.samples)} samples, {len(record.runs)} runs")
        print(f"data dir: {args.data_dir}")
        print(f"Webin accounts of private studies: {webin_accounts_path(args.data_dir)}")
        return 0

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    server = make_server(
        args.data_dir,
        host=args.host,
        port=args.port,
        generate=not args.no_generate,
        large_runs=args.large_runs,
        webin_accounts=_webin_accounts(args.webin_account),
        studies=[fanout_study_record(args.data_dir, args.fanout_runs)] if args.fanout_runs else (),
    )
    host, port = server.server_address[:2]
    print(
        json.dumps(
            {
                "portal_api_url": f"http://{host}:{port}{PORTAL_API_PREFIX}",
                "studies": server.store.accessions(),
                "data_dir": str(args.data_dir),
                "webin_accounts_file": str(webin_accounts_path(args.data_dir)),
                "webin_accounts": sorted(server.store.webin_accounts),
            }
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
