#!/usr/bin/env bash
# Installs the freshly built wheel (dist/python, from `npx projen package:python`) in a clean venv,
# with the lowest aws-cdk-lib and constructs that the library declares (package.json's
# peerDependencies, the versions Maven resolves for the jar too), synthesizes app.py with
# `python app.py` (no CDK CLI, no AWS account) and checks the template.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

wheels=("$root"/dist/python/kx_events_cdk-*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
  echo "expected exactly one wheel in dist/python (run: npx projen package:python), found: ${wheels[*]}" >&2
  exit 1
fi
min_version() { node -p "require('$root/package.json').peerDependencies['$1'].replace(/^\\^/, '')"; }
cdk_version="$(min_version aws-cdk-lib)"
constructs_version="$(min_version constructs)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
printf 'aws-cdk-lib==%s\nconstructs==%s\n' "$cdk_version" "$constructs_version" > "$work/constraints.txt"
echo "installing ${wheels[0]##*/} with aws-cdk-lib $cdk_version and constructs $constructs_version"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
  -r "$here/requirements.txt" -c "$work/constraints.txt" "${wheels[0]}"
"$work/venv/bin/pip" freeze | grep -iE '^(kx-events-cdk|kx_events_cdk|aws-cdk-lib|constructs|jsii)[ =@]'

echo "synthesizing app.py"
(cd "$here" && CDK_OUTDIR="$work/cdk.out" "$work/venv/bin/python" app.py)
python3 "$here/check_template.py" "$work/cdk.out" KxEventsPythonExample
