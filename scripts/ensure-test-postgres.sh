#!/usr/bin/env bash
# Make sure the machine's Postgres answers on 127.0.0.1:5432 (the tests' database), starting it if needed.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 0.5; done
echo "Postgres does not answer on 127.0.0.1:5432 and could not be started" >&2
exit 1
