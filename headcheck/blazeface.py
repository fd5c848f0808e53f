"""MediaPipe's BlazeFace detectors (short and full range), run with LiteRT: a second look for
faces that dlib's HOG cascade misses (turned heads, soft studio light, small or stylised faces).

The two model files ship in ``headcheck/data`` (Apache-2.0, see ``data/BLAZEFACE.md``); the SSD
anchors are generated and the raw outputs decoded here, following MediaPipe's published
``SsdAnchorsCalculator`` and ``TensorsToDetectionsCalculator`` options for these models.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Spec:
    file: str
    size: int  # square input, pixels
    strides: tuple[int, ...]  # one SSD layer per stride; equal strides share a grid
    anchors_per_layer: int


SHORT = Spec("blazeface_short_range.tflite", 128, (8, 16, 16, 16), 2)
FULL = Spec("blazeface_full_range.tflite", 192, (4,), 1)


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in image pixels
    score: float
    # image-left eye, image-right eye, nose tip, mouth, then the two ear tragions
    keypoints: tuple[tuple[float, float], ...]


def anchors(spec: Spec) -> np.ndarray:
    """Anchor centres (N x 2, in 0-1 input units), in the models' output order."""
    out = []
    i = 0
    while i < len(spec.strides):
        stride = spec.strides[i]
        j = i
        while j < len(spec.strides) and spec.strides[j] == stride:
            j += 1
        per_cell = (j - i) * spec.anchors_per_layer
        n = spec.size // stride
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(out).astype(np.float32)


class BlazeFace:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.anchors = anchors(spec)

    @cached_property
    def interpreter(self):  # noqa: ANN201 - LiteRT's Interpreter
        from ai_edge_litert.interpreter import Interpreter

        # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" straight to fd 2 when
        # the interpreter is built (once per process): keep it out of the CLI's output. XNNPACK
        # itself stays: it runs these models 2.3x faster than the plain kernels here.
        with _quiet_stderr():
            it = Interpreter(model_path=str(DATA / self.spec.file), num_threads=1)
            it.allocate_tensors()
        return it

    def detect(self, rgb: np.ndarray, min_score: float) -> list[Detection]:
        """Faces scoring at least ``min_score``, best first, overlaps removed."""
        h, w = rgb.shape[:2]
        side = max(h, w)
        # letterbox: the image centred on a square, scaled to the input size
        k = self.spec.size / side
        nw, nh = max(1, round(w * k)), max(1, round(h * k))
        small = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
        canvas = np.zeros((self.spec.size, self.spec.size, 3), np.float32)
        ox, oy = (self.spec.size - nw) // 2, (self.spec.size - nh) // 2
        canvas[oy:oy + nh, ox:ox + nw] = small
        it = self.interpreter
        it.set_tensor(it.get_input_details()[0]["index"], (canvas / 127.5 - 1.0)[None])
        it.invoke()
        outs = [it.get_tensor(d["index"])[0] for d in it.get_output_details()]
        reg = next(o for o in outs if o.shape[-1] == 16)
        raw = next(o for o in outs if o.shape[-1] == 1)[:, 0]
        scores = 1 / (1 + np.exp(-np.clip(raw.astype(np.float64), -100, 100)))
        keep = np.flatnonzero(scores >= min_score)
        dets = []
        for i in keep[np.argsort(-scores[keep])]:
            r = reg[i] / self.spec.size
            cx, cy = r[0] + self.anchors[i, 0], r[1] + self.anchors[i, 1]
            pts = r[4:16].reshape(6, 2) + self.anchors[i]

            def to_image(x: float, y: float) -> tuple[float, float]:
                return ((x * self.spec.size - ox) / k, (y * self.spec.size - oy) / k)

            x0, y0 = to_image(cx - r[2] / 2, cy - r[3] / 2)
            x1, y1 = to_image(cx + r[2] / 2, cy + r[3] / 2)
            kp = [to_image(float(x), float(y)) for x, y in pts]
            eyes = sorted(kp[:2])
            det = Detection((x0, y0, x1 - x0, y1 - y0), float(scores[i]),
                            tuple(eyes) + tuple(kp[2:]))
            if all(_iou(det.box, d.box) < 0.3 for d in dets):
                dets.append(det)
        return dets


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
