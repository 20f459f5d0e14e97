"""Mission files, validation, survey planning, mission executor and safety supervisor."""
