"""Where kaiyo's data folders are (`hardware/`, `sim/`, `bringup/`, `launch/`).

The repository root is found from $KAIYO_ROOT, else by walking up from this file (the
workspace is installed with --symlink-install, so sources stay in the clone), else from the
current directory. A full ROS install without the clone can set KAIYO_ROOT.
"""
from __future__ import annotations

import os
from pathlib import Path

_MARKERS = ('hardware', 'sim', 'ros2_ws')


class KaiyoPathError(FileNotFoundError):
    """The kaiyo repository (with hardware/, sim/, ros2_ws/) could not be found."""


def _is_root(p: Path) -> bool:
    return all((p / m).is_dir() for m in _MARKERS)


def repo_root() -> Path:
    env = os.environ.get('KAIYO_ROOT')
    if env:
        p = Path(env).expanduser().resolve()
        if not _is_root(p):
            raise KaiyoPathError(f'KAIYO_ROOT={env} has no hardware/, sim/ and ros2_ws/ folders')
        return p
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for p in (start, *start.parents):
            if _is_root(p):
                return p
    raise KaiyoPathError('cannot find the kaiyo repository (a folder with hardware/, sim/ and '
                         'ros2_ws/); run from inside the clone or set KAIYO_ROOT')


def data_path(*parts: str) -> Path:
    """A path below the repository root, e.g. data_path('sim', 'worlds', 'x.yaml')."""
    return repo_root().joinpath(*parts)


def shared_data_path(*parts: str) -> Path:
    """The shared labelled data: ../shared/data beside the clone, or $KAIYO_SHARED_DATA."""
    env = os.environ.get('KAIYO_SHARED_DATA')
    base = Path(env) if env else repo_root().parent / 'shared' / 'data'
    return base.joinpath(*parts)
