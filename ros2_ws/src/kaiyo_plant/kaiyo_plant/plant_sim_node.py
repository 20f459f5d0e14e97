"""ROS node: the plant simulator, served as a Modbus TCP server with the plant's register map.

The rudder-plant model (kaiyo_plant.plant_model) runs on the node clock (so `use_sim_time`
slows or speeds it with the rest of the simulation); after every step its readings are
encoded with the register map of `register_file` (the same hardware/plant.yaml the Modbus
driver decodes with) and served by kaiyo_drivers' Modbus peer. The true sea state of the
synthesised sea is published once, latched, on /sim/plant/sea_state for comparison with
the monitor's estimate. `generator_fault` can be set at run time to inject a generator trip.
"""
from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
from rclpy.node import Node

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_drivers.modbus_map import RegisterMapError, register_map_parameter
from kaiyo_drivers.peers.modbus_server import ModbusPeer
from kaiyo_interfaces.msg import SeaState
from kaiyo_plant.plant_model import PlantConfig, PlantModelError, RudderPlant
from kaiyo_plant.spectra import Spectrum, sea_state_from_spectrum
from kaiyo_plant.waves import WaveComponents, WaveInputError

# Descriptions (with units) of the model parameters, one ROS parameter per PlantConfig field.
PLANT_DOC = {
    'water_depth_m': 'Water depth at the chamber mouth, m',
    'plate_width_m': 'Rudder plate width (device width), m',
    'plate_depth_m': 'Submerged depth of the rudder plate, m',
    'hinge_height_m': 'Hinge height above mean water level, m',
    'excitation_efficiency': 'Diffraction / 3-D loss factor on the excitation moment, 0..1',
    'inertia_kgm2': 'Plate inertia about the hinge incl. added inertia, kg m^2',
    'restoring_nm_per_rad': 'Gravity restoring moment of the pendulum, N m/rad',
    'design_period_s': 'Wave period the plant is tuned to (radiation damping, PTO), s',
    'pto_damping_nms': 'PTO damping, N m s/rad (0: optimal at the design period)',
    'gear_ratio': 'Generator speed / plate angular speed, -',
    'gearbox_efficiency': 'Rectifying gearbox and one-way clutch efficiency, 0..1',
    'flywheel_time_constant_s': 'Flywheel smoothing time constant, s',
    'generator_efficiency': 'Generator efficiency at load, 0..1',
    'no_load_loss_kw': 'Iron and friction loss at rated speed, kW',
    'rated_speed_rpm': 'Generator rated speed, rpm',
    'max_current_a': 'Converter current limit, A',
    'rated_voltage_v': 'Line voltage at rated speed, V',
    'power_factor': 'Power factor of the grid converter, 0..1',
    'cut_in_rpm': 'Generator speed above which the plant delivers power, rpm',
    'power_limit_kw': 'Output power limit (excess to the dump resistor), kW',
    'thermal_resistance_k_per_kw': 'Winding temperature rise per kW of loss, K/kW',
    'thermal_time_constant_s': 'Winding thermal time constant, s',
    'ambient_temperature_c': 'Ambient (machine room) temperature, degC',
    'max_angle_deg': 'End-stop angle of the rudder plate, deg',
}
_DEFAULTS = PlantConfig()
PLANT_SPECS = [ParamSpec(f.name, 'float', PLANT_DOC[f.name], float(getattr(_DEFAULTS, f.name)),
                         min_value=(-50.0 if f.name == 'ambient_temperature_c' else 0.0))
               for f in fields(PlantConfig)]

SPECS = [
    ParamSpec('register_file', 'str', 'Hardware YAML with the plant register map; relative '
              'paths are from the repository root', 'hardware/plant.yaml'),
    ParamSpec('device', 'str', 'Register map name in register_file (device: key)', 'plant'),
    ParamSpec('host', 'str', 'Address the Modbus TCP server listens on', '127.0.0.1'),
    ParamSpec('port', 'int', 'Modbus TCP port to serve on', 5020, min_value=1,
              max_value=65535),
    ParamSpec('unit_id', 'int', 'Modbus unit (slave) id served', 1, min_value=0,
              max_value=247),
    ParamSpec('hs_m', 'float', 'Significant wave height of the JONSWAP sea, m', 1.0,
              min_value=0.05, max_value=15.0),
    ParamSpec('tp_s', 'float', 'Peak period of the JONSWAP sea, s', 8.0, min_value=2.0,
              max_value=25.0),
    ParamSpec('gamma', 'float', 'JONSWAP peak enhancement factor, -', 3.3, min_value=1.0,
              max_value=10.0),
    ParamSpec('seed', 'int', 'Random seed of the wave phases (and amplitudes)', 0,
              min_value=0),
    ParamSpec('random_amplitudes', 'bool', 'Rayleigh-distributed component amplitudes (a '
              'Gaussian sea); false: exact target spectrum', True),
    ParamSpec('repeat_period_s', 'float', 'The synthesised sea repeats after this long, s',
              3600.0, min_value=600.0, max_value=86400.0),
    ParamSpec('update_rate_hz', 'float', 'Model steps (and register refreshes) per second, Hz',
              10.0, min_value=1.0, max_value=100.0),
    ParamSpec('energy_total_kwh', 'float', 'Energy counter at start-up, kWh', 0.0,
              min_value=0.0),
    ParamSpec('generator_fault', 'bool', 'Inject a generator trip (settable at run time)',
              False),
    ParamSpec('sea_state_topic', 'str', 'Where the true sea state is published (latched)',
              '/sim/plant/sea_state'),
] + PLANT_SPECS


class PlantSimNode(Node):
    def __init__(self, **kwargs):
        super().__init__('plant_sim', **kwargs)
        self.params = declare_contract(self, SPECS, on_change=self.on_param_change)
        p = self.params
        self.rmap = register_map_parameter(p.register_file, p.device)
        try:
            cfg = PlantConfig(**{s.name: getattr(p, s.name) for s in PLANT_SPECS})
            waves = WaveComponents.from_jonswap(
                p.hs_m, p.tp_s, p.gamma, seed=p.seed, duration_s=p.repeat_period_s,
                f_max_hz=0.6, random_amplitudes=p.random_amplitudes)
        except (PlantModelError, WaveInputError) as err:
            raise ParameterContractError('plant model', None, str(err)) from err
        self.model = RudderPlant(waves, cfg, p.energy_total_kwh)
        self.model.fault = p.generator_fault
        self.encode_errors = 0
        self.peer = ModbusPeer(self.rmap, 'tcp', host=p.host, port=p.port, unit_id=p.unit_id)
        self.peer.set_values(self._served(self.model.readings()))
        try:
            self.peer.start()
        except (OSError, TimeoutError, RuntimeError) as err:   # pymodbus: RuntimeError
            raise ParameterContractError('port', p.port, f'cannot serve Modbus TCP on '
                                         f'{p.host}:{p.port}: {err}') from err
        self.truth_pub = self.create_publisher(SeaState, p.sea_state_topic, qos.LATCHED)
        self.truth_pub.publish(self._truth(waves, cfg))
        self._last_t = self._now()
        self.create_timer(1.0 / p.update_rate_hz, self.on_step)
        self.get_logger().info(
            f'plant simulator: Hs {p.hs_m} m, Tp {p.tp_s} s; Modbus TCP on {p.host}:{p.port} '
            f'unit {p.unit_id} ({len(self.rmap)} registers from {self.rmap.source})')

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _served(self, readings: dict) -> dict:
        """Only the registers the map has (a PLC map may omit some model outputs)."""
        return {k: v for k, v in readings.items() if k in self.rmap.names}

    def on_step(self) -> None:
        now = self._now()
        dt = now - self._last_t
        self._last_t = now
        if dt <= 0:
            return
        # After a long stall (debugger, suspended laptop) do not integrate minutes at once.
        self.model.step(min(dt, 1.0))
        try:
            self.peer.set_values(self._served(self.model.readings()))
        except RegisterMapError as err:
            self.encode_errors += 1
            self.get_logger().error(f'cannot encode plant readings: {err}',
                                    throttle_duration_sec=10.0)

    def on_param_change(self, name: str, value) -> None:
        if name == 'generator_fault':
            self.model.fault = bool(value)
            self.get_logger().warn(f'generator fault {"injected" if value else "cleared"}')

    def _truth(self, waves: WaveComponents, cfg: PlantConfig) -> SeaState:
        df = float(np.min(np.diff(waves.freqs_hz))) if waves.freqs_hz.size > 1 else 1.0
        spec = Spectrum(waves.freqs_hz, waves.amplitudes_m ** 2 / (2 * df), df, 0)
        est = sea_state_from_spectrum(spec, cfg.water_depth_m, f_min_hz=0.0)
        msg = SeaState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.source = 'sim'
        msg.hs_m, msg.tp_s, msg.te_s, msg.tz_s = (est.hs_m, self.params.tp_s, est.te_s,
                                                   est.tz_s)
        msg.mean_direction_deg = math.nan
        msg.energy_flux_kw_per_m = est.energy_flux_kw_per_m
        msg.water_depth_m = cfg.water_depth_m
        msg.record_duration_s = self.params.repeat_period_s
        return msg

    def shutdown(self) -> None:
        self.peer.stop()


def main(args=None):
    run_node(PlantSimNode, args)
