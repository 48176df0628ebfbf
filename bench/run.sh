#!/bin/sh
# The one command behind docs/benchmarks.md: the BenchmarkDotNet suite in its short mode (plus the 1,000,000-children
# memory mode and the object sizes), then trio and asyncio for perspective, then the report.
#
#   bench/run.sh                 everything (about 20 minutes on the 2-core CI machine)
#   bench/run.sh --filter '*Spawn*'   only some classes (the report keeps the other classes' last results)
#
# Results: BenchmarkDotNet.Artifacts/ (gitignored). Report: docs/benchmarks.md.
set -eu
cd "$(dirname "$0")/.."

dotnet run -c Release --project bench/Corral.Benchmarks -- --short "$@"

# Debian's own Python and Debian's python3-trio (apt-get install python3-trio), not another Python on the PATH.
if /usr/bin/python3 -c 'import trio' 2>/dev/null; then
    /usr/bin/python3 bench/python/compare.py --out BenchmarkDotNet.Artifacts/results/python-compare.json
else
    echo "run.sh: /usr/bin/python3 has no trio (apt-get install python3-trio): skipping the Python comparison" >&2
fi

python3 bench/write-report.py --command "bench/run.sh${*:+ $*}"
