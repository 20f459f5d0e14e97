"""Device drivers of kaiyo: NMEA GNSS, MAVLink, thruster serial protocol, DVL, pressure, IMU, camera, Modbus."""
