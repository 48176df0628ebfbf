#!/bin/sh
# bench/compare.sh — is commit B slower than commit A? Measured back to back, on this machine, in one run.
#
#   bench/compare.sh A B                       the core rows: spawn, scope enter/exit, empty group, checkpoint, child-scope cancel
#   bench/compare.sh A B '*SpawnInline*'       any BenchmarkDotNet filters instead
#   PAIRS=5 bench/compare.sh A B               more alternations (default 3: A B A B A B)
#   BENCH=B bench/compare.sh A B               both sides run the benchmarks of B (or any commit): a row or baseline that
#                                              only B has is then measured on A too (only bench/ is taken from it)
#   MEMORY=1 bench/compare.sh A B              also the 1,000,000-children live-memory mode (--memory), alternating too
#   DROP='CaptureStacks DashboardUpdate' BENCH=B bench/compare.sh A B
#                                              leaves those files of bench/Corral.Benchmarks/Scenarios out on both sides
#                                              (classes that use API the older commit lacks, so it builds at all)
#
# Both commits are built in Release in temporary git worktrees (removed at the end). Then the two builds' BenchmarkDotNet
# runs alternate, A B A B …, each a fresh run of the short job (--short: 1 launch, 3 warmups, 7 iterations of 250 ms), so
# whatever else loads the shared machine falls on both sides alike. bench/compare.py then reports, per row, the time of each
# run, B/A per pair and its median, and the noise: the spread of A's own runs (max/min - 1). A row is called slower only
# when its median B/A exceeds 1 by more than that noise. It also reports each side's Corral/raw ratio (the raw baseline of
# the same class, same run), which cancels most of the machine's drift.
#
# Output: the table on stdout and in $OUT/compare.md (default BenchmarkDotNet.Artifacts/compare-<time>/), with every run's
# BenchmarkDotNet JSON under $OUT/A-<n>/ and $OUT/B-<n>/.
set -eu

if [ $# -lt 2 ]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
a=$(git -C "$repo" rev-parse --verify "$1^{commit}")
b=$(git -C "$repo" rev-parse --verify "$2^{commit}")
shift 2
bench=
case "${BENCH:-}" in
    '') ;;
    A) bench=$a ;;
    B) bench=$b ;;
    *) bench=$(git -C "$repo" rev-parse --verify "$BENCH^{commit}") ;;
esac
if [ $# -eq 0 ]; then
    set -- '*SpawnInline*' '*ScopeEnterExit*' '*EmptyGroup*' '*Checkpoint*' '*ChildScopeCancel*'
fi

pairs=${PAIRS:-3}
out=${OUT:-$repo/BenchmarkDotNet.Artifacts/compare-$(date +%Y%m%d-%H%M%S)}
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-compare.XXXXXX")
mkdir -p "$out"

cleanup()
{
    for side in A B; do
        [ -d "$work/$side" ] && git -C "$repo" worktree remove --force "$work/$side" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

for side in A B; do
    if [ "$side" = A ]; then commit=$a; else commit=$b; fi
    echo "compare.sh: building $side = $(git -C "$repo" log -1 --format='%h %s' "$commit")" >&2
    git -C "$repo" worktree add --detach "$work/$side" "$commit" >/dev/null 2>&1
    if [ -n "$bench" ]; then
        # The same benchmark code on both sides: only the library differs.
        rm -rf "$work/$side/bench"
        git -C "$repo" archive "$bench" bench | tar -x -C "$work/$side"
    fi
    for name in ${DROP:-}; do
        file="$work/$side/bench/Corral.Benchmarks/Scenarios/$name.cs"
        [ -f "$file" ] || { echo "compare.sh: DROP names $name, but $file does not exist" >&2; exit 2; }
        rm "$file"
    done
    dotnet build -c Release "$work/$side/bench/Corral.Benchmarks/Corral.Benchmarks.csproj" -v quiet -nologo >"$out/build-$side.log" 2>&1 || {
        echo "compare.sh: the build of $side failed; see $out/build-$side.log" >&2
        exit 1
    }
done

i=1
while [ "$i" -le "$pairs" ]; do
    for side in A B; do
        echo "compare.sh: run $i of $pairs, $side" >&2
        rm -rf "$work/$side/BenchmarkDotNet.Artifacts"
        (cd "$work/$side" && dotnet bench/Corral.Benchmarks/bin/Release/net10.0/Corral.Benchmarks.dll --short --no-memory --filter "$@") \
            >"$out/run-$side-$i.log" 2>&1 || {
            echo "compare.sh: run $i of $side failed; see $out/run-$side-$i.log" >&2
            exit 1
        }
        mkdir -p "$out/$side-$i"
        cp "$work/$side"/BenchmarkDotNet.Artifacts/results/*-report-full.json "$out/$side-$i/"
        if [ "${MEMORY:-0}" = 1 ]; then
            echo "compare.sh: run $i of $pairs, $side, live memory" >&2
            (cd "$work/$side" && dotnet bench/Corral.Benchmarks/bin/Release/net10.0/Corral.Benchmarks.dll --memory) \
                >"$out/memory-$side-$i.log" 2>&1 || {
                echo "compare.sh: the memory run $i of $side failed; see $out/memory-$side-$i.log" >&2
                exit 1
            }
            cp "$work/$side"/BenchmarkDotNet.Artifacts/results/AliveMemory.json "$out/$side-$i/"
        fi
    done
    i=$((i + 1))
done

python3 "$repo/bench/compare.py" --a "$a" --b "$b" --pairs "$pairs" --out "$out" ${bench:+--bench "$bench"} --drop "${DROP:-}"
