"""Underwater camera: numpy ray casting of the seabed scene plus an underwater light model
(pure: numpy + OpenCV, no rclpy).

Geometry. One ray per pixel from the pinhole model (K from the vehicle YAML, optical frame
z forward, x right, y down). Each ray is intersected with the bathymetry z = -depth(x, y)
(a plane guess refined by fixed-point iterations on the relief) and with the tower legs
(vertical cylinders); the nearest hit wins. Rays that climb or run out past max_range_m
see open water. The class of every hit point is the scene's pure function of (x, y), so
the ground-truth mask is pixel-exact for the rendered frame. Surfaces get per-material
textures (sand ripples, rock mottling, pitted coralline crust, kelp blades, urchin spines)
and reflectances from world.ALBEDO.

Light (after Jaffe-McGlamery and Akkaynak & Treibitz's revised image formation model),
per colour channel c with beam attenuation b_c and diffuse attenuation Kd_c (1/m):

    E_sun   = E0_c exp(-Kd_c depth_hit) cos(theta_sun)          daylight reaching the seabed
    E_lamp  = P cos(theta_i) beam(phi) exp(-b_c r_l) / r_l^2    artificial light, r_l lamp->hit
    direct  = albedo_c (E_sun + E_lamp) exp(-b_c r)             r camera->hit: red dies first
    back    = B_inf,c exp(-Kd_c depth_cam) (1 - exp(-b_c r))    veiling light (backscatter)
    I       = exposure (direct + back) -> defocus/forward-scatter blur -> shot + read noise
              -> marine snow (lit particles near the lens) -> sRGB gamma -> 8 bit

Exposure is fixed (no auto gain), so frames honestly darken and turn green-blue with range,
as a real fixed-exposure survey camera does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kaiyo_common.vehicles import Camera
from kaiyo_sim.world import (
    ALBEDO,
    CLASS_WATER,
    LEG_MATERIAL,
    MATERIAL_CLASS,
    BathymetryGrid,
    SeabedScene,
    World,
)


class CameraError(ValueError):
    """Bad camera configuration or pose."""


@dataclass
class Frame:
    image_rgb: np.ndarray        # (H, W, 3) uint8
    class_mask: np.ndarray       # (H, W) uint8 class ids
    range_m: np.ndarray          # (H, W) float32 camera->hit distance, m (inf: water)


def _texture(seed: int, size: int = 256) -> np.ndarray:
    """A tileable multi-octave value-noise texture in [0.6, 1.4] (seabed grain)."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((size, size), np.float32)
    amp = 1.0
    for cells in (8, 16, 32, 64, 128):
        small = rng.standard_normal((cells, cells)).astype(np.float32)
        tiled = cv2.resize(np.tile(small, (3, 3)), (size * 3, size * 3),
                           interpolation=cv2.INTER_CUBIC)[size:2 * size, size:2 * size]
        acc += amp * tiled
        amp *= 0.6
    acc = (acc - acc.mean()) / (acc.std() + 1e-9)
    return np.clip(1.0 + 0.2 * acc, 0.6, 1.4)


def _tileable_blur(img: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Gaussian blur that wraps around (OpenCV's blur has no wrap border): blur 3x3 tiles,
    keep the centre."""
    h, w = img.shape
    big = cv2.GaussianBlur(np.tile(img, (3, 3)), (0, 0), sigmaX=sx, sigmaY=sy)
    return big[h:2 * h, w:2 * w]


def material_textures(seed: int, size: int = 256) -> np.ndarray:
    """Tileable brightness textures per material (sand, rock, coralline, seaweed, urchin,
    leg), (6, size, size) float32 around 1: what each surface looks like up close.

    sand: fine grain on wave ripples (~10 cm); rock: coarse mottling and cracks; coralline
    crust: pale crust with dark pits; seaweed (Ecklonia/Sargassum): overlapping blades,
    long along the swell, with dark gaps between them; urchin: dark spines radiating
    (rendered as a speckle); leg: fouled steel."""
    rng = np.random.default_rng(seed)
    base = _texture(seed + 1, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)

    def noise(sx, sy, k=1.0):
        n = _tileable_blur(rng.standard_normal((size, size)).astype(np.float32), sx, sy)
        return k * n / (n.std() + 1e-9)

    ripples = 0.12 * np.sin(2 * np.pi * (xx / size * 15 + 0.15 * noise(12, 12)))
    sand = base * (1.0 + ripples) + 0.06 * noise(0.7, 0.7)
    rock = base * (1.0 + 0.15 * noise(6, 6)) - 0.35 * (np.abs(noise(3, 3)) < 0.06)
    coral = 1.0 + 0.1 * noise(4, 4) - 0.3 * (noise(1.2, 1.2) > 1.8)
    blades = noise(2.5, 22)                       # long along y, narrow across
    weed = 0.75 + 0.45 * np.tanh(1.5 * blades) + 0.08 * noise(1, 6)
    urchin = 0.8 + 0.5 * (noise(0.8, 0.8) > 1.0)
    leg = base * (1.0 + 0.2 * noise(5, 5))
    out = np.stack([sand, rock, coral, weed, urchin, leg]).astype(np.float32)
    return np.clip(out, 0.2, 1.8)


_GRIDS: dict = {}


def _grid_for(world: World) -> BathymetryGrid:
    """One bathymetry grid per world, shared by its cameras."""
    key = id(world.bathymetry)
    g = _GRIDS.get(key)
    if g is None or g.bathy is not world.bathymetry:
        if len(_GRIDS) >= 4:                  # a few worlds at most (tests build many)
            _GRIDS.pop(next(iter(_GRIDS)))
        g = _GRIDS[key] = BathymetryGrid(world.bathymetry, world.scene_spec.extent_m)
    return g


class UnderwaterCamera:
    """Renders frames for one camera (intrinsics + mounting) in one world."""

    TEXTURE_SCALE_M = 1.5       # metres covered by one texture tile
    SNOW_TINT = tuple(np.float32(c) for c in (0.9, 0.95, 1.0))   # lit particles: bluish white

    def __init__(self, cam: Camera, world: World, scene: SeabedScene, scale: float = 1.0,
                 seed: int = 0, blur_sigma_px: float = 0.8, read_noise: float = 0.01,
                 exposure: float = 1.6):
        if not 0.05 <= scale <= 4.0:
            raise CameraError(f'camera scale {scale} must be in [0.05, 4]')
        self.cam, self.world, self.scene = cam, world, scene
        self.width = max(8, int(round(cam.width * scale)))
        self.height = max(8, int(round(cam.height * scale)))
        sx, sy = self.width / cam.width, self.height / cam.height
        self.fx, self.fy = cam.fx * sx, cam.fy * sy
        self.cx, self.cy = cam.cx * sx, cam.cy * sy
        u, v = np.meshgrid(np.arange(self.width) + 0.5, np.arange(self.height) + 0.5)
        d = np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy,
                      np.ones_like(u)], axis=-1).reshape(-1, 3)
        self.rays_optical = (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)
        self._ray_cols = tuple(np.ascontiguousarray(self.rays_optical[:, i]) for i in range(3))
        # optical (z fwd, x right, y down) -> camera link FLU (x fwd, y left, z up)
        self.optical_to_link = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
        self.link_to_body = cam.mounting.rotation()
        self.rng = np.random.default_rng(seed)
        self.blur_sigma_px = blur_sigma_px
        self.read_noise = read_noise
        self.exposure = exposure
        self.textures = material_textures(seed + 1)            # (materials, 256, 256)
        self._bathy_grid = _grid_for(world)
        # material id (uint8) -> class / albedo per channel as 256-entry tables for cv2.LUT
        # (several times faster than numpy gathers)
        self._class_lut = np.zeros(256, np.uint8)
        self._class_lut[:len(MATERIAL_CLASS)] = MATERIAL_CLASS
        self._albedo_luts = np.zeros((3, 256), np.float32)
        self._albedo_luts[:, :len(ALBEDO)] = ALBEDO.T
        self._texture_flat = self.textures.ravel()
        self._noise_bank = self.rng.standard_normal(self.width * self.height * 3 * 4,
                                                    dtype=np.float32)
        self._gamma_lut = (np.linspace(0.0, 1.0, 4096) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)
        self.frames = 0

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    def camera_pose(self, position, rot_body):
        """Camera centre (map, m) and optical->map rotation for a vehicle pose."""
        origin = np.asarray(position, float) + rot_body @ self.cam.mounting.position_m
        r = rot_body @ self.link_to_body @ self.optical_to_link
        return origin, r

    def render(self, position, rot_body, t: float = 0.0) -> Frame:
        """Render one frame from the vehicle pose (position ENU m, body FLU->ENU rotation)."""
        position = np.asarray(position, dtype=float)
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise CameraError(f'camera pose position {position!r} must be 3 finite numbers')
        origin, r = self.camera_pose(position, rot_body)
        # ray directions in map: 9 multiply-adds on float32 columns (a (N,3)@(3,3) matmul
        # takes a slow generic path in numpy)
        rx, ry, rz = self._ray_cols
        rr = r.astype(np.float32)
        dx = rr[0, 0] * rx + rr[0, 1] * ry + rr[0, 2] * rz
        dy = rr[1, 0] * rx + rr[1, 1] * ry + rr[1, 2] * rz
        dz = rr[2, 0] * rx + rr[2, 1] * ry + rr[2, 2] * rz
        n = dx.shape[0]
        max_r = self.cam.max_range_m
        bathy = self.world.bathymetry
        grid = self._bathy_grid
        ox, oy, oz = (float(v) for v in origin)
        # -- seabed hit: plane guess under the camera, refined on the relief -------------
        down = dz < -1e-3
        z0 = float(bathy.seabed_z(ox, oy))
        t_hit = np.full(n, np.inf, np.float32)
        if z0 < oz <= 0.0:
            inv = np.where(down, dz, np.float32(-1.0))
            np.divide(np.float32(-1.0), inv, out=inv)
            if not down.all():
                inv[~down] = 0.0
            tt = (oz - z0) * inv
            for _ in range(4):       # fixed point on the relief (gentle: <= 0.5 m)
                np.minimum(tt, np.float32(4.0 * max_r), out=tt)
                zs = grid.seabed_z(ox + tt * dx, oy + tt * dy)
                t_new = (oz - zs) * inv
                done = float(np.max(np.abs(t_new - tt))) < 1e-3    # 1 mm: converged
                tt = t_new
                if done:
                    break
            t_hit = np.where(down & (tt > 0), tt, np.float32(np.inf))
        # -- tower legs: vertical cylinders, only those that could be nearer than the seabed
        rad = 0.5 * self.world.leg_diameter_m
        leg_hit = np.zeros(n, bool)
        finite = np.isfinite(t_hit)
        reach = max_r if not finite.all() else float(t_hit.max())
        legs = [(ox - cxl, oy - cyl) for cxl, cyl in self.world.legs_enu_m
                if math.hypot(ox - cxl, oy - cyl) - rad <= min(reach, max_r)]
        if legs:
            # a hit that matters lies on the ray before the seabed and max range, so inside
            # the box the rays sweep horizontally: legs off that box are out of view (a leg hit
            # past max_r leaves the pixel water either way)
            tb = np.minimum(t_hit, np.float32(max_r))
            ex, ey = tb * dx, tb * dy
            lo_x, hi_x = min(0.0, float(ex.min())), max(0.0, float(ex.max()))
            lo_y, hi_y = min(0.0, float(ey.min())), max(0.0, float(ey.max()))
            m = rad + 1e-3                       # + float32 rounding of the hit points
            legs = [(lx, ly) for lx, ly in legs
                    if lo_x - m <= -lx <= hi_x + m and lo_y - m <= -ly <= hi_y + m]
        a = a4 = a_ok = None
        for lx, ly in legs:
            if a is None:
                a = dx * dx + dy * dy
                a4, a_ok = 4 * a, a > 1e-9
            b = 2 * (lx * dx + ly * dy)
            c = lx * lx + ly * ly - rad * rad
            disc = b * b - a4 * c
            # the root only for the few rays that meet the cylinder (same arithmetic per ray)
            i = np.flatnonzero((disc >= 0) & a_ok)
            if i.size == 0:
                continue
            tl = (-b[i] - np.sqrt(disc[i])) / (2 * np.maximum(a[i], 1e-9))
            closer = (tl > 0) & (tl < t_hit[i])
            t_hit[i[closer]] = tl[closer]
            leg_hit[i[closer]] = True
        hit = np.isfinite(t_hit) & (t_hit <= max_r)
        th = np.where(hit, t_hit, np.float32(0))
        hx = ox + th * dx
        hy = oy + th * dy
        hz = oz + th * dz
        sea = hit & ~leg_hit
        if np.count_nonzero(sea) > n // 2:
            # mostly seabed: classify every ray (any point is valid) rather than gather
            material = self.scene.material(hx, hy)
            material[~sea] = 0
        else:
            material = np.zeros(n, np.uint8)
            material[sea] = self.scene.material(hx[sea], hy[sea])
        material[hit & leg_hit] = LEG_MATERIAL
        cls = np.where(hit, cv2.LUT(material, self._class_lut).ravel(), np.uint8(CLASS_WATER))
        # -- light model: float32, colour planes (3, N) so every per-pixel factor
        # multiplies contiguous rows, exps through OpenCV (SIMD; numpy's float32 exp is ~40x
        # slower here) ----------------------------------------------------------------------
        light = self.world.light
        b = light.beam_attenuation_per_m.astype(np.float32)[:, None]
        kd = light.diffuse_attenuation_per_m.astype(np.float32)[:, None]
        rng_m = np.where(hit, t_hit, np.float32(np.inf))
        tscale = np.float32(256.0 / self.TEXTURE_SCALE_M)
        tix = (hx * tscale).astype(np.int32) & 255
        tiy = (hy * tscale).astype(np.int32) & 255
        # (flat take: fancy indexing is slower)
        grain = np.take(self._texture_flat, material.astype(np.int32) * 65536 + tiy * 256 + tix)
        refl = np.empty((3, n), np.float32)
        for ch in range(3):
            np.multiply(cv2.LUT(material, self._albedo_luts[ch]).ravel(), grain, out=refl[ch])
        depth_hit = np.maximum(np.float32(0), -hz)
        bth = b * th                                            # (3, N) path camera <- seabed
        # daylight down to the hit, then back along the path: one exp for both (the (3, N)
        # planes are worked in place: fresh temporaries cost as much as the arithmetic)
        sun = kd * depth_hit
        sun += bth
        cv2.exp(np.negative(sun, out=sun), sun)
        sun *= light.surface_irradiance.astype(np.float32)[:, None] * np.float32(0.8)
        if self.cam.light_power > 0:
            lamp = origin + rot_body @ self.cam.light_offset_m
            lvx = hx - np.float32(lamp[0])
            lvy = hy - np.float32(lamp[1])
            lvz = hz - np.float32(lamp[2])
            rl = np.maximum(np.sqrt(lvx * lvx + lvy * lvy + lvz * lvz), np.float32(0.05))
            axis = r[:, 2].astype(np.float32)                # optical axis in map
            cos_beam = (lvx * axis[0] + lvy * axis[1] + lvz * axis[2]) / rl
            cos_half = np.float32(math.cos(math.radians(self.cam.light_beam_half_angle_deg)))
            beam = np.sqrt(np.clip((cos_beam - cos_half) / (1 - cos_half), 0, 1))
            # seabed facing up: cos of incidence = -lv_z / r; legs: ~facing the light
            cos_i = np.clip(-lvz / rl, 0, 1)
            cos_i[leg_hit] = 0.8
            lamp_e = np.float32(self.cam.light_power * 0.6) * beam * cos_i / (rl * rl)
            att = b * rl                                          # lamp -> hit -> camera
            att += bth
            cv2.exp(np.negative(att, out=att), att)
            att *= lamp_e
            sun += att
        direct = np.multiply(refl, sun, out=refl)
        cam_depth = max(0.0, -oz)
        veil = light.veiling_light.astype(np.float32)[:, None] \
            * np.exp(-kd * np.float32(cam_depth))
        # backscatter grows with the path; open water (no hit) shows the full veiling light
        back = cv2.exp(np.negative(bth, out=bth), bth)          # (bth's last use)
        np.subtract(np.float32(1.0), back, out=back)
        back *= veil
        rad = np.add(direct, back, out=direct)
        if not hit.all():
            rad[:, ~hit] = veil
        rad *= np.float32(self.exposure)
        # marine snow goes in before the blur: the far particles then need no blur of their own
        snow = self._marine_snow(light.marine_snow_per_m3)
        if snow is not None:
            for ch, tint in enumerate(self.SNOW_TINT):
                rad[ch] += snow * tint
        img = cv2.merge([rad[0], rad[1], rad[2]]).reshape(self.height, self.width, 3)
        if self.blur_sigma_px > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.blur_sigma_px)
        # sensor noise: a random window of a pre-drawn Gaussian bank (drawing 230k normals
        # per frame costs more than the whole light model)
        off = int(self.rng.integers(0, self._noise_bank.size - img.size))
        noise = self._noise_bank[off:off + img.size].reshape(img.shape)
        sd = np.maximum(img, 0)                     # noise sigma: read + shot, in place
        np.sqrt(sd, out=sd)
        sd *= np.float32(0.02)
        sd += np.float32(self.read_noise)
        sd *= noise
        img += sd
        self.frames += 1
        # gamma 1/2.2 and 8-bit quantisation in one table lookup
        q = np.clip(img * np.float32(4095.0), 0, 4095).astype(np.int32)
        return Frame(self._gamma_lut[q],
                     cls.reshape(self.height, self.width),
                     rng_m.reshape(self.height, self.width))

    def _marine_snow(self, per_m3: float) -> np.ndarray | None:
        """Particles 0.2-3 m in front of the lens, lit by the lamp: small bright blurry dots.
        Returns their brightness, flat (H * W) float32, or None without particles."""
        if per_m3 <= 0:
            return None
        # volume of the view frustum from 0.2 to 3 m
        tan_x, tan_y = self.width / (2 * self.fx), self.height / (2 * self.fy)
        vol = 4 * tan_x * tan_y * (3.0 ** 3 - 0.2 ** 3) / 3
        count = self.rng.poisson(per_m3 * vol)
        if count == 0:
            return None
        z = np.cbrt(self.rng.uniform(0.2 ** 3, 3.0 ** 3, count))
        u = self.rng.integers(0, self.width, count)
        v = self.rng.integers(0, self.height, count)
        bright = np.clip(0.02 * (0.2 + self.cam.light_power) / z ** 2, 0, 0.5).astype(np.float32)
        # near particles are big out-of-focus discs (one extra blur), far ones single pixels
        # (the frame's own blur spreads them): splat each at its pixel
        near = z < 1.0
        shape = (self.height, self.width)
        size = self.height * self.width
        idx = v * self.width + u
        far_w = bright[~near] * (2 * math.pi * self.blur_sigma_px ** 2 if self.blur_sigma_px
                                 else 1.0)             # peak = brightness after the blur
        far_snow = np.bincount(idx[~near], weights=far_w, minlength=size)
        near_w = bright[near] * (2 * math.pi * 2.4 ** 2)      # peak = brightness after blur
        near_snow = np.bincount(idx[near], weights=near_w, minlength=size)
        snow = far_snow.astype(np.float32) + cv2.GaussianBlur(
            near_snow.astype(np.float32).reshape(shape), (0, 0), 2.4).ravel()
        return snow
