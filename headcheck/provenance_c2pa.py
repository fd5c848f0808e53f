"""Read C2PA manifests (Content Credentials) offline and summarise what they declare.

Reading uses c2pa-python with remote-manifest and OCSP fetching turned off, so it never
touches the network. No trust list is configured: the SDK checks the signature and hashes,
but nobody vouches for the signer, so a manifest can say anything its signer likes.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# LoadedImage.format -> the MIME type c2pa expects. Formats not listed are not read.
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "AVIF": "image/avif",
}
_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}

_context: Any = None
_context_lock = threading.Lock()


@dataclass
class C2paAction:
    manifest: str
    active: bool
    action: str
    digital_source_type: str
    software_agent: str


@dataclass
class C2paSummary:
    """What a manifest store says, reduced to the fields provenance checks use."""

    active_manifest: str = ""
    actions: list[C2paAction] = field(default_factory=list)
    claim_generators: list[str] = field(default_factory=list)
    validation_state: str = ""
    validation_failures: list[str] = field(default_factory=list)
    # The failures' explanations, in the same order, and the codes of the checks that passed.
    validation_explanations: list[str] = field(default_factory=list)
    validation_passed: list[str] = field(default_factory=list)
    signer: str = ""
    error: str = ""  # set when C2PA data is present but could not be read
    remote_url: str = ""  # set when the manifest lives online (never fetched)


def _get_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            import c2pa

            _context = c2pa.Context.from_dict(_SETTINGS)
        return _context


def read_c2pa(data: bytes, image_format: str) -> C2paSummary | None:
    """Summarise the C2PA manifest store embedded in ``data``; None when there is none."""
    mime = MIME_TYPES.get(image_format.upper())
    if mime is None:
        return None
    try:
        import c2pa
    except ImportError:  # pragma: no cover - c2pa-python is a declared dependency
        return None
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, _get_context())
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    except c2pa.C2paError.NotSupported:
        return None
    except Exception as exc:  # the SDK's errors, bad JSON, anything hostile input provokes
        log.debug("unreadable C2PA data: %s", exc)
        message = str(exc)
        url = re.search(r"https?://[^\s\"'<>]+", message) if message.startswith("Remote") else None
        return C2paSummary(error=message[:300] or type(exc).__name__,
                           remote_url=url[0][:300] if url else "")
    return summarise(store)


def summarise(store: Any) -> C2paSummary:
    """Pull actions, claim generators and validation results out of a Reader.json() dict."""
    out = C2paSummary()
    if not isinstance(store, dict):
        return out
    out.active_manifest = _text(store.get("active_manifest"))
    out.validation_state = _text(store.get("validation_state"))
    results = store.get("validation_results")
    active = results.get("activeManifest") if _is_dict(results) else None
    failures = _dicts(active.get("failure")) if _is_dict(active) else []
    out.validation_failures = [_text(f.get("code")) for f in failures]
    out.validation_explanations = [_text(f.get("explanation"))[:200] for f in failures]
    passed = _dicts(active.get("success")) if _is_dict(active) else []
    out.validation_passed = [_text(f.get("code")) for f in passed]
    manifests = store.get("manifests")
    for label, manifest in (manifests.items() if _is_dict(manifests) else []):
        if not _is_dict(manifest):
            continue
        active = label == out.active_manifest
        generators = [_text(manifest.get("claim_generator"))]
        generators += [_text(g.get("name")) for g in _dicts(manifest.get("claim_generator_info"))]
        out.claim_generators += [g for g in generators if g and g not in out.claim_generators]
        sig = manifest.get("signature_info")
        if active and _is_dict(sig):
            out.signer = ", ".join(filter(None, (_text(sig.get("common_name")),
                                                 _text(sig.get("issuer")))))
        for assertion in _dicts(manifest.get("assertions")):
            if not _text(assertion.get("label")).startswith("c2pa.actions"):
                continue
            data = assertion.get("data")
            for act in _dicts(data.get("actions") if _is_dict(data) else None):
                agent = act.get("softwareAgent")
                agent = agent.get("name") if _is_dict(agent) else agent
                out.actions.append(
                    C2paAction(
                        manifest=_text(label),
                        active=active,
                        action=_text(act.get("action")),
                        digital_source_type=_text(act.get("digitalSourceType")),
                        software_agent=_text(agent),
                    )
                )
    return out


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value[:1000] if isinstance(value, str) else ""
