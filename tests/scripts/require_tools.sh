#!/bin/bash
# Runs a script test after checking that every tool it drives is present, so
# that a missing tool FAILS the test, naming the Debian package to install
# (scripts/setup.sh installs them all), instead of the test being skipped or
# left unregistered.
# usage: require_tools.sh TOOL... -- COMMAND [ARG...]
#   TOOL: a program on PATH, an absolute path, or python3:MODULE (a module
#   that /usr/bin/python3 must import).
set -u
package() {
  case $1 in
    promtool) echo prometheus ;;
    /usr/bin/python3) echo python3 ;;
    python3:*) echo "python3-${1#python3:}" ;;
    node) echo nodejs ;;
    dot) echo graphviz ;;
    /usr/bin/chromium) echo chromium ;;
    *) echo "$1" ;;
  esac
}
missing=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    python3:*) /usr/bin/python3 -c "import ${1#python3:}" 2>/dev/null || missing+=("$1") ;;
    /*) [ -x "$1" ] || missing+=("$1") ;;
    *) command -v "$1" > /dev/null || missing+=("$1") ;;
  esac
  shift
done
[ "${1:-}" = "--" ] || { echo "FAIL: usage: require_tools.sh TOOL... -- COMMAND [ARG...]" >&2; exit 2; }
shift
if [ ${#missing[@]} -gt 0 ]; then
  for t in "${missing[@]}"; do
    echo "FAIL: this test needs $t (Debian package $(package "$t")); bash scripts/setup.sh installs it" >&2
  done
  exit 1
fi
exec "$@"
