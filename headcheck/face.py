"""Face, eyes and identity from dlib models that ship inside pip wheels (nothing downloaded)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import cached_property

import cv2
import dlib
import face_recognition_models
import numpy as np
from PIL import Image

from .blazeface import FULL, SHORT, BlazeFace

# Detection runs on a copy whose longer side is at most this: headshot faces are large, and
# HOG cost grows with the pixel count. Landmarks are fitted on the decoded image (full size
# unless load.WORK_SIDE reduced a large JPEG).
# Headshot faces fill much of the frame, so a 192 px copy finds most of them (~80% of our
# 512 px benchmark images) at a third of the cost of 320 px; the rest get costlier looks.
DETECT_SIDES = ((192, 0), (320, 0), (400, 1))  # (longer side, upsampling) tried in order
CHIP_SIZE = 150  # the size dlib's face descriptor network expects
# dlib's own guidance for its 128-D descriptor: the same person is usually under 0.6. We use a
# stricter figure measured on our data (see docs/benchmarks.md) to call two faces the same.
SAME_FACE_DISTANCE = 0.5
# When dlib's HOG finds nothing, BlazeFace looks again (headcheck.blazeface). Its score floor,
# and the dlib box placed on its eyes: centre 0.49 eye distances below the eye midpoint, side
# 2.35 eye distances (medians over 316 faces both found; BlazeFace's own box sits elsewhere).
BLAZE_MIN_SCORE = 0.6
BOX_BELOW_EYES, BOX_SIDE = 0.49, 2.35
# dlib's landmarks on that box are kept when their eyes lie this close to BlazeFace's (in eye
# distances; the two agree within 0.14 on 95% of faces both find). Otherwise the face keeps
# BlazeFace's eyes and no landmarks: no identity chip, so it can never support "another face".
EYES_AGREE = 0.3
# Identity is measured only on faces at least this many pixels between the eyes. Below it the
# 150 px chip is mostly upsampling and the descriptor calls one face "another person" (two
# copies of one photo, one of them 96 px wide, measured 0.51-0.54 apart); the face's pixels are
# also finer than the dense patch (16 px per eye distance), so "other face pixels" is unproven.
MIN_IDENTITY_EYE_PX = 16


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in image pixels
    eyes: tuple[tuple[float, float], tuple[float, float]]  # image-left eye, image-right eye
    score: float
    landmarks: tuple[tuple[float, float], ...]  # dlib's 5 points, for the aligned chip
    detector: str = "dlib"  # "dlib", or "blazeface" for a face only the second look found

    @property
    def eye_distance(self) -> float:
        (lx, ly), (rx, ry) = self.eyes
        return float(np.hypot(rx - lx, ry - ly))

    def scaled(self, k: float) -> Face:
        """The same face in an image ``k`` times as large (from a reduced decode to the
        original's pixels)."""
        if k == 1.0:
            return self
        x, y, w, h = self.box
        return Face((round(x * k), round(y * k), round(w * k), round(h * k)),
                    ((self.eyes[0][0] * k, self.eyes[0][1] * k),
                     (self.eyes[1][0] * k, self.eyes[1][1] * k)),
                    self.score, tuple((px * k, py * k) for px, py in self.landmarks))

    def to_dict(self) -> dict:
        return {
            "box": list(self.box),
            "eyes": [[round(x, 2), round(y, 2)] for x, y in self.eyes],
            "score": round(self.score, 3),
            "detector": self.detector,
        }


def _model_path(name: str) -> str:
    # face_recognition_models' *_location() helpers import pkg_resources, which may be absent.
    return os.path.join(os.path.dirname(face_recognition_models.__file__), "models", name)


class FaceModels:
    """The loaded dlib models; build once per process and share (loading costs ~0.2 s)."""

    def __init__(self) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.shape5 = dlib.shape_predictor(_model_path("shape_predictor_5_face_landmarks.dat"))
        self.blaze = (BlazeFace(SHORT), BlazeFace(FULL))

    @cached_property
    def encoder(self) -> dlib.face_recognition_model_v1:
        # Loaded lazily: only verification of a context match needs identity.
        return dlib.face_recognition_model_v1(
            _model_path("dlib_face_recognition_resnet_model_v1.dat")
        )

    def find_face(self, rgb: np.ndarray) -> Face | None:
        """The most prominent face (largest box), or None."""
        h, w = rgb.shape[:2]
        rects: list = []
        tried: set[tuple[float, int]] = set()
        for side, upsample in DETECT_SIDES:
            scale = min(1.0, side / max(h, w))
            if (scale, upsample) in tried:
                continue  # a small image: the same look again would find nothing new
            tried.add((scale, upsample))
            small = rgb if scale == 1.0 else _resize(rgb, scale)
            if upsample and small.shape[0] * small.shape[1] > side ** 2:
                break  # large enough already: upsampling would only cost time
            rects, scores = self._detect(small, upsample)
            if rects:
                break
        if not rects:
            return self._second_look(rgb)
        best = max(range(len(rects)), key=lambda i: rects[i].width() * rects[i].height())
        r = rects[best]
        inv = 1.0 / scale
        full = dlib.rectangle(
            round(r.left() * inv), round(r.top() * inv), round(r.right() * inv),
            round(r.bottom() * inv),
        )
        pts = self._landmarks(rgb, full)
        left, right = _eyes(pts)
        return Face(box=_clip(full, w, h), eyes=(left, right), score=float(scores[best]),
                    landmarks=tuple(pts))

    def _landmarks(self, rgb: np.ndarray, box: dlib.rectangle) -> list[tuple[float, float]]:
        return [(float(p.x), float(p.y)) for p in self.shape5(rgb, box).parts()]

    def _second_look(self, rgb: np.ndarray) -> Face | None:
        """BlazeFace (short range, then full range) where HOG found nothing; the largest face."""
        h, w = rgb.shape[:2]
        for model in self.blaze:
            dets = model.detect(rgb, BLAZE_MIN_SCORE)
            if dets:
                break
        else:
            return None
        d = max(dets, key=lambda d: d.box[2] * d.box[3])
        (lx, ly), (rx, ry) = d.keypoints[:2]
        ed = float(np.hypot(rx - lx, ry - ly))
        if ed < 4:
            return None  # too small to frame anything
        # dlib's landmark model expects an upright face in a box like its detector's: turn the
        # image so BlazeFace's eyes are level, place that box on them, and turn the points back.
        angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
        mid = ((lx + rx) / 2, (ly + ry) / 2)
        turn = cv2.getRotationMatrix2D(mid, angle, 1.0)
        level = cv2.warpAffine(rgb, turn, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        cx, cy = mid[0], mid[1] + BOX_BELOW_EYES * ed
        half = BOX_SIDE * ed / 2
        box = dlib.rectangle(round(cx - half), round(cy - half), round(cx + half),
                             round(cy + half))
        back = cv2.invertAffineTransform(turn)
        pts = [(float(back[0] @ (x, y, 1.0)), float(back[1] @ (x, y, 1.0)))
               for x, y in self._landmarks(level, box)]
        eyes = _eyes(pts)
        off = max(float(np.hypot(eyes[0][0] - lx, eyes[0][1] - ly)),
                  float(np.hypot(eyes[1][0] - rx, eyes[1][1] - ry))) / ed
        if off <= EYES_AGREE:
            return Face(box=_clip(box, w, h), eyes=eyes, score=d.score, landmarks=tuple(pts),
                        detector="blazeface")
        return Face(box=_clip(box, w, h), eyes=((lx, ly), (rx, ry)), score=d.score,
                    landmarks=(), detector="blazeface")

    def _detect(self, img: np.ndarray, upsample: int) -> tuple[list, list]:
        rects, scores, _ = self.detector.run(img, upsample, 0.0)
        return list(rects), list(scores)

    def chip(self, rgb: np.ndarray, face: Face) -> np.ndarray | None:
        """The aligned 150x150 face crop dlib's descriptor network expects (None without
        landmarks or on a tiny face: no identity is measured on an unreliable chip)."""
        if not face.landmarks or face.eye_distance < MIN_IDENTITY_EYE_PX:
            return None
        x, y, w, h = face.box
        rect = dlib.rectangle(x, y, x + w, y + h)
        shape = dlib.full_object_detection(rect, [dlib.point(round(px), round(py))
                                                  for px, py in face.landmarks])
        return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=0.25))

    def embed_chip(self, chip: np.ndarray) -> np.ndarray:
        """128-D identity descriptor of an aligned chip."""
        return np.asarray(self.encoder.compute_face_descriptor(np.ascontiguousarray(chip)),
                          dtype=np.float32)


def encode_chip(chip: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(chip).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def decode_chip(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def _eyes(pts: list[tuple[float, float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Eye centres from dlib's 5 points (0-1 one eye's corners, 2-3 the other's, 4 the base of
    the nose), the image-left eye first."""
    e1 = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
    e2 = ((pts[2][0] + pts[3][0]) / 2, (pts[2][1] + pts[3][1]) / 2)
    left, right = sorted((e1, e2))
    return left, right


def _clip(r: dlib.rectangle, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, r.left()), max(0, r.top())
    x1, y1 = min(w, r.right()), min(h, r.bottom())
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                     Image.Resampling.BILINEAR)
    return np.asarray(im)
