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
"$metasim" run breast_demo --patient 11 > "$work/run-breast_demo-11.out" 2>&1
check run-breast_demo-11.out
"$metasim" run tiny.yaml --csv "$work/run-tiny.csv" > "$work/run-tiny.out" 2>&1
check run-tiny.out
check run-tiny.csv
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
