# Shared settings for the scripts in this folder. Sourced, never run.
#
# Everything the scripts install or build lives under one cache directory
# outside the clone, so a fresh clone on the same machine reuses it (CI runs
# on a fresh clone) while a fresh machine still builds from scratch.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSESSOR_CACHE="${ASSESSOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlassess}"
export ASSESSOR_CACHE
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ASSESSOR_CACHE/target}"
# Python tools live in two virtual environments: the test peers (moto_server,
# pysqlbridge) and the checkers (cfn-lint, checkov, parliament). They are kept
# apart because checkov pins versions of boto3 and friends that moto does not
# accept.
export ASSESSOR_PEERS_VENV="$ASSESSOR_CACHE/venv-peers"
export ASSESSOR_CHECKERS_VENV="$ASSESSOR_CACHE/venv-checkers"
# The SCAP Security Guide content scripts/dev-env unpacks (image-builder's OpenSCAP gate).
export IMAGE_BUILDER_SCAP_CONTENT="$ASSESSOR_CACHE/ssg/usr/share/xml/scap/ssg/content"
export PATH="$HOME/.cargo/bin:$PATH"
# The test harness finds the peers' executables through these.
export ASSESSOR_MOTO_SERVER="$ASSESSOR_PEERS_VENV/bin/moto_server"
export ASSESSOR_PEERS_PYTHON="$ASSESSOR_PEERS_VENV/bin/python"
# OVMF variable stores with a Secure Boot db enrolled (image-builder).
export ASSESSOR_VIRT_FW_VARS="$ASSESSOR_PEERS_VENV/bin/virt-fw-vars"
if [ -d /usr/lib/postgresql ]; then
  ASSESSOR_PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  export ASSESSOR_PG_BIN
fi

say() { printf '%s\n' "$*" >&2; }
