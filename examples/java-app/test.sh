#!/usr/bin/env bash
# Installs the freshly built jar (dist/java, from `npx projen package:java`) into the local Maven
# repository, compiles this app against it with the lowest aws-cdk-lib and constructs that the
# library declares (package.json's peerDependencies), synthesizes it (no CDK CLI, no AWS account)
# and checks the template with the same checks as the Python app.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

jars=("$root"/dist/java/io/kxevents/kx-events-cdk/*/kx-events-cdk-*[0-9].jar)
if [ "${#jars[@]}" -ne 1 ] || [ ! -f "${jars[0]}" ]; then
  echo "expected exactly one kx-events-cdk jar in dist/java (run: npx projen package:java), found: ${jars[*]}" >&2
  exit 1
fi
jar="${jars[0]}"
version="$(basename "$(dirname "$jar")")"
min_version() { node -p "require('$root/package.json').peerDependencies['$1'].replace(/^\\^/, '')"; }
cdk_version="$(min_version aws-cdk-lib)"
constructs_version="$(min_version constructs)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mvn=(mvn --batch-mode --no-transfer-progress --quiet -Dstyle.color=never)

echo "installing ${jar##*/} into the local Maven repository"
"${mvn[@]}" org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file \
  -Dfile="$jar" -DpomFile="${jar%.jar}.pom"

echo "compiling and synthesizing with kx-events-cdk $version, aws-cdk-lib $cdk_version and constructs $constructs_version"
(cd "$here" && CDK_OUTDIR="$work/cdk.out" "${mvn[@]}" compile exec:java \
  -Dkx-events-cdk.version="$version" -Daws-cdk-lib.version="$cdk_version" -Dconstructs.version="$constructs_version")
python3 "$here/../python-app/check_template.py" "$work/cdk.out" KxEventsJavaExample
