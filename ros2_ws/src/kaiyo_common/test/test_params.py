import pytest

from kaiyo_common.params import ParameterContractError, ParamSpec, describe, validate, validate_all

RATE = ParamSpec('rate_hz', 'float', 'Publish rate, Hz', 10.0, min_value=0.1, max_value=100.0)
PORT = ParamSpec('port', 'str', 'Serial device path')
BAUD = ParamSpec('baud', 'int', 'Baud rate, bit/s', 9600, choices=(4800, 9600, 115200))
GAINS = ParamSpec('gains', 'float[]', 'PID gains kp, ki, kd', [1.0, 0.0, 0.0], min_length=3)


def test_valid_values_are_normalised():
    assert validate(RATE, 5) == 5.0 and isinstance(validate(RATE, 5), float)
    assert validate(GAINS, [1, 2, 3]) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize('spec, value, rule', [
    (RATE, 0.0, 'must be >= 0.1'), (RATE, 1e3, 'must be <= 100.0'), (RATE, 'fast', 'a number'),
    (RATE, True, 'a number'), (RATE, float('nan'), 'finite'), (BAUD, 1200, 'one of 4800'),
    (BAUD, 9600.0, 'an integer'), (PORT, 3, 'a string'), (GAINS, [1.0], 'at least 3'),
    (GAINS, 1.0, 'a list'),
])
def test_violations_name_parameter_value_and_rule(spec, value, rule):
    with pytest.raises(ParameterContractError) as e:
        validate(spec, value)
    assert e.value.name == spec.name and rule in str(e.value)
    assert str(e.value).startswith(f"parameter '{spec.name}' = {value!r}")


def test_validate_all_required_unknown_defaults():
    specs = [RATE, PORT, BAUD]
    assert validate_all(specs, {'port': '/dev/ttyUSB0'}) == {
        'rate_hz': 10.0, 'port': '/dev/ttyUSB0', 'baud': 9600}
    with pytest.raises(ParameterContractError, match="'port' = None: is required"):
        validate_all(specs, {})
    with pytest.raises(ParameterContractError, match='unknown parameter'):
        validate_all(specs, {'port': 'x', 'rate': 3})


def test_bad_specs_are_rejected_at_definition():
    with pytest.raises(ValueError, match='unknown type'):
        ParamSpec('x', 'double', 'x, m')
    with pytest.raises(ValueError, match='description'):
        ParamSpec('x', 'float', '')
    with pytest.raises(ParameterContractError):
        ParamSpec('x', 'float', 'x, m', -1.0, min_value=0.0)


def test_describe_lists_units_and_bounds():
    text = describe([RATE, PORT])
    assert 'rate_hz (float, default 10.0) [>= 0.1; <= 100.0]: Publish rate, Hz' in text
    assert 'port (str, required)' in text
