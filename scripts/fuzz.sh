#!/usr/bin/env bash
# Runs every Go fuzz target of the module (each `func FuzzX` in a _test.go
# file), one at a time, for FUZZTIME each (default 5s). The seed corpora in
# testdata/fuzz/ already run with `make test`; this explores beyond them.
# A failing input is written to the package's testdata/fuzz/<FuzzX>/ by go
# test: commit it with the fix, and it stays a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}

passed=0
failed=()
while read -r pkg dir; do
	names=$(grep -ho '^func Fuzz[A-Za-z0-9_]*(' "$dir"/*_test.go 2>/dev/null | sed 's/^func //; s/($//' | sort -u || true)
	for name in $names; do
		echo "fuzz: $name in $pkg for $FUZZTIME"
		if "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"; then
			passed=$((passed + 1))
		else
			failed+=("$pkg.$name")
		fi
	done
done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' ./...)

if ((${#failed[@]} > 0)); then
	echo "fuzz: failing targets: ${failed[*]}"
fi
echo "fuzz: $passed passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
