"""Survey report builder (pure): statistics, map grid, gallery, trend, and the output files.

    result = build_report(['results.json'], 'out/', lang='both', compare='last_year/')

Writes into `out/`:
- `report.html`: self-contained and offline (CSS, JS, SVG maps/charts and JPEG thumbnails
  inline; no font files, no network request of any kind), Japanese first;
- `frames.csv`: one row per frame (used or rejected, with the reason);
- `cells.csv` and `cells.geojson`: the survey grid (per-cell means and standard errors,
  WGS-84 polygons), from kaiyo_seabed.mapping.SurveyGrid;
- `report.json`: the summary and cells, read back by a later `--compare`.

Statistics: survey-wide cover (seaweed, coralline, bare; fractions of seabed pixels),
urchin density (1/m², frames with a seabed footprint) and isoyake index are means over the
usable frames with the standard error of the mean (sample sd / sqrt(n)). Frames are
correlated along a track, so the SE is a lower bound on the real uncertainty; the report
says so. A change against the previous survey is called clear when it exceeds twice the
combined standard error.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kaiyo_report.progress import Progress
from kaiyo_report.survey import COVER_CLASSES, Frame, ReportError, Survey, load_images, load_inputs
from kaiyo_seabed.classes import cover_class as seabed_cover_class
from kaiyo_seabed.mapping import GridError, SurveyGrid

QUANTITIES = ('seaweed', 'coralline', 'bare', 'urchin_density_per_m2', 'isoyake_index')
DEFAULT_CELL_M = 1.0
POINT_FOOTPRINT_M = 0.05   # frames with a position but no footprint land in one cell


@dataclass
class Stat:
    mean: float = math.nan
    se: float = math.nan     # standard error of the mean (NaN: fewer than 2 values)
    n: int = 0

    @classmethod
    def of(cls, values) -> Stat:
        v = [float(x) for x in values if x is not None and math.isfinite(x)]
        if not v:
            return cls()
        mean = sum(v) / len(v)
        if len(v) < 2:
            return cls(mean, math.nan, 1)
        var = sum((x - mean) ** 2 for x in v) / (len(v) - 1)
        return cls(mean, math.sqrt(var / len(v)), len(v))


@dataclass
class Summary:
    site: str
    start: str | None                   # ISO-8601 UTC of the first frame
    end: str | None
    vehicles: list[str]
    frames_total: int
    frames_used: int
    frames_rejected: int
    rejected_reasons: dict              # reason -> count
    frames_georeferenced: int
    cell_size_m: float
    cells: int
    area_m2: float                      # observed cells x cell area, m^2
    stats: dict                         # quantity -> Stat
    cover_class: str                    # of the mean seaweed cover
    class_counts: dict                  # cover class -> frames
    datum: dict


@dataclass
class Trend:
    previous: Summary
    changes: dict                       # quantity -> (delta, combined se, verdict)
    common_cells: int
    cell_isoyake_change: float          # mean change of the index over common cells
    cells_worse: int                    # index up by > 0.1
    cells_better: int                   # index down by > 0.1
    cell_changes: dict = field(default_factory=dict)   # (row, col) -> index change


@dataclass
class ReportResult:
    out_dir: Path
    html: Path
    files: list[Path]
    frames_used: int
    frames_rejected: int
    messages: list[str] = field(default_factory=list)


# -- statistics --------------------------------------------------------------------------
def frame_value(f: Frame, q: str) -> float:
    if q in ('seaweed', 'coralline', 'bare'):
        return f.seabed_cover.get(q, math.nan)
    return getattr(f, q)


def build_grid(frames: list[Frame], cell_size_m: float, advance=None) -> SurveyGrid:
    """The survey grid of the usable frames that have a footprint or at least a position.

    advance: called once per frame (progress bar), or None.
    """
    grid = SurveyGrid(cell_size_m)
    for f in frames:
        if advance is not None:
            advance()
        if not f.usable:
            continue
        footprint = f.footprint
        if footprint is None and math.isfinite(f.x) and math.isfinite(f.y):
            d = POINT_FOOTPRINT_M
            footprint = [(f.x - d, f.y - d), (f.x + d, f.y - d), (f.x, f.y + d)]
        if footprint is None:
            continue
        try:
            grid.add_frame(footprint, f.seabed_cover, f.urchin_density_per_m2, f.isoyake_index)
        except GridError as err:
            raise ReportError(f'frame {f.image}: {err}') from None
    return grid


def summarise(survey: Survey, grid: SurveyGrid, site: str) -> Summary:
    used = [f for f in survey.frames if f.usable]
    rejected = [f for f in survey.frames if not f.usable]
    stamps = [f.stamp for f in survey.frames if f.stamp is not None]
    stats = {q: Stat.of(frame_value(f, q) for f in used) for q in QUANTITIES}
    sw = stats['seaweed'].mean
    classes = Counter(f.cover_class for f in used if f.cover_class)
    return Summary(
        site=site,
        start=min(stamps).isoformat() if stamps else None,
        end=max(stamps).isoformat() if stamps else None,
        vehicles=sorted({f.vehicle for f in survey.frames if f.vehicle}),
        frames_total=len(survey.frames), frames_used=len(used), frames_rejected=len(rejected),
        rejected_reasons=dict(Counter(f.reason or 'unknown' for f in rejected).most_common()),
        frames_georeferenced=sum(1 for f in used if f.footprint is not None or
                                 (math.isfinite(f.x) and math.isfinite(f.y))),
        cell_size_m=grid.cell_size_m, cells=len(grid),
        area_m2=len(grid) * grid.cell_size_m ** 2,
        stats=stats,
        cover_class=seabed_cover_class(min(max(sw, 0.0), 1.0)) if math.isfinite(sw) else '',
        class_counts={c: classes.get(c, 0) for c in COVER_CLASSES},
        datum={'lat': survey.datum.lat_deg, 'lon': survey.datum.lon_deg})


def verdict(delta: float, se: float) -> str:
    """'up' / 'down' when |delta| > 2 se, 'same' when within, 'unknown' without an se."""
    if not math.isfinite(delta):
        return 'unknown'
    if not math.isfinite(se) or se == 0:
        return 'unknown' if delta != 0 else 'same'
    if abs(delta) > 2.0 * se:
        return 'up' if delta > 0 else 'down'
    return 'same'


def compute_trend(now: Summary, now_cells: dict, prev: Summary, prev_cells: dict) -> Trend:
    changes = {}
    for q in QUANTITIES:
        a, b = prev.stats[q], now.stats[q]
        delta = b.mean - a.mean
        se = math.hypot(a.se, b.se) if math.isfinite(a.se) and math.isfinite(b.se) else math.nan
        changes[q] = (delta, se, verdict(delta, se))
    common = [k for k in now_cells if k in prev_cells]
    cell_changes = {k: now_cells[k] - prev_cells[k] for k in common
                    if math.isfinite(now_cells[k]) and math.isfinite(prev_cells[k])}
    diffs = list(cell_changes.values())
    return Trend(prev, changes, len(common),
                 sum(diffs) / len(diffs) if diffs else math.nan,
                 sum(1 for d in diffs if d > 0.1), sum(1 for d in diffs if d < -0.1),
                 cell_changes)


def _summary_from_json(d: dict) -> Summary:
    d = dict(d)
    d['stats'] = {q: Stat(**{k: (math.nan if v is None else v) for k, v in s.items()})
                  for q, s in d['stats'].items()}
    return Summary(**d)


def load_previous(path: str, cell_size_m: float, masks_dir=None) -> tuple[Summary, dict]:
    """A previous survey: a report folder / report.json, or inputs to summarise afresh."""
    p = Path(path)
    rj = p / 'report.json' if p.is_dir() and (p / 'report.json').is_file() else p
    if rj.name == 'report.json':
        try:
            doc = json.loads(rj.read_text(encoding='utf-8'))
            summary = _summary_from_json(doc['summary'])
            cells = {(c['row'], c['col']): (math.nan if c['isoyake_index_mean'] is None
                                            else c['isoyake_index_mean'])
                     for c in doc['cells']}
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
            raise ReportError(f'--compare {rj}: not a kaiyo report.json ({err})') from None
        if abs(summary.cell_size_m - cell_size_m) > 1e-9:
            cells = {}   # different lattice: cell-by-cell comparison is meaningless
        return summary, cells
    survey = load_inputs([p], masks_dir)
    grid = build_grid(survey.frames, cell_size_m)
    return summarise(survey, grid, ''), _cell_index(grid)


def _cell_index(grid: SurveyGrid) -> dict:
    return {(c.row, c.col): c.mean['isoyake_index'] for c in grid.cells()}


# -- gallery -----------------------------------------------------------------------------
def pick_gallery(frames: list[Frame], n: int) -> list[int]:
    """Indices of up to n usable frames with pixels, spread over the isoyake index range
    (healthiest to most barren), so the gallery shows what the numbers mean."""
    cands = [i for i, f in enumerate(frames)
             if f.usable and f.image_ref is not None and math.isfinite(f.isoyake_index)]
    if n <= 0 or not cands:
        return []
    cands.sort(key=lambda i: frames[i].isoyake_index)
    if len(cands) <= n:
        return cands
    picks = [cands[round(k * (len(cands) - 1) / (n - 1))] for k in range(n)] if n > 1 \
        else [cands[len(cands) // 2]]
    return list(dict.fromkeys(picks))


def render_thumbnail(img, frame: Frame, width_px: int = 360):
    """JPEG bytes: the frame scaled to width_px with its class mask blended and urchin boxes."""
    import cv2
    import numpy as np

    from kaiyo_seabed.classes import CLASS_COLORS_BGR
    h, w = img.shape[:2]
    scale = width_px / float(w)
    thumb = cv2.resize(img, (width_px, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    if frame.mask_path and not frame.overlay_drawn:
        mask = cv2.imread(frame.mask_path, cv2.IMREAD_UNCHANGED)
        if mask is not None and mask.ndim == 2:
            mask = cv2.resize(mask, (thumb.shape[1], thumb.shape[0]),
                              interpolation=cv2.INTER_NEAREST)
            lut = np.zeros((256, 3), np.uint8)
            for cid, bgr in CLASS_COLORS_BGR.items():
                lut[cid] = bgr
            colour = lut[mask]
            paint = (mask >= 2)[:, :, None]   # leave water/unknown as the photo
            thumb = np.where(paint, (0.55 * thumb + 0.45 * colour).astype(np.uint8), thumb)
    sx = thumb.shape[1] / float(frame.width or w)
    sy = thumb.shape[0] / float(frame.height or h)
    for x, y, bw, bh, _score in ([] if frame.overlay_drawn else frame.urchins):
        cv2.rectangle(thumb, (int(x * sx), int(y * sy)), (int((x + bw) * sx), int((y + bh) * sy)),
                      (0, 0, 255), 2)
    ok, buf = cv2.imencode('.jpg', thumb, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ReportError(f'{frame.image}: thumbnail encoding failed')
    return buf.tobytes()


# -- outputs -----------------------------------------------------------------------------
def _fmt(v, digits=4):
    return '' if v is None or (isinstance(v, float) and not math.isfinite(v)) else \
        (round(v, digits) if isinstance(v, float) else v)


def write_frames_csv(path: Path, frames: list[Frame]) -> None:
    cols = ['image', 'stamp_utc', 'vehicle', 'usable', 'reason', 'seaweed', 'coralline', 'bare',
            'urchin', 'other', 'water', 'urchin_count', 'urchin_density_per_m2',
            'isoyake_index', 'cover_class', 'x_m', 'y_m', 'altitude_m', 'footprint_area_m2']
    with open(path, 'w', newline='', encoding='utf-8') as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for f in frames:
            sc = f.seabed_cover
            w.writerow([f.image, f.stamp.isoformat() if f.stamp else '', f.vehicle,
                        int(f.usable), f.reason,
                        *(_fmt(sc.get(k)) for k in ('seaweed', 'coralline', 'bare', 'urchin',
                                                    'other')),
                        _fmt(f.cover.get('water')), len(f.urchins),
                        _fmt(f.urchin_density_per_m2), _fmt(f.isoyake_index), f.cover_class,
                        _fmt(f.x, 3), _fmt(f.y, 3), _fmt(f.altitude_m, 3),
                        _fmt(f.footprint_area_m2, 3)])


def write_cells_csv(path: Path, grid: SurveyGrid) -> None:
    with open(path, 'w', newline='', encoding='utf-8') as fh:
        w = csv.writer(fh)
        w.writerow(['row', 'col', 'x_center_m', 'y_center_m', 'frame_count',
                    *(f'{q}_{s}' for q in QUANTITIES for s in ('mean', 'se'))])
        for c in grid.cells():
            x0, y0, x1, y1 = grid.cell_bounds(c.row, c.col)
            w.writerow([c.row, c.col, (x0 + x1) / 2, (y0 + y1) / 2, c.frame_count,
                        *(_fmt(v) for q in QUANTITIES for v in (c.mean[q], c.se[q]))])


def _jsonable(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def build_report(inputs, out_dir, lang: str = 'both', compare: str | None = None,
                 cell_size_m: float | None = None, site: str = '', gallery_size: int = 6,
                 masks_dir: str | None = None, progress: Progress | None = None) -> ReportResult:
    """Read the inputs and write the report files (see module docstring)."""
    from kaiyo_report.report_html import render_html
    if lang not in ('ja', 'en', 'both'):
        raise ReportError(f"lang {lang!r}: use 'ja', 'en' or 'both'")
    if cell_size_m is not None and not (math.isfinite(cell_size_m) and 0.01 <= cell_size_m <= 1000):
        raise ReportError(f'cell size {cell_size_m!r} m must be in [0.01, 1000]')
    if not 0 <= gallery_size <= 60:
        raise ReportError(f'gallery size {gallery_size!r} must be 0..60 frames')
    progress = progress or Progress.silent()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f'{out}: exists and is not a folder')

    progress.start('reading frames')
    survey = load_inputs(inputs, masks_dir, progress.advance)
    progress.finish()
    if not survey.frames:
        raise ReportError(f'{", ".join(map(str, inputs))}: no frames in the input')
    cell = cell_size_m or survey.cell_size_m or DEFAULT_CELL_M
    progress.start('mapping', total=len(survey.frames))
    grid = build_grid(survey.frames, cell, progress.advance)
    progress.finish()
    summary = summarise(survey, grid, site)
    trend = None
    if compare:
        prev, prev_cells = load_previous(compare, cell, masks_dir)
        trend = compute_trend(summary, _cell_index(grid), prev, prev_cells)

    picks = pick_gallery(survey.frames, gallery_size)
    progress.start('gallery', total=len(picks))
    pixels = load_images([survey.frames[i] for i in picks])
    gallery = []
    for k, i in enumerate(picks):
        if k in pixels:
            gallery.append((survey.frames[i], render_thumbnail(pixels[k], survey.frames[i])))
        progress.advance()
    progress.finish()
    messages = list(survey.notes)
    if len(gallery) < len(picks):
        messages.append(f'{len(picks) - len(gallery)} gallery image(s) could not be loaded')

    out.mkdir(parents=True, exist_ok=True)
    files = []
    write_frames_csv(out / 'frames.csv', survey.frames)
    write_cells_csv(out / 'cells.csv', grid)
    grid.write_geojson(out / 'cells.geojson', survey.datum,
                       {'site': site, 'start_utc': summary.start, 'end_utc': summary.end})
    report_json = {'summary': _jsonable(asdict(summary)),
                   'cells': [_jsonable({'row': c.row, 'col': c.col,
                                        'frame_count': c.frame_count,
                                        **{f'{q}_mean': c.mean[q] for q in QUANTITIES},
                                        **{f'{q}_se': c.se[q] for q in QUANTITIES}})
                             for c in grid.cells()],
                   'sources': survey.sources,
                   'generated_utc': datetime.now(UTC).isoformat()}
    (out / 'report.json').write_text(json.dumps(report_json, ensure_ascii=False, indent=1),
                                     encoding='utf-8')
    html = render_html(summary, grid, survey, gallery, trend, lang, messages)
    tmp = out / 'report.html.tmp'
    tmp.write_text(html, encoding='utf-8')
    os.replace(tmp, out / 'report.html')
    for name in ('report.html', 'frames.csv', 'cells.csv', 'cells.geojson', 'report.json'):
        files.append(out / name)
    return ReportResult(out, out / 'report.html', files, summary.frames_used,
                        summary.frames_rejected, messages)
