"""ros2msg schema text: full dependency closure, decodable by mcap-ros2-support."""
import pytest
from mcap.records import Schema
from mcap_ros2.decoder import DecoderFactory
from rclpy.serialization import serialize_message

from kaiyo_common.mcap_schema import (
    SEPARATOR,
    MsgSchemaError,
    field_types,
    full_type_name,
    schema_text,
    split_type,
    type_name_of,
)


def _decode(msg):
    name = type_name_of(msg)
    schema = Schema(id=1, name=name, encoding='ros2msg', data=schema_text(name).encode())
    decoder = DecoderFactory().decoder_for('cdr', schema)
    return decoder(serialize_message(msg))


def test_image_schema_has_every_dependency_once():
    text = schema_text('sensor_msgs/msg/Image')
    assert text.startswith('# This message contains an uncompressed image')
    assert f'{SEPARATOR}\nMSG: std_msgs/Header\n' in text
    assert f'{SEPARATOR}\nMSG: builtin_interfaces/Time\n' in text
    assert text.count('MSG: ') == 2
    # Header comes before Time (depth-first, order of appearance)
    assert text.index('MSG: std_msgs/Header') < text.index('MSG: builtin_interfaces/Time')


def test_short_and_full_names_give_the_same_text():
    assert schema_text('nav_msgs/Odometry') == schema_text('nav_msgs/msg/Odometry')
    assert full_type_name('nav_msgs/Odometry') == 'nav_msgs/msg/Odometry'


def test_field_types_skip_constants_primitives_and_resolve_local_and_header():
    text = ('uint8 MODE_A=1  # constant\nstring NAME = "x=y"\nHeader header\n'
            'float32[<=4] a\nstring<=8 s\nImageBox[] boxes\ngeometry_msgs/Point32[3] p\n'
            'int32 with_default 5\n')
    assert field_types(text, 'kaiyo_interfaces') == [
        'std_msgs/Header', 'kaiyo_interfaces/ImageBox', 'geometry_msgs/Point32']


@pytest.mark.parametrize('bad', ['Image', 'sensor_msgs/srv/Image', 'a/b/c/d', 'sensor msgs/Image',
                                 ''])
def test_malformed_names_are_refused(bad):
    with pytest.raises(MsgSchemaError, match='must look like'):
        split_type(bad)


def test_unknown_type_names_the_search_path():
    with pytest.raises(MsgSchemaError, match='no sensor_msgs/msg/NoSuchThing.msg under share/'):
        schema_text('sensor_msgs/msg/NoSuchThing')


def test_type_name_of_rejects_non_messages():
    with pytest.raises(MsgSchemaError):
        type_name_of(dict)


def test_standard_and_kaiyo_types_decode_from_the_schema_text():
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import Point32
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo, NavSatFix

    from kaiyo_interfaces.msg import ImageBox, SeabedObservation, SurveyMap

    odo = Odometry()
    odo.header.stamp.sec = 12
    odo.pose.pose.position.x = 3.5
    odo.twist.covariance[35] = 0.25
    assert _decode(odo).pose.pose.position.x == 3.5
    info = CameraInfo(width=640, height=480, distortion_model='plumb_bob', d=[0.1, 0.0])
    assert _decode(info).width == 640
    assert _decode(NavSatFix(latitude=35.3)).latitude == 35.3
    diag = DiagnosticArray(status=[
        DiagnosticStatus(name='dvl', values=[KeyValue(key='k', value='v')])])
    assert _decode(diag).status[0].values[0].value == 'v'

    obs = SeabedObservation(vehicle='hover_auv', cover_class='25-50', urchin_count=2)
    obs.footprint = [Point32(x=1.0, y=2.0, z=-20.0)]
    obs.urchins = [ImageBox(x=5.0, width=10.0, score=0.5)]
    obs.cover[2] = 0.25
    obs.quality.reason = 'blur'
    got = _decode(obs)
    assert got.vehicle == 'hover_auv' and got.urchins[0].width == 10.0
    assert got.footprint[0].y == 2.0 and abs(got.cover[2] - 0.25) < 1e-6
    assert got.quality.reason == 'blur'
    grid = SurveyMap(width=2, height=1, frame_count=[1, 0], isoyake_index=[0.5, float('nan')])
    assert list(_decode(grid).frame_count) == [1, 0]
