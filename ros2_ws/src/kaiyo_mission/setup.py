"""Install kaiyo_mission (ament_python). Entry points:

- console_scripts: ROS nodes, run as `ros2 run kaiyo_mission <name>` or from a bringup YAML;
- kaiyo.cli: `register(subparsers)` functions adding `kaiyo <command>` subcommands;
- kaiyo.bench: `run(quick: bool) -> list[kaiyo_common.bench.Figure]` for `make bench`.
"""
from glob import glob

from setuptools import find_packages, setup

package_name = 'kaiyo_mission'

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
            'mission_executor = kaiyo_mission.executor_node:main',
            'safety_supervisor = kaiyo_mission.supervisor_node:main',
        ],
        # node factories a `container` process can host (kaiyo_bringup.container)
        'kaiyo.nodes': [
            # not mission_executor: its action callback awaits a thread, which rclpy's
            # EventsExecutor would poll without pause (it runs alone, executor: single)
            'safety_supervisor = kaiyo_mission.supervisor_node:SafetySupervisorNode',
        ],
        'kaiyo.cli': [
            'mission = kaiyo_mission.cli:register',
            'scenarios = kaiyo_mission.cli:register_scenarios',
        ],
        'kaiyo.bench': [
            'mission = kaiyo_mission.bench:run',
        ],
    },
)
