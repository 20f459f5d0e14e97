"""Health -> diagnostic_msgs/DiagnosticArray (the thin ROS side of kaiyo_drivers.health)."""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from kaiyo_drivers.health import Health


def diagnostic_array(stamp, name: str, hardware_id: str, health: Health) -> DiagnosticArray:
    arr = DiagnosticArray()
    arr.header.stamp = stamp
    st = DiagnosticStatus(level=bytes([health.level]), name=name, message=health.message,
                          hardware_id=hardware_id)
    st.values = [KeyValue(key=k, value=str(v)) for k, v in health.values.items()]
    arr.status = [st]
    return arr
