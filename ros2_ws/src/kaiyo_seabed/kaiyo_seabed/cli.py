"""`kaiyo seabed analyze | train | evaluate` (entry point kaiyo.cli).

Exit codes: 0 done (per-file errors are reported in the output, not as failure), 2 bad
arguments or unusable inputs (model, label files).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser('seabed', help='seabed / isoyake analysis: analyze images and MCAPs, '
                                      'train and evaluate the classifier')
    ss = p.add_subparsers(dest='seabed_cmd', metavar='{analyze,train,evaluate}')
    ss.required = True

    a = ss.add_parser('analyze', help='classify seabed images / folders / MCAP recordings '
                                      'into results.json')
    a.add_argument('paths', nargs='+', metavar='PATH', help='image files, folders or .mcap files')
    a.add_argument('--out', required=True, help='results.json to write')
    a.add_argument('--masks', metavar='DIR', help='write one class-id PNG per image here '
                                                 '(same size, pixel = class id)')
    a.add_argument('--model', help='model file (default: the shipped model)')
    a.add_argument('--datum', default='tower',
                   help="map datum for MCAP georeferencing: a name ('tower') or 'LAT,LON' (deg)")
    a.add_argument('--camera-pitch-deg', type=float, default=90.0,
                   help='camera pitch below the bow, deg (90 = looking straight down)')
    a.add_argument('--altitude-sensor-z', type=float, default=0.0, metavar='M',
                   help='MCAP: height of the altimeter / DVL in base_link, m (z up, negative '
                        '= below; the hover AUV\'s altimeter: -0.3). Its readings are ranges '
                        'from there, so base_link altitude = reading - M (default 0)')
    a.add_argument('--every', type=int, default=1, help='MCAP: analyse every N-th frame')
    a.add_argument('--no-urchins', action='store_true', help='skip urchin detection')
    a.set_defaults(func=_analyze)

    t = ss.add_parser('train', help='train a classifier from point labels and/or masks')
    t.add_argument('--points', action='append', default=[], metavar='CSV',
                   help='CoralNet-style point labels, columns image,x,y,label (repeatable; '
                        'pair each with --images)')
    t.add_argument('--images', action='append', default=[], metavar='DIR',
                   help='folder the points CSV image paths are relative to (and where mask '
                        'images are looked for)')
    t.add_argument('--masks', action='append', default=[], metavar='DIR',
                   help='folder of masks (class-id PNG or SUIM RGB colours); images with the '
                        'same name in DIR/../images or --images (repeatable)')
    t.add_argument('--mapping', help='CSV label,class translating point labels to kaiyo '
                                     'classes (default: the shipped CoralNet/MCR-LTER mapping; '
                                     'kaiyo class names/ids are always accepted)')
    t.add_argument('--out', required=True, help='model file to write (.yml.gz)')
    t.add_argument('--trees', type=int, default=25, help='trees in the forest (default 25)')
    t.add_argument('--depth', type=int, default=12, help='tree depth (default 12)')
    t.add_argument('--per-class', type=int, default=250,
                   help='pixels sampled per class per masked image (default 250)')
    t.add_argument('--cv', type=int, default=0, metavar='K',
                   help='also run K-fold cross-validation by image and store the figures')
    t.add_argument('--no-context', action='store_true',
                   help='single forest only (no second, auto-context forest; faster per frame)')
    t.add_argument('--features', choices=FEATURE_SETS, default='deep',
                   help="'deep' (default): colour/texture features plus components of the "
                        "shipped pretrained network (better on real photos, ~15 ms more per "
                        "frame); 'hand': colour/texture features only")
    t.add_argument('--note', default='', help='provenance note stored in the model')
    t.set_defaults(func=_train)

    e = ss.add_parser('evaluate', help='accuracy against labelled masks and points; default: '
                                       'the shared set ../shared/data/seabed')
    e.add_argument('--masks', action='append', default=[], metavar='DIR',
                   help='mask folder (SUIM colours or class ids), images in DIR/../images')
    e.add_argument('--points', action='append', default=[], metavar='CSV',
                   help='point labels image,x,y,label (pair with --images)')
    e.add_argument('--images', action='append', default=[], metavar='DIR')
    e.add_argument('--mapping', help='CSV label,class for the point labels (default: the '
                                     'shipped CoralNet/MCR-LTER mapping)')
    e.add_argument('--model', help='model file (default: the shipped model)')
    e.add_argument('--cv', type=int, default=0, metavar='K',
                   help='K-fold cross-validation by image instead of scoring --model: every '
                        'image is predicted by a model that never saw it')
    e.add_argument('--features', choices=FEATURE_SETS, default='deep',
                   help="with --cv: the features the cross-validated models use ('deep' "
                        "default, as `train`; 'hand' = colour/texture only)")
    e.add_argument('--json', action='store_true', help='print JSON instead of the table')
    e.set_defaults(func=_evaluate)


#: --features choices of train and evaluate --cv.
FEATURE_SETS = ('deep', 'hand')


def _backbone(features: str):
    """The pretrained network for --features deep, else None."""
    if features != 'deep':
        return None
    from kaiyo_seabed.backbone import Backbone
    return Backbone()


# ---------------------------------------------------------------------------------------------
def _err(msg: str) -> int:
    print(f'kaiyo seabed: {msg}', file=sys.stderr)
    return 2


def _load_model(path):
    from kaiyo_seabed.model import SeabedModel, load_default_model
    return SeabedModel.load(path) if path else load_default_model()


def _datum(spec: str):
    from kaiyo_common.geodesy import datum_from_spec
    if ',' in spec:
        lat, lon = spec.split(',', 1)
        return datum_from_spec({'lat': lat, 'lon': lon})
    return datum_from_spec(spec)


def _analyze(args) -> int:
    import cv2

    from kaiyo_common.geodesy import GeodesyError
    from kaiyo_seabed.backbone import BackboneError
    from kaiyo_seabed.batch import (
        Progress,
        analyze_frames,
        count_frames,
        file_frames,
        write_results,
    )
    from kaiyo_seabed.mapping import CameraMount, GeoreferenceError
    from kaiyo_seabed.model import ModelError
    from kaiyo_seabed.pipeline import SeabedAnalyzer
    cv2.setNumThreads(1)
    if args.every < 1:
        return _err(f'--every {args.every} must be >= 1')
    if not (math.isfinite(args.altitude_sensor_z) and abs(args.altitude_sensor_z) <= 10.0):
        return _err(f'--altitude-sensor-z {args.altitude_sensor_z:g} must be a height in '
                    'base_link within +-10 m')
    try:
        model = _load_model(args.model)
        datum = _datum(args.datum)
        mount = CameraMount.tilted(args.camera_pitch_deg)
        analyzer = SeabedAnalyzer(model, detect_urchins_enabled=not args.no_urchins)
    except (ModelError, BackboneError, GeodesyError, GeoreferenceError) as err:
        return _err(str(err))
    # frames are decoded one at a time: a long recording never sits in memory whole
    total = count_frames(args.paths, args.every)
    frames = file_frames(args.paths, datum, mount, args.every, args.altitude_sensor_z)
    doc = analyze_frames(frames, analyzer, Path(args.masks) if args.masks else None,
                         Progress(), total, datum)
    write_results(doc, Path(args.out))
    bad = [e for e in doc['images'] if 'error' in e]
    print(f"analysed {len(doc['images']) - len(bad)} images, {len(bad)} with errors -> {args.out}")
    for e in bad:
        print(f"  {e['image']}: {e['error']}", file=sys.stderr)
    return 0


def _label_items(args):
    from kaiyo_seabed.model import package_config
    from kaiyo_seabed.training import find_mask_pairs, read_mapping, read_points
    mapping = read_mapping(args.mapping or package_config('coralnet_mapping.csv'))
    items = []
    for d in args.masks:
        items += find_mask_pairs(d, args.images)
    if args.points:
        if len(args.images) < len(args.points):
            raise ValueError('give one --images DIR per --points CSV')
        for csv_path, img_dir in zip(args.points, args.images, strict=False):
            items += read_points(csv_path, img_dir, mapping)
    return items


def _clean(obj):
    """NaN -> None so the JSON is valid."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _train(args) -> int:
    import datetime as dt

    import cv2

    from kaiyo_seabed.batch import Progress
    from kaiyo_seabed.evaluation import cross_validate, headline
    from kaiyo_seabed.model import ForestParams, ModelError
    from kaiyo_seabed.training import LabelError, collect_samples, train_from_samples
    cv2.setNumThreads(1)
    try:
        params = ForestParams(trees=args.trees, max_depth=args.depth,
                              context=not args.no_context)
        if not args.points and not args.masks:
            return _err('give --points CSV --images DIR and/or --masks DIR')
        items = _label_items(args)
        if not items:
            return _err('no labelled images found')
        bar = Progress()
        backbone = _backbone(args.features)
        samples = collect_samples(items, per_class=args.per_class, progress=bar,
                                  backbone=backbone)
        meta = {'trained': dt.datetime.now(dt.UTC).isoformat(timespec='seconds'),
                'source': {'masks': args.masks, 'points': args.points, 'images': args.images,
                           'mapping': args.mapping, 'note': args.note},
                'train_images': len(items)}
        if args.cv:
            ev = cross_validate(items, args.cv, params, per_class=args.per_class, progress=bar,
                                backbone=backbone)
            meta['cv'] = headline(ev.summary())
        model = train_from_samples(samples, params, meta=meta)
        model.save(args.out)
    except (LabelError, ModelError, ValueError) as err:      # BackboneError is a ValueError
        return _err(str(err))
    print(f'trained on {len(items)} images, {model.meta["samples"]} samples -> {args.out}')
    if 'cv' in model.meta:
        print('cross-validated: ' + json.dumps(model.meta['cv']))
    return 0


def _evaluate(args) -> int:
    import cv2

    from kaiyo_seabed.batch import Progress
    from kaiyo_seabed.evaluation import (
        cross_validate,
        evaluate_items,
        format_table,
        headline,
    )
    from kaiyo_seabed.model import ModelError
    from kaiyo_seabed.pipeline import SeabedAnalyzer
    from kaiyo_seabed.training import LabelError, shared_items
    cv2.setNumThreads(1)
    try:
        items = _label_items(args) if (args.masks or args.points) else shared_items()
        if not items:
            return _err('no labelled images found')
        bar = Progress()
        if args.cv:
            ev = cross_validate(items, args.cv, progress=bar, backbone=_backbone(args.features))
        else:
            ev = evaluate_items(SeabedAnalyzer(_load_model(args.model)), items, progress=bar)
    except (LabelError, ModelError, ValueError) as err:
        return _err(str(err))
    summary = ev.summary()
    summary['headline'] = headline(summary)
    if args.json:
        print(json.dumps(_clean(summary), indent=1))
    else:
        print(format_table(summary))
        print('headline: ' + json.dumps(summary['headline']))
    return 0


def main(argv=None) -> int:
    """Standalone entry (for tests): `python -m kaiyo_seabed.cli analyze ...`."""
    parser = argparse.ArgumentParser(prog='kaiyo')
    sub = parser.add_subparsers(dest='cmd')
    register(sub)
    args = parser.parse_args(['seabed', *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
