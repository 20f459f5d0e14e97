"""QoS profiles used across kaiyo (one place, so publishers and subscribers always match).

- SENSOR: best effort, keep last 5 — high-rate sensor streams where the newest sample wins.
- RELIABLE: reliable, keep last 10 — commands, setpoints, events, derived state.
- LATCHED: reliable + transient local, keep last 1 — slow state a late joiner must get
  (survey map, mission plan, camera_info, sea state).
- EVENTS: reliable + transient local, keep last 100 — safety events: nothing may be lost.
"""
from rclpy.qos import (
                       DurabilityPolicy,
                       HistoryPolicy,
                       QoSProfile,
                       ReliabilityPolicy,
                       qos_profile_sensor_data,
)

SENSOR = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                    reliability=ReliabilityPolicy.BEST_EFFORT,
                    durability=DurabilityPolicy.VOLATILE)
RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENTS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                    reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.TRANSIENT_LOCAL)

__all__ = ['SENSOR', 'RELIABLE', 'LATCHED', 'EVENTS', 'qos_profile_sensor_data']
