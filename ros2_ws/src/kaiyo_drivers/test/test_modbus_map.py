"""Tier 1: register maps from YAML, encode/decode round trips, errors that say where."""
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kaiyo_common.paths import data_path
from kaiyo_drivers.modbus_map import RegisterMapError, load_register_map, parse_register_map

PLANT = data_path('hardware', 'plant.yaml')
REQUIRED = ['generator_speed_rpm', 'generator_voltage_v', 'generator_current_a', 'power_kw',
            'rudder_angle_deg', 'generator_temperature_c', 'breaker_closed', 'generator_state',
            'wave_elevation_m', 'energy_total_kwh']


def doc(regs, **settings):
    return {'/x/modbus': {'ros__parameters': {'device': 'x', **settings, 'registers': regs}}}


def test_plant_map_has_the_contract_registers():
    m = load_register_map(PLANT, 'plant')
    assert set(REQUIRED) <= set(m.names)
    assert m.settings.transport == 'tcp' and m.settings.unit_id == 1
    assert m['power_kw'].unit == 'kW' and m['breaker_closed'].table == 'discrete'


@pytest.mark.parametrize('device', ['wave_gauge', 'weather'])
def test_tower_maps_load(device):
    m = load_register_map(data_path('hardware', 'tower.yaml'), device)
    assert len(m) >= 3


def test_float32_and_word_order():
    m = parse_register_map(doc({
        'a': {'address': 0, 'table': 'holding', 'type': 'float32', 'word_order': 'big'},
        'b': {'address': 2, 'table': 'holding', 'type': 'float32', 'word_order': 'little'}}),
        'x')
    assert m.encode('a', 10.0) == [0x4120, 0x0000]
    assert m.encode('b', 10.0) == [0x0000, 0x4120]
    assert m.decode('b', [0x0000, 0x4120]) == 10.0


def test_scale_offset_and_signed():
    m = parse_register_map(doc({'t': {'address': 3, 'table': 'input', 'type': 'int16',
                                      'scale': 0.1, 'offset': -40.0, 'unit': 'degC'}}), 'x')
    assert m.encode('t', -45.5) == [(-55) & 0xFFFF]
    assert m.decode('t', [0xFFC9]) == pytest.approx(-45.5)


def test_encode_out_of_range_names_register():
    m = load_register_map(PLANT, 'plant')
    with pytest.raises(RegisterMapError, match="generator_speed_rpm.*outside uint16"):
        m.encode('generator_speed_rpm', 1e6)
    with pytest.raises(RegisterMapError, match="no register 'nope'"):
        m.encode('nope', 1.0)


def test_read_blocks_group_and_decode():
    m = load_register_map(PLANT, 'plant')
    tables = m.encode_tables({n: 1.0 for n in m.names})
    for block in m.read_blocks():
        words = [tables[block.table].get(a, 0) for a in range(block.start,
                                                              block.start + block.count)]
        out = m.decode_block(block, words)
        assert all(v == pytest.approx(1.0) for v in out.values())
    assert len(m.read_blocks()) == 3   # one request per table in use


@pytest.mark.parametrize('regs, match', [
    ({'a': {'address': 0, 'table': 'holdin'}}, "register 'a': table 'holdin'"),
    ({'a': {'address': 0, 'table': 'input', 'type': 'float64'}}, "type 'float64'"),
    ({'a': {'address': -1, 'table': 'input'}}, 'address -1'),
    ({'a': {'address': 0, 'table': 'input', 'scale': 0}}, "'scale' must not be 0"),
    ({'a': {'table': 'input'}}, "'address' is required"),
    ({'a': {'address': 0, 'table': 'input', 'typ': 'int16'}}, "unknown field 'typ'"),
    ({'a': {'address': 0, 'table': 'coil', 'type': 'uint16'}}, 'does not fit table'),
    ({'a': {'address': 0, 'table': 'input', 'type': 'uint32'},
      'b': {'address': 1, 'table': 'input'}}, "'b': input address 1 overlaps register 'a'"),
])
def test_bad_maps_say_where(regs, match):
    with pytest.raises(RegisterMapError, match=match):
        parse_register_map(doc(regs), 'x', 'f.yaml')


def test_bad_settings_and_missing_device(tmp_path):
    with pytest.raises(RegisterMapError, match='transport rtu needs'):
        parse_register_map(doc({'a': {'address': 0, 'table': 'input'}}, transport='rtu'), 'x')
    with pytest.raises(RegisterMapError, match="no block with 'device: plant'.*x"):
        parse_register_map(doc({'a': {'address': 0, 'table': 'input'}}), 'plant')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('a: [1, 2\n')
    with pytest.raises(RegisterMapError, match=f'{bad}: not valid YAML'):
        load_register_map(bad, 'x')
    with pytest.raises(RegisterMapError, match='cannot read'):
        load_register_map(tmp_path / 'missing.yaml', 'x')


def test_hardware_file_is_a_valid_ros_params_file():
    # rcl refuses sequences as keys etc.; nested mappings are fine: check the shape here
    text = yaml.safe_load(PLANT.read_text())
    params = text['/plant/modbus']['ros__parameters']
    assert all(isinstance(v, dict) for v in params['registers'].values())


types = st.sampled_from(['uint16', 'int16', 'uint32', 'int32', 'float32'])


@settings(max_examples=200, deadline=None)
@given(typ=types, order=st.sampled_from(['big', 'little']),
       scale=st.sampled_from([0.001, 0.1, 1.0, 10.0]), offset=st.sampled_from([0.0, -40.0]),
       words=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2))
def test_decode_encode_roundtrip_any_words(typ, order, scale, offset, words):
    m = parse_register_map(doc({'r': {'address': 0, 'table': 'holding', 'type': typ,
                                      'word_order': order, 'scale': scale,
                                      'offset': offset}}), 'x')
    w = words[:m['r'].count]
    value = m.decode('r', w)
    if typ == 'float32' and not math.isfinite(value):
        return
    again = m.encode('r', value)
    assert m.decode('r', again) == pytest.approx(value, rel=1e-6, abs=scale)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c,
                                                                         max_size=3),
                    max_leaves=12))
def test_parse_never_crashes_on_junk(junk):
    try:
        parse_register_map(doc(junk), 'x')
    except RegisterMapError:
        pass
