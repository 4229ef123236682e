#!/usr/bin/env bash
# Command-line tests of `metasim trial`, `metasim merge` and `metasim export --digest`: exit
# codes and messages for bad arguments (docs/cli.md), and the determinism a user can check
# from the shell: equal digests for any --threads, for merged --shard runs, and for a run
# killed at any moment and continued with --resume.
# usage: trial.sh METASIM_BINARY
set -u
metasim=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cp "$here/trial.yaml" trial.yaml
passed=0
failed=0

expect() { # DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
    passed=$((passed + 1))
  else
    echo "FAIL $what"
    failed=$((failed + 1))
  fi
}

# run EXPECTED_STATUS WORDS ARGS...: runs metasim ARGS, checks the exit status and that
# stderr holds WORDS (skipped when WORDS is empty).
run() {
  local want=$1 words=$2
  shift 2
  "$metasim" "$@" > out.txt 2> err.txt
  local status=$?
  expect "metasim $* exits $want" [ "$status" -eq "$want" ]
  if [ -n "$words" ]; then
    expect "... and says '$words'" grep -qF -- "$words" err.txt
  fi
}

digest_of() { "$metasim" export "$1" --digest; }

# Bad command lines: exit 2, with the option named.
run 2 "--shard: expected I/N" trial trial.yaml --shard 3/2
run 2 "--shard: expected I/N" trial trial.yaml --shard 1/0
run 2 "--shard: expected I/N" trial trial.yaml --shard 1
run 2 "--threads: expected a whole number from 1" trial trial.yaml --threads 0
run 2 "--patients: expected a whole number from 1" trial trial.yaml --patients 0
run 2 "--patients: expected a whole number from 1" trial trial.yaml --patients 12x
run 2 "--series: expected" trial trial.yaml --series -1
run 2 "--design: expected paired or randomised (got crossover)" trial trial.yaml --design crossover
run 2 "only with --design randomised" trial trial.yaml --allocation 1:2
run 2 "--allocation: expected weights > 0" trial trial.yaml --design randomised --allocation 1:0
run 2 "3 weights for the 2 arms" trial trial.yaml --design randomised --allocation 1:2:3
run 2 "unknown option '--bogus'" trial trial.yaml --bogus
run 2 "" trial
"$metasim" help trial > help.txt
expect "metasim trial without arguments prints its help" cmp -s help.txt err.txt
run 2 "" merge out.db
expect "... and writes nothing" [ ! -e out.db ]
# Bad inputs: exit 1, with the file named.
run 1 "missing.yaml" trial missing.yaml
expect "... and writes nothing" [ ! -e trialtest.db ]
printf 'scenario: {name: plain}\ntime: {horizon: 10 d}\nsites: {t: {division: {cycling: 0.2}}}\nprimary: {site: t}\n' > plain.yaml
run 1 "plain.yaml: the scenario has no arms" trial plain.yaml
run 1 "nothing to resume" trial trial.yaml --db none.db --resume
sed 's/, seed: 7//' trial.yaml > unseeded.yaml
run 2 "--resume needs --seed: unseeded.yaml sets no seed" trial unseeded.yaml --resume
expect "... and writes nothing" [ ! -e none.db ]

# A trial; the same digest with other thread counts, from export --digest, and from shards.
run 0 "" trial trial.yaml -n 30 -t 1 --db a.db -q
expect "-q prints nothing" [ ! -s out.txt ]
a=$(digest_of a.db)
expect "the digest has 16 hex digits" [ ${#a} -eq 16 ]
run 0 "" trial trial.yaml -n 30 -t 3 --db b.db
expect "the summary reports the screening" grep -q "screening: 30 patients" out.txt
expect "the summary reports the hazard ratio" grep -q "HR (95% CI)" out.txt
expect "the summary prints the digest of -t 1" grep -q "results digest $a" out.txt
expect "the default database is SCENARIO_NAME.db" [ ! -e trialtest.db ]
run 1 "a.db: exists; pass --force to replace it" trial trial.yaml -n 30 --db a.db
expect "... and leaves it as it was" [ "$(digest_of a.db)" = "$a" ]
run 0 "" trial trial.yaml -n 30 --db s0.db --shard 0/2 -q
run 0 "" trial trial.yaml -n 30 --db s1.db --shard 1/2 -q
run 0 "" merge m.db s1.db s0.db
expect "merged shards give the unsharded digest" [ "$(digest_of m.db)" = "$a" ]
expect "merge prints the digest" grep -q "results digest $a" out.txt
run 1 "patient 1 is in none of the inputs" merge m2.db s0.db
run 1 "is in both s1.db and s1.db" merge m2.db s0.db s1.db s1.db
run 0 "" trial trial.yaml -n 30 --db other.db --shard 1/2 -q --seed 5
run 1 "seed 5 differs from s0.db's" merge m2.db s0.db other.db
expect "refused merges write nothing" [ ! -e m2.db ] && [ ! -e m2.db.partial ]
run 1 "m.db: exists" merge m.db s0.db s1.db
# A changed database no longer matches its recorded digest.
cp a.db changed.db
sqlite3 changed.db "UPDATE endpoints SET time = time + 1 WHERE rowid = 1" 2> /dev/null \
  || python3 -c "import sqlite3; c = sqlite3.connect('changed.db'); c.execute('UPDATE endpoints SET time = time + 1 WHERE rowid = 1'); c.commit()"
run 1 "changed or damaged" export changed.db --digest

# The RMST difference with its standard error: unpaired in the tests table (both designs),
# paired in the paired table (paired design only), whose mean equals the unpaired difference
# and whose standard error uses the pairing. Both are printed.
sql() { # DATABASE QUERY: the first column of the first row
  sqlite3 "$1" "$2" 2> /dev/null \
    || python3 -c "import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print('' if r is None or r[0] is None else r[0])" "$1" "$2"
}
run 0 "" trial trial.yaml -n 60 -t 2 --db paired.db --design paired
expect "the paired summary prints the unpaired and paired RMST differences" \
  grep -qE "RMST difference to [0-9.]+ y, unpaired [-+][0-9.]+ \(SE [0-9.e-]+, .*\), paired [-+][0-9.]+ \(SE [0-9.e-]+," out.txt
run 0 "" trial trial.yaml -n 60 -t 2 --db randomised.db --design randomised
expect "the randomised summary has no paired effects" bash -c '! grep -q "paired effects" out.txt'
for endpoint in os rfs pfs; do
  for db in paired.db randomised.db; do
    expect "$db: $endpoint: rmst_diff_se finite and > 0" \
      [ "$(sql $db "SELECT rmst_diff_se > 0 AND rmst_diff_se < 1e300 FROM tests WHERE endpoint = '$endpoint' AND reference_arm IS NOT NULL")" = 1 ]
  done
  expect "paired.db: $endpoint: rmst_gain_se finite and > 0, below rmst_diff_se" \
    [ "$(sql paired.db "SELECT p.rmst_gain_se > 0 AND p.rmst_gain_se < t.rmst_diff_se FROM paired p JOIN tests t USING (endpoint, arm) WHERE endpoint = '$endpoint'")" = 1 ]
  expect "paired.db: $endpoint: rmst_gain equals rmst_diff, its CI is +- 1.96 SE" \
    [ "$(sql paired.db "SELECT abs(p.rmst_gain - t.rmst_diff) < 1e-6 AND abs(p.rmst_gain_upper - p.rmst_gain - 1.959964 * p.rmst_gain_se) < 1e-4 FROM paired p JOIN tests t USING (endpoint, arm) WHERE endpoint = '$endpoint'")" = 1 ]
done
expect "randomised.db: no paired rows" [ "$(sql randomised.db "SELECT count(*) FROM paired")" = 0 ]
expect "the first relapses are summed up per arm" grep -q "first relapse by site" out.txt

# Killed at some moment (SIGKILL: nothing is cleaned up), then resumed: the same digest as a
# run never interrupted. The moment does not matter, so the test does not depend on timing.
run 0 "" trial trial.yaml -n 300 -t 2 --db whole.db -q
whole=$(digest_of whole.db)
"$metasim" trial trial.yaml -n 300 -t 2 --db k.db -q &
pid=$!
sleep 0.3
kill -9 "$pid" 2> /dev/null
wait "$pid" 2> /dev/null
if [ -e k.db ]; then
  echo "note: the run finished before the kill"
elif [ -e k.db.partial ]; then
  run 0 "" trial trial.yaml -n 300 -t 1 --db k.db --resume -q
else
  run 0 "" trial trial.yaml -n 300 -t 1 --db k.db -q
fi
expect "killed and resumed gives the uninterrupted digest" [ "$(digest_of k.db)" = "$whole" ]
# Interrupted (SIGINT, as Ctrl-C): exit 130 and a partial file that --resume continues.
"$metasim" trial trial.yaml -n 300 -t 2 --db i.db -q 2> int.txt &
pid=$!
sleep 0.3
kill -INT "$pid" 2> /dev/null
wait "$pid"
status=$?
if [ "$status" -eq 130 ]; then
  expect "SIGINT says how to continue" grep -q "i.db.partial keeps every patient" int.txt
  expect "SIGINT leaves no final file" [ ! -e i.db ]
  run 0 "" trial trial.yaml -n 300 -t 2 --db i.db --resume -q
else
  expect "the run finished before SIGINT" [ "$status" -eq 0 ]
fi
expect "interrupted and resumed gives the uninterrupted digest" [ "$(digest_of i.db)" = "$whole" ]
# Resuming with another seed is refused and leaves the partial file's patients alone (SQLite may
# fold the write-ahead log of the killed run into it): the right resume still gives the digest.
"$metasim" trial trial.yaml -n 300 -t 2 --db j.db -q &
pid=$!
sleep 0.3
kill -9 "$pid" 2> /dev/null
wait "$pid" 2> /dev/null
if [ -e j.db.partial ]; then
  run 1 "belongs to another trial: its seed is 7, not 3" \
    trial trial.yaml -n 300 --db j.db --resume --seed 3
  run 0 "" trial trial.yaml -n 300 --db j.db --resume -q
  expect "... after which the right resume gives the digest" [ "$(digest_of j.db)" = "$whole" ]
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
