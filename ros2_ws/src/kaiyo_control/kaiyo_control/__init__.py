"""Controllers, thruster allocation, control modes and teleoperation."""
