#!/usr/bin/env bash
# The user's path, as docs/getting-started.md walks it, against freshly packed packages:
#   1. a new web app outside the repository (`dotnet new web`), the local package folder as a source beside nuget.org,
#      `dotnet add package Corral / Corral.Hosting / Corral.AspNetCore --prerelease` (must resolve to the packed version);
#   2. its Program.cs is the block of getting-started.md marked for it, plus planted cancellation bugs: the build
#      succeeds and reports CORRAL0001, 0002, 0004 and 0005 on them (and the Corral package carries the analyzers under
#      analyzers/dotnet/cs): what the analyzer pack test checks, which .ci/run therefore skips;
#   3. it runs on 127.0.0.1: /report answers with the propagated budget and the cut-off part, /slow with a 200 ms
#      Corral-Timeout answers 504; the corral tool, installed from the same folder, lists it with `corral ps`;
#      SIGTERM stops it with exit code 0.
#
#   .ci/user-path.sh <package-folder>      (eng/pack.sh writes one to artifacts/packages)
#
# Everything it creates lives in a temporary folder it deletes, and it stops the app it started.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages="$(cd "${1:?usage: .ci/user-path.sh <package-folder>}" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/corral-user-path.XXXXXX")"
app_pid=""
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"

say() { echo "user-path: $*"; }
fail() { echo "user-path: FAILED: $*" >&2; exit 1; }

version="$(find "$packages" -maxdepth 1 -name 'Corral.[0-9]*.nupkg' -printf '%f\n' | sed -E 's/^Corral\.(.*)\.nupkg$/\1/' | sort -V | tail -1)"
[ -n "$version" ] || fail "no Corral.*.nupkg in ${packages}"

# The packed version may already sit in NuGet's cache from an earlier pack of the same commit with other content:
# drop it before and after, so the app gets the bytes that were just packed.
forget_packages()
{
    for id in corral corral.hosting corral.aspnetcore corral.tool; do
        rm -rf "${cache}/${id}/${version}"
    done
}

cleanup()
{
    if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
        kill "$app_pid" 2>/dev/null || true
        sleep 1
        kill -9 "$app_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    forget_packages
}
trap cleanup EXIT
forget_packages

say "packages ${version} from ${packages}; working in ${work}"
python3 - "$packages/Corral.${version}.nupkg" <<'PY' || fail "the Corral package does not carry the analyzers under analyzers/dotnet/cs"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
sys.exit(0 if {"analyzers/dotnet/cs/Corral.Analyzers.dll", "analyzers/dotnet/cs/Corral.Analyzers.CodeFixes.dll"} <= names else 1)
PY
cd "$work"

# 1. A new app, the local folder as a source, the packages as getting-started.md adds them.
dotnet new web -o Orders >/dev/null
cd Orders
dotnet new nugetconfig >/dev/null
dotnet nuget add source "$packages" --name corral-local --configfile nuget.config >/dev/null
for id in Corral Corral.Hosting Corral.AspNetCore; do
    dotnet add package "$id" --prerelease >add.log 2>&1 || { cat add.log; fail "dotnet add package ${id} --prerelease"; }
    grep -q "Include=\"${id}\" Version=\"${version}\"" Orders.csproj || { cat Orders.csproj; fail "${id} did not resolve to ${version}"; }
done

# 2. The getting-started app, plus a planted bug for the analyzers.
awk '/^<!-- \.ci\/user-path\.sh builds and runs the next block/ { marked = 1; next }
     marked && /^```csharp/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo/docs/getting-started.md" >Program.cs
grep -q "app.Run();" Program.cs || fail "no marked Program.cs block found in docs/getting-started.md"
cat >Planted.cs <<'EOF'
using Corral;

static class Planted
{
    public static async Task PollAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(1000, ct);
        }
        catch (OperationCanceledException)                               // CORRAL0001
        {
        }

        try
        {
            await Task.Delay(1000, ct);
        }
        catch (Exception)                                                // CORRAL0002
        {
        }
    }

    public static Task RunAsync() => TaskGroup.RunAsync(async group =>
    {
        _ = Task.Delay(10);                                              // CORRAL0004
        group.Start(ct => Task.Delay(10, CancellationToken.None));       // CORRAL0005
        await Task.Yield();
    });
}
EOF
dotnet build -nologo >build.log 2>&1 || { tail -40 build.log; fail "the app did not build"; }
for rule in CORRAL0001 CORRAL0002 CORRAL0004 CORRAL0005; do
    grep -q "Planted.cs([0-9,]*): warning ${rule}" build.log || { tail -40 build.log; fail "the build did not report ${rule} on the planted bugs"; }
done
say "built; the analyzers reported the planted bugs: $(grep -o 'Planted.cs([0-9,]*): warning CORRAL000[0-9]' build.log | sort -u | tr '\n' ' ')"

# 3. Run it, call it, list it with the tool, stop it.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
./bin/Debug/net10.0/Orders --urls "$base" >app.log 2>&1 &
app_pid=$!
for _ in $(seq 1 120); do
    curl -fs -o /dev/null "${base}/slow?ms=1" && break
    kill -0 "$app_pid" 2>/dev/null || { cat app.log; fail "the app exited at start"; }
    sleep 0.25
done

report="$(curl -fsS --max-time 20 "${base}/report")" || { cat app.log; fail "GET /report"; }
say "GET /report -> ${report}"
budget="$(echo "$report" | sed -nE 's/^the downstream call was given ([0-9]+) ms; the slow part was cut off after 300 ms$/\1/p')"
[ -n "$budget" ] && [ "$budget" -gt 1000 ] && [ "$budget" -le 2000 ] || fail "/report: expected a budget in (1000, 2000] ms and a cut-off slow part"

status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Corral-Timeout: 200' "${base}/slow?ms=5000")"
say "GET /slow?ms=5000 with Corral-Timeout: 200 -> ${status}"
[ "$status" = "504" ] || { cat app.log; fail "/slow with a 200 ms budget answered ${status}, not 504"; }

dotnet tool install Corral.Tool --tool-path "$work/tool" --add-source "$packages" --prerelease >tool.log 2>&1 \
    || { cat tool.log; fail "dotnet tool install Corral.Tool"; }
ps_out="$("$work/tool/corral" ps --timeout 10)" || fail "corral ps exited with $?"
echo "$ps_out"
echo "$ps_out" | grep -Eq "^ *${app_pid} +Orders +${version//./\\.}" || fail "corral ps did not list the app (PID ${app_pid}) with Corral ${version}"

kill -TERM "$app_pid"
for _ in $(seq 1 60); do
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.25
done
if kill -0 "$app_pid" 2>/dev/null; then
    cat app.log
    fail "the app did not stop within 15 s of SIGTERM"
fi
app_rc=0
wait "$app_pid" || app_rc=$?
app_pid=""
[ "$app_rc" -eq 0 ] || { cat app.log; fail "the app exited with ${app_rc} after SIGTERM"; }
say "stopped by SIGTERM with exit code 0"
say "ok"
