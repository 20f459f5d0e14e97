"""kaiyo_sim: embedded marine simulator (MuJoCo bodies, Fossen hydrodynamics, waves,
seabed scene, underwater camera, faults)."""
