#!/usr/bin/env bash
# Wait until URL answers with a 2xx/3xx status: scripts/wait-http.sh URL [SECONDS] [NAME]
set -euo pipefail
url=$1 seconds=${2:-60} name=${3:-$1}
deadline=$((SECONDS + seconds))
until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
  if ((SECONDS >= deadline)); then echo "$name did not answer at $url within ${seconds}s" >&2; exit 1; fi
  sleep 0.5
done
