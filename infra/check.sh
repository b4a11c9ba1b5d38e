#!/usr/bin/env bash
# Static checks of the deployment side: the shared stack (infra/template.yaml)
# and the org stack (infra/org.yaml) lint clean and keep their safety invariants
# (infra/invariants.py), and the Genesys data action definitions produce valid
# requests. Needs cfn-lint, sam (aws-sam-cli),
# pytest and pyyaml on PATH: `python3 -m venv /tmp/infra-venv &&
# /tmp/infra-venv/bin/pip install -r infra/requirements.txt &&
# PATH=/tmp/infra-venv/bin:$PATH bash infra/check.sh`. No network, no AWS account.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for tool in cfn-lint sam pytest; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "infra/check.sh: missing on PATH: ${missing[*]}" >&2
    echo "  install with: pip install -r infra/requirements.txt (into a venv)" >&2
    exit 127
fi

# The SAM CLI wants a region and a credential chain even for the offline
# `validate --lint`; dummy values satisfy it and are never sent anywhere.
# Real values already in the environment are kept.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-check-sh-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-check-sh-dummy}"
export SAM_CLI_TELEMETRY=0
# Keep the checkout clean: no __pycache__ or .pytest_cache beside the sources.
export PYTHONDONTWRITEBYTECODE=1

for template in infra/template.yaml infra/org.yaml; do
    echo "== cfn-lint $template"
    cfn-lint "$template"
    echo "== sam validate --lint $template"
    sam validate --lint --template-file "$template"
done

echo "== pytest infra/tests"
pytest -q -p no:cacheprovider infra/tests
