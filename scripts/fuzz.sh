#!/usr/bin/env bash
# Runs every Go fuzz target of the module (each `func FuzzX` in a _test.go
# file), one at a time, for FUZZTIME each (default 5s). The seed corpora in
# testdata/fuzz/ already run with `make test`; this explores beyond them.
# A failing input is written to the package's testdata/fuzz/<FuzzX>/ by go
# test: commit it with the fix, and it stays a regression test.
#
# Go 1.26's fuzzing coordinator can report a bare "context deadline
# exceeded" when -fuzztime runs out while a worker is mid-call on a loaded
# machine (golang/go#75804, fixed in Go 1.27): no input failed. Such a run,
# with no failing input written and nothing else failing, is run once more;
# a second one is counted as a flake, not a failure. Any other failure
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}

passed=0
failed=()
flaked=()

# deadline_only reports whether a failed run's log shows only the
# coordinator's deadline race: "context deadline exceeded", and no failing
# input, panic or test error.
deadline_only() {
	grep -q 'context deadline exceeded' "$1" &&
		! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}
while read -r pkg dir; do
	names=$(grep -ho '^func Fuzz[A-Za-z0-9_]*(' "$dir"/*_test.go 2>/dev/null | sed 's/^func //; s/($//' | sort -u || true)
	for name in $names; do
		result=failed
		for try in 1 2; do
			echo "fuzz: $name in $pkg for $FUZZTIME"
			log=$(mktemp)
			if "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
				result=passed
			elif deadline_only "$log"; then
				result=flaked
				echo "fuzz: $name: the fuzzing engine's deadline race (no input failed); try $try"
			else
				result=failed
			fi
			rm -f "$log"
			[ "$result" = flaked ] || break
		done
		case $result in
		passed) passed=$((passed + 1)) ;;
		flaked) flaked+=("$pkg.$name") ;;
		*) failed+=("$pkg.$name") ;;
		esac
	done
done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' ./...)

if ((${#failed[@]} > 0)); then
	echo "fuzz: failing targets: ${failed[*]}"
fi
if ((${#flaked[@]} > 0)); then
	echo "fuzz: stopped twice by the engine's deadline race, no input failed: ${flaked[*]}"
fi
echo "fuzz: $passed passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
