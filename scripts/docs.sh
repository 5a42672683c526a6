#!/usr/bin/env bash
# Build the documentation site into docs/_build/html, warnings as errors (what CI runs, from scripts/test.sh).
#
#   bash scripts/docs.sh            # PYTHON=python3.12 to use another interpreter
#
# Installs what it needs first, each only when missing: Debian's libjs-mathjax (MathJax 2, copied into the
# build so that math renders offline) and chromium (for python/tests/test_docs_browser.py), then swiftprop
# with its [docs] extra. The three example notebooks are executed during the build (myst-nb).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
T0=$SECONDS
MATHJAX_DIR=${SWIFTPROP_MATHJAX_DIR:-/usr/share/javascript/mathjax}

missing=()
[ -f "$MATHJAX_DIR/MathJax.js" ] || missing+=(libjs-mathjax)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "docs.sh: installing ${missing[*]} (Debian packages)"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$PY" -c "import swiftprop, sphinx, furo, numpydoc, myst_nb, sphinx_copybutton" 2>/dev/null; then
    "$PY" -m pip install --quiet --disable-pip-version-check ".[docs]"
fi
# the notebooks run in a kernel of this interpreter (jupyter's native "python3": ipykernel, from [docs])

rm -rf docs/_build/html docs/_build/jupyter_execute docs/generated
SWIFTPROP_MATHJAX_DIR="$MATHJAX_DIR" "$PY" -m sphinx -W --keep-going -q -b html docs docs/_build/html
echo "docs.sh: built docs/_build/html (open docs/_build/html/index.html) in $((SECONDS - T0)) s"
