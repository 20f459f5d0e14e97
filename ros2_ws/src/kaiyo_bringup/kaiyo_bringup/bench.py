"""Foundation figures for `make bench`: CDR serialisation of kaiyo's largest per-frame message
(SeabedObservation with urchin boxes and a footprint) beside a plain std_msgs/String of the
same encoded size, both measured in this run."""
from __future__ import annotations

from geometry_msgs.msg import Point32
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import String

from kaiyo_common.bench import Figure, time_call
from kaiyo_interfaces.msg import ImageBox, SeabedObservation


def _observation() -> SeabedObservation:
    obs = SeabedObservation(vehicle='hover_auv', urchin_count=20, cover_class='25-50')
    obs.urchins = [ImageBox(x=float(i), y=2.0, width=30.0, height=28.0, score=0.9)
                   for i in range(20)]
    obs.footprint = [Point32(x=float(i), y=1.0, z=-20.0) for i in range(4)]
    return obs


def run(quick: bool = False) -> list[Figure]:
    n = 2000 if quick else 20000
    obs = _observation()
    size = len(serialize_message(obs))
    plain = String(data='x' * (size - 8))

    def round_trip(msg, kind):
        def go():
            for _ in range(n):
                deserialize_message(serialize_message(msg), kind)
        return go

    t_obs = time_call(round_trip(obs, SeabedObservation), repeat=3)
    t_str = time_call(round_trip(plain, String), repeat=3)
    return [Figure('SeabedObservation CDR round trip', n / t_obs, 'msg/s',
                   f'std_msgs/String of the same size ({size} B)', n / t_str)]
