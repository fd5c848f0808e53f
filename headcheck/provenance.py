"""Provenance signals: what an image's own metadata says about how it was made.

Four sources, each its own signal: a C2PA manifest declaring AI generation, an IPTC
DigitalSourceType in XMP, a known generator's name in a software or description field, and
generation settings left in PNG text chunks or EXIF UserComment. Metadata is easy to strip,
so finding none of these proves nothing; finding one is strong evidence. Nothing here
touches the network or raises on hostile metadata.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterator
from itertools import zip_longest
from typing import Any, TypeVar

from .load import LoadedImage
from .metadata_readers import MAX_SCAN, as_text, exif_user_comment, iptc_iim, xmp_fields
from .provenance_c2pa import C2paAction, C2paSummary, read_c2pa
from .signals import SYNTHETIC, Signal

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_EVIDENCE = 300  # characters of a value kept in evidence

# IPTC digital source types that mean "made by AI" (last URI segment, lower case) -> score.
AI_SOURCE_TYPES = {
    "trainedalgorithmicmedia": 0.95,
    "compositewithtrainedalgorithmicmedia": 0.9,
    "algorithmicmedia": 0.9,
    "compositesynthetic": 0.85,
}

# Generator names, matched case-insensitively as whole words. Ambiguous words ("Imagen" is
# Spanish for image, "Flux", "Runway", "Aragon", "Gemini") only count with a qualifier.
GENERATORS = [
    r"Midjourney", r"DALL[·\-\s]?E(?:\s?[23])?", r"Stable[\s_-]?Diffusion", r"SDXL",
    r"Stability\s?AI", r"DreamStudio", r"ComfyUI", r"AUTOMATIC1111", r"A1111",
    r"stable-diffusion-webui", r"InvokeAI", r"Fooocus", r"SwarmUI", r"NovelAI", r"diffusers",
    r"DiffusionBee", r"Draw\sThings", r"Easy\sDiffusion", r"(?:Adobe\s)?Firefly",
    r"Generative\s(?:Fill|Expand)", r"Google\sImagen", r"Imagen[\s-]?[234]", r"Google\sGemini",
    # Product names and API model ids: "Gemini 3 Pro Image", "gemini-2.5-flash-image-preview"
    r"Gemini[\s-](?:\d(?:\.\d)?[\s-])?(?:(?:Pro|Flash)[\s-])?Image", r"Nano\sBanana",
    r"FLUX(?:\.\d|\s?\d\.\d)(?:[\s-](?:dev|schnell|pro|kontext))?", r"Black\sForest\sLabs",
    r"Leonardo[.\s]Ai", r"Ideogram", r"Runway\s?ML", r"Runway\sGen-?\d", r"Bing\sImage\sCreator",
    r"Image\sCreator\sfrom\sMicrosoft", r"Microsoft\sDesigner", r"Aragon(?:\.ai|\sAI)",
    r"HeadshotPro", r"BetterPic", r"Generated[\s.]Photos", r"This\s?Person\s?Does\s?Not\s?Exist",
    r"StyleGAN[23]?", r"Canva\s(?:AI|Magic\sMedia)", r"Magic\sMedia", r"Dream\sLab",
    r"Playground\s?AI", r"NightCafe", r"Artbreeder", r"Craiyon", r"Krea\sAI", r"Meta\sAI",
    r"Imagine\swith\sMeta", r"ChatGPT", r"OpenAI", r"gpt-image-\d", r"Grok", r"Seedream",
    r"Qwen-Image", r"Hunyuan\s?Image", r"Kolors", r"Recraft", r"Tensor\.Art", r"SeaArt",
    r"PixAI", r"getimg\.ai", r"Civitai",
]
_GENERATOR_RE = re.compile(r"(?<![\w.])(?:" + "|".join(GENERATORS) + r")(?![\w])", re.I)

# Settings keys diffusion front-ends write; two or more different ones mean generation data.
_PARAM_RE = re.compile(
    r"\b(steps|sampler(?:_name)?|cfg[ _]scale|seed|negative[ _]prompt|model hash|denoising"
    r" strength|scheduler|clip skip)\b[\"']?\s*[:=]",
    re.I,
)
# PNG text keys only generation tools write; "parameters"/"prompt"/"workflow" also need
# content that looks like settings or ComfyUI JSON, the rest count when non-empty.
_MJ_JOB_RE = re.compile(r"Job ID: [0-9a-f]{8}-[0-9a-f-]{27}")
_GENERATION_KEYS = {"parameters", "prompt", "workflow"}
_TOOL_KEYS = {
    "dream": "InvokeAI (Dream)", "sd-metadata": "InvokeAI", "invokeai_metadata": "InvokeAI",
    "invokeai_graph": "InvokeAI", "fooocus_scheme": "Fooocus", "sui_image_params": "SwarmUI",
    "generation_data": "generation_data",
}
_SETTINGS_KEYS = _GENERATION_KEYS | set(_TOOL_KEYS)
_FREE_TEXT_KEYS = {"comment", "description", "usercomment", "imagedescription"}

# Where generator names are looked for: field -> score. Tool fields name the software that
# wrote the file; free-text fields are weaker (a caption may just mention a tool).
TOOL_FIELD, TEXT_FIELD = 0.85, 0.7
_EXIF_FIELDS = {305: ("Software", TOOL_FIELD), 271: ("Make", TOOL_FIELD),
                272: ("Model", TOOL_FIELD), 270: ("ImageDescription", TEXT_FIELD),
                315: ("Artist", TEXT_FIELD), 33432: ("Copyright", TEXT_FIELD)}
_XMP_FIELDS = {
    "xmp:CreatorTool": TOOL_FIELD, "tiff:Software": TOOL_FIELD, "tiff:Make": TOOL_FIELD,
    "tiff:Model": TOOL_FIELD, "stEvt:softwareAgent": TOOL_FIELD,
    "Iptc4xmpExt:AISystemUsed": TOOL_FIELD, "tiff:ImageDescription": TEXT_FIELD,
    "tiff:Artist": TEXT_FIELD, "photoshop:Credit": TEXT_FIELD, "photoshop:Source": TEXT_FIELD,
    "dc:creator": TEXT_FIELD, "dc:description": TEXT_FIELD, "exif:UserComment": TEXT_FIELD,
}
_PNG_TOOL_KEYS = {"software", "source", "generator"}
_DST = "Iptc4xmpExt:DigitalSourceType"
_AIGC = "TC260:AIGC"
_WANTED = set(_XMP_FIELDS) | {_DST, _AIGC}

# China's labelling standard for AI-made content (GB 45438-2025, in force since 2025-09-01):
# generators serving China write a JSON object under an "AIGC" key, in XMP (the TC260
# namespace), a PNG text chunk or EXIF text. Its "Label" says 1 generated, 2 possibly
# generated, 3 suspected. Only an object with the standard's own fields counts, so that an
# unrelated "AIGC" key or word is not read as the label.
AIGC_FIELDS = frozenset({"Label", "ContentProducer", "ProduceID", "ContentPropagator",
                         "PropagateID"})
AIGC_LABELS = {"1": ("generated by AI", 0.9), "2": ("possibly generated by AI", 0.0),
               "3": ("suspected to be generated by AI", 0.0)}
_AIGC_KEY_RE = re.compile(r"[\"']?AIGC[\"']?\s*[:=]?\s*(?=\{)", re.I)


def provenance_signals(img: LoadedImage) -> list[Signal]:
    """Signals that the image's own metadata declares it AI-made. Never raises."""
    summary = _safely(lambda: read_c2pa(img.data, img.format), None)
    out: list[Signal] = []
    out += _safely(lambda: _c2pa_signals(summary), [])
    out += _safely(lambda: _iptc_signals(img), [])
    out += _safely(lambda: _aigc_label_signals(img), [])
    out += _safely(lambda: _generator_name_signals(img, summary), [])
    out += _safely(lambda: _generation_parameter_signals(img), [])
    return out


def _safely(step: Callable[[], T], fallback: T) -> T:
    try:
        return step()
    except Exception:  # a detector bug or hostile metadata must not sink the others
        log.warning("provenance check failed", exc_info=True)
        return fallback


# --- C2PA -------------------------------------------------------------------------------


def _c2pa_ai_actions(summary: C2paSummary) -> list[tuple[C2paAction, float]]:
    scored = [(a, _ai_score(a.digital_source_type)) for a in summary.actions]
    return [(a, score) for a, score in scored if score]


def _c2pa_signals(summary: C2paSummary | None) -> list[Signal]:
    if summary is None:
        return []
    # Unreadable credentials say nothing about how the photo was made: information only.
    if summary.remote_url:
        return [Signal("c2pa.unreadable", SYNTHETIC, 0.0,
                       "The file points to a C2PA manifest online, which was not fetched.",
                       {"field": "C2PA remote manifest", "value": summary.remote_url},
                       "The photo refers to content credentials stored online; they were not "
                       "checked.")]
    if summary.error:
        return [Signal("c2pa.unreadable", SYNTHETIC, 0.0,
                       "The file carries C2PA data that could not be read.",
                       {"field": "C2PA", "value": summary.error},
                       "The photo carries content credentials that could not be read.")]
    ai = _c2pa_ai_actions(summary)
    if not ai:
        return []
    act, score = max(ai, key=lambda pair: (pair[1], pair[0].active))
    tool = act.software_agent or next(iter(summary.claim_generators), "") or "unnamed tool"
    verb = "composited with" if "composite" in act.digital_source_type.lower() else "created by"
    detail = (f"C2PA manifest says it was {verb} a generative AI tool ({_short(tool, 60)}); "
              f"{_validation_note(summary)}.")
    return [Signal("c2pa.ai_generated", SYNTHETIC, score, detail, {
        "field": f"c2pa.actions[{act.action}].digitalSourceType",
        "value": act.digital_source_type,
        "software_agent": act.software_agent,
        "claim_generators": summary.claim_generators,
        "manifest": act.manifest,
        "active_manifest": act.active,
        "validation_state": summary.validation_state,
        "validation_failures": summary.validation_failures,
        "signer": summary.signer,
        "trust_list_checked": False,
    }, f"The photo's content credentials say it was {verb} an AI image generator "
       f"({_short(tool, 60)}).")]


def _validation_note(summary: C2paSummary) -> str:
    """The validation state, and, where only the signing certificate fails (say a certificate
    issued before the C2PA profile asked for its extended key usage), that the signature and
    hashes still hold: "Invalid" alone reads as tampering, which those checks rule out."""
    failures = list(zip_longest(summary.validation_failures, summary.validation_explanations,
                                fillvalue=""))
    shown = [(c, e) for c, e in failures if c != "signingCredential.untrusted"]
    note = f"validation state {summary.validation_state or 'unknown'}"
    credential_only = shown and all(c.startswith("signingCredential.") for c, _ in shown)
    if credential_only and "claimSignature.validated" in summary.validation_passed:
        reasons = ", ".join(e or c for c, e in shown[:2])
        note += (f" for the signing certificate only ({_short(reasons, 60)}); signature and "
                 "hashes intact")
    elif shown:
        note += f" ({', '.join(c for c, _ in shown[:3])})"
    return note + "; signer not checked against a trust list"


def _ai_score(source_type: str) -> float:
    return AI_SOURCE_TYPES.get(re.split(r"[/:#]", source_type.strip())[-1].lower(), 0.0)


# --- IPTC DigitalSourceType in XMP -----------------------------------------------------------


def _iptc_signals(img: LoadedImage) -> list[Signal]:
    for name, value in xmp_fields(img.xmp, _WANTED):
        score = _ai_score(value) if name == _DST else 0.0
        if score:
            detail = f"XMP IPTC DigitalSourceType declares AI-made media ({_last(value)})."
            return [Signal("iptc.digital_source_type", SYNTHETIC, round(score - 0.05, 2), detail,
                           {"field": f"XMP {_DST}", "value": _short(value)},
                           "The photo's file information labels it as made by AI.")]
    return []


# --- China's AI-content label (TC260 AIGC) ----------------------------------------------------


def _aigc_label_signals(img: LoadedImage) -> list[Signal]:
    """The first AIGC label the file carries: a flag where it says "generated", information
    only where it says "possibly" or "suspected" (score 0: a label, not a finding)."""
    for field, value in _aigc_candidates(img):
        label = _aigc_object(value)
        if label is None:
            continue
        code = str(label.get("Label", "")).strip()
        meaning, score = AIGC_LABELS.get(code, ("of no known meaning", 0.0))
        producer = _short(str(label.get("ContentProducer", "") or "not named"), 80)
        detail = (f"The {field} metadata carries China's AI-content label (GB 45438-2025): Label "
                  f"{_short(code, 20) or 'missing'}, {meaning}; producer {producer}.")
        headline = (f"The photo's file information labels it as {meaning}." if code in AIGC_LABELS
                    else "The photo's file information carries an AI-content label.")
        return [Signal("tc260.aigc_label", SYNTHETIC, score, detail, {
            "field": field, "value": _short(json.dumps(label, ensure_ascii=False)),
            "label": _short(code, 20), "producer": producer}, headline)]
    return []


def _aigc_candidates(img: LoadedImage) -> Iterator[tuple[str, str]]:
    for name, value in xmp_fields(img.xmp, {_AIGC}):
        yield f"XMP {name}", "AIGC:" + html.unescape(value)
    for key, value in _text_chunks(img).items():
        if key.lower() == "aigc":
            yield _text_field(img, key), "AIGC:" + value
    for tag, (name, _) in _EXIF_FIELDS.items():
        if tag in img.exif:
            yield f"EXIF {name}", as_text(img.exif[tag])
    comment = exif_user_comment(img.info)
    if comment:
        yield "EXIF UserComment", comment


def _aigc_object(text: str) -> dict[str, Any] | None:
    """The JSON object after an "AIGC" key in ``text`` that has the standard's fields."""
    text = text[:MAX_SCAN]
    for m in _AIGC_KEY_RE.finditer(text):
        try:
            obj, _ = json.JSONDecoder().raw_decode(text, m.end())
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("AIGC"), dict):
            obj = obj["AIGC"]  # {"AIGC": {...}} read from its first brace
        if isinstance(obj, dict) and AIGC_FIELDS & set(obj):
            return obj
    return None


# --- generator names -------------------------------------------------------------------------


def _generator_name_signals(img: LoadedImage, c2pa: C2paSummary | None) -> list[Signal]:
    hits: list[tuple[float, str, str, str]] = []  # (score, field, value, name)
    for field, value, score in _named_fields(img, c2pa):
        match = _GENERATOR_RE.search(value[:MAX_SCAN])
        if match:
            hits.append((score, field, value, match[0]))
    if not hits:
        return []
    score, field, value, name = max(hits, key=lambda h: h[0])
    detail = f"The {field} field names an AI image generator ({_short(name, 60)})."
    return [Signal("metadata.generator_name", SYNTHETIC, score, detail, {
        "field": field, "value": _short(value), "generator": name,
        "matches": [{"field": f, "value": _short(v, 120), "generator": n} for _, f, v, n in hits],
    }, f"The photo's file information names an AI image generator ({_short(name, 60)}).")]


def _named_fields(img: LoadedImage, c2pa: C2paSummary | None) -> Iterator[tuple[str, str, float]]:
    if c2pa and not c2pa.error and not _c2pa_ai_actions(c2pa):  # else c2pa.ai_generated says it
        for generator in c2pa.claim_generators:
            yield "C2PA claim generator", generator, TOOL_FIELD
        for act in c2pa.actions:
            yield f"C2PA {act.action} softwareAgent", act.software_agent, TOOL_FIELD
    for tag, (name, score) in _EXIF_FIELDS.items():
        if tag in img.exif:
            yield f"EXIF {name}", as_text(img.exif[tag]), score
    comment = exif_user_comment(img.info)
    if comment:
        yield "EXIF UserComment", comment, TEXT_FIELD
    for name, value in xmp_fields(img.xmp, _WANTED):
        if name in _XMP_FIELDS:
            yield f"XMP {name}", value, _XMP_FIELDS[name]
    for key, value in _text_chunks(img).items():
        score = TOOL_FIELD if key.lower() in _PNG_TOOL_KEYS else TEXT_FIELD
        if key.lower() not in _SETTINGS_KEYS:  # reported by their own signal
            yield _text_field(img, key), value, score
    for dataset, value in iptc_iim(img.info).items():
        score = TOOL_FIELD if dataset == "OriginatingProgram" else TEXT_FIELD
        yield f"IPTC {dataset}", value, score


# --- generation settings in PNG text chunks / EXIF UserComment ----------------------------------


def _generation_parameter_signals(img: LoadedImage) -> list[Signal]:
    out: list[Signal] = []
    hits = [(k, v, tool) for k, v in _text_chunks(img).items() if (tool := _generation_tool(k, v))]
    if hits:
        key, value, tool = hits[0]
        where = _text_field(img, key)
        detail = f"{where} holds image-generation settings ({tool})."
        name = f"{'png' if img.format == 'PNG' else 'metadata'}.generation_parameters"
        out.append(Signal(name, SYNTHETIC, 0.9, detail, {
            "field": where, "value": _short(value), "tool": tool,
            "chunks": [k for k, _, _ in hits],
        }, _SETTINGS_HEADLINE))
    comment = exif_user_comment(img.info)
    tool = _generation_tool("UserComment", comment) if comment else ""
    if tool:
        detail = f"EXIF UserComment holds image-generation settings ({tool})."
        out.append(Signal("exif.generation_parameters", SYNTHETIC, 0.9, detail,
                          {"field": "EXIF UserComment", "value": _short(comment), "tool": tool},
                          _SETTINGS_HEADLINE))
    return out


_SETTINGS_HEADLINE = "The photo's file still holds the settings an AI image generator used."


def _generation_tool(key: str, value: str) -> str:
    """Which tool wrote these settings ('' if they do not look like generation settings)."""
    key, head = key.lower(), value[:MAX_SCAN]
    if not head.strip():
        return ""
    if key in ("prompt", "workflow") and ('"class_type"' in head or '"links"' in head):
        return "ComfyUI"
    if key in _TOOL_KEYS:
        return _TOOL_KEYS[key]
    if key in _FREE_TEXT_KEYS and re.search(r"--v \d", head) and _MJ_JOB_RE.search(head):
        return "Midjourney"
    hits = {m.lower().replace("_", " ") for m in _PARAM_RE.findall(head)}
    needed = 2 if key in _GENERATION_KEYS else 3 if key in _FREE_TEXT_KEYS else 99
    if len(hits) >= needed:
        if "model hash" in hits or re.search(r"\bSteps: \d+, Sampler: ", head):
            return "Automatic1111-style"
        return _json_tool(head) or "diffusion settings"
    return ""


def _json_tool(text: str) -> str:
    try:
        data: Any = json.loads(text)
    except ValueError:
        return ""
    return "NovelAI" if isinstance(data, dict) and "uc" in data else ""


# --- helpers ---------------------------------------------------------------------------------


def _text_chunks(img: LoadedImage) -> dict[str, str]:
    chunks = {k: v for k, v in img.text.items() if isinstance(v, str)}
    for key, value in img.info.items():  # JPEG COM and GIF comments live only in info
        if isinstance(key, str) and key not in chunks and key.lower() in (
            _SETTINGS_KEYS | _PNG_TOOL_KEYS | {"comment", "description"}
        ):
            chunks[key] = as_text(value)
    return {k: v for k, v in chunks.items() if k not in ("XML:com.adobe.xmp", "xmp")}


def _text_field(img: LoadedImage, key: str) -> str:
    return f"{'PNG text chunk' if img.format == 'PNG' else 'Text field'} {key!r}"


def _short(value: str, limit: int = MAX_EVIDENCE) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _last(uri: str) -> str:
    return re.split(r"[/:#]", uri.strip())[-1]
