#!/usr/bin/env bash
# Install everything the platform needs on a Debian machine: system packages (Slurm, munge, the
# bioinformatics tools) and the Python virtualenv pinned by requirements.lock. Idempotent and quick
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  slurm-wlm slurmdbd slurmrestd slurm-wlm-jwt-plugin slurm-wlm-mysql-plugin munge mariadb-server
  fastp megahit prodigal seqkit hmmer hmmer-examples barrnap samtools
  procps curl
  chromium fonts-dejavu-core
)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts daemons on install on some machines; the project runs its own, so stop those.
  for service in slurmctld slurmd slurmdbd slurmrestd munge; do
    pkill -x "$service" 2>/dev/null || true
  done
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements-stamp
if [ ! -f "$stamp" ] || ! cmp -s <(cat requirements.in requirements.lock) "$stamp"; then
  echo "setup: installing Python packages (pinned by requirements.lock)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.in -c requirements.lock
  cat requirements.in requirements.lock > "$stamp"
fi

# Head jobs that run the steps themselves run Snakemake from a small environment of its own: Snakemake
# alone, the pinned version. It starts ~0.8 s sooner than from the platform's, whose Slurm executor
# plugin imports pandas and whose hundreds of packages Snakemake's plugin discovery scans.
# EMG_PIPELINES__SNAKEMAKE_PYTHON overrides it.
engine_stamp=.venv-snakemake/.requirements-stamp
if [ ! -f "$engine_stamp" ] || ! cmp -s requirements.lock "$engine_stamp"; then
  echo "setup: creating .venv-snakemake (Snakemake for head jobs that run their steps)"
  rm -rf .venv-snakemake
  "$PYTHON" -m venv .venv-snakemake
  .venv-snakemake/bin/pip install -q -c requirements.lock snakemake
  cp requirements.lock "$engine_stamp"
fi
