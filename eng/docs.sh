#!/usr/bin/env bash
# Builds the documentation site into artifacts/site: the API reference generated from the XML docs of every project under
# src/ but the analyzers (docfx.json), with README.md as the home page and every page
# under docs/ (docfx.json at the root says what goes in; docs/toc.yml and docs/site/ hold the navigation).
# DocFX comes from the repository's tool manifest (.config/dotnet-tools.json, restored here). Any warning fails the
# build: a broken link, a cref that resolves to nothing, a page missing from a table of contents.
#
#   eng/docs.sh            build into artifacts/site
#   eng/docs.sh --serve    build, then serve it on http://localhost:8080 until Ctrl+C
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# DocFX is a .NET tool built for an earlier runtime than the only one this machine may have.
export DOTNET_ROLL_FORWARD="${DOTNET_ROLL_FORWARD:-Major}"

dotnet tool restore >/dev/null
rm -rf artifacts/docfx artifacts/site
dotnet docfx docfx.json --warningsAsErrors "$@"
echo "docs: the site is in artifacts/site (open artifacts/site/index.html)"
