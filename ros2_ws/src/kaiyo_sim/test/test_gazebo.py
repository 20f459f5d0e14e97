"""Gazebo export: every generated SDF passes `ign sdf -k` and kaiyo's own plugin/joint check."""
import shutil
import subprocess

import pytest
import yaml

from kaiyo_sim.gazebo import KNOWN_PLUGINS, check_sdf_file, export_gazebo
from kaiyo_sim.world import load_world

VEHICLES = ['hover_auv', 'camera_robot', 'wave_boat']
IGN = shutil.which('ign')


def _ign_check(path):
    r = subprocess.run([IGN, 'sdf', '-k', str(path)], capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    errors = [ln for ln in out.splitlines() if 'Error' in ln]
    return r.returncode, errors, out


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp('gz')
    return export_gazebo(load_world('hiratsuka_tower'), VEHICLES, out)


@pytest.mark.skipif(IGN is None, reason='ign (ignition-tools + libsdformat) not installed')
def test_every_sdf_passes_ign_sdf_check(exported):
    sdfs = [f for f in exported if f.suffix == '.sdf']
    assert len(sdfs) == 1 + len(VEHICLES)
    for f in sdfs:
        code, errors, out = _ign_check(f)
        assert code == 0 and not errors and 'Valid' in out, f'{f}:\n{out}'


def test_kaiyo_check_passes_and_models_carry_the_yaml(exported):
    for f in exported:
        if f.suffix == '.sdf':
            assert check_sdf_file(f) == [], f
    text = next(f for f in exported if f.name == 'model.sdf' and 'hover_auv' in str(f)).read_text()
    assert '<xDotU>-25</xDotU>' in text and '<zWabsW>-540</zWabsW>' in text
    assert text.count('gz-sim-thruster-system') == 5
    assert '<max_thrust_cmd>60</max_thrust_cmd>' in text


def test_bridge_maps_to_kaiyo_topic_names(exported):
    bridge = yaml.safe_load(next(f for f in exported if f.name == 'bridge.yaml').read_text())
    topics = {e['ros_topic_name']: e for e in bridge}
    assert topics['/hover_auv/imu/data']['ros_type_name'] == 'sensor_msgs/msg/Imu'
    assert topics['/wave_boat/gps/fix']['gz_type_name'] == 'gz.msgs.NavSat'
    assert topics['/sim/camera_robot/odometry']['direction'] == 'GZ_TO_ROS'
    assert topics['/hover_auv/thrusters/surge_l/cmd_thrust']['gz_topic_name'] == \
        '/model/hover_auv/joint/surge_l_joint/cmd_thrust'
    assert '/clock' in topics


def test_kaiyo_check_catches_what_ign_does_not(exported, tmp_path):
    src = next(f for f in exported if f.name == 'model.sdf' and 'camera_robot' in str(f))
    bad = tmp_path / 'bad.sdf'
    text = src.read_text()
    bad.write_text(text.replace('<joint_name>h_fr_joint</joint_name>',
                                '<joint_name>h_fr_jiont</joint_name>', 1)
                   .replace('gz-sim-hydrodynamics-system', 'gz-sim-hydrodynamic-system', 1))
    problems = check_sdf_file(bad)
    assert any("names joint 'h_fr_jiont'" in p for p in problems)
    assert any("unknown plugin filename 'gz-sim-hydrodynamic-system'" in p for p in problems)
    if IGN:
        code, errors, _ = _ign_check(bad)
        assert not errors   # ign alone would have let both through


@pytest.mark.skipif(IGN is None, reason='ign not installed')
def test_ign_errors_are_caught_by_the_test_helper(tmp_path):
    bad = tmp_path / 'broken.sdf'
    bad.write_text('<?xml version="1.0"?>\n<sdf version="1.9"><model name="m">'
                   '<link name="a"/><joint name="j" type="revolute"><parent>a</parent>'
                   '<child>nowhere</child><axis><xyz>1 0 0</xyz></axis></joint></model></sdf>\n')
    code, errors, out = _ign_check(bad)
    assert errors or code != 0, out


def test_known_plugins_have_gz_class_names():
    assert all(v.startswith('gz::sim::systems::') for v in KNOWN_PLUGINS.values())
