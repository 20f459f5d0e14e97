"""Every command of the tutorials in docs/tutorials/ runs, so the docs cannot rot.

Each tutorial exists in Japanese and English (`NN-name.ja.md`, `NN-name.en.md`) with the same
commands: the fenced ```sh blocks of both files must be identical (checked without running
anything). The slow test then runs those blocks, in order, as one bash script
(`set -euo pipefail`) in a temporary working copy of the repository: small data folders are
copied, `ros2_ws` and `.venv` are linked (read-only use), `../shared` is linked when the
shared data sets exist. Nothing is written into the real clone. The script must exit 0 (each
tutorial ends in a check that fails loudly) and print what the tutorial says it prints.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / 'docs' / 'tutorials'
SHARED = ROOT.parent / 'shared'
COPIED = ('bringup', 'hardware', 'launch', 'missions', 'sim')
LINKED = ('ros2_ws', '.venv')
FILES = ('conftest.py', 'pytest.ini')
_BLOCK = re.compile(r'^```sh[ \t]*\n(.*?)^```[ \t]*$', re.S | re.M)

# What each tutorial's text promises the student will see (checked in the combined output).
EXPECTED = {
    '01-first-survey': ['hover_auv_survey.yaml: OK', 'frames analysed', 'CHECK PASSED'],
    '02-depth-controller': ['-> FAIL', 'my_hover_auv.yaml: overshoot', '-> PASS',
                            'checks met their goal'],
    '03-mission': ["unknown key 'altitute'", 'outside_geofence', 'my_mission.yaml: OK',
                   'wrote my_plan.geojson'],
    '04-seabed': ['analysed 4 images', 'trained on 8 images', 'point accuracy',
                  'CAUTION: the pretrained network was fine-tuned on 8', 'CHECK PASSED'],
    '05-sensor-driver': ['2 passed'],
}
NEEDS_SHARED = {'04-seabed'}


def tutorial_names() -> list[str]:
    return sorted({p.name.split('.')[0] for p in TUTORIALS.glob('*.md')
                   if p.name.endswith(('.ja.md', '.en.md'))})


def sh_blocks(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding='utf-8'))


def test_every_tutorial_is_in_japanese_and_english_with_the_same_commands():
    names = tutorial_names()
    assert set(EXPECTED) <= set(names), f'missing tutorials: {set(EXPECTED) - set(names)}'
    for name in names:
        ja, en = TUTORIALS / f'{name}.ja.md', TUTORIALS / f'{name}.en.md'
        assert ja.is_file() and en.is_file(), name
        assert sh_blocks(ja), f'{ja.name} has no ```sh blocks'
        assert sh_blocks(ja) == sh_blocks(en), (
            f'{name}: the ```sh blocks of the ja and en versions differ')
        ja_text = ja.read_text(encoding='utf-8')
        assert re.search(r'[\u3040-\u30ff\u4e00-\u9fff]', ja_text), f'{ja.name}: no Japanese'


def make_working_copy(dest: Path) -> Path:
    main = dest / 'main'
    main.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, main / name, symlinks=True)
    for name in LINKED:
        (main / name).symlink_to(ROOT / name, target_is_directory=True)
    for name in FILES:
        shutil.copy2(ROOT / name, main / name)
    if SHARED.is_dir():
        (dest / 'shared').symlink_to(SHARED, target_is_directory=True)
    return main


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_tutorial_commands_run(name, tmp_path):
    if name in NEEDS_SHARED and not (SHARED / 'data' / 'seabed').is_dir():
        pytest.skip(f'{name} uses the shared seabed data sets, not found at '
                    f'{SHARED / "data" / "seabed"}')
    work = make_working_copy(tmp_path)
    script = '\n'.join(['set -euo pipefail', *sh_blocks(TUTORIALS / f'{name}.en.md')])
    env = dict(os.environ)
    env.update({'KAIYO_ROOT': str(work), 'KAIYO_DATA_DIR': str(tmp_path / 'data'),
                'KAIYO_LOG_DIR': str(tmp_path / 'log'), 'PYTHONUNBUFFERED': '1',
                'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})
    proc = subprocess.run(['bash', '-c', script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=540)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{name}: exit {proc.returncode}\n{out[-6000:]}'
    for text in EXPECTED[name]:
        assert text in out, f'{name}: expected {text!r} in the output\n{out[-6000:]}'
    # nothing was written into the real clone through the links
    assert not (ROOT / 'my_driver').exists() and not (ROOT / 'my_mission.yaml').exists()
