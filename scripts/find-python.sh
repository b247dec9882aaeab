#!/usr/bin/env bash
# Print the path of a Python interpreter whose version is in [MIN, MAX] (major.minor), looking on
# PATH first, then in pyenv's versions. Exit 1 with nothing printed when there is none.
# Usage: scripts/find-python.sh 3.10 3.10   |   scripts/find-python.sh 3.11 3.99
set -u
min=$1 max=$2

fits() {  # does interpreter $1 run, with a version inside [min, max]?
  "$1" -c "import sys; v=sys.version_info[:2]; lo=tuple(map(int,'$min'.split('.'))); hi=tuple(map(int,'$max'.split('.'))); sys.exit(0 if lo<=v<=hi else 1)" 2>/dev/null
}

candidates=()
for minor in 13 12 11 10; do candidates+=("python3.$minor"); done
candidates+=(python3)
for name in "${candidates[@]}"; do
  path=$(command -v "$name" 2>/dev/null) || continue
  if fits "$path"; then echo "$path"; exit 0; fi
done

root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
for path in $(ls -d "$root"/versions/3.*/bin/python3 2>/dev/null | sort -rV); do
  if fits "$path"; then echo "$path"; exit 0; fi
done
exit 1
