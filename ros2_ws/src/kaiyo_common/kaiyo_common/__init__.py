"""Shared pure helpers of kaiyo: site datum and geodesy, frames, parameter contracts,
QoS profiles, MCAP schema text."""
