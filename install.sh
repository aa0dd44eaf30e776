#!/usr/bin/env bash
# Install cd38kg with what it needs on a fresh Debian/Ubuntu machine, then answer the
# showcase question on the bundled knowledge base.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v java >/dev/null 2>&1; then
    # Java runs the HermiT reasoner (cd38kg validate, and reasoning over --extra files).
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq default-jre-headless
fi
python3 -m pip install -q -e ".[test]"
cd38kg explain --combination "daratumumab + ATRA" --resistance "CD38 downregulation"
