"""`kaiyo doctor`: check the installation and say plainly what is missing and how to fix it.

Each check returns (status, detail, fix). Required checks failing -> exit 1. Checks that
need a fresh interpreter (DDS discovery, GL rendering) run in a child process with a timeout
so a hung driver cannot hang the doctor.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from importlib.metadata import entry_points

OK, WARN, FAIL = 'ok', 'warn', 'FAIL'


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ''
    required: bool = True


def _run_py(code: str, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def check_python() -> Check:
    v = sys.version_info
    in_venv = sys.prefix != sys.base_prefix
    status = OK if (v.major, v.minor) >= (3, 11) and in_venv else WARN
    return Check('python', status, f'{sys.version.split()[0]} at {sys.executable}'
                 + ('' if in_venv else ' (not a venv)'), 'run `make setup` and use .venv/bin/kaiyo')


def check_rclpy() -> Check:
    try:
        import rclpy
        from rclpy.utilities import get_rmw_implementation_identifier
    except ImportError as err:
        return Check('rclpy', FAIL, f'cannot import rclpy: {err}',
                     'run `make setup` (installs ros-jazzy-rclpy + ros-jazzy-rmw-fastrtps-cpp)')
    rmw = get_rmw_implementation_identifier()
    return Check('rclpy / rmw', OK if rmw == 'rmw_fastrtps_cpp' else WARN,
                 f'rclpy from {os.path.dirname(rclpy.__file__)}, rmw {rmw}',
                 'kaiyo is tested with Fast DDS (RMW_IMPLEMENTATION=rmw_fastrtps_cpp)')


def check_interfaces() -> Check:
    try:
        from rclpy.serialization import deserialize_message, serialize_message

        from kaiyo_interfaces.action import RunMission  # noqa: F401
        from kaiyo_interfaces.msg import SeabedObservation
        from kaiyo_interfaces.srv import InjectFault  # noqa: F401
    except ImportError as err:
        return Check('kaiyo_interfaces', FAIL, f'cannot import the kaiyo messages: {err}',
                     'run `make setup` (builds ros2_ws/src/kaiyo_interfaces into .venv)')
    msg = SeabedObservation(vehicle='doctor')
    back = deserialize_message(serialize_message(msg), SeabedObservation)
    if back.vehicle != 'doctor':
        return Check('kaiyo_interfaces', FAIL, 'message round trip through CDR failed',
                     'rebuild: rm -rf ros2_ws/build && make setup')
    return Check('kaiyo_interfaces', OK, 'messages, services and actions import and serialise')


def check_packages() -> Check:
    from ament_index_python.packages import get_packages_with_prefixes
    have = sorted(p for p in get_packages_with_prefixes() if p.startswith('kaiyo_'))
    want = ['kaiyo_bringup', 'kaiyo_common', 'kaiyo_interfaces']
    missing = [p for p in want if p not in have]
    if missing:
        return Check('ament index', FAIL, f'missing packages: {", ".join(missing)} '
                     f'(AMENT_PREFIX_PATH={os.environ.get("AMENT_PREFIX_PATH", "")})',
                     'run `make setup`')
    broken = []
    for ep in entry_points(group='kaiyo.cli'):
        try:
            ep.load()
        except ImportError as err:
            broken.append(f'{ep.name} ({err})')
    if broken:
        return Check('ament index', WARN, f'{len(have)} kaiyo packages; commands that fail to '
                     f'load: {"; ".join(broken)}', 'run `make setup`')
    return Check('ament index', OK, f'{len(have)} kaiyo packages: {", ".join(have)}')


_DISCOVERY_PEER = '''
import sys, rclpy
from rclpy.node import Node
from std_msgs.msg import String
rclpy.init()
n = Node('kaiyo_doctor_peer')
pub = n.create_publisher(String, 'kaiyo_doctor_ping', 10)
n.create_timer(0.1, lambda: pub.publish(String(data='ping')))
try:
    rclpy.spin(n)
except BaseException:
    pass
'''


def check_seabed_model() -> Check:
    """The shipped real-photo seabed model and its pretrained network load and classify a
    frame (a missing or damaged config file would otherwise surface only at sea)."""
    try:
        import numpy as np

        from kaiyo_seabed.backbone import BackboneError
        from kaiyo_seabed.model import ModelError, load_default_model, shipped_model_path
        from kaiyo_seabed.pipeline import SeabedAnalyzer
    except ImportError as err:
        return Check('seabed model', FAIL, f'cannot import kaiyo_seabed: {err}', 'run `make setup`')
    try:
        analyzer = SeabedAnalyzer(load_default_model(), detect_urchins_enabled=False)
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :, 1] = np.linspace(40, 160, 160, dtype=np.uint8)
        analyzer.analyze(frame)
    except (ModelError, BackboneError) as err:
        return Check('seabed model', FAIL, str(err),
                     'restore ros2_ws/src/kaiyo_seabed/config from git, then `make setup`')
    net = 'with its pretrained network' if analyzer.backbone is not None else 'no network'
    return Check('seabed model', OK, f'{shipped_model_path().name} ({net}) classifies a frame')


def check_discovery(timeout: float = 15.0) -> Check:
    """Two processes find each other over DDS and exchange a message."""
    import time

    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String
    rng = os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '(default: SUBNET)')
    peer = subprocess.Popen([sys.executable, '-c', _DISCOVERY_PEER],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    got: list = []
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = Node('kaiyo_doctor', context=ctx)
        node.create_subscription(String, 'kaiyo_doctor_ping', got.append, 10)
        ex = rclpy.executors.SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        t0 = time.monotonic()
        while not got and time.monotonic() - t0 < timeout and peer.poll() is None:
            ex.spin_once(timeout_sec=0.1)
        elapsed = time.monotonic() - t0
    finally:
        peer.terminate()
        peer.wait(timeout=5)
        rclpy.shutdown(context=ctx)
    if got:
        return Check('DDS discovery', OK, f'a second process was discovered and heard in '
                     f'{elapsed:.1f} s (domain {os.environ.get("ROS_DOMAIN_ID", "0")}, '
                     f'range {rng})')
    return Check('DDS discovery', FAIL, f'no message from a second process within {timeout} s '
                 f'(range {rng})', 'set ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST on a single '
                 'host; check firewall/multicast for multi-machine setups '
                 '(docs/multi-machine.md)')


_GL_PROBE = '''
import mujoco
m = mujoco.MjModel.from_xml_string("<mujoco><worldbody><light pos='0 0 3'/>"
    "<geom type='sphere' size='0.5' rgba='1 0 0 1'/></worldbody></mujoco>")
d = mujoco.MjData(m)
mujoco.mj_forward(m, d)
r = mujoco.Renderer(m, 48, 64)
r.update_scene(d)
img = r.render()
print(int(img[..., 0].max()))
'''


def check_mujoco() -> Check:
    try:
        import mujoco
    except ImportError as err:
        return Check('MuJoCo', FAIL, f'cannot import mujoco: {err}', 'run `make setup`')
    tried = []
    for backend in [os.environ.get('MUJOCO_GL', 'egl'), 'egl', 'osmesa']:
        if backend in tried:
            continue
        tried.append(backend)
        try:
            r = _run_py(_GL_PROBE, 60, dict(os.environ, MUJOCO_GL=backend))
        except subprocess.TimeoutExpired:
            continue
        if r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout.strip()) > 0:
            return Check('MuJoCo', OK, f'mujoco {mujoco.__version__}, headless rendering with '
                         f'MUJOCO_GL={backend}')
    return Check('MuJoCo', WARN, f'mujoco {mujoco.__version__} imports but no headless GL backend '
                 f'rendered ({", ".join(tried)}); physics works, cameras do not',
                 'sudo apt-get install libegl1 libgl1-mesa-dri (EGL) or libosmesa6 (OSMesa)',
                 required=False)


def check_tools() -> list[Check]:
    out = []
    try:
        import serial
        out.append(Check('pyserial', OK, f'pyserial {serial.__version__}'))
    except ImportError:
        out.append(Check('pyserial', FAIL, 'pyserial missing', 'run `make setup`'))
    for tool, why, pkg, required in (
            ('socat', 'virtual serial ports for driver tests', 'socat', True),
            ('ign', 'checking exported Gazebo worlds (ign sdf -k)',
             'libsdformat-dev ignition-tools', False),
            ('chromium', 'report and web-view tests', 'chromium', False)):
        path = shutil.which(tool)
        out.append(Check(tool, OK if path else (FAIL if required else WARN),
                         path or f'not found ({why})', f'sudo apt-get install {pkg}',
                         required=required))
    return out


def run_checks(include_slow: bool = True) -> list[Check]:
    checks = [check_python(), check_rclpy()]
    if checks[-1].status == FAIL:
        return checks
    checks += [check_interfaces(), check_packages(), check_seabed_model()]
    if include_slow:
        checks += [check_discovery(), check_mujoco()]
    checks += check_tools()
    return checks


def register(sub) -> None:
    p = sub.add_parser('doctor', help='check the installation and explain what is missing')
    p.add_argument('--quick', action='store_true', help='skip the DDS and rendering checks')
    p.set_defaults(func=_doctor)


def _doctor(args) -> int:
    checks = run_checks(include_slow=not args.quick)
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f'{c.status:>4}  {c.name:<{width}}  {c.detail}')
        if c.status != OK and c.fix:
            print(f'{"":>4}  {"":<{width}}  fix: {c.fix}')
    failed = [c for c in checks if c.status == FAIL and c.required]
    if failed:
        print(f'\nkaiyo doctor: {len(failed)} problem(s): '
              + ', '.join(c.name for c in failed), file=sys.stderr)
        return 1
    print('\nkaiyo doctor: all required checks passed')
    return 0
