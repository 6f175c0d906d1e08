#!/usr/bin/env bash
# Lints the API document, web/openapi.yaml, with Redocly's recommended
# rules (redocly.yaml beside this script; accepted exceptions in
# .redocly.lint-ignore.yaml). Installs the pinned @redocly/cli from the npm
# registry first when it is missing or the lock file changed. Run by make
# lint; exits non-zero when the document breaks a rule.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

if ! command -v npm >/dev/null; then
	echo "openapi lint: npm is needed (apt-get install -y npm)" >&2
	exit 1
fi
bin="$here/node_modules/.bin/redocly"
stamp="$here/node_modules/.package-lock.json"
if [ ! -x "$bin" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
	echo "openapi lint: installing @redocly/cli (npm ci in scripts/openapi-lint)"
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

# No telemetry, no update or product notices: the lint's output is the
# document's problems only.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true REDOCLY_SUPPRESS_UPDATE_NOTICE=true
rc=0
out="$("$bin" lint --config "$here/redocly.yaml" --format stylish web/openapi.yaml 2>&1)" || rc=$?
# Redocly boxes a notice about the Node.js version in use; it says nothing
# about the document.
printf '%s\n' "$out" | grep -v -e '^ *[╔║╚]' -e '^$' -e 'generate-ignore-file' || true
if [ "$rc" -ne 0 ]; then
	cat >&2 <<'MSG'

openapi lint: web/openapi.yaml breaks the rules above (line:column first).
Every operation needs an operationId, a security requirement (security: []
when public; staffSession, plus csrfToken when it changes state) and at
least one 4XX answer. See scripts/openapi-lint/redocly.yaml.
MSG
fi
exit "$rc"
