"""Device peers: small programs that speak a device's real protocol over a real PTY or socket.

Used by the tests (and usable at the bench without hardware): a Modbus server serving a
register map, a thruster controller on a serial line, a DVL-A50 TCP server, an ArduSub
MAVLink autopilot. They are protocol implementations, not mocks of kaiyo's own code.
"""
