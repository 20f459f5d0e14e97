#!/usr/bin/env bash
# kaiyo setup: idempotent. Creates .venv with pinned ROS 2 Jazzy wheels and Python packages,
# builds ros2_ws with colcon into the venv prefix, and links .venv/bin/kaiyo.
# Each step keeps a stamp holding the hash of its inputs, so a second run with nothing
# changed only hashes a few files (well under 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${KAIYO_VENV:-$ROOT/.venv}
PY=${KAIYO_PYTHON:-python3}
STAMPS=$VENV/.kaiyo-stamps
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }

# 1. system packages (only what is missing; only as root with apt-get)
missing=()
while read -r name _; do
  case "$name" in ''|\#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' || missing+=("$name")
done < scripts/system-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "warning: missing system packages: ${missing[*]}"
    say "  install them with: sudo apt-get install ${missing[*]}"
  fi
fi

# 2. venv + pinned wheels
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
# one setup at a time (parallel make targets or shells share the venv)
exec 9>"$VENV/.kaiyo-setup.lock"
flock 9
req_hash=$(hash_of requirements/*.txt)
if ! fresh pip "$req_hash"; then
  say "installing pinned ROS 2 Jazzy wheels and Python packages"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      2> >(grep -v "is ignored: it is neither a file" >&2) \
      -c requirements/constraints.txt -r requirements/ros.txt -r requirements/python.txt \
      -r requirements/dev.txt
  stamp pip "$req_hash"
fi

# The wheels need these; the bootstrapper guard must not leak in from a parent process.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE
export AMENT_PREFIX_PATH=$VENV
export PATH=$VENV/bin:$PATH
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# 3. kaiyo_interfaces (rosidl) installed into the venv prefix
if_hash=$(hash_of $(find ros2_ws/src/kaiyo_interfaces -type f | sort) cmake/*.cmake)
if ! fresh interfaces "$if_hash" || [ ! -d "$SITE/kaiyo_interfaces" ]; then
  say "building kaiyo_interfaces (about 30 s)"
  PYINC=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  NPINC=$("$VENV/bin/python" -c "import numpy; print(numpy.get_include())")
  (cd ros2_ws && colcon --log-base log build --merge-install --install-base "$VENV" \
      --build-base build --packages-select kaiyo_interfaces \
      --event-handlers console_direct- \
      --cmake-args -DCMAKE_PROJECT_INCLUDE="$ROOT/cmake/kaiyo_fix_wheel_includes.cmake" \
        -DKAIYO_PYTHON_INCLUDE="$PYINC" -DKAIYO_NUMPY_INCLUDE="$NPINC" \
        -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF) \
    > ros2_ws/build-interfaces.log 2>&1 || { tail -40 ros2_ws/build-interfaces.log; die "kaiyo_interfaces build failed (log: ros2_ws/build-interfaces.log)"; }
  stamp interfaces "$if_hash"
fi

# 4. Python packages: colcon --symlink-install into the venv prefix (sources stay editable)
py_pkgs=$(cd ros2_ws/src && ls -d kaiyo_*/ | tr -d / | grep -v '^kaiyo_interfaces$')
py_hash=$(hash_of $(for p in $py_pkgs; do ls ros2_ws/src/$p/setup.py ros2_ws/src/$p/setup.cfg ros2_ws/src/$p/package.xml; find ros2_ws/src/$p/config -type f 2>/dev/null; done | sort))
if ! fresh python "$py_hash" || [ ! -f "$SITE/kaiyo_ws.pth" ]; then
  say "building kaiyo Python packages"
  (cd ros2_ws && colcon --log-base log build --merge-install --symlink-install \
      --install-base "$VENV" --build-base build --packages-skip kaiyo_interfaces \
      --event-handlers console_direct-) > ros2_ws/build-python.log 2>&1 \
    || { tail -40 ros2_ws/build-python.log; die "colcon build failed (log: ros2_ws/build-python.log)"; }
  # colcon's develop install leaves egg-links that need a sourced setup file; a .pth makes
  # the packages (and their entry points) importable from the venv with no sourcing.
  for p in $py_pkgs; do echo "$ROOT/ros2_ws/build/$p"; done > "$SITE/kaiyo_ws.pth"
  # ament_index (package share lookup) needs AMENT_PREFIX_PATH; default it to the venv.
  echo "import os, sys; os.environ.setdefault('AMENT_PREFIX_PATH', sys.prefix)" > "$SITE/kaiyo_env.pth"
  stamp python "$py_hash"
fi

# 5. the one command-line entry
ln -sf "$VENV/lib/kaiyo_bringup/kaiyo" "$VENV/bin/kaiyo"
say "ready: $VENV/bin/kaiyo  (try: .venv/bin/kaiyo doctor)"
