"""Install kaiyo_bringup (ament_python). Entry points:

- console_scripts: ROS nodes, run as `ros2 run kaiyo_bringup <name>` or from a bringup YAML;
- kaiyo.cli: `register(subparsers)` functions adding `kaiyo <command>` subcommands;
- kaiyo.bench: `run(quick: bool) -> list[kaiyo_common.bench.Figure]` for `make bench`.
"""
from glob import glob

from setuptools import find_packages, setup

package_name = 'kaiyo_bringup'

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
            'kaiyo = kaiyo_bringup.cli:main',
            'heartbeat = kaiyo_bringup.heartbeat_node:main',
            'container = kaiyo_bringup.container:main',
        ],
        # node factories a `container` process can host (kaiyo_bringup.container)
        'kaiyo.nodes': [
            'heartbeat = kaiyo_bringup.heartbeat_node:HeartbeatNode',
        ],
        'kaiyo.cli': [
            'doctor = kaiyo_bringup.doctor:register',
            'bringup = kaiyo_bringup.commands:register_bringup',
            'bench = kaiyo_bringup.commands:register_bench',
            'demo = kaiyo_bringup.demo:register',
        ],
        'kaiyo.bench': [
            'foundation = kaiyo_bringup.bench:run',
        ],
    },
)
