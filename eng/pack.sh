#!/usr/bin/env bash
# Packs every package of the repository into one folder (default artifacts/packages): each project of Corral.slnx that
# sets <IsPackable>true</IsPackable> (every package under src/ and the tool in tools/corral), in
# Release, each .nupkg with its .snupkg symbol package. One `dotnet pack` of the solution: MSBuild builds only what the
# packages need, in parallel. The version comes from git (MinVer, ADR 0019): 0.1.0-preview.0.<commits> until the first
# tag. Package validation runs as part of the pack.
#
#   eng/pack.sh [output-folder] [extra dotnet pack arguments, e.g. --no-restore or -p:PackageVersion=...]
#
# CI runs it (.ci/run), then builds a throwaway app against the folder (.ci/user-path.sh); docs/getting-started.md
# shows how to use the folder.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-artifacts/packages}"
shift || true

rm -rf "$out"
mkdir -p "$out"
dotnet pack Corral.slnx -c Release -o "$out" -nologo "$@"

# Every packable project must have produced its package: a project left out of Corral.slnx would be skipped silently.
missing=0
for project in $(grep -l '<IsPackable>true</IsPackable>' src/*/*.csproj tools/*/*.csproj | sort); do
    id="$(sed -n 's:.*<PackageId>\(.*\)</PackageId>.*:\1:p' "$project" | head -1)"
    id="${id:-$(basename "$project" .csproj)}"
    if ! ls "$out/${id}".[0-9]*.nupkg >/dev/null 2>&1; then
        echo "pack: ${project} is packable but ${out} has no ${id} package (is it in Corral.slnx?)" >&2
        missing=1
    fi
done
[ "$missing" -eq 0 ] || exit 1

echo "pack: $(find "$out" -name '*.nupkg' | wc -l) package(s) and $(find "$out" -name '*.snupkg' | wc -l) symbol package(s) in ${out}"
