"""`kaiyo sim ...` commands end to end (subprocess through the real `kaiyo` entry point)."""
import os
import subprocess
import sys

import cv2
import yaml

KAIYO = os.path.join(os.path.dirname(sys.executable), 'kaiyo')


def _kaiyo(*args, timeout=120):
    return subprocess.run([KAIYO, 'sim', *args], capture_output=True, text=True, timeout=timeout)


def test_export_truth_writes_georeferenced_files(tmp_path):
    r = _kaiyo('export-truth', '--out', str(tmp_path), '--resolution-m', '0.25',
               '--extent', '-10', '-10', '10', '10')
    assert r.returncode == 0, r.stderr
    grid = cv2.imread(str(tmp_path / 'class_map.png'), cv2.IMREAD_UNCHANGED)
    assert grid.shape == (80, 80)
    meta = yaml.safe_load((tmp_path / 'class_map.yaml').read_text())
    assert meta['datum']['name'] == 'tower' and abs(sum(meta['cover_fraction'].values()) - 1) < 1e-6
    assert (tmp_path / 'urchins.csv').read_text().startswith('east_m,north_m,lat_deg,lon_deg')


def test_export_gazebo_writes_and_checks(tmp_path):
    r = _kaiyo('export-gazebo', '--out', str(tmp_path), '--vehicles', 'hover_auv,wave_boat')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / 'hiratsuka_tower.sdf').exists()
    assert (tmp_path / 'models' / 'wave_boat' / 'model.config').exists()


def test_bad_arguments_name_the_problem(tmp_path):
    r = _kaiyo('run', '--vehicles', 'hover_auv,yellow_submarine')
    assert r.returncode == 2 and 'yellow_submarine' in r.stderr and 'known vehicles' in r.stderr
    r = _kaiyo('export-truth', '--out', str(tmp_path), '--world', 'atlantis')
    assert r.returncode == 2 and 'atlantis' in r.stderr
    r = _kaiyo('export-truth', '--out', str(tmp_path), '--resolution-m', '0')
    assert r.returncode == 2 and 'resolution' in r.stderr
