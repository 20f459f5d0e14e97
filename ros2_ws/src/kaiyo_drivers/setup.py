"""Install kaiyo_drivers (ament_python). Entry points:

- console_scripts: ROS nodes, run as `ros2 run kaiyo_drivers <name>` or from a bringup YAML;
- kaiyo.cli: `register(subparsers)` functions adding `kaiyo <command>` subcommands;
- kaiyo.bench: `run(quick: bool) -> list[kaiyo_common.bench.Figure]` for `make bench`.
"""
from glob import glob

from setuptools import find_packages, setup

package_name = 'kaiyo_drivers'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/config', glob('config/*')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='kaiyo developers',
    maintainer_email='kaiyo@example.org',
    description=open('package.xml').read().split('<description>')[1].split('</description>')[0],
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'modbus_driver = kaiyo_drivers.modbus_node:main',
            'nmea_driver = kaiyo_drivers.nmea_node:main',
            'mavlink_bridge = kaiyo_drivers.mavlink_node:main',
            'thruster_driver = kaiyo_drivers.thruster_node:main',
            'dvl_driver = kaiyo_drivers.dvl_node:main',
            'serial_sensor_driver = kaiyo_drivers.serial_sensor_node:main',
            'camera_driver = kaiyo_drivers.camera_node:main',
            'ardusub_peer = kaiyo_drivers.peers.ardusub:main',
            'thruster_controller_peer = kaiyo_drivers.peers.thruster_controller:main',
        ],
        # node factories a `container` process can host (kaiyo_bringup.container)
        'kaiyo.nodes': [
            'modbus_driver = kaiyo_drivers.modbus_node:ModbusNode',
        ],
        'kaiyo.cli': [
            'nmea = kaiyo_drivers.cli:register',
        ],
        'kaiyo.bench': [
            'drivers = kaiyo_drivers.bench:run',
        ],
    },
)
