"""Readers for metadata fields Pillow leaves raw: XMP properties, EXIF UserComment, IPTC-IIM.

Pure and defensive: hostile input yields nothing, never an exception (callers still guard).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from defusedxml import ElementTree
from PIL import Image

MAX_SCAN = 65536  # characters of one field kept for searching
MAX_XMP = 4 * 1024 * 1024

_XMP_NS = {
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
}
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def xmp_fields(xmp: bytes | None, wanted: set[str]) -> list[tuple[str, str]]:
    """(prefix:Name, value) of the XMP properties we look at, from XML or, failing that, regex."""
    if not xmp:
        return []
    text = xmp[:MAX_XMP].decode("utf-8", "replace")
    start = min((i for i in (text.find("<x:xmpmeta"), text.find("<rdf:RDF")) if i >= 0),
                default=0)
    end = text.rfind(">") + 1
    try:
        root = ElementTree.fromstring(text[start:end])
    except Exception:  # malformed XML, entity bombs refused by defusedxml, ...
        return _xmp_fields_regex(text, wanted)
    found: list[tuple[str, str]] = []
    for el in root.iter():
        for attr, value in el.attrib.items():
            if _qname(attr) in wanted:
                found.append((_qname(attr), value))
        name = _qname(el.tag)
        if name in wanted:
            parts = [el.get(f"{_RDF}resource", ""), el.text or ""]
            parts += [li.text or "" for li in el.iter(f"{_RDF}li")]
            value = " ".join(p.strip() for p in parts if p and p.strip())
            if value:
                found.append((name, value))
    return found


def _qname(tag: str) -> str:
    if not isinstance(tag, str) or not tag.startswith("{"):
        return str(tag)
    ns, _, local = tag[1:].partition("}")
    if "tc260.org.cn/ns/aigc" in ns.lower():  # China's AI-content label; versions vary the URI
        return f"TC260:{local}"
    return f"{_XMP_NS.get(ns, ns)}:{local}"


_XMP_ATTR_RE = re.compile(r"(?<![\w.:-])([\w.-]+:\w+)\s*=\s*([\"'])([^\"'<>]{0,2000})\2")
_XMP_ELEM_RE = re.compile(
    r"<([\w.-]+:\w+)\b([^<>]{0,2000})>\s*(?:<rdf:\w+>\s*)?(?:<rdf:li\b[^<>]{0,500}>)?([^<]{0,2000})"
)
_RESOURCE_RE = re.compile(r"rdf:resource\s*=\s*[\"']([^\"']{0,2000})")


def _xmp_fields_regex(text: str, wanted: set[str]) -> list[tuple[str, str]]:
    found = [(m[1], m[3]) for m in _XMP_ATTR_RE.finditer(text) if m[1] in wanted]
    for m in _XMP_ELEM_RE.finditer(text):
        if m[1] in wanted:
            res = _RESOURCE_RE.search(m[2])
            value = (res[1] if res else "") + " " + m[3]
            if value.strip():
                found.append((m[1], value.strip()))
    return found


def exif_user_comment(info: dict) -> str:
    """EXIF UserComment (in the Exif sub-IFD, which LoadedImage.exif does not include)."""
    raw = info.get("exif")
    if not isinstance(raw, bytes | bytearray):
        return ""
    try:
        with warnings.catch_warnings():  # Pillow warns about every corrupt tag
            warnings.simplefilter("ignore")
            exif = Image.Exif()
            exif.load(bytes(raw))
            value = exif.get_ifd(0x8769).get(0x9286)
    except Exception:  # broken EXIF must not hide the other fields
        return ""
    if not isinstance(value, bytes | bytearray):
        return as_text(value)
    head, body = bytes(value[:8]), bytes(value[8:])
    if head.startswith(b"UNICODE"):  # UTF-16, byte order unspecified: keep the readable one
        options = [body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace")]
        return max(options, key=lambda s: sum(c.isascii() for c in s[:200])).strip("\x00 ")
    if head.startswith((b"ASCII", b"\x00" * 8)):
        return body.decode("utf-8", "replace").strip("\x00 ")
    return bytes(value).decode("utf-8", "replace").strip("\x00 ")


_IIM = {65: "OriginatingProgram", 80: "By-line", 110: "Credit", 115: "Source", 120: "Caption"}


def iptc_iim(info: dict) -> dict[str, str]:
    """A few IPTC-IIM (Photoshop APP13) datasets from a JPEG."""
    resources = info.get("photoshop")
    raw = resources.get(0x0404) if isinstance(resources, dict) else None
    out: dict[str, str] = {}
    i = 0
    while isinstance(raw, bytes) and i + 5 <= len(raw) and raw[i] == 0x1C:
        record, dataset, size = raw[i + 1], raw[i + 2], int.from_bytes(raw[i + 3:i + 5], "big")
        if size & 0x8000:  # extended-length datasets are never the short ones we want
            break
        if record == 2 and dataset in _IIM:
            out[_IIM[dataset]] = raw[i + 5:i + 5 + size].decode("utf-8", "replace")
        i += 5 + size
    return out


def as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value[:MAX_SCAN]).decode("utf-8", "replace").strip("\x00 ")
    return value if isinstance(value, str) else ""
