"""Bringup YAML loader, process supervisor and the kaiyo command-line front."""
