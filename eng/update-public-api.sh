#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to PublicAPI.Unshipped.txt of a project.
# The analyzer's own code fix does not run under `dotnet format` here, so this reads the names from a SARIF log instead.
# Usage: eng/update-public-api.sh src/Corral            (then review the diff: every line is a public promise)
set -euo pipefail
project_dir=${1:?project directory}
log=$(mktemp --suffix=.sarif)
dotnet build "$project_dir" -f "$(grep -oE '<TargetFrameworks?>[^<]+' "$project_dir"/*.csproj | sed -E 's/.*>//' | tr ';' '\n' | tail -1)" \
  -p:ErrorLog="$log%2Cversion=2.1" -p:TreatWarningsAsErrors=false >/dev/null 2>&1 || true
python3 - "$log" "$project_dir/PublicAPI.Unshipped.txt" <<'PY'
import json, sys
log, target = sys.argv[1], sys.argv[2]
results = json.load(open(log))['runs'][0].get('results', [])
names = sorted({r['properties']['customProperties']['APIName'] for r in results if r.get('ruleId') == 'RS0016'})
lines = [l.rstrip('\n') for l in open(target)]
header = [l for l in lines if l.startswith('#')]
body = sorted(set(l for l in lines if l and not l.startswith('#')) | set(names))
open(target, 'w').write('\n'.join(header + body) + '\n')
print(f"{len(names)} symbol(s) added to {target}")
PY
rm -f "$log"
