#!/usr/bin/env bash
# The wheels a GPU machine lacks, for its Python 3.12, into DIR (default .whl, git-ignored): carry
# DIR with the call and install it there (device_calls.sh's `install`). ViZDoom's wheel drops the
# unused freedoom1.wad (29 MB; the scenarios load freedoom2.wad) so that a call's 64 MiB holds it,
# and keeps every other file's mode: a copy that lost the engine binary's exec bit segfaulted in
# every recording worker (game RESULTS 25).
# SIMULATOR=mujoco puts MuJoCo's wheels (the Push runs of prompt control; with the EGL loaders, .gl)
# where ViZDoom's would be; SIMULATOR=none leaves both out (Crafter alone).
#   [SIMULATOR=vizdoom|mujoco|none] bash experiments/device_wheels.sh [DIR]
set -euo pipefail
DIR=${1:-.whl}
case ${SIMULATOR:-vizdoom} in
  vizdoom) SIM=(vizdoom==1.3.2) ;;
  mujoco) SIM=(mujoco==4.0.0 mujoco-core==4.0.0 glfw==2.11.0 PyOpenGL==3.1.10) ;;  # not studio: a GUI
  none) SIM=() ;;
  *) echo "SIMULATOR=$SIMULATOR: vizdoom, mujoco or none" >&2 && exit 2 ;;
esac
mkdir -p "$DIR"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$DIR" "${SIM[@]}" gymnasium==1.4.0 \
  farama-notifications==0.0.6 omegaconf==2.4.0 antlr4-python3-runtime==4.13.2 \
  opensimplex==0.4.5.1 ruamel.yaml==0.19.1 tensorboardX==2.6.5
python3 -m pip wheel -q --no-deps crafter==1.8.3 -w "$DIR"  # an sdist only: built here
[ "${SIMULATOR:-vizdoom}" = vizdoom ] || { ls -la "$DIR"; exit 0; }
python3 - "$DIR"/vizdoom-*.whl <<'PY'
import os, sys, zipfile

path, drop = sys.argv[1], "vizdoom/freedoom1.wad"
with zipfile.ZipFile(path) as src:
    if drop not in src.namelist():
        sys.exit(0)  # made by an earlier run
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename == drop:
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):  # the wheel's file list
                rows = data.decode().splitlines(keepends=True)
                data = "".join(r for r in rows if not r.startswith(drop + ",")).encode()
            out.writestr(info, data)  # its ZipInfo: the file keeps its mode (exec bits)
os.replace(path + ".tmp", path)
PY
ls -la "$DIR"
