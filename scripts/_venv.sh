# Sourced by the scripts: makes .venv (once) and installs the project's dependencies into it,
# again only when pyproject.toml (or the extras asked for) changed: a stamp of its hash is kept
# in .venv. EXTRAS selects optional dependencies, e.g. EXTRAS=test.
# The project itself is not installed: it runs from this checkout, which a .pth file puts on
# the path (so nothing is rebuilt when the code changes, and setuptools has nothing to warn about).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
_deps_stamp=.venv/.portal-dependencies
_deps_hash=$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')
_deps_wanted="$_deps_hash ${EXTRAS:-}"
# Installed extras include the base dependencies: "<hash> test" serves a run without extras too.
if ! grep -qxF -- "$_deps_wanted" "$_deps_stamp" 2>/dev/null \
    && ! { [ -z "${EXTRAS:-}" ] && grep -q -- "^$_deps_hash " "$_deps_stamp" 2>/dev/null; }; then
    echo "Installing the dependencies (pyproject.toml changed or first run)..."
    .venv/bin/python - "${EXTRAS:-}" > .venv/requirements.txt <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))
PY
    # An editable install left by an earlier version of this script would shadow nothing but is noise.
    .venv/bin/python -m pip uninstall -q -y voip-reseller-portal >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q -r .venv/requirements.txt
    .venv/bin/python -c 'import os, sysconfig; open(os.path.join(sysconfig.get_paths()["purelib"], "portal-checkout.pth"), "w").write(os.getcwd() + "\n")'
    # Lines of an older pyproject.toml are dropped; those of this one are kept (other extras).
    { grep -- "^$_deps_hash " "$_deps_stamp" 2>/dev/null || true; echo "$_deps_wanted"; } | sort -u > "$_deps_stamp.new"
    mv "$_deps_stamp.new" "$_deps_stamp"
fi
unset _deps_stamp _deps_hash _deps_wanted
