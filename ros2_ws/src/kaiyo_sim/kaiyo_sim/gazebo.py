"""Gazebo (gz-sim) export: an SDF 1.9 world and models from the same vehicle and world YAML,
plus a ros_gz_bridge config mapping to kaiyo's topic names (pure: xml + yaml).

What maps onto what:
- hull: one link with the YAML's mass, inertia at the CG; the collision box is scaled to the
  YAML's displaced volume and centred on the CB, because gz-sim's buoyancy system takes the
  displaced volume and its centre from the collision geometry;
- Fossen coefficients -> gz-sim Hydrodynamics (xDotU = -added mass X, xU = -linear
  damping X, xUabsU = -quadratic damping X, ...; diagonal terms, same in FLU and FRD);
- thrusters -> a small link + revolute joint along the thrust direction each, driven by
  gz-sim's Thruster system in force mode (cmd_thrust in N, limits from the YAML);
- sensors -> imu, camera (intrinsics from fx and the image width), navsat; the DVL as a
  gz `custom` sensor with gz-sim's DopplerVelocityLogSystem;
- world: the seabed plane with the world's slope, the tower legs as cylinders, buoyancy with
  the world's water density. Not exported: waves, the current profile, the seabed scene
  texture (gz-sim has no JONSWAP sea; use kaiyo_sim for those).

`check_sdf_file` is kaiyo's own check on top of `ign sdf -k`: every plugin filename is a
known gz-sim system with its matching class name, and every joint or link a plugin names
exists in its model.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import yaml

from kaiyo_common.vehicles import VehicleParams, load_vehicle
from kaiyo_sim.world import World

GZ_NS = 'http://gazebosim.org/schema'
# gz-sim system library -> its class name (gz-sim 8, Harmonic)
KNOWN_PLUGINS = {
    'gz-sim-physics-system': 'gz::sim::systems::Physics',
    'gz-sim-user-commands-system': 'gz::sim::systems::UserCommands',
    'gz-sim-scene-broadcaster-system': 'gz::sim::systems::SceneBroadcaster',
    'gz-sim-sensors-system': 'gz::sim::systems::Sensors',
    'gz-sim-imu-system': 'gz::sim::systems::Imu',
    'gz-sim-navsat-system': 'gz::sim::systems::NavSat',
    'gz-sim-buoyancy-system': 'gz::sim::systems::Buoyancy',
    'gz-sim-dvl-system': 'gz::sim::systems::DopplerVelocityLogSystem',
    'gz-sim-hydrodynamics-system': 'gz::sim::systems::Hydrodynamics',
    'gz-sim-thruster-system': 'gz::sim::systems::Thruster',
    'gz-sim-odometry-publisher-system': 'gz::sim::systems::OdometryPublisher',
}


class GazeboExportError(ValueError):
    """A generated SDF fails kaiyo's own checks."""


def _f(x) -> str:
    return f'{float(x):.6g}'


def _vec(v) -> str:
    return ' '.join(_f(x) for x in v)


def _sub(parent, tag, text=None, **attrs):
    e = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        e.text = str(text)
    return e


def _plugin(parent, filename: str, **children):
    p = _sub(parent, 'plugin', filename=filename, name=KNOWN_PLUGINS[filename])
    for k, v in children.items():
        _sub(p, k, v)
    return p


def _rpy_to_direction_pose(direction) -> tuple[float, float]:
    d = np.asarray(direction, dtype=float)
    return math.atan2(d[1], d[0]), math.atan2(-d[2], math.hypot(d[0], d[1]))


def vehicle_model(p: VehicleParams, name: str, pose=(0, 0, 0, 0, 0, 0),
                  rho: float = 1025.0) -> ET.Element:
    m = ET.Element('model', name=name)
    _sub(m, 'pose', _vec(pose))
    link = _sub(m, 'link', name='base_link')
    inertial = _sub(link, 'inertial')
    _sub(inertial, 'pose', _vec([*p.cg_m, 0, 0, 0]))
    _sub(inertial, 'mass', _f(p.mass_kg))
    ine = _sub(inertial, 'inertia')
    i = p.inertia_kg_m2
    for tag, val in (('ixx', i[0, 0]), ('ixy', i[0, 1]), ('ixz', i[0, 2]), ('iyy', i[1, 1]),
                     ('iyz', i[1, 2]), ('izz', i[2, 2])):
        _sub(ine, tag, _f(val))
    box = np.asarray(p.collision_box_m, dtype=float)
    scale = (p.volume_m3 / float(np.prod(box))) ** (1.0 / 3.0)   # volume = displaced volume
    for kind in ('collision', 'visual'):
        c = _sub(link, kind, name=f'hull_{kind}')
        _sub(c, 'pose', _vec([*(p.cb_m if kind == 'collision' else [0, 0, 0]), 0, 0, 0]))
        g = _sub(_sub(c, 'geometry'), 'box')
        _sub(g, 'size', _vec(box * scale if kind == 'collision' else box))
    s = p.sensors
    if 'imu' in s:
        e = _sub(link, 'sensor', name='imu', type='imu')
        _sub(e, 'pose', _vec([*s['imu'].mounting.position_m, *s['imu'].mounting.rpy_rad]))
        _sub(e, 'always_on', 1)
        _sub(e, 'update_rate', _f(s['imu'].rate_hz))
        _sub(e, 'topic', f'/{name}/imu/data')
        imu = _sub(e, 'imu')
        av = _sub(imu, 'angular_velocity')
        for ax in 'xyz':
            n = _sub(_sub(av, ax), 'noise', type='gaussian')
            _sub(n, 'stddev', _f(s['imu'].noise_std))
        la = _sub(imu, 'linear_acceleration')
        for ax in 'xyz':
            n = _sub(_sub(la, ax), 'noise', type='gaussian')
            _sub(n, 'stddev', _f(s['imu'].get('accel_noise_std', 0.0)))
    if 'gps' in s:
        e = _sub(link, 'sensor', name='gps', type='navsat')
        _sub(e, 'pose', _vec([*s['gps'].mounting.position_m, 0, 0, 0]))
        _sub(e, 'always_on', 1)
        _sub(e, 'update_rate', _f(s['gps'].rate_hz))
        _sub(e, 'topic', f'/{name}/gps/fix')
    if p.camera is not None:
        cam = p.camera
        e = _sub(link, 'sensor', name='camera', type='camera')
        _sub(e, 'pose', _vec([*cam.mounting.position_m, *cam.mounting.rpy_rad]))
        _sub(e, 'always_on', 1)
        _sub(e, 'update_rate', _f(cam.rate_hz))
        _sub(e, 'topic', f'/{name}/camera/image_raw')
        c = _sub(e, 'camera')
        _sub(c, 'horizontal_fov', _f(2 * math.atan(cam.width / (2 * cam.fx))))
        im = _sub(c, 'image')
        _sub(im, 'width', cam.width)
        _sub(im, 'height', cam.height)
        _sub(im, 'format', 'R8G8B8')
        clip = _sub(c, 'clip')
        _sub(clip, 'near', 0.05)
        _sub(clip, 'far', _f(cam.max_range_m))
    if 'dvl' in s:
        d = s['dvl']
        e = _sub(link, 'sensor', name='dvl', type='custom')
        e.set(f'{{{GZ_NS}}}type', 'dvl')
        _sub(e, 'pose', _vec([*d.mounting.position_m, *d.mounting.rpy_rad]))
        _sub(e, 'always_on', 1)
        _sub(e, 'update_rate', _f(d.rate_hz))
        _sub(e, 'topic', f'/{name}/dvl/velocity')
        gz = _sub(e, f'{{{GZ_NS}}}dvl')
        _sub(gz, 'type', 'phased_array')
        arr = _sub(gz, 'arrangement', degrees='true')
        for i, az in enumerate((45, 135, -135, -45)):
            b = _sub(arr, 'beam', id=str(i + 1))
            _sub(b, 'aperture', 2)
            _sub(b, 'rotation', az)
            _sub(b, 'tilt', _f(d.get('beam_angle_deg', 25.0)))
        tr = _sub(gz, 'tracking')
        bt = _sub(tr, 'bottom_mode')
        _sub(bt, 'when', 'always')
        n = _sub(bt, 'noise', type='gaussian')
        _sub(n, 'stddev', _f(d.noise_std))
        _sub(gz, 'minimum_range', _f(d.get('min_range_m', 0.1)))
        _sub(gz, 'maximum_range', _f(d.get('max_range_m')))
    for t in p.thrusters:
        tl = _sub(m, 'link', name=f'thruster_{t.name}')
        yaw, pitch = _rpy_to_direction_pose(t.direction)
        _sub(tl, 'pose', _vec([*t.position_m, 0, pitch, yaw]))
        ti = _sub(tl, 'inertial')
        _sub(ti, 'mass', 0.1)
        tin = _sub(ti, 'inertia')
        for tag, val in (('ixx', 1e-4), ('ixy', 0), ('ixz', 0), ('iyy', 1e-4), ('iyz', 0),
                         ('izz', 1e-4)):
            _sub(tin, tag, val)
        j = _sub(m, 'joint', name=f'{t.name}_joint', type='revolute')
        _sub(j, 'parent', 'base_link')
        _sub(j, 'child', f'thruster_{t.name}')
        ax = _sub(j, 'axis')
        _sub(ax, 'xyz', '1 0 0')       # the thruster link's x is the thrust direction
        lim = _sub(ax, 'limit')
        _sub(lim, 'lower', -1e12)
        _sub(lim, 'upper', 1e12)
        _plugin(m, 'gz-sim-thruster-system', namespace=name, joint_name=f'{t.name}_joint',
                thrust_coefficient=0.004, fluid_density=_f(rho), propeller_diameter=0.1,
                max_thrust_cmd=_f(t.max_thrust_n), min_thrust_cmd=_f(t.min_thrust_n))
    ma, dl, dq = np.diag(p.added_mass), p.damping_linear, p.damping_quadratic
    axes = [('x', 'U'), ('y', 'V'), ('z', 'W'), ('k', 'P'), ('m', 'Q'), ('n', 'R')]
    hyd = {'link_name': 'base_link', 'water_density': _f(rho)}
    for i, (f, v) in enumerate(axes):
        hyd[f'{f}Dot{v}'] = _f(-ma[i])
        hyd[f'{f}{v}'] = _f(-dl[i])
        hyd[f'{f}{v}abs{v}'] = _f(-dq[i])
    _plugin(m, 'gz-sim-hydrodynamics-system', **hyd)
    _plugin(m, 'gz-sim-odometry-publisher-system', odom_frame='map',
            robot_base_frame=f'{name}/base_link', odom_topic=f'/sim/{name}/odometry',
            dimensions=3, odom_publish_frequency=50)
    return m


def _sdf_root() -> ET.Element:
    ET.register_namespace('gz', GZ_NS)
    return ET.Element('sdf', version='1.9')


def _write(root: ET.Element, path: Path) -> None:
    ET.indent(root, space='  ')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0"?>\n' + ET.tostring(root, encoding='unicode') + '\n')


def world_sdf(world: World, vehicles: list[str]) -> ET.Element:
    root = _sdf_root()
    w = _sub(root, 'world', name=world.name)
    ph = _sub(w, 'physics', name='default', type='dart')
    _sub(ph, 'max_step_size', 0.002)
    _sub(ph, 'real_time_factor', 1.0)
    _sub(w, 'gravity', '0 0 -9.81')
    for plugin in ('gz-sim-physics-system', 'gz-sim-user-commands-system',
                   'gz-sim-scene-broadcaster-system', 'gz-sim-imu-system',
                   'gz-sim-navsat-system', 'gz-sim-dvl-system'):
        _plugin(w, plugin)
    _plugin(w, 'gz-sim-sensors-system', render_engine='ogre2')
    _plugin(w, 'gz-sim-buoyancy-system', uniform_fluid_density=_f(world.density_kg_m3))
    sc = _sub(w, 'spherical_coordinates')
    _sub(sc, 'surface_model', 'EARTH_WGS84')
    _sub(sc, 'world_frame_orientation', 'ENU')
    _sub(sc, 'latitude_deg', _f(world.datum.lat_deg))
    _sub(sc, 'longitude_deg', _f(world.datum.lon_deg))
    _sub(sc, 'elevation', 0)
    _sub(sc, 'heading_deg', 0)
    light = _sub(w, 'light', type='directional', name='sun')
    _sub(light, 'direction', '0.2 0.1 -1')
    _sub(light, 'diffuse', '0.8 0.8 0.8 1')
    # seabed: a thick static box whose top is the bathymetry plane (slopes from the YAML)
    b = world.bathymetry
    wst, sth, est, nth = world.scene_spec.extent_m
    sea = _sub(w, 'model', name='seabed')
    _sub(sea, 'static', 'true')
    pitch_x = math.atan(b.slope_east)      # depth grows east -> surface tilts down east
    pitch_y = math.atan(b.slope_north)
    _sub(sea, 'pose', _vec([0, 0, -b.depth_at_datum_m - 1.0, -pitch_y, pitch_x, 0]))
    link = _sub(sea, 'link', name='ground')
    for kind in ('collision', 'visual'):
        g = _sub(_sub(_sub(link, kind, name=f'seabed_{kind}'), 'geometry'), 'box')
        _sub(g, 'size', _vec([est - wst, nth - sth, 2.0]))
    tower = _sub(w, 'model', name='tower')
    _sub(tower, 'static', 'true')
    tl = _sub(tower, 'link', name='legs')
    for i, (lx, ly) in enumerate(world.legs_enu_m):
        zb = float(b.seabed_z(lx, ly))
        length = world.deck_height_m - zb
        for kind in ('collision', 'visual'):
            e = _sub(tl, kind, name=f'leg_{i}_{kind}')
            _sub(e, 'pose', _vec([lx, ly, zb + length / 2, 0, 0, 0]))
            cyl = _sub(_sub(e, 'geometry'), 'cylinder')
            _sub(cyl, 'radius', _f(world.leg_diameter_m / 2))
            _sub(cyl, 'length', _f(length))
    for name in vehicles:
        base = name.rstrip('0123456789')
        p = load_vehicle(base)
        e, n, depth, heading = world.start.get(name, world.start.get(base, (0, 0, 2, 0)))
        w.append(vehicle_model(p, name, (e, n, -depth, 0, 0, math.radians(90 - heading)),
                               world.density_kg_m3))
    return root


def bridge_config(world: World, vehicles: list[str]) -> list[dict]:
    """ros_gz_bridge YAML entries (parameter_bridge `config_file`)."""
    out = [{'ros_topic_name': '/clock', 'gz_topic_name': f'/world/{world.name}/clock',
            'ros_type_name': 'rosgraph_msgs/msg/Clock', 'gz_type_name': 'gz.msgs.Clock',
            'direction': 'GZ_TO_ROS'}]
    for name in vehicles:
        p = load_vehicle(name.rstrip('0123456789'))

        def add(topic, ros_type, gz_type, direction='GZ_TO_ROS', gz_topic=None):
            out.append({'ros_topic_name': topic, 'gz_topic_name': gz_topic or topic,
                        'ros_type_name': ros_type, 'gz_type_name': gz_type,
                        'direction': direction})
        if 'imu' in p.sensors:
            add(f'/{name}/imu/data', 'sensor_msgs/msg/Imu', 'gz.msgs.IMU')
        if 'gps' in p.sensors:
            add(f'/{name}/gps/fix', 'sensor_msgs/msg/NavSatFix', 'gz.msgs.NavSat')
        if p.camera is not None:
            add(f'/{name}/camera/image_raw', 'sensor_msgs/msg/Image', 'gz.msgs.Image')
            add(f'/{name}/camera/camera_info', 'sensor_msgs/msg/CameraInfo',
                'gz.msgs.CameraInfo')
        add(f'/sim/{name}/odometry', 'nav_msgs/msg/Odometry', 'gz.msgs.Odometry')
        for t in p.thrusters:
            # kaiyo's ThrusterCommand has no gz twin: one Float64 per thruster (N)
            add(f'/{name}/thrusters/{t.name}/cmd_thrust', 'std_msgs/msg/Float64',
                'gz.msgs.Double', 'ROS_TO_GZ',
                f'/model/{name}/joint/{t.name}_joint/cmd_thrust')
    return out


def export_gazebo(world: World, vehicles: list[str], out_dir: str | Path) -> list[Path]:
    """Write world.sdf, models/<vehicle>/model.sdf + model.config, bridge.yaml."""
    out = Path(out_dir)
    files = []
    path = out / f'{world.name}.sdf'
    _write(world_sdf(world, vehicles), path)
    files.append(path)
    for name in vehicles:
        base = name.rstrip('0123456789')
        root = _sdf_root()
        root.append(vehicle_model(load_vehicle(base), name, rho=world.density_kg_m3))
        mp = out / 'models' / name / 'model.sdf'
        _write(root, mp)
        files.append(mp)
        (mp.parent / 'model.config').write_text(
            '<?xml version="1.0"?>\n<model>\n'
            f'  <name>{name}</name>\n  <version>1.0</version>\n'
            '  <sdf version="1.9">model.sdf</sdf>\n'
            f'  <description>kaiyo {name}, generated from sim/vehicles/{base}.yaml</description>\n'
            '</model>\n')
    bridge = out / 'bridge.yaml'
    bridge.write_text('# ros_gz_bridge parameter_bridge config, generated by `kaiyo sim '
                      'export-gazebo`\n' + yaml.safe_dump(bridge_config(world, vehicles),
                                                          sort_keys=False))
    files.append(bridge)
    return files


def check_sdf_file(path: str | Path) -> list[str]:
    """kaiyo's own SDF checks: known plugin filenames with matching class names, and every
    joint/link a plugin names exists in its model. Returns problems (empty: fine)."""
    problems = []
    root = ET.parse(path).getroot()
    if root.get('version') != '1.9':
        problems.append(f'{path}: sdf version {root.get("version")!r}, expected 1.9')
    for model in root.iter('model'):
        joints = {j.get('name') for j in model.findall('joint')}
        links = {ln.get('name') for ln in model.findall('link')}
        for j in model.findall('joint'):
            for tag in ('parent', 'child'):
                ref = j.findtext(tag)
                if ref not in links and ref != 'world':
                    problems.append(f'{path}: joint {j.get("name")} {tag} {ref!r} is no link')
        for plug in model.findall('plugin'):
            jn = plug.findtext('joint_name')
            if jn is not None and jn not in joints:
                problems.append(f'{path}: model {model.get("name")}: plugin '
                                f'{plug.get("filename")} names joint {jn!r}, which does not exist')
            ln = plug.findtext('link_name')
            if ln is not None and ln not in links:
                problems.append(f'{path}: model {model.get("name")}: plugin '
                                f'{plug.get("filename")} names link {ln!r}, which does not exist')
    for plug in root.iter('plugin'):
        fn, cls = plug.get('filename'), plug.get('name')
        if fn not in KNOWN_PLUGINS:
            problems.append(f'{path}: unknown plugin filename {fn!r}')
        elif KNOWN_PLUGINS[fn] != cls:
            problems.append(f'{path}: plugin {fn} has name {cls!r}, expected {KNOWN_PLUGINS[fn]!r}')
    return problems
