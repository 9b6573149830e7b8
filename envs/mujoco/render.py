"""Offscreen MuJoCo rendering: backend selection and one RGB + depth + geom-id render per frame.

Backend: `MUJOCO_GL` when the user set it; otherwise EGL when a GPU is present, OSMesa on a
CPU-only machine when libOSMesa is installed, else EGL on Mesa's software driver. The choice
is written back to `MUJOCO_GL` before `mujoco` is imported, so worker processes inherit it.
"""

from __future__ import annotations

import atexit
import ctypes.util
import glob
import importlib
import os
import weakref

import numpy as np

PACKAGES = {"egl": "libegl1 libgl1-mesa-dri", "osmesa": "libosmesa6"}
INSTALL_HINT = (
    "install a MuJoCo render backend: `sudo apt-get install libegl1 libgl1-mesa-dri` (EGL, GPU or "
    "software) or `sudo apt-get install libosmesa6` (OSMesa, CPU), or set MUJOCO_GL=egl|osmesa|glfw"
)


def has_gpu() -> bool:
    """True when a GPU device node exists (NVIDIA or a DRM render node)."""
    return bool(glob.glob("/dev/nvidia[0-9]*") or glob.glob("/dev/dri/renderD*"))


def select_backend() -> str:
    """The MuJoCo GL backend to use, following the module docstring's order; sets MUJOCO_GL."""
    chosen = os.environ.get("MUJOCO_GL", "").strip().lower()
    if not chosen:
        has_egl, has_osmesa = (
            bool(ctypes.util.find_library("EGL")),
            bool(ctypes.util.find_library("OSMesa")),
        )
        if has_egl and has_gpu():
            chosen = "egl"
        elif has_osmesa:
            chosen = "osmesa"
        elif has_egl:
            chosen = "egl"
        else:
            raise RuntimeError(
                f"no OpenGL library found for MuJoCo (neither libEGL nor libOSMesa); {INSTALL_HINT}"
            )
        os.environ["MUJOCO_GL"] = chosen
    return chosen


BACKEND = select_backend()

import mujoco  # noqa: E402  (after MUJOCO_GL is decided)


def _gl_context(width: int, height: int):
    """An offscreen GL context of the selected backend, or a one-line error naming the package."""
    try:
        module = importlib.import_module(f"mujoco.{BACKEND}")
        context = module.GLContext(width, height)
    # noqa: BLE001  (EGL/OSMesa raise many types; all mean "cannot render")
    except Exception as err:
        hint = f"`sudo apt-get install {PACKAGES[BACKEND]}`; " if BACKEND in PACKAGES else ""
        raise RuntimeError(
            f"MuJoCo cannot open a MUJOCO_GL={BACKEND} context ({type(err).__name__}: {err}); "
            f"{hint}{INSTALL_HINT}"
        ) from err
    atexit.unregister(_close_all)
    atexit.register(
        _close_all
    )  # after the backend's own exit hook, so it runs first (atexit is LIFO)
    return context


_LIVE: weakref.WeakSet = weakref.WeakSet()  # closed at exit, before Python tears down PyOpenGL


def _close_all() -> None:
    for renderer in list(_LIVE):
        renderer.close()


class SceneRenderer:
    """Renders the loaded model from a fixed world camera: RGB (lit, shadowed) then depth + geom ids
    in one pass.

    The segmentation pass draws flat id colours with no lighting, so it is cheap; its depth
    buffer gives metric depth, so each frame costs two rasterisations.
    """

    def __init__(self, width: int, height: int, camera: int = 0):
        self.width, self.height, self.model = width, height, None
        self._ctx = _gl_context(width, height)
        self._mjr = None
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = camera
        self._option = mujoco.MjvOption()
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), np.uint8)
        self._ids = np.empty((height, width, 3), np.uint8)
        self._zbuf = np.empty((height, width), np.float32)
        _LIVE.add(self)

    def load(self, model: mujoco.MjModel) -> None:
        """Upload a (new) model's meshes and textures; the GL context is kept across models."""
        if self.width > model.vis.global_.offwidth or self.height > model.vis.global_.offheight:
            raise ValueError(
                f"render size {self.width}x{self.height} exceeds the model's offscreen buffer "
                f"{model.vis.global_.offwidth}x{model.vis.global_.offheight}"
            )
        self._ctx.make_current()
        if self._mjr is not None:
            self._mjr.free()
        self.model = model
        self._mjr = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100.value)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._mjr)
        self._mjr.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        self._scene = mujoco.MjvScene(model, maxgeom=max(64, 2 * model.ngeom))
        extent = model.stat.extent
        self._near, self._far = model.vis.map.znear * extent, model.vis.map.zfar * extent

    def render(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> rgb (H, W, 3) uint8, depth (H, W) float32 metres (inf: nothing hit), geom (H, W) int32
        (-1: none)."""
        self._ctx.make_current()
        mujoco.mjv_updateScene(
            self.model,
            data,
            self._option,
            None,
            self._camera,
            mujoco.mjtCatBit.mjCAT_ALL.value,
            self._scene,
        )
        mujoco.mjr_render(self._rect, self._scene, self._mjr)
        mujoco.mjr_readPixels(self._rgb, None, self._rect, self._mjr)
        flags = self._scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        try:
            mujoco.mjr_render(self._rect, self._scene, self._mjr)
            mujoco.mjr_readPixels(self._ids, self._zbuf, self._rect, self._mjr)
        finally:
            flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = False
        rgb = np.ascontiguousarray(self._rgb[::-1])  # GL rows run bottom-up
        depth = self._linear_depth(self._zbuf[::-1])
        seg = self._ids[::-1].astype(np.int32)
        segid = seg[..., 0] + (seg[..., 1] << 8) + (seg[..., 2] << 16) - 1  # -1: background
        ngeom = self._scene.ngeom
        lut = np.full(ngeom + 1, -1, np.int32)  # scene geom index (+1) -> model geom id
        for i in range(ngeom):
            g = self._scene.geoms[i]
            if g.segid >= 0 and g.objtype == mujoco.mjtObj.mjOBJ_GEOM:
                lut[g.segid + 1] = g.objid
        geom = lut[np.clip(segid + 1, 0, ngeom)]
        return rgb, depth, geom

    def _linear_depth(self, zbuf: np.ndarray) -> np.ndarray:
        """Reversed-z depth buffer (1 at the near plane, 0 at the far one) -> metres along the view
        axis."""
        near, far = np.float64(self._near), np.float64(self._far)
        z = zbuf.astype(np.float64)
        depth = near * far / (near + z * (far - near))
        depth[z <= 0.0] = np.inf
        return depth.astype(np.float32)

    def close(self) -> None:
        """Free the GL resources (safe to call twice)."""
        if self._ctx is not None:
            self._ctx.make_current()
            if self._mjr is not None:
                self._mjr.free()
            self._ctx.free()
            self._ctx = self._mjr = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001  (interpreter shutdown may have torn GL down already)
            pass
