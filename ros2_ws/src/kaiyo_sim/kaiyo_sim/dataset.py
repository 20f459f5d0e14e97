"""Synthetic labelled seabed imagery: camera frames with their exact class masks (pure: numpy +
OpenCV, no rclpy).

Why. The seabed classifier shipped with kaiyo_seabed was trained on real photos; on the
simulator's rendered frames it confuses the pink coralline crust with bare rock and seaweed.
Retraining on labelled imagery of the site is the intended fix, and for the simulator the
labels are free: `UnderwaterCamera.render` returns the pixel-exact class mask of every frame.
This module renders such frames over freshly seeded scenes of a world, at randomised poses
around the survey geometry, and writes them in the layout `kaiyo seabed train --masks` and
`kaiyo seabed evaluate --masks` read (`images/<name>.png` + `masks/<name>.png`, class ids).

Design.
- One scene per seed: the world's `scene.seed` is replaced by the seed (fractions, urchin
  densities, light and bathymetry stay the world's), so seeds are independent seabeds drawn
  from the same site model. Keep training/validation seeds disjoint from the demo's (42) and
  from the tests' so a model is never scored on a seabed it saw.
- Poses: position uniform over the scene extent (less a margin), base_link altitude uniform in
  `altitude_m` above the seabed straight below, yaw uniform, roll and pitch uniform within
  +-`max_tilt_deg` (a hovering AUV's small attitude wobble). Turbidity: the world's beam and
  diffuse attenuation and veiling light are scaled by one factor per seed drawn from
  `turbidity`, so the model sees somewhat clearer and murkier water than the nominal.
- The camera is the vehicle's (intrinsics, mounting, lamp) at `camera_scale` (0.5 = the demo's
  320x240); its texture and noise seed is derived from the scene seed, so textures vary
  between seeds as they vary between simulator runs.
- Deterministic: the same (world, vehicle, seed, frame count, options) gives the same bytes.
- Per frame the manifest keeps the pose and the pixel positions of the urchins whose centre
  is visible (their class-mask pixel is the urchin class): truth for detector validation.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import transforms3d.euler as t3e

from kaiyo_common.vehicles import VehicleParams
from kaiyo_sim.camera import UnderwaterCamera
from kaiyo_sim.world import CLASS_NAMES, CLASS_URCHIN, World

#: Most frames per seed (a typo like 1e6 should not fill the disk).
MAX_FRAMES_PER_SEED = 10_000
#: Scene seeds reserved for the sim-domain classifier (kaiyo_seabed/config/MODEL-PROVENANCE.md):
#: training, validation (choices such as the urchin thresholds) and test (reported figures
#: only). Disjoint from the demo's 42, the `--seed 7` example and the tests' seeds (small
#: numbers, 230, 300).
TRAIN_SEEDS = range(100, 140)
VALIDATION_SEEDS = range(200, 210)
TEST_SEEDS = range(210, 220)


class DatasetError(ValueError):
    """Bad dataset request (seeds, frame count, ranges, vehicle without a camera)."""


@dataclass(frozen=True)
class DatasetOptions:
    camera_scale: float = 0.5                # of the vehicle camera's resolution
    altitude_m: tuple = (1.5, 3.5)           # base_link above the seabed, m
    max_tilt_deg: float = 5.0                # roll and pitch, +-deg
    turbidity: tuple = (0.85, 1.25)          # attenuation/backscatter factor per seed
    margin_m: float = 5.0                    # keep poses this far inside the scene extent

    def __post_init__(self) -> None:
        lo, hi = self.altitude_m
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.3 <= lo <= hi <= 20.0):
            raise DatasetError(f'altitude range {self.altitude_m!r} m must satisfy '
                               '0.3 <= low <= high <= 20')
        if not 0.0 <= self.max_tilt_deg <= 30.0:
            raise DatasetError(f'max_tilt_deg {self.max_tilt_deg!r} must be in [0, 30]')
        tlo, thi = self.turbidity
        if not 0.1 <= tlo <= thi <= 10.0:
            raise DatasetError(f'turbidity range {self.turbidity!r} must satisfy '
                               '0.1 <= low <= high <= 10')
        if not 0.05 <= self.camera_scale <= 4.0:
            raise DatasetError(f'camera_scale {self.camera_scale!r} must be in [0.05, 4]')
        if not self.margin_m >= 0.0:
            raise DatasetError(f'margin_m {self.margin_m!r} must be >= 0')


def parse_seeds(text: str) -> list[int]:
    """'100-139' or '1,2,5-7' -> sorted unique seeds; raises DatasetError naming the part."""
    seeds: set[int] = set()
    for part in (p.strip() for p in str(text).split(',')):
        if not part:
            continue
        lo, sep, hi = part.partition('-')
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise DatasetError(f'seed range {part!r} is not N or N-M (non-negative '
                               'integers)') from None
        if a < 0 or b < a:
            raise DatasetError(f'seed range {part!r} must be N-M with 0 <= N <= M')
        seeds.update(range(a, b + 1))
    if not seeds:
        raise DatasetError(f'no seeds in {text!r}; give e.g. 100-139')
    return sorted(seeds)


def world_for_seed(world: World, seed: int, turbidity: float = 1.0) -> World:
    """The world with another scene seed and its water `turbidity` times as attenuating."""
    light = dataclasses.replace(
        world.light,
        beam_attenuation_per_m=world.light.beam_attenuation_per_m * turbidity,
        diffuse_attenuation_per_m=world.light.diffuse_attenuation_per_m * turbidity,
        veiling_light=world.light.veiling_light * turbidity)
    return dataclasses.replace(world, scene_spec=dataclasses.replace(world.scene_spec, seed=seed),
                               light=light)


@dataclass
class SampleFrame:
    name: str
    image_rgb: np.ndarray
    class_mask: np.ndarray
    pose: dict            # x, y, z (m, base_link in map), roll/pitch/yaw (rad), altitude_m
    urchins_px: list      # [[u, v], ...] visible urchin centres, px


def visible_urchins(cam: UnderwaterCamera, scene, world: World, position, rot_body,
                    mask: np.ndarray) -> list:
    """Pixel centres of the urchins whose centre projects into the frame onto urchin pixels
    (so an urchin hidden behind a tower leg is not counted)."""
    if len(scene.urchins) == 0:
        return []
    origin, r = cam.camera_pose(position, rot_body)
    near = np.hypot(scene.urchins[:, 0] - origin[0], scene.urchins[:, 1] - origin[1]) \
        < cam.cam.max_range_m
    pts = scene.urchins[near]
    if len(pts) == 0:
        return []
    z = world.bathymetry.seabed_z(pts[:, 0], pts[:, 1])
    rel = np.column_stack([pts, z]) - origin
    opt = rel @ r                     # map -> optical: r is optical -> map
    front = opt[:, 2] > 1e-3
    u = cam.fx * opt[:, 0] / np.where(front, opt[:, 2], 1.0) + cam.cx
    v = cam.fy * opt[:, 1] / np.where(front, opt[:, 2], 1.0) + cam.cy
    inside = front & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
    out = []
    for uu, vv in zip(u[inside], v[inside]):
        if mask[int(vv), int(uu)] == CLASS_URCHIN:
            out.append([round(float(uu), 1), round(float(vv), 1)])
    return out


def render_seed(world: World, vehicle: VehicleParams, seed: int, frames: int,
                options: DatasetOptions | None = None):
    """Yield `frames` SampleFrames over the scene of `seed` (deterministic)."""
    opt = options or DatasetOptions()
    if vehicle.camera is None:
        raise DatasetError(f'vehicle {vehicle.name!r} has no camera')
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(f'seed {seed!r} must be a non-negative integer')
    if not isinstance(frames, (int, np.integer)) or not 1 <= frames <= MAX_FRAMES_PER_SEED:
        raise DatasetError(f'frames per seed {frames!r} must be an integer in '
                           f'1..{MAX_FRAMES_PER_SEED}')
    rng = np.random.default_rng([int(seed), 0x6b6169])      # independent of other streams
    w_seed = world_for_seed(world, int(seed), float(rng.uniform(*opt.turbidity)))
    scene = w_seed.build_scene()
    cam = UnderwaterCamera(vehicle.camera, w_seed, scene, opt.camera_scale,
                           seed=int(rng.integers(0, 2**31)))
    w, s, e, n = w_seed.scene_spec.extent_m
    m = opt.margin_m
    if e - w <= 2 * m or n - s <= 2 * m:
        raise DatasetError(f'scene extent {w_seed.scene_spec.extent_m} is smaller than twice '
                           f'the margin {m} m')
    tilt = math.radians(opt.max_tilt_deg)
    for k in range(int(frames)):
        x, y = float(rng.uniform(w + m, e - m)), float(rng.uniform(s + m, n - m))
        alt = float(rng.uniform(*opt.altitude_m))
        yaw = float(rng.uniform(-math.pi, math.pi))
        roll, pitch = (float(v) for v in rng.uniform(-tilt, tilt, 2))
        z = float(w_seed.bathymetry.seabed_z(x, y)) + alt
        if z > 0.0:     # shallower than the scene allows: keep the camera under water
            z = -0.5
        rot = t3e.euler2mat(roll, pitch, yaw, 'sxyz')   # body FLU -> map ENU
        frame = cam.render(np.array([x, y, z]), rot, 0.0)
        name = f'seed{int(seed):05d}_{k:04d}'
        yield SampleFrame(name, frame.image_rgb, frame.class_mask,
                          {'x': round(x, 3), 'y': round(y, 3), 'z': round(z, 3),
                           'roll': round(roll, 5), 'pitch': round(pitch, 5),
                           'yaw': round(yaw, 5), 'altitude_m': round(alt, 3)},
                          visible_urchins(cam, scene, w_seed, [x, y, z], rot, frame.class_mask))


def write_dataset(world: World, vehicle: VehicleParams, seeds, frames_per_seed: int,
                  out_dir, options: DatasetOptions | None = None, progress=None) -> dict:
    """Render every seed's frames into out_dir/images, out_dir/masks and write
    out_dir/manifest.json; returns the manifest. `progress(done, total)` is called per frame."""
    opt = options or DatasetOptions()
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise DatasetError('no seeds given')
    out = Path(out_dir)
    images, masks = out / 'images', out / 'masks'
    for d in (images, masks):
        if d.exists() and any(d.iterdir()):
            raise DatasetError(f'{d} is not empty: give a new output folder')
        d.mkdir(parents=True, exist_ok=True)
    manifest = {
        'generator': 'kaiyo_sim.dataset', 'world': world.name, 'vehicle': vehicle.name,
        'seeds': seeds, 'frames_per_seed': int(frames_per_seed),
        'options': dataclasses.asdict(opt), 'classes': dict(enumerate(CLASS_NAMES)),
        'layout': 'images/<name>.png (RGB) + masks/<name>.png (class ids, same size)',
        'frames': [],
    }
    total, done = len(seeds) * int(frames_per_seed), 0
    for seed in seeds:
        for f in render_seed(world, vehicle, seed, frames_per_seed, opt):
            cv2.imwrite(str(images / f'{f.name}.png'), cv2.cvtColor(f.image_rgb,
                                                                    cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(masks / f'{f.name}.png'), f.class_mask)
            manifest['frames'].append({'name': f.name, 'seed': seed, 'pose': f.pose,
                                       'urchins_px': f.urchins_px})
            done += 1
            if progress is not None:
                progress(done, total)
    (out / 'manifest.json').write_text(json.dumps(manifest, indent=1))
    return manifest
