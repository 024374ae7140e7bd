# Sourced by the scripts: makes .venv (once) and installs the project into it.
# EXTRAS selects optional dependencies, e.g. EXTRAS=test.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"
