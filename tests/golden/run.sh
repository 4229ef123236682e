#!/usr/bin/env bash
# Golden tests of the metasim CLI: each case's output must equal its file in this directory.
# usage: run.sh METASIM_BINARY [--redo]   (--redo rewrites the golden files from this build)
# The outputs are exact bits of a seeded simulation on x86-64 Linux with glibc's libm; a
# change of engine, random streams or libm legitimately changes them, and then --redo is the
# fix, after checking that the new outputs make sense.
set -u
metasim=$1
redo=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # NAME: compares $work/NAME with $here/NAME
  local name=$1
  if [ "$redo" = "--redo" ]; then
    cp "$work/$name" "$here/$name"
    echo "redone $name"
  elif diff -u "$here/$name" "$work/$name" > "$work/diff"; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    sed 's/^/    | /' "$work/diff" | head -40
    failed=$((failed + 1))
  fi
}

cd "$here" || exit 1
"$metasim" check breast_demo > "$work/check-breast_demo.out" 2>&1
check check-breast_demo.out
"$metasim" run breast_demo --patient 42 > "$work/run-breast_demo-42.out" 2>&1
check run-breast_demo-42.out
"$metasim" run tiny.yaml --csv "$work/run-tiny.csv" > "$work/run-tiny.out" 2>&1
check run-tiny.out
check run-tiny.csv
check run-tiny-exposures.csv
# `metasim help run` prints what `metasim run` prints when its argument is missing.
"$metasim" help run > "$work/help-run.out" 2>&1
"$metasim" run > "$work/run-noargs.out" 2>&1
status=$?
if [ "$redo" != "--redo" ]; then
  if [ $status -eq 2 ] && cmp -s "$work/help-run.out" "$work/run-noargs.out"; then
    echo "ok   help run = run without arguments (exit 2)"
    passed=$((passed + 1))
  else
    echo "FAIL help run differs from run without arguments (exit $status)"
    failed=$((failed + 1))
  fi
fi
check help-run.out

# The results database of tiny.yaml, exported as CSV and Newick, against results-tiny/ (meta's
# `created`, `command_line`, `finished` and `elapsed_seconds` rows vary from run to run and are
# left out).
expect() { # DESCRIPTION CONDITION...: counts a check that is not a file comparison
  local what=$1
  shift
  [ "$redo" = "--redo" ] && return
  if "$@"; then
    echo "ok   $what"
    passed=$((passed + 1))
  else
    echo "FAIL $what"
    failed=$((failed + 1))
  fi
}
"$metasim" run tiny.yaml --db "$work/tiny.db" > /dev/null 2> "$work/db-run.err"
expect "run --db exits 0" [ $? -eq 0 ]
"$metasim" export "$work/tiny.db" --csv "$work/csv" --newick "$work/nwk" 2> "$work/db-export.err"
expect "export exits 0" [ $? -eq 0 ]
mkdir -p "$work/results-tiny"
for table in meta screening parameters patients lesions clones events samples exposures clinical \
  endpoints; do
  if [ "$table" = meta ]; then
    grep -v -e '^created,' -e '^command_line,' -e '^finished,' -e '^elapsed_seconds,' \
      "$work/csv/meta.csv" > "$work/results-tiny/meta.csv"
  else
    cp "$work/csv/$table.csv" "$work/results-tiny/$table.csv" 2> /dev/null
  fi
  check "results-tiny/$table.csv"
done
cp "$work/nwk/patient_0.nwk" "$work/results-tiny/patient_0.nwk" 2> /dev/null
check results-tiny/patient_0.nwk

# An existing database is refused (exit 1) and left as it was; so are existing CSV files.
cp "$work/tiny.db" "$work/existing.db"
"$metasim" run tiny.yaml --db "$work/existing.db" > /dev/null 2> "$work/existing.err"
status=$?
expect "run --db EXISTING exits 1" [ $status -eq 1 ]
expect "run --db EXISTING leaves the file unchanged" cmp -s "$work/tiny.db" "$work/existing.db"
expect "run --db EXISTING says --force" grep -q "existing.db: exists; pass --force" "$work/existing.err"
expect "run --db EXISTING leaves no partial file" [ ! -e "$work/existing.db.partial" ]
"$metasim" export "$work/tiny.db" --csv "$work/csv" 2> "$work/export-again.err"
status=$?
expect "export onto existing CSV files exits 1" [ $status -eq 1 ]
"$metasim" export "$work/tiny.db" --csv "$work/csv" --force 2> /dev/null
expect "export --force replaces them" [ $? -eq 0 ]
# A --db in a directory that does not exist fails (exit 3) and leaves nothing.
"$metasim" run tiny.yaml --db "$work/no/such/dir/x.db" > /dev/null 2> "$work/nodir.err"
status=$?
expect "run --db in a missing directory exits 3" [ $status -eq 3 ]
expect "... and creates nothing" [ ! -e "$work/no" ]
# A file that is not a database is refused with a message naming it.
printf 'this is not an SQLite database, only some text that is long enough to be looked at\n' \
  > "$work/corrupt.db"
"$metasim" export "$work/corrupt.db" --csv "$work/corrupt-csv" 2> "$work/corrupt.err"
status=$?
expect "export CORRUPT exits 1" [ $status -eq 1 ]
expect "export CORRUPT names the file" grep -q "corrupt.db: not an SQLite database" "$work/corrupt.err"
expect "export CORRUPT writes nothing" [ ! -e "$work/corrupt-csv" ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
