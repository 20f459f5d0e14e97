"""`make bench` figures for kaiyo_report (entry point kaiyo.bench).

Report generation for 1,000 analysed frames (results.json + images + class masks, all
written by demo_data first), beside a baseline measured in the same run: just loading and
re-serialising the same results.json (the least any report must do). Goal: < 60 s.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from kaiyo_common.bench import Figure, time_call
from kaiyo_report.demo_data import make_results
from kaiyo_report.report import build_report

FRAMES = 1000


def run(quick: bool = False) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix='kaiyo-bench-report-') as tmp:
        tmp = Path(tmp)
        results = make_results(tmp / 'survey', n_frames=FRAMES, seed=3)
        prev = make_results(tmp / 'prev', n_frames=FRAMES, seed=4, barren_shift_m=8.0)
        repeat = 1 if quick else 3

        def baseline():
            json.dumps(json.loads(results.read_text(encoding='utf-8')))

        runs = iter(range(100))

        def report():
            build_report([results], tmp / f'out{next(runs)}', compare=str(prev),
                         masks_dir=str(results.parent / 'masks'))

        base_s = time_call(baseline, repeat=repeat, warmup=1)
        report_s = time_call(report, repeat=repeat, warmup=0 if quick else 1)
    return [Figure(f'report: {FRAMES} analysed frames (HTML+CSV+GeoJSON, with trend)',
                   report_s, 's', f'load+serialise results.json ({FRAMES} frames), s',
                   base_s, goal='< 60 s', met=report_s < 60.0)]
