"""`kaiyo doctor` passes on this installation and fails, naming the cause, when the
kaiyo_interfaces build is missing (shadowed here by an empty package first on the path)."""
import os
import subprocess
import sys

KAIYO = [sys.executable, '-m', 'kaiyo_bringup.cli']


def test_doctor_ok_on_a_good_setup():
    r = subprocess.run([*KAIYO, 'doctor'], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'kaiyo_interfaces  messages, services and actions import' in r.stdout
    assert 'DDS discovery' in r.stdout and 'all required checks passed' in r.stdout


def test_doctor_fails_and_says_why_without_interfaces(tmp_path):
    fake = tmp_path / 'kaiyo_interfaces'
    fake.mkdir()
    (fake / '__init__.py').write_text('')   # a package with no generated msg module
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}:{os.environ.get('PYTHONPATH', '')}")
    r = subprocess.run([*KAIYO, 'doctor', '--quick'], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 1
    assert 'FAIL  kaiyo_interfaces' in r.stdout
    assert "No module named 'kaiyo_interfaces." in r.stdout
    assert 'make setup' in r.stdout
    assert 'problem(s): kaiyo_interfaces' in r.stderr


def test_seabed_model_check_names_a_missing_network(monkeypatch):
    from kaiyo_bringup import doctor
    from kaiyo_seabed import backbone
    assert doctor.check_seabed_model().status == doctor.OK
    monkeypatch.setattr(backbone, 'BACKBONE_FILE', 'no_such_network.onnx')
    c = doctor.check_seabed_model()
    assert c.status == doctor.FAIL and c.required
    assert 'no_such_network.onnx is missing' in c.detail
