"""kaiyo device drivers: pure protocol cores (NMEA, KTP thruster protocol, DVL-A50 JSON,
ArduSub MAVLink state, ASCII sensors, Modbus register maps, camera calibration), thin ROS
nodes around them, and real protocol peers for tests and bench work."""
