"""Install kaiyo_report (ament_python). Entry points:

- console_scripts: ROS nodes, run as `ros2 run kaiyo_report <name>` or from a bringup YAML;
- kaiyo.cli: `register(subparsers)` functions adding `kaiyo <command>` subcommands;
- kaiyo.bench: `run(quick: bool) -> list[kaiyo_common.bench.Figure]` for `make bench`.
"""
from glob import glob

from setuptools import find_packages, setup

package_name = 'kaiyo_report'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    package_data={package_name: ['live_view.html']},
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
            'recorder = kaiyo_report.recorder_node:main',
            'web = kaiyo_report.web_node:main',
        ],
        'kaiyo.cli': [
            'record = kaiyo_report.cli:register_record',
            'replay = kaiyo_report.cli:register_replay',
            'report = kaiyo_report.cli:register_report',
            'web = kaiyo_report.cli:register_web',
        ],
        'kaiyo.bench': [
            'report = kaiyo_report.bench:run',
        ],
    },
)
