#!/usr/bin/env bash
# What the Corral analyzers add to a build.
#
# Compiles the analyzer corpus (tests/Corral.Analyzers.Tests/Corpus, production-like async code) as a throwaway
# project against Corral, RUNS times with the analyzers and RUNS times without, alternating so that a machine shared
# with other builds loads both sides alike. Each run is a full recompile (--no-incremental) with the compiler server
# warm; the .NET analyzers and code-style analysis are off on both sides, so the difference is Corral's rules alone.
# Prints, per run, the wall time of `dotnet build` and the time of its Csc task; then min / median / max per side;
# then one build with ReportAnalyzer=true, where the compiler itself reports the time spent in each analyzer.
#
#   eng/measure-analyzer-cost.sh [RUNS]      (default 7)
set -euo pipefail

runs="${1:-7}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "building Corral and the analyzers (Release) into $work" >&2
dotnet build "$root/src/Corral/Corral.csproj" -c Release -f net10.0 -o "$work/corral" -nologo -v q >&2
dotnet build "$root/src/Corral.Analyzers/Corral.Analyzers.csproj" -c Release -o "$work/analyzers" -nologo -v q >&2

# Outside the repository, so that none of its props (warnings as errors, analysis level) apply.
mkdir -p "$work/corpus"
echo '<Project />' > "$work/Directory.Build.props"
echo '<Project />' > "$work/Directory.Build.targets"
echo '<Project />' > "$work/Directory.Packages.props"
cat > "$work/corpus/Corpus.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>disable</ImplicitUsings>
    <EnableNETAnalyzers>false</EnableNETAnalyzers>
    <EnforceCodeStyleInBuild>false</EnforceCodeStyleInBuild>
    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
    <GenerateDocumentationFile>false</GenerateDocumentationFile>
  </PropertyGroup>
  <ItemGroup>
    <Compile Include="$root/tests/Corral.Analyzers.Tests/Corpus/*.cs" />
    <Reference Include="$work/corral/Corral.dll" />
    <Analyzer Include="$work/analyzers/Corral.Analyzers.dll" Condition="'\$(WithCorralAnalyzers)' == 'true'" />
  </ItemGroup>
</Project>
EOF
dotnet restore "$work/corpus/Corpus.csproj" -nologo -v q >&2

# One build: prints "WALL_MS CSC_MS WARNINGS".
build()
{
    local with="$1" start end log
    log="$work/build.log"
    start=$(date +%s%N)
    dotnet build "$work/corpus/Corpus.csproj" --no-restore --no-incremental -nologo -v n -clp:PerformanceSummary \
        -p:WithCorralAnalyzers="$with" > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
    end=$(date +%s%N)
    local csc warnings
    csc=$(grep -E '^\s+[0-9]+ ms\s+Csc\s' "$log" | tail -1 | awk '{print $1}')
    warnings=$(grep -cE 'warning CORRAL[0-9]{4}' "$log" || true)
    echo "$(( (end - start) / 1000000 )) ${csc:-?} ${warnings}"
}

summary()
{
    sort -n | awk '{ a[NR] = $1 } END { printf "min %d  median %d  max %d  (ms, n=%d)", a[1], a[int((NR + 1) / 2)], a[NR], NR }'
}

build false > /dev/null   # warm the compiler server and the disk cache
build true > /dev/null

: > "$work/with.txt"
: > "$work/without.txt"
printf '%-5s %-8s %10s %10s %9s\n' run analyzers wall_ms csc_ms warnings
for i in $(seq 1 "$runs"); do
    for with in false true; do
        read -r wall csc warnings < <(build "$with")
        printf '%-5s %-8s %10s %10s %9s\n' "$i" "$with" "$wall" "$csc" "$warnings"
        if [ "$with" = true ]; then echo "$wall $csc" >> "$work/with.txt"; else echo "$wall $csc" >> "$work/without.txt"; fi
    done
done

echo
echo "without analyzers: wall $(cut -d' ' -f1 "$work/without.txt" | summary); csc $(cut -d' ' -f2 "$work/without.txt" | summary)"
echo "with analyzers:    wall $(cut -d' ' -f1 "$work/with.txt" | summary); csc $(cut -d' ' -f2 "$work/with.txt" | summary)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

echo
echo "ReportAnalyzer (the compiler's own account of the time in each analyzer, one build):"
dotnet build "$work/corpus/Corpus.csproj" --no-restore --no-incremental -nologo -v d -p:WithCorralAnalyzers=true -p:ReportAnalyzer=true \
    | grep -E 'Total analyzer execution time|^[0-9]*>?\s*[<0-9.]+\s+[<0-9]+\s+Corral\.Analyzers' | sed -E 's/^[0-9]+>//; s/^ *//' | sort -u | sort -k1,1n
