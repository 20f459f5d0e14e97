"""The controller's parameter contract (pure: ParamSpec only) and its ControlConfig.

One list of specs serves the ROS node (`declare_contract`) and the offline evaluation
(`config_from_file` reads the same config/<vehicle>.yaml the node is started with), so the
gains that pass `kaiyo eval control` are the gains that go to sea.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import yaml

from kaiyo_common.params import ParameterContractError, ParamSpec, validate_all

_POS = dict(min_value=0.0)

SPECS = [
    ParamSpec('vehicle', 'str', 'Vehicle name (sim/vehicles/<name>.yaml) or path to its YAML',
              read_only=True),
    ParamSpec('rate_hz', 'float', 'Control loop rate, Hz', 50.0, min_value=1.0, max_value=500.0,
              read_only=True),
    ParamSpec('odometry_timeout_s', 'float', 'Odometry older than this stops closed-loop '
              'control (zero thrust), s', 0.5, min_value=0.05, max_value=10.0),
    ParamSpec('pilot_timeout_s', 'float', 'Pilot command older than this counts as sticks '
              'released (manual: zero thrust), s', 0.5, min_value=0.05, max_value=10.0),
    ParamSpec('altitude_timeout_s', 'float', 'Altitude older than this: altitude hold falls '
              'back to holding depth, s', 1.0, min_value=0.05, max_value=10.0),
    ParamSpec('water_density_kg_m3', 'float', 'Sea-water density for the buoyancy '
              'feed-forward, kg/m^3', 1025.0, min_value=990.0, max_value=1050.0),
    ParamSpec('use_feed_forward', 'bool', 'Feed forward net buoyancy and the reference '
              'model (inertia, damping) from the vehicle YAML', True),
    # depth
    ParamSpec('depth_kp', 'float', 'Depth P gain, N/m', 120.0, **_POS),
    ParamSpec('depth_ki', 'float', 'Depth I gain, N/(m s)', 15.0, **_POS),
    ParamSpec('depth_kd', 'float', 'Depth D gain on depth-rate error, N/(m/s)', 250.0, **_POS),
    ParamSpec('depth_i_limit_n', 'float', 'Largest depth integral force, N', 40.0, **_POS),
    ParamSpec('depth_out_limit_n', 'float', 'Largest depth feedback force, N', 150.0,
              min_value=1.0),
    ParamSpec('depth_ref_bandwidth_rps', 'float', 'Depth reference model bandwidth, rad/s',
              0.8, min_value=0.01, max_value=10.0),
    ParamSpec('depth_max_rate_mps', 'float', 'Largest planned climb/dive rate, m/s', 0.3,
              min_value=0.01, max_value=3.0),
    ParamSpec('depth_max_accel_mps2', 'float', 'Largest planned vertical acceleration, m/s^2',
              0.15, min_value=0.01, max_value=5.0),
    # heading
    ParamSpec('heading_kp', 'float', 'Heading P gain, N m/rad', 30.0, **_POS),
    ParamSpec('heading_ki', 'float', 'Heading I gain, N m/(rad s)', 3.0, **_POS),
    ParamSpec('heading_kd', 'float', 'Heading D gain on yaw-rate error, N m/(rad/s)', 50.0,
              **_POS),
    ParamSpec('heading_i_limit_nm', 'float', 'Largest heading integral moment, N m', 8.0, **_POS),
    ParamSpec('heading_out_limit_nm', 'float', 'Largest heading feedback moment, N m', 40.0,
              min_value=0.01),
    ParamSpec('heading_ref_bandwidth_rps', 'float', 'Heading reference bandwidth, rad/s', 1.0,
              min_value=0.01, max_value=10.0),
    ParamSpec('heading_max_rate_rps', 'float', 'Largest planned turn rate, rad/s', 0.25,
              min_value=0.01, max_value=3.0),
    ParamSpec('heading_max_accel_rps2', 'float', 'Largest planned yaw acceleration, rad/s^2',
              0.1, min_value=0.001, max_value=10.0),
    ParamSpec('heading_max_error_rad', 'float', 'Largest lead of the heading reference over '
              'the measured heading, rad (keeps a lagging vehicle turning the short way)', 0.8,
              min_value=0.05, max_value=3.0),
    # speed
    ParamSpec('surge_kp', 'float', 'Surge speed P gain, N/(m/s)', 100.0, **_POS),
    ParamSpec('surge_ki', 'float', 'Surge speed I gain, N/m', 20.0, **_POS),
    ParamSpec('sway_kp', 'float', 'Sway speed P gain, N/(m/s)', 100.0, **_POS),
    ParamSpec('sway_ki', 'float', 'Sway speed I gain, N/m', 20.0, **_POS),
    ParamSpec('speed_i_limit_n', 'float', 'Largest speed integral force, N', 30.0, **_POS),
    ParamSpec('speed_out_limit_n', 'float', 'Largest speed feedback force, N', 120.0,
              min_value=0.01),
    # station keeping
    ParamSpec('position_kp', 'float', 'Station keeping P gain, N/m', 30.0, **_POS),
    ParamSpec('position_ki', 'float', 'Station keeping I gain, N/(m s)', 2.0, **_POS),
    ParamSpec('position_kd', 'float', 'Station keeping D gain, N/(m/s)', 120.0, **_POS),
    ParamSpec('position_i_limit_n', 'float', 'Largest station keeping integral force, N', 30.0,
              **_POS),
    ParamSpec('position_out_limit_n', 'float', 'Largest station keeping force, N', 60.0,
              min_value=0.01),
    ParamSpec('station_speed_mps', 'float', 'Non-hovering vehicles: speed when going back to '
              'the station point, m/s', 0.3, min_value=0.0, max_value=3.0),
    # altitude
    ParamSpec('altitude_min_m', 'float', 'Never hold closer to the seabed than this, m', 0.5,
              min_value=0.0, max_value=50.0),
    ParamSpec('seabed_filter_s', 'float', 'Time constant of the seabed-depth tracker used by '
              'altitude hold, s', 1.0, min_value=0.05, max_value=30.0),
    # LOS
    ParamSpec('los_lookahead_m', 'float', 'LOS lookahead distance, m', 10.0, min_value=0.5,
              max_value=500.0),
    ParamSpec('los_integral_gain', 'float', 'Integral LOS gain (drift compensation), '
              'dimensionless; 0 = plain LOS', 0.3, min_value=0.0, max_value=5.0),
    ParamSpec('los_acceptance_radius_m', 'float', 'Leg done this close to its end, m', 3.0,
              min_value=0.1, max_value=100.0),
    ParamSpec('cruise_speed_mps', 'float', 'Path / return speed when no surge setpoint is '
              'given, m/s (0: the vehicle YAML nominal speed)', 0.0, min_value=0.0,
              max_value=3.0),
    ParamSpec('surface_depth_m', 'float', 'Shallower than this counts as at the surface, m',
              0.5, min_value=0.05, max_value=5.0),
    # rudder (surface vessels with a rudder)
    ParamSpec('rudder_kp_deg_per_rad', 'float', 'Rudder heading P gain, deg/rad', 40.0, **_POS),
    ParamSpec('rudder_ki_deg_per_rad_s', 'float', 'Rudder heading I gain, deg/(rad s)', 2.0,
              **_POS),
    ParamSpec('rudder_kd_deg_per_rps', 'float', 'Rudder yaw-rate D gain, deg/(rad/s)', 60.0,
              **_POS),
    ParamSpec('rudder_design_speed_mps', 'float', 'Speed through the water the rudder gains '
              'are tuned for (gain-scheduled by (design/speed)^2), m/s', 0.4, min_value=0.05,
              max_value=5.0),
    ParamSpec('rudder_i_limit_deg', 'float', 'Largest rudder integral angle, deg', 10.0, **_POS),
    # pilot
    ParamSpec('pilot_max_force_n', 'float[]', 'Full-stick force surge, sway, heave, N',
              [40.0, 30.0, 40.0], min_value=0.0, min_length=3),
    ParamSpec('pilot_max_yaw_nm', 'float', 'Full-stick yaw moment (manual), N m', 10.0, **_POS),
    ParamSpec('pilot_climb_rate_mps', 'float', 'Full-stick climb rate (stabilized), m/s', 0.3,
              min_value=0.0, max_value=3.0),
    ParamSpec('pilot_yaw_rate_rps', 'float', 'Full-stick turn rate (stabilized), rad/s', 0.4,
              min_value=0.0, max_value=3.0),
    ParamSpec('pilot_deadband', 'float', 'Stick deflection treated as zero, fraction', 0.05,
              min_value=0.0, max_value=0.5),
    ParamSpec('thruster_weights', 'float[]', 'Allocation weight per thruster (YAML order; '
              'larger spares it); empty = all 1', [], min_value=0.001),
]

SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass
class ControlConfig:
    """Validated parameter values (attribute per spec)."""

    values: SimpleNamespace

    def __getattr__(self, name):
        try:
            return getattr(self.__dict__['values'], name)
        except AttributeError:
            raise AttributeError(f'ControlConfig has no parameter {name!r}') from None


def config_from_values(values: dict) -> ControlConfig:
    """Validate a flat {name: value} mapping against SPECS (defaults filled in)."""
    return ControlConfig(SimpleNamespace(**validate_all(SPECS, values)))


def config_from_namespace(ns: SimpleNamespace) -> ControlConfig:
    return ControlConfig(ns)


def load_params_file(path: str | Path, node_name: str = 'controller') -> dict:
    """The controller's values from a ROS params file (`/**:` and `<ns>/<node_name>:` keys)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ParameterContractError('params_file', str(path), f'cannot read: {err}') from None
    if not isinstance(data, dict):
        raise ParameterContractError('params_file', str(path), 'must be a mapping')
    out: dict = {}
    for key, block in data.items():
        if not isinstance(block, dict) or 'ros__parameters' not in block:
            continue
        k = str(key)
        if k in ('/**', '**') or k.split('/')[-1] == node_name:
            out.update(block['ros__parameters'] or {})
    return out


def config_from_file(path: str | Path, **overrides) -> ControlConfig:
    values = load_params_file(path)
    values.update(overrides)
    return config_from_values(values)
