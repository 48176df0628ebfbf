#!/usr/bin/env bash
# Packs every package of the repository into one folder (default artifacts/packages): each project under src/ and tools/
# that sets <IsPackable>true</IsPackable>, in Release, with its .snupkg symbol package beside it. The version comes from
# git (MinVer, ADR 0015): 0.1.0-preview.0.<commits> until the first tag. Package validation runs as part of the pack.
#
#   eng/pack.sh [output-folder] [extra dotnet pack arguments...]
#
# CI runs it (.ci/run), then builds a throwaway app against the folder; docs/getting-started.md shows how to use it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-artifacts/packages}"
shift || true

mapfile -t projects < <(grep -l '<IsPackable>true</IsPackable>' src/*/*.csproj tools/*/*.csproj | sort)
if [ "${#projects[@]}" -eq 0 ]; then
    echo "pack: no packable project under src/ or tools/" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"
for project in "${projects[@]}"; do
    echo "pack: ${project}"
    dotnet pack "$project" -c Release -o "$out" -nologo "$@"
done

echo "pack: $(find "$out" -name '*.nupkg' | wc -l) package(s) and $(find "$out" -name '*.snupkg' | wc -l) symbol package(s) in ${out}"
