"""The report's HTML (pure): one self-contained page, Japanese first, no network requests.

Everything is inline: CSS in <style>, a few lines of JS for the language switch, maps and
charts as SVG, thumbnails as JPEG data URIs. Fonts are the reader's system fonts (Noto Sans
CJK / Hiragino / Yu Gothic / Meiryo listed in order), so nothing is downloaded. Texts are
given as (Japanese, English) pairs; `lang='both'` prints both, Japanese first, with buttons
to show one. Plain words for non-specialists; every number carries its unit.
"""
from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timedelta, timezone

from kaiyo_report import site_map

JST = timezone(timedelta(hours=9), 'JST')

CSS = """
:root{--ink:#1d2b36;--mute:#5b6b78;--line:#d5dde3;--sea:#e6f1f8;--land:#f1ecdf}
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans CJK JP","Noto Sans JP","Hiragino Sans","Yu Gothic",
 "Meiryo",system-ui,sans-serif;color:var(--ink);line-height:1.6;background:#fafbfc}
main{max-width:980px;margin:0 auto;padding:16px 20px 48px}
header{background:#0d4f6c;color:#fff;padding:18px 20px}
header h1{margin:0;font-size:1.6em}header .en{color:#cfe4ee}
h2{border-bottom:3px solid #0d4f6c;padding-bottom:4px;margin-top:36px}
h2 .en,h1 .en{display:block;font-size:.6em;font-weight:normal}
.en{color:var(--mute)}
body.both td .en,body.both li .en,body.both p .en,body.both figcaption .en,
body.both th .en{display:block;font-size:.88em}
body.only-ja .en{display:none}body.only-en .ja{display:none}
body.only-en .en{color:inherit}
body.only-en h1 .en,body.only-en h2 .en{font-size:1em;font-weight:bold;display:inline}
.switch{float:right;margin-top:-4px}
.switch button{font:inherit;border:1px solid #fff;background:transparent;color:#fff;
 padding:2px 10px;border-radius:4px;cursor:pointer;margin-left:4px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef3f6;width:32%}
td.num{text-align:right;white-space:nowrap}
.key{background:#fff;border-left:6px solid #0d4f6c;padding:10px 16px;font-size:1.08em}
.key li{margin:6px 0}
.maps{display:flex;flex-wrap:wrap;gap:16px}
.maps figure{margin:0;flex:1 1 420px;background:#fff;border:1px solid var(--line);padding:8px}
figcaption{font-size:.9em;color:var(--mute)}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:14px}
.change{margin:8px 0;background:#fff;border:1px solid var(--line);padding:8px}
.gallery figure{margin:0;background:#fff;border:1px solid var(--line);padding:6px}
.gallery img{width:100%;height:auto;display:block}
.legend span{display:inline-block;margin-right:12px;font-size:.9em}
.legend i{display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:4px;
 border:1px solid #888}
.note{font-size:.9em;color:var(--mute)}
.up{color:#b2182b;font-weight:bold}.down{color:#1a7837;font-weight:bold}
svg text{font-family:inherit}
"""

JS = """
function kaiyoLang(mode){document.body.classList.remove('only-ja','only-en','both');
document.body.classList.add(mode);}
// anything the Content-Security-Policy blocks is listed here (tests check it stays empty)
window.kaiyoBlocked=[];
document.addEventListener('securitypolicyviolation',function(e){
window.kaiyoBlocked.push(e.blockedURI);});
"""

LABELS = {
    'seaweed': ('海藻', 'Seaweed'),
    'coralline': ('石灰藻（サンゴモ）', 'Coralline algae (barren crust)'),
    'bare': ('岩・砂など', 'Bare rock / sand'),
    'urchin_density_per_m2': ('ウニの密度', 'Urchin density'),
    'isoyake_index': ('磯焼け指数', 'Isoyake index'),
}
REASONS = {
    'blur': ('ぼやけている', 'blurred'), 'dark': ('暗すぎる', 'too dark'),
    'overexposed': ('明るすぎる', 'overexposed'), 'unknown': ('理由不明', 'unknown'),
}
CLASS_LEGEND = (  # BGR colours of kaiyo_seabed.classes, written as CSS
    ('海藻', 'seaweed', '#28aa28'), ('石灰藻', 'coralline', '#e678aa'),
    ('岩・砂', 'bare', '#d2be96'), ('ウニ', 'urchin', '#c81e1e'), ('その他', 'other', '#dcc800'),
)


class Text:
    """Bilingual text markup for one report language setting."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, ja: str, en: str) -> str:
        if self.lang == 'ja':
            return f'<span class="ja">{ja}</span>'
        if self.lang == 'en':
            return f'<span class="en">{en}</span>'
        return f'<span class="ja">{ja}</span> <span class="en">{en}</span>'

    def pair(self, key: str) -> str:
        return self(*LABELS[key])


def esc(s) -> str:
    return html.escape(str(s))


def pct(v: float, digits: int = 1) -> str:
    return '—' if not math.isfinite(v) else f'{v * 100:.{digits}f} %'


def pct_se(v: float) -> str:
    return '' if not math.isfinite(v) else f' ± {v * 100:.1f} %'


def num(v: float, digits: int = 2, unit: str = '') -> str:
    return '—' if not math.isfinite(v) else f'{v:.{digits}f}{unit}'


def fmt_time(iso: str | None, with_date: bool = True) -> str:
    if not iso:
        return '—'
    t = datetime.fromisoformat(iso).astimezone(JST)
    return t.strftime('%Y-%m-%d %H:%M') if with_date else t.strftime('%H:%M')


def isoyake_colour(v: float) -> str:
    """0 (healthy bed) green -> 0.5 yellow -> 1 (barren) magenta-pink, like coralline crust."""
    if not math.isfinite(v):
        return '#cccccc'
    v = min(max(v, 0.0), 1.0)
    stops = ((0.0, (26, 152, 80)), (0.5, (254, 224, 139)), (1.0, (197, 27, 125)))
    for (a, ca), (b, cb) in zip(stops, stops[1:], strict=False):
        if v <= b:
            k = (v - a) / (b - a)
            r, g, bl = (round(ca[i] + k * (cb[i] - ca[i])) for i in range(3))
            return f'#{r:02x}{g:02x}{bl:02x}'
    return '#c51b7d'


# -- SVG helpers -------------------------------------------------------------------------
class View:
    """Map metres (ENU) -> SVG pixels, north up, equal scale on both axes."""

    def __init__(self, x0, y0, x1, y1, width_px=440, max_height_px=440, pad_px=28):
        w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        self.scale = min((width_px - 2 * pad_px) / w, (max_height_px - 2 * pad_px) / h)
        self.x0, self.y1, self.pad = x0, y1, pad_px
        self.width = width_px
        self.height = round(h * self.scale + 2 * pad_px)

    def px(self, x, y) -> tuple[float, float]:
        return (round(self.pad + (x - self.x0) * self.scale, 1),
                round(self.pad + (self.y1 - y) * self.scale, 1))

    def scale_bar(self) -> str:
        target = (self.width - 2 * self.pad) / self.scale / 4.0
        k = 10 ** math.floor(math.log10(target))
        length = max(m * k for m in (1, 2, 5) if m * k <= target)
        px = length * self.scale
        x, y = self.pad, self.height - 10
        label = f'{length:g} m' if length < 1000 else f'{length / 1000:g} km'
        return (f'<g class="scale"><rect x="{x}" y="{y - 6}" width="{px:.1f}" height="5" '
                f'fill="#1d2b36"/><text x="{x + px + 6:.1f}" y="{y}" font-size="12">{label}'
                '</text></g>')

    def north(self) -> str:
        x, y = self.width - 22, 16
        return (f'<g class="north"><path d="M{x},{y} l-7,18 l7,-5 l7,5 z" fill="#1d2b36"/>'
                f'<text x="{x}" y="{y + 32}" font-size="12" text-anchor="middle">N</text></g>')


def overview_svg(summary, grid, survey, t: Text) -> str:
    """Tower, coastline and the survey area, for orientation."""
    datum = survey.datum
    coast = site_map.coast_enu(datum)
    tx, ty = site_map.tower_enu(datum)
    cells = list(grid.cells())
    if cells:
        xs = [grid.cell_bounds(c.row, c.col)[i] for c in cells for i in (0, 2)]
        ys = [grid.cell_bounds(c.row, c.col)[i] for c in cells for i in (1, 3)]
        area = (min(xs), min(ys), max(xs), max(ys))
    else:
        area = None
    px_ = [tx] + ([area[0], area[2]] if area else [])
    py_ = [ty] + ([area[1], area[3]] if area else [])
    x0, x1 = min(px_) - 1500, max(px_) + 1500
    y0 = min(py_) - 500
    y1 = max([p[1] for p in coast if x0 <= p[0] <= x1] + py_) + 400
    v = View(x0, y0, x1, y1)
    land = coast + [(coast[-1][0], y1 + 5000), (coast[0][0], y1 + 5000)]
    land_pts = ' '.join('{},{}'.format(*v.px(x, y)) for x, y in land)
    coast_pts = ' '.join('{},{}'.format(*v.px(x, y)) for x, y in coast)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="overview-map" width="{v.width}" '
             f'height="{v.height}" viewBox="0 0 {v.width} {v.height}" role="img">',
             f'<rect width="{v.width}" height="{v.height}" fill="#e6f1f8"/>',
             f'<polygon points="{land_pts}" fill="#f1ecdf"/>',
             f'<polyline points="{coast_pts}" fill="none" stroke="#8a7d5c" stroke-width="1.5"/>']
    for ja, en, x, y in site_map.places_enu(datum):
        if x0 < x < x1:
            px, py = v.px(x, y)
            parts.append(f'<text x="{px}" y="{py - 8}" font-size="12" text-anchor="middle" '
                         f'fill="#5b4d2e">{esc(ja if t.lang != "en" else en)}</text>')
    px, py = v.px(tx, ty)
    parts.append(f'<g id="tower"><rect x="{px - 5}" y="{py - 5}" width="10" height="10" '
                 f'fill="#d7301f"/><text x="{px + 9}" y="{py + 4}" font-size="12">'
                 f'{"観測塔" if t.lang != "en" else "tower"}</text></g>')
    if area:
        ax0, ay1 = v.px(area[0], area[3])
        ax1, ay0 = v.px(area[2], area[1])
        w, h = max(ax1 - ax0, 6), max(ay0 - ay1, 6)
        parts.append(f'<rect id="survey-area" x="{ax0 - (w == 6) * 3}" y="{ay1 - (h == 6) * 3}" '
                     f'width="{w}" height="{h}" fill="none" stroke="#0d4f6c" '
                     'stroke-width="2"/>')
    parts += [v.scale_bar(), v.north(), '</svg>']
    return ''.join(parts)


def detail_svg(summary, grid, survey, t: Text) -> str:
    """Observed cells coloured by isoyake index, the track, and the tower when near."""
    cells = list(grid.cells())
    if not cells:
        return ''
    b = [grid.cell_bounds(c.row, c.col) for c in cells]
    x0, y0 = min(c[0] for c in b), min(c[1] for c in b)
    x1, y1 = max(c[2] for c in b), max(c[3] for c in b)
    tx, ty = site_map.tower_enu(survey.datum)
    span = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dist = math.hypot(tx - cx, ty - cy)
    near = dist < 0.75 * span
    if near:
        x0, y0, x1, y1 = min(x0, tx), min(y0, ty), max(x1, tx), max(y1, ty)
    margin = 0.06 * max(x1 - x0, y1 - y0, 1.0)
    v = View(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="detail-map" width="{v.width}" '
             f'height="{v.height}" viewBox="0 0 {v.width} {v.height}" role="img">',
             f'<rect width="{v.width}" height="{v.height}" fill="#e6f1f8"/>']
    s = grid.cell_size_m * v.scale
    for c, (cx0, _cy0, _cx1, cy1) in zip(cells, b, strict=True):
        px, py = v.px(cx0, cy1)
        val = c.mean['isoyake_index']
        tip = (f'{"磯焼け指数" if t.lang != "en" else "isoyake index"} {num(val)}, '
               f'{"海藻" if t.lang != "en" else "seaweed"} {pct(c.mean["seaweed"])}, '
               f'{c.frame_count} {"枚" if t.lang != "en" else "frames"}')
        parts.append(f'<rect class="cell" x="{px}" y="{py}" width="{s:.2f}" height="{s:.2f}" '
                     f'fill="{isoyake_colour(val)}" stroke="#ffffff" stroke-width="0.3">'
                     f'<title>{esc(tip)}</title></rect>')
    for veh in sorted({f.vehicle for f in survey.frames}):
        pts = [v.px(f.x, f.y) for f in survey.frames
               if f.vehicle == veh and math.isfinite(f.x) and math.isfinite(f.y)]
        if len(pts) > 1:
            step = max(1, len(pts) // 2000)   # keep the page small on long surveys
            parts.append('<polyline class="track" points="' +
                         ' '.join('{},{}'.format(*p) for p in pts[::step]) +
                         '" fill="none" stroke="#33434f" stroke-width="0.8" '
                         'stroke-dasharray="3,2" opacity="0.6"/>')
    if not near:
        # too far to draw at this scale: say where it is instead
        bearing = math.degrees(math.atan2(tx - cx, ty - cy)) % 360
        ja_dir = ('北', '北東', '東', '南東', '南', '南西', '西', '北西')[round(bearing / 45) % 8]
        en_dir = ('N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW')[round(bearing / 45) % 8]
        label = (f'観測塔は{ja_dir}へ {dist:,.0f} m' if t.lang != 'en'
                 else f'tower: {dist:,.0f} m {en_dir}')
        parts.append(f'<text id="tower-pointer" x="10" y="18" font-size="12" fill="#d7301f">'
                     f'■ {esc(label)}</text>')
    if near:
        px, py = v.px(tx, ty)
        parts.append(f'<g id="tower-detail"><rect x="{px - 5}" y="{py - 5}" width="10" '
                     f'height="10" fill="#d7301f"/><text x="{px + 9}" y="{py + 4}" '
                     f'font-size="12">{"観測塔" if t.lang != "en" else "tower"}</text></g>')
    parts += [v.scale_bar(), v.north(), '</svg>']
    return ''.join(parts)


def change_colour(d: float) -> str:
    """Isoyake index change: -0.5 or less (recovering) green .. 0 white .. +0.5 (worse) red."""
    k = min(abs(d) / 0.5, 1.0)
    end = (26, 152, 80) if d < 0 else (202, 0, 32)
    r, g, b = (round(255 + k * (c - 255)) for c in end)
    return f'#{r:02x}{g:02x}{b:02x}'


def change_svg(trend, grid, t: Text) -> str:
    """Cells seen in both surveys, coloured by the change of their isoyake index."""
    if not trend.cell_changes:
        return ''
    b = {k: grid.cell_bounds(*k) for k in trend.cell_changes}
    x0, y0 = min(c[0] for c in b.values()), min(c[1] for c in b.values())
    x1, y1 = max(c[2] for c in b.values()), max(c[3] for c in b.values())
    margin = 0.06 * max(x1 - x0, y1 - y0, 1.0)
    v = View(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    s = grid.cell_size_m * v.scale
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="change-map" width="{v.width}" '
             f'height="{v.height}" viewBox="0 0 {v.width} {v.height}" role="img">',
             f'<rect width="{v.width}" height="{v.height}" fill="#eef3f6"/>']
    for key, d in trend.cell_changes.items():
        px, py = v.px(b[key][0], b[key][3])
        parts.append(f'<rect class="cell" x="{px}" y="{py}" width="{s:.2f}" height="{s:.2f}" '
                     f'fill="{change_colour(d)}" stroke="#999" stroke-width="0.3">'
                     f'<title>{d:+.2f}</title></rect>')
    parts += [v.scale_bar(), v.north(), '</svg>']
    better = '改善' if t.lang != 'en' else 'better'
    worse = '悪化' if t.lang != 'en' else 'worse'
    stops = ''.join(f'<stop offset="{k / 10}" stop-color="{change_colour(-0.5 + k / 10)}"/>'
                    for k in range(11))
    legend = ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="44">'
              f'<defs><linearGradient id="gc">{stops}</linearGradient></defs>'
              '<rect x="10" y="4" width="280" height="14" fill="url(#gc)" stroke="#888"/>'
              f'<text x="10" y="34" font-size="12">−0.5 {better}</text>'
              '<text x="150" y="34" font-size="12" text-anchor="middle">0</text>'
              f'<text x="290" y="34" font-size="12" text-anchor="end">{worse} +0.5</text></svg>')
    return ''.join(parts) + legend


def colour_legend_svg(t: Text) -> str:
    stops = ''.join(f'<stop offset="{k / 10}" stop-color="{isoyake_colour(k / 10)}"/>'
                    for k in range(11))
    healthy = '健全な藻場' if t.lang != 'en' else 'healthy bed'
    barren = '磯焼け' if t.lang != 'en' else 'barren'
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="44" id="legend">'
            f'<defs><linearGradient id="g">{stops}</linearGradient></defs>'
            '<rect x="10" y="4" width="280" height="14" fill="url(#g)" stroke="#888"/>'
            f'<text x="10" y="34" font-size="12">0 {healthy}</text>'
            f'<text x="290" y="34" font-size="12" text-anchor="end">{barren} 1</text></svg>')


def bars_svg(rows, t: Text, max_value: float = 1.0) -> str:
    """Horizontal bars with ±SE whiskers: rows = [(label, mean 0..1, se)]."""
    h = 30 * len(rows) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="520" height="{h}" class="bars">']
    for i, (label, mean, se) in enumerate(rows):
        y = 8 + 30 * i
        w = 0 if not math.isfinite(mean) else 300 * min(mean / max_value, 1.0)
        parts.append(f'<text x="0" y="{y + 15}" font-size="13">{esc(label)}</text>'
                     f'<rect x="170" y="{y}" width="300" height="20" fill="#eef3f6"/>'
                     f'<rect x="170" y="{y}" width="{w:.1f}" height="20" fill="#2c7fb8"/>')
        if math.isfinite(mean) and math.isfinite(se):
            a = 170 + 300 * max(mean - se, 0) / max_value
            bb = 170 + 300 * min(mean + se, max_value) / max_value
            parts.append(f'<line x1="{a:.1f}" x2="{bb:.1f}" y1="{y + 10}" y2="{y + 10}" '
                         'stroke="#1d2b36" stroke-width="2"/>')
        parts.append(f'<text x="476" y="{y + 15}" font-size="12">{pct(mean, 0)}</text>')
    parts.append('</svg>')
    return ''.join(parts)


def class_histogram_svg(counts: dict, highlight: str) -> str:
    total = max(sum(counts.values()), 1)
    top = max(counts.values()) or 1
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="520" height="180" id="class-hist">']
    for i, (cls, n) in enumerate(counts.items()):
        x = 20 + i * 70
        h = 120 * n / top
        fill = '#0d4f6c' if cls == highlight else '#7fb3cc'
        parts.append(f'<rect x="{x}" y="{140 - h:.1f}" width="50" height="{h:.1f}" '
                     f'fill="{fill}"/><text x="{x + 25}" y="158" font-size="12" '
                     f'text-anchor="middle">{esc(cls)} %</text><text x="{x + 25}" '
                     f'y="{134 - h:.1f}" font-size="11" text-anchor="middle">'
                     f'{100 * n / total:.0f} %</text>')
    parts.append('</svg>')
    return ''.join(parts)


# -- page --------------------------------------------------------------------------------
def _key_findings(summary, trend, t: Text) -> str:
    st = summary.stats
    items = []
    sw = st['seaweed']
    items.append(t(f'海底のうち海藻が生えている割合は平均 <b>{pct(sw.mean)}</b> でした'
                   f'（被度区分 {esc(summary.cover_class or "—")} %）。',
                   f'On average <b>{pct(sw.mean)}</b> of the seabed was covered by seaweed '
                   f'(cover class {esc(summary.cover_class or "—")} %).'))
    items.append(t(f'石灰藻（磯焼けのしるし）は {pct(st["coralline"].mean)}、'
                   f'岩・砂などは {pct(st["bare"].mean)} でした。',
                   f'Coralline crust (a sign of barren ground) covered '
                   f'{pct(st["coralline"].mean)}, bare rock/sand {pct(st["bare"].mean)}.'))
    ud = st['urchin_density_per_m2']
    if ud.n:
        items.append(t(f'ウニは 1 m² あたり平均 <b>{num(ud.mean, 2)} 個</b>でした。',
                       f'Sea urchins: <b>{num(ud.mean, 2)} per m²</b> on average.'))
    else:
        items.append(t('画像の位置と範囲が分からないため、ウニの密度（個/m²）は計算できません。',
                       'Urchin density (per m²) needs the seabed area seen by each image, '
                       'which this input does not have.'))
    iso = st['isoyake_index']
    items.append(t(f'磯焼け指数の平均は <b>{num(iso.mean)}</b> です'
                   '（0 = 健全な藻場、1 = 完全な磯焼け）。',
                   f'The mean isoyake index is <b>{num(iso.mean)}</b> '
                   '(0 = healthy seaweed bed, 1 = complete barren).'))
    if trend is not None:
        d, _se, verdict = trend.changes['seaweed']
        word_ja = {'up': '増えました', 'down': '減りました',
                   'same': 'はっきりした変化はありません', 'unknown': '変化は判断できません'}
        word_en = {'up': 'increased', 'down': 'decreased', 'same': 'showed no clear change',
                   'unknown': 'cannot be judged'}
        items.append(t(f'前回（{fmt_time(trend.previous.start)}）と比べて、海藻の割合は '
                       f'{d * 100:+.1f} ポイントで、{word_ja[verdict]}。',
                       f'Compared with the previous survey ({fmt_time(trend.previous.start)}), '
                       f'seaweed cover changed by {d * 100:+.1f} points and '
                       f'{word_en[verdict]}.'))
    return '<ul class="key">' + ''.join(f'<li>{i}</li>' for i in items) + '</ul>'


def _summary_table(summary, survey, t: Text) -> str:
    reasons = summary.rejected_reasons.items()
    ja_r = '、'.join(f'{REASONS.get(r, (r, r))[0]} {n} 枚' for r, n in reasons)
    en_r = ', '.join(f'{REASONS.get(r, (r, r))[1]}: {n}' for r, n in reasons)
    start, end = summary.start, summary.end
    when = '—' if not start else (
        f'{fmt_time(start)} – {fmt_time(end, with_date=start[:10] != (end or "")[:10])} (JST)')
    used, rej, geo = summary.frames_used, summary.frames_rejected, summary.frames_georeferenced
    cs = f'{summary.cell_size_m:g}'
    rows = [
        (t('調査日時', 'Date and time'), when),
        (t('調査機', 'Vehicle'), esc(', '.join(summary.vehicles) or '—')),
        (t('使った画像', 'Images used'), t(f'{used} 枚', f'{used} images')),
        (t('使わなかった画像', 'Images rejected'),
         t(f'{rej} 枚' + (f'（{esc(ja_r)}）' if ja_r else ''),
           f'{rej} images' + (f' ({esc(en_r)})' if en_r else ''))),
        (t('位置が分かる画像', 'Images with position'), t(f'{geo} 枚', f'{geo} images')),
        (t('調査した面積', 'Area surveyed'),
         t(f'{summary.area_m2:,.0f} m²（{cs} m 四方のマス {summary.cells} 個）',
           f'{summary.area_m2:,.0f} m² ({summary.cells} cells of {cs} m × {cs} m)')),
        (t('データ', 'Data'), '<br>'.join(esc(s) for s in survey.sources)),
    ]
    return '<table id="summary">' + ''.join(
        f'<tr><th>{a}</th><td>{b}</td></tr>' for a, b in rows) + '</table>'


def _pm(mean: float, se: float, digits: int = 2) -> str:
    return num(mean, digits) + ('' if not math.isfinite(se) else f' ± {se:.{digits}f}')


def _cover_table(summary, t: Text) -> str:
    st = summary.stats
    rows = []
    for q in ('seaweed', 'coralline', 'bare'):
        rows.append((t.pair(q), f'{pct(st[q].mean)}{pct_se(st[q].se)}', st[q].n))
    ud = st['urchin_density_per_m2']
    rows.append((t.pair('urchin_density_per_m2'),
                 t(f'{_pm(ud.mean, ud.se)} 個/m²', f'{_pm(ud.mean, ud.se)} per m²') if ud.n
                 else t('計算できません（位置情報なし）', 'not available (no position)'), ud.n))
    iso = st['isoyake_index']
    rows.append((t('磯焼け指数（0〜1）', 'Isoyake index (0 to 1)'), _pm(iso.mean, iso.se), iso.n))
    head = (f'<tr><th>{t("項目", "Quantity")}</th>'
            f'<th>{t("平均 ± 標準誤差", "Mean ± standard error")}</th>'
            f'<th>{t("画像の数", "Images")}</th></tr>')
    return '<table id="cover">' + head + ''.join(
        f'<tr><td>{a}</td><td class="num">{b}</td><td class="num">{t(f"{n} 枚", f"{n}")}</td></tr>'
        for a, b, n in rows) + '</table>'


def _trend_section(trend, summary, grid, t: Text) -> str:
    words = {'up': t('増加', 'up'), 'down': t('減少', 'down'),
             'same': t('はっきりした変化なし', 'no clear change'),
             'unknown': t('判断できない', 'cannot judge')}
    rows = []
    for q in ('seaweed', 'coralline', 'bare', 'urchin_density_per_m2', 'isoyake_index'):
        a, b = trend.previous.stats[q], summary.stats[q]
        d, _se, verdict = trend.changes[q]
        if q == 'urchin_density_per_m2':
            f = lambda v: num(v, 2, ' /m²')   # noqa: E731
            dd = '—' if not math.isfinite(d) else f'{d:+.2f} /m²'
        elif q == 'isoyake_index':
            f = lambda v: num(v, 2)   # noqa: E731
            dd = '—' if not math.isfinite(d) else f'{d:+.2f}'
        else:
            f = pct
            dd = '—' if not math.isfinite(d) else t(f'{d * 100:+.1f} ポイント',
                                                     f'{d * 100:+.1f} points')
        cls = {'up': 'up', 'down': 'down'}.get(verdict, '')
        if q in ('seaweed',):   # more seaweed is good news
            cls = {'up': 'down', 'down': 'up'}.get(verdict, '')
        rows.append(f'<tr><td>{t.pair(q)}</td><td class="num">{f(a.mean)}</td>'
                    f'<td class="num">{f(b.mean)}</td><td class="num">{dd}</td>'
                    f'<td class="{cls}">{words[verdict]}</td></tr>')
    head = (f'<tr><th>{t("項目", "Quantity")}</th>'
            f'<th>{t("前回", "Previous")}<br>{fmt_time(trend.previous.start)}</th>'
            f'<th>{t("今回", "This survey")}<br>{fmt_time(summary.start)}</th>'
            f'<th>{t("変化", "Change")}</th><th>{t("判定", "Verdict")}</th></tr>')
    cells = ''
    if trend.common_cells:
        cells = '<p>' + t(
            f'両方の調査で見たマスは {trend.common_cells} マスです。磯焼け指数はそのマスの平均で '
            f'{trend.cell_isoyake_change:+.2f} 変わりました（0.1 より大きく悪化: '
            f'{trend.cells_worse} マス、改善: {trend.cells_better} マス）。',
            f'{trend.common_cells} cells were seen in both surveys; their isoyake index '
            f'changed by {trend.cell_isoyake_change:+.2f} on average (worse by more than 0.1: '
            f'{trend.cells_worse} cells, better: {trend.cells_better} cells).') + '</p>'
    else:
        cells = '<p class="note">' + t('同じ場所（マス）を両方の調査で見ていないため、'
                                       '場所ごとの比較はできません。',
                                       'No cell was seen in both surveys, so there is no '
                                       'place-by-place comparison.') + '</p>'
    change = change_svg(trend, grid, t)
    if change:
        cells += ('<figure class="change">' + change + '<figcaption>' + t(
            '両方の調査で見たマスの磯焼け指数の変化（緑 = 改善、赤 = 悪化）。',
            'Change of the isoyake index in cells seen in both surveys (green = better, '
            'red = worse).') + '</figcaption></figure>')
    return ('<table id="trend">' + head + ''.join(rows) + '</table>' + cells +
            '<p class="note">' + t('「増加」「減少」は、差が標準誤差の 2 倍より'
                                   '大きいときだけ表示します。',
                                   '"Up"/"down" are shown only when the change is larger than '
                                   'twice the combined standard error.') + '</p>')


def _gallery(gallery, t: Text) -> str:
    if not gallery:
        return '<p class="note">' + t('表示できる画像がありません。', 'No images to show.') + '</p>'
    figs = []
    for frame, jpeg in gallery:
        uri = 'data:image/jpeg;base64,' + base64.b64encode(jpeg).decode('ascii')
        when = fmt_time(frame.stamp.isoformat()) if frame.stamp else ''
        sw = pct(frame.seabed_cover.get('seaweed', math.nan))
        cap = t(f'磯焼け指数 {num(frame.isoyake_index)}・海藻 {sw}'
                f'・ウニ {len(frame.urchins)} 個', f'isoyake index {num(frame.isoyake_index)}, '
                f'seaweed {sw}, '
                f'{len(frame.urchins)} urchins')
        figs.append(f'<figure class="frame"><img alt="{esc(frame.image)}" src="{uri}">'
                    f'<figcaption>{cap}<br>{esc(when)} {esc(frame.vehicle)}'
                    f'<br><small>{esc(frame.image)}</small></figcaption></figure>')
    legend = '<p class="legend">' + ''.join(
        f'<span><i style="background:{c}"></i>{t(ja, en)}</span>' for ja, en, c in CLASS_LEGEND) + \
        t('赤い枠 = 見つけたウニ', 'red boxes = urchins found') + '</p>'
    return legend + '<div class="gallery" id="gallery">' + ''.join(figs) + '</div>'


def render_html(summary, grid, survey, gallery, trend, lang: str, messages) -> str:
    t = Text(lang)
    title_ja, title_en = '海底調査レポート（磯焼け調査）', 'Seabed survey report (isoyake)'
    site = esc(summary.site) if summary.site else t('平塚沖', 'off Hiratsuka')
    st = summary.stats
    detail = detail_svg(summary, grid, survey, t)
    body_class = 'both' if lang == 'both' else f'only-{lang}'
    switch = ('<div class="switch"><button onclick="kaiyoLang(\'only-ja\')">日本語</button>'
              '<button onclick="kaiyoLang(\'only-en\')">English</button>'
              '<button onclick="kaiyoLang(\'both\')">両方 / Both</button></div>'
              if lang == 'both' else '')
    maps = [f'<figure>{overview_svg(summary, grid, survey, t)}<figcaption>'
            + t('全体図：赤い四角が観測塔、青い枠が調査した範囲。海岸線はおおよその形です。',
                'Overview: red square = tower, blue frame = surveyed area. The coastline is '
                'approximate.') + '</figcaption></figure>']
    if detail:
        maps.append(f'<figure>{detail}{colour_legend_svg(t)}<figcaption>'
                    + t(f'調査範囲の拡大図：{summary.cell_size_m:g} m 四方のマスを'
                        '磯焼け指数で色分け'
                        '（緑 = 海藻が豊か、ピンク = 磯焼け）。点線は調査機の通った道。',
                        f'Surveyed area: {summary.cell_size_m:g} m cells coloured by isoyake index '
                        '(green = rich seaweed, pink = barren). Dashed line = vehicle track.')
                    + '</figcaption></figure>')
    else:
        maps.append('<p class="note">' + t('画像の位置情報がないため、マスの地図は作れません。',
                                           'The images carry no position, so there is no cell '
                                           'map.') + '</p>')
    notes = ''.join(f'<li>{esc(m)}</li>' for m in messages)
    sections = [
        f'<h2>{t("まとめ", "Key findings")}</h2>{_key_findings(summary, trend, t)}',
        f'<h2>{t("調査の概要", "Survey summary")}</h2>{_summary_table(summary, survey, t)}',
        f'<h2>{t("地図", "Map")}</h2><div class="maps" id="maps">{"".join(maps)}</div>',
        f'<h2>{t("海底のようす（被度）", "Seabed cover")}</h2>'
        + '<p>' + t('海底に見えたもののうち、それぞれが占める割合です（水だけの部分は除く）。',
                    'Share of the visible seabed taken by each kind of cover (open water '
                    'excluded).') + '</p>'
        + bars_svg([(ja if lang != 'en' else en, st[en].mean, st[en].se)
                    for ja, en, _c in CLASS_LEGEND[:3]], t)
        + _cover_table(summary, t),
        f'<h2>{t("海藻の被度区分", "Seaweed cover class")}</h2>'
        + '<p>' + t(f'画像ごとの海藻の割合を 7 段階に分けた枚数の割合です。調査全体では '
                    f'<b>{esc(summary.cover_class or "—")} %</b> の区分です。',
                    'Share of images in each of the 7 seaweed cover classes. The survey as a '
                    f'whole is in class <b>{esc(summary.cover_class or "—")} %</b>.') + '</p>'
        + class_histogram_svg(summary.class_counts, summary.cover_class),
        f'<h2>{t("代表的な画像", "Representative images")}</h2>'
        + '<p>' + t('海藻が多い画像から磯焼けの画像まで順に並べています。'
                    '色は画像解析で分けた種類です。',
                    'From the richest seaweed to the most barren. Colours show what the image '
                    'analysis found.') + '</p>' + _gallery(gallery, t),
    ]
    if trend is not None:
        sections.append(f'<h2>{t("前回の調査との比較", "Change since the previous survey")}</h2>'
                        + _trend_section(trend, summary, grid, t))
    sections.append(
        f'<h2>{t("読み方と注意", "How to read this report")}</h2><ul class="note">'
        + '<li>' + t('± は標準誤差です。近い場所の画像は似ているため、'
                     '本当のばらつきはこれより大きいことがあります。',
                     '± is the standard error of the mean. Nearby images are alike, so the '
                     'true uncertainty can be larger.') + '</li>'
        + '<li>' + t('磯焼け指数は、海藻・石灰藻・岩や砂の割合と'
                     'ウニの密度から計算します（kaiyo_seabed）。',
                     'The isoyake index combines seaweed, coralline and bare cover with urchin '
                     'density (kaiyo_seabed).') + '</li>'
        + '<li>' + t('海岸線は向きを知るための手描きのおおよその線で、航海には使えません。',
                     'The coastline is a hand-drawn approximation for orientation only; not '
                     'for navigation.') + '</li>'
        + '<li>' + t('時刻は日本時間（JST）です。', 'Times are Japan Standard Time (JST).')
        + '</li>' + notes + '</ul>')
    generated = datetime.now(JST).strftime('%Y-%m-%d %H:%M JST')
    doc_lang = 'en' if lang == 'en' else 'ja'
    return (f'<!doctype html><html lang="{doc_lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f'<title>{title_ja if lang != "en" else title_en} – '
            f'{esc(summary.site or "Hiratsuka")}</title><style>{CSS}</style>'
            f'<script>{JS}</script></head><body class="{body_class}">'
            f'<header>{switch}<h1>{t(title_ja, title_en)}</h1>'
            f'<div>{site} · {fmt_time(summary.start)} (JST)</div></header><main>'
            + ''.join(sections)
            + f'<p class="note">{t("作成", "Generated")} {generated} · kaiyo</p>'
            '</main></body></html>')
