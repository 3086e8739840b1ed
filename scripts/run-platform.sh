#!/usr/bin/env bash
# The platform's main job on one machine (./task run): start everything on the embedded defaults,
# then analyse the local ENA mirror's synthetic study end to end on Slurm through the public API.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DEMO_STUDY=${EMG_DEMO_STUDY:-PRJEB90001}
API=http://127.0.0.1:8000
step() { printf '\n==> %s\n' "$*"; }

step "Database (${EMG_DATABASE__URL:-embedded Postgres in .local/pgdata}) and migrations"
$PY manage.py migrate --no-input -v 0
$PY manage.py collectstatic --no-input -v 0
$PY manage.py create_dev_superuser

step "Slurm cluster"
.venv/bin/task slurm:up

step "Local ENA mirror on 127.0.0.1:8765"
# Restarted every time: it serves what is on disk now (regenerated when the generator changes).
bash scripts/daemon.sh stop ena-mirror >/dev/null
bash scripts/daemon.sh start ena-mirror -- $PY -m devtools.ena_mirror serve --port 8765
bash scripts/wait-http.sh "http://127.0.0.1:8765/ena/portal/api/search?result=study&query=study_accession=%22$DEMO_STUDY%22&format=json" 120 "ENA mirror"

# The platform's Webin account (it imports private ENA studies) is the mirror's private study's
# submitter unless EMG_WEBIN__* say otherwise; its password was generated into the mirror's data dir.
if [[ -z "${EMG_WEBIN__EMG_WEBIN_ACCOUNT:-}" ]]; then
  export EMG_WEBIN__EMG_WEBIN_ACCOUNT=Webin-90005
  EMG_WEBIN__EMG_WEBIN_PASSWORD=$($PY -c 'from devtools.ena_mirror.generator import mirror_webin_accounts as accounts; print(accounts()["Webin-90005"])')
  export EMG_WEBIN__EMG_WEBIN_PASSWORD
fi

step "Prefect server, flows and a worker in the pool 'slurm'"
bash scripts/daemon.sh start prefect-server -- .venv/bin/prefect server start --host 127.0.0.1 --port 4200
bash scripts/wait-http.sh http://127.0.0.1:4200/api/health 120 "Prefect server"
for flow in analyse_study move_data realistic_example; do $PY -m workflows.prefect_utils.deploy "$flow"; done
$PY -m workflows.prefect_utils.deploy export_collections --cron "0 3 * * *"
# Restart the worker and the API so they run the code as it is now.
bash scripts/daemon.sh stop prefect-worker >/dev/null
bash scripts/daemon.sh start prefect-worker -- .venv/bin/prefect worker start --pool slurm --type process --name "slurm-worker-$(hostname)"

step "API and admin (gunicorn) on $API"
bash scripts/daemon.sh stop api >/dev/null
bash scripts/daemon.sh start api -- .venv/bin/gunicorn -c python:emgapiv2.gunicorn_conf emgapiv2.wsgi -b 127.0.0.1:8000 -w 2 --timeout 120
bash scripts/wait-http.sh "$API/api/v2/openapi.json" 60 "API"

step "Main job: analyse $DEMO_STUDY from the local ENA mirror on Slurm, through the API"
# Done analyses are skipped (exactly once); failed ones from an earlier attempt are run again.
$PY scripts/main_job.py "$DEMO_STUDY" --api "$API/api/v2" --rerun-failed

MGYS=$(curl -fsS "$API/api/v2/studies/$DEMO_STUDY" | $PY -c 'import json, sys; print(json.load(sys.stdin)["accession"])')
cat <<EOF2

The platform is running (./task stop stops it; ./task slurm:down stops Slurm):
  Results          $API/api/v2/studies/$MGYS/analyses
  API docs         $API/api/v2/docs
  Admin            $API/admin/   (admin; password in .local/dev_superuser_password)
  Prefect UI       http://127.0.0.1:4200
  GA4GH DRS        $API/ga4gh/drs/v1/objects/$MGYS
  ENA mirror       http://127.0.0.1:8765/ena/portal/api/
                   PRJEB90004: every ENA run layout; PRJEB90005: private to Webin-90005
                   (password in .local/ena-mirror/webin_accounts.json)
  Logs             .local/run/*.log
EOF2
