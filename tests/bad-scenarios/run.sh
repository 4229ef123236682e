#!/usr/bin/env bash
# Runs `metasim check` on every broken scenario in a directory and checks that each is
# refused cleanly: exit code 1, the expected message on stderr, nothing on stdout, no crash.
#
# usage: run.sh METASIM_BINARY CASES_DIR
#
# Each CASES_DIR/NAME.yaml holds one mistake. Its expectation, a substring of the output that
# names the position and field path where there is one, is the text after `# expect: ` on the
# file's first line, or the first line of NAME.expect when that sidecar exists (for files
# that cannot hold a comment, such as binary or empty ones). The cases that cannot be files in
# a repository (a directory, a missing file, an unreadable file, an oversized file) are made
# here, in a temporary directory; nothing is written to CASES_DIR. One valid built-in scenario
# checks that the binary accepts good input at all.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 METASIM_BINARY CASES_DIR" >&2
    exit 2
fi
metasim=$1
dir=$2
if [ ! -x "$metasim" ]; then
    echo "$0: $metasim: not an executable" >&2
    exit 2
fi
if [ ! -d "$dir" ]; then
    echo "$0: $dir: not a directory" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/metasim-bad.XXXXXX") || exit 2
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# A hang is a failure too; sanitizer builds are slow, so the limit is generous.
limit=${METASIM_CASE_TIMEOUT:-60}
if command -v timeout >/dev/null 2>&1; then
    run_limited() { timeout "$limit" "$@"; }
else
    run_limited() { "$@"; }
fi

passed=0
failed=0
out=$tmp/stdout
err=$tmp/stderr

fail() {
    echo "FAIL $1: $2"
    sed 's/^/    | /' "$err" "$out" 2>/dev/null | head -n 20
    failed=$((failed + 1))
}

# check_case NAME FILE EXPECTED: runs `metasim check FILE` and judges it.
check_case() {
    local name=$1 file=$2 expect=$3
    run_limited "$metasim" check "$file" >"$out" 2>"$err" </dev/null
    local rc=$?
    if [ "$rc" -eq 124 ] && command -v timeout >/dev/null 2>&1; then
        fail "$name" "no answer within ${limit}s (hang?)"
    elif [ "$rc" -ge 128 ]; then
        fail "$name" "killed by signal $((rc - 128)) (crash)"
    elif grep -qE 'Sanitizer|runtime error' "$err" "$out"; then
        fail "$name" "sanitizer report"
    elif [ "$rc" -ne 1 ]; then
        fail "$name" "exit code $rc, expected 1"
    elif [ -s "$out" ]; then
        fail "$name" "wrote to stdout"
    elif [ ! -s "$err" ]; then
        fail "$name" "no message on stderr"
    elif [ -z "$expect" ]; then
        fail "$name" "no expectation (first line '# expect: ...' or a .expect file)"
    elif ! grep -qF -e "$expect" "$err"; then
        fail "$name" "expected '$expect' in the message"
    elif grep -qE ': [0-9]+ mistakes$' "$err"; then
        fail "$name" "more than one mistake reported; a case holds exactly one"
    else
        echo "ok   $name: $(head -n 1 "$err")"
        passed=$((passed + 1))
    fi
}

# ------------------------------------------------------------ the case files
shopt -s nullglob
cases=("$dir"/*.yaml)
if [ ${#cases[@]} -eq 0 ]; then
    echo "$0: no cases in $dir" >&2
    exit 2
fi
for file in "${cases[@]}"; do
    name=$(basename "$file" .yaml)
    expect=
    if [ -f "$dir/$name.expect" ]; then
        IFS= read -r expect <"$dir/$name.expect"
    else
        IFS= read -r first <"$file" || true
        case $first in
        "# expect: "*) expect=${first#"# expect: "} ;;
        esac
    fi
    check_case "$name" "$file" "$expect"
done

# ------------------------------------------------------------ cases made here
mkdir "$tmp/a-directory.yaml"
check_case directory "$tmp/a-directory.yaml" "a-directory.yaml: is a directory, not a scenario file"

check_case missing-file "$tmp/no-such-file.yaml" "no-such-file.yaml: cannot open: No such file or directory"

# Larger than METASIM_MAX_SCENARIO_BYTES (16 MiB); sparse, so it costs no disk.
: >"$tmp/too-large.yaml"
if truncate -s 17M "$tmp/too-large.yaml" 2>/dev/null; then
    check_case too-large "$tmp/too-large.yaml" "too-large.yaml: larger than 16777216 bytes"
else
    echo "skip too-large: skipped (no truncate)"
fi
rm -f "$tmp/too-large.yaml"

# Root reads files whatever their mode, so the case means nothing there.
if [ "$(id -u)" -ne 0 ]; then
    echo "scenario: {}" >"$tmp/unreadable.yaml"
    chmod 000 "$tmp/unreadable.yaml"
    check_case unreadable "$tmp/unreadable.yaml" "unreadable.yaml: cannot open: Permission denied"
else
    echo "skip unreadable: skipped (root)"
fi

# ------------------------------------------------------------ one valid scenario
run_limited "$metasim" check breast_demo >"$out" 2>"$err" </dev/null
rc=$?
if [ "$rc" -ge 124 ]; then
    fail valid-breast_demo "exit code $rc: crash or hang"
elif [ "$rc" -ne 0 ]; then
    fail valid-breast_demo "exit code $rc, expected 0"
elif grep -qE 'Sanitizer|runtime error' "$err" "$out"; then
    fail valid-breast_demo "sanitizer report"
elif [ -s "$err" ]; then
    fail valid-breast_demo "wrote to stderr"
else
    echo "ok   valid-breast_demo: $(head -n 1 "$out")"
    passed=$((passed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
