"""Provenance signals: declared AI provenance in C2PA, XMP, EXIF and PNG text chunks."""

from __future__ import annotations

import http.server
import importlib.util
import io
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from headcheck.load import LoadedImage, load_image
from headcheck.provenance import provenance_signals
from headcheck.signals import SYNTHETIC, Signal
from tests.hostile_cases import image_cases

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provenance"
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _load_fixture_maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_fixtures = _load_fixture_maker()


def signals_of(name: str) -> dict[str, Signal]:
    found = provenance_signals(load_image((FIXTURES / name).read_bytes()))
    return {s.name: s for s in found}


def fake(**fields: Any) -> LoadedImage:
    """A LoadedImage around a plain PNG with hand-made metadata fields."""
    data = make_fixtures.encode(make_fixtures.base_image(0), "PNG")
    defaults: dict[str, Any] = {"data": data, "sha256": "0" * 64, "format": "PNG",
                                "image": Image.new("RGB", (8, 8))}
    return LoadedImage(**(defaults | fields))


def names(img: LoadedImage) -> set[str]:
    return {s.name for s in provenance_signals(img)}


# --- fixtures on disk ------------------------------------------------------------------------

POSITIVES = [
    ("c2pa_ai.jpg", "c2pa.ai_generated", DST + "trainedAlgorithmicMedia", 0.95),
    ("c2pa_ai.png", "c2pa.ai_generated", DST + "trainedAlgorithmicMedia", 0.95),
    ("xmp_iptc_ai.jpg", "iptc.digital_source_type", DST + "trainedAlgorithmicMedia", 0.9),
    ("xmp_iptc_ai.png", "iptc.digital_source_type", DST + "trainedAlgorithmicMedia", 0.9),
    ("xmp_malformed.jpg", "iptc.digital_source_type",
     DST + "compositeWithTrainedAlgorithmicMedia", 0.85),
    ("exif_midjourney.jpg", "metadata.generator_name", "Midjourney", 0.85),
    ("exif_firefly.webp", "metadata.generator_name", "Adobe Firefly", 0.85),
    ("png_a1111.png", "png.generation_parameters", "Steps: 30, Sampler: DPM++ 2M Karras", 0.9),
    ("png_comfyui.png", "png.generation_parameters", '"class_type": "KSampler"', 0.9),
    ("exif_usercomment_a1111.jpg", "exif.generation_parameters", "Seed: 1234567890", 0.9),
    ("xmp_tc260_aigc.jpg", "tc260.aigc_label", '"Label": "1"', 0.9),
    ("png_aigc_label.png", "tc260.aigc_label", '"ProduceID": "fixture-0002"', 0.9),
]


@pytest.mark.parametrize(("fixture", "name", "value", "score"), POSITIVES)
def test_positive_fixture_gives_signal_with_evidence(
    fixture: str, name: str, value: str, score: float
) -> None:
    found = signals_of(fixture)
    assert name in found, f"{fixture}: got {sorted(found)}"
    sig = found[name]
    assert sig.kind == SYNTHETIC
    assert sig.score == pytest.approx(score)
    assert value in sig.evidence["value"]
    assert sig.evidence["field"]
    assert 20 < len(sig.detail) < 200


@pytest.mark.parametrize(
    "fixture",
    ["c2pa_camera.jpg", "xmp_digital_capture.jpg", "exif_photoshop.jpg", "png_comment.png",
     "plain.jpg", "png_aigc_unrelated.png"],
)
def test_negative_fixture_gives_no_signal(fixture: str) -> None:
    assert signals_of(fixture) == {}


def test_c2pa_detail_names_tool_and_says_trust_was_not_checked() -> None:
    sig = signals_of("c2pa_ai.jpg")["c2pa.ai_generated"]
    assert "generative AI tool (Adobe Firefly)" in sig.detail
    assert "not checked against a trust list" in sig.detail
    assert "validation state Valid" in sig.detail
    assert sig.evidence["software_agent"] == "Adobe Firefly"
    assert sig.evidence["claim_generators"] == ["headcheck fixture maker"]
    assert sig.evidence["signer"] == "headcheck test signer, headcheck tests"
    assert sig.evidence["active_manifest"] is True
    assert sig.evidence["trust_list_checked"] is False


def _store(failures: list[tuple[str, str]], passed: tuple[str, ...]) -> dict[str, Any]:
    """A Reader.json() dict as c2pa returns it: one active manifest whose action declares an AI
    source, with these validation results."""
    return {
        "active_manifest": "urn:m1", "validation_state": "Invalid",
        "validation_results": {"activeManifest": {
            "success": [{"code": c, "explanation": "ok"} for c in passed],
            "failure": [{"code": c, "explanation": e} for c, e in failures]}},
        "manifests": {"urn:m1": {"claim_generator": "Image Creator", "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": DST + "trainedAlgorithmicMedia",
                "softwareAgent": "Image Creator from Designer"}]}}]}},
    }


def test_an_invalid_certificate_alone_is_not_reported_as_a_broken_manifest() -> None:
    from headcheck.provenance import _c2pa_signals
    from headcheck.provenance_c2pa import summarise

    cert = [("signingCredential.untrusted", "signing certificate untrusted"),
            ("signingCredential.invalid", "certificate missing required EKU")]
    intact = ("claimSignature.validated", "assertion.dataHash.match")
    (sig,) = _c2pa_signals(summarise(_store(cert, intact)))
    assert "validation state Invalid for the signing certificate only" in sig.detail
    assert "certificate missing required EKU" in sig.detail
    assert "signature and hashes intact" in sig.detail
    assert sig.evidence["validation_failures"] == [c for c, _ in cert]
    # A content hash that fails is shown as such, never as intact.
    broken = [*cert, ("assertion.dataHash.mismatch", "hash mismatch")]
    (sig,) = _c2pa_signals(summarise(_store(broken, intact)))
    assert "intact" not in sig.detail
    assert "(signingCredential.invalid, assertion.dataHash.mismatch)" in sig.detail
    # Nor without a validated claim signature.
    (sig,) = _c2pa_signals(summarise(_store(cert, ("assertion.dataHash.match",))))
    assert "intact" not in sig.detail and "(signingCredential.invalid)" in sig.detail


def test_fixture_directory_matches_the_script() -> None:
    names_on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix in (".jpg", ".png", ".webp")}
    assert names_on_disk == set(make_fixtures.fixtures())


# --- China's AI-content label (TC260 AIGC) ---------------------------------------------------


def test_a_suspected_ai_label_is_reported_but_flags_nothing() -> None:
    from headcheck.judge import judge

    sig = signals_of("exif_aigc_suspected.jpg")["tc260.aigc_label"]
    assert sig.score == 0.0 and sig.evidence["label"] == "3"
    assert "suspected to be generated by AI" in sig.headline
    assert sig.evidence["field"] == "EXIF UserComment"
    assert judge([sig], []).label == "none"


def test_the_aigc_label_is_read_however_it_is_written() -> None:
    label = '{"Label":"1","ContentProducer":"001191100000000000EXAMPLE10000","ProduceID":"p9"}'
    bare = fake(exif={270: "AIGC" + label})  # glued to its key, in EXIF ImageDescription
    (sig,) = [s for s in provenance_signals(bare) if s.name == "tc260.aigc_label"]
    assert sig.score == 0.9 and sig.evidence["field"] == "EXIF ImageDescription"
    # Not XML (a stray "&"), the label an entity-encoded attribute: read by the fallback.
    broken = ('<x:xmpmeta><rdf:RDF><rdf:Description TC260:AIGC="'
              + label.replace('"', "&quot;") + '"><dc:title>A & B</rdf:RDF>').encode()
    assert "tc260.aigc_label" in names(fake(xmp=broken))
    # Another URI version of the namespace, the label as a nested element.
    other_ns = make_fixtures.xmp_packet(
        '<rdf:Description xmlns:t="http://www.tc260.org.cn/ns/AIGC/2.0/"><t:AIGC>'
        + label.replace('"', "&quot;") + "</t:AIGC></rdf:Description>")
    assert "tc260.aigc_label" in names(fake(xmp=other_ns))


@pytest.mark.parametrize("text", [
    '{"AIGC": {"enabled": true}}',  # an "AIGC" key without the standard's fields
    "Made at the AIGC summit {Label: 1}",  # the word, and no JSON object after it
    'AIGC{"Label": "1"',  # cut short: no object to read
])
def test_other_uses_of_aigc_are_not_read_as_the_label(text: str) -> None:
    assert "tc260.aigc_label" not in names(fake(exif={270: text}))


# --- C2PA edge cases --------------------------------------------------------------------------


def test_c2pa_on_altered_pixels_still_reports_declaration_and_failure() -> None:
    data = bytearray((FIXTURES / "c2pa_ai.jpg").read_bytes())
    data[data.rfind(b"\xff\xda") + 300] ^= 0x55  # flip bits in the entropy-coded scan
    sig = {s.name: s for s in provenance_signals(load_image(bytes(data)))}["c2pa.ai_generated"]
    assert sig.evidence["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in sig.evidence["validation_failures"]
    assert "assertion.dataHash.mismatch" in sig.detail


def damage_manifest(data: bytes) -> bytes:
    """Zero the insides of the manifest store, keeping the container (and PNG CRCs) valid."""
    start = data.find(b"jumb")
    damaged = bytearray(data)
    damaged[start + 40:start + 400] = bytes(360)
    if data.startswith(b"\x89PNG"):
        chunk = data.rfind(b"caBX", 0, start) - 4
        end = chunk + 8 + int.from_bytes(data[chunk:chunk + 4], "big")
        damaged[end:end + 4] = zlib.crc32(damaged[chunk + 4:end]).to_bytes(4, "big")
    return bytes(damaged)


@pytest.mark.parametrize("fixture", ["c2pa_ai.jpg", "c2pa_ai.png"])
def test_damaged_manifest_is_information_only(fixture: str) -> None:
    found = provenance_signals(load_image(damage_manifest((FIXTURES / fixture).read_bytes())))
    assert [(s.name, s.score) for s in found] == [("c2pa.unreadable", 0.0)]
    assert found[0].evidence["value"]  # the SDK's error message


def test_garbage_where_c2pa_would_be_gives_no_signal() -> None:
    data = (FIXTURES / "c2pa_garbage.jpg").read_bytes()
    assert data[2:4] == b"\xff\xeb" and b"jumbc2pa" in data  # an APP11 "JUMBF" segment
    assert all(s.score == 0 for s in provenance_signals(load_image(data)))


def test_an_unreadable_c2pa_segment_is_information_never_evidence() -> None:
    """60-250 bytes of garbage in a C2PA (JUMBF) segment, which the SDK starts to read and then
    fails on: said (score 0), never taken as a sign of AI (it once made any photo synthetic)."""
    cases = {n: d for n, d in image_cases() if n.startswith("c2pa-garbage")}
    assert len(cases) == 5
    for name, data in cases.items():
        found = {s.name: s for s in provenance_signals(load_image(data))}
        assert found["c2pa.unreadable"].score == 0, name
        assert found["c2pa.unreadable"].evidence["value"], name  # the SDK's error
        assert all(s.score == 0 for s in found.values()), name


def test_remote_manifest_is_never_fetched() -> None:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import c2pa

        url = f"http://127.0.0.1:{server.server_address[1]}/manifest.c2pa"
        chain, key = make_fixtures.test_certificates()
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
        manifest = make_fixtures.c2pa_manifest("r.jpg", "x", "Adobe Firefly",
                                               "trainedAlgorithmicMedia")
        out = io.BytesIO()
        jpeg = make_fixtures.encode(make_fixtures.base_image(0), "JPEG")
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
            builder.set_no_embed()
            builder.set_remote_url(url)
            builder.sign(signer, "image/jpeg", io.BytesIO(jpeg), out)
        found = provenance_signals(load_image(out.getvalue()))
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []
    assert [(s.name, s.score, s.evidence["value"]) for s in found] == [
        ("c2pa.unreadable", 0.0, url)
    ]


# --- XMP ----------------------------------------------------------------------------------------


def xmp(body: str) -> bytes:
    return make_fixtures.xmp_packet(
        f'<rdf:Description rdf:about="" {make_fixtures.IPTC_NS} '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f">{body}</rdf:Description>"
    )


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{DST}trainedAlgorithmicMedia"/>',
         "trainedAlgorithmicMedia"),
        (f"<Iptc4xmpExt:DigitalSourceType>{DST}algorithmicMedia</Iptc4xmpExt:DigitalSourceType>",
         "algorithmicMedia"),
        (f"<Iptc4xmpExt:DigitalSourceType>{DST}compositeSynthetic</Iptc4xmpExt:DigitalSourceType>",
         "compositeSynthetic"),
    ],
)
def test_xmp_digital_source_type_forms(body: str, value: str) -> None:
    found = {s.name: s for s in provenance_signals(fake(xmp=xmp(body)))}
    assert found["iptc.digital_source_type"].evidence["value"].endswith(value)


@pytest.mark.parametrize("source_type", ["digitalCapture", "algorithmicallyEnhanced",
                                         "digitalCreation", "humanEdits"])
def test_xmp_non_ai_source_types_give_nothing(source_type: str) -> None:
    body = f"<Iptc4xmpExt:DigitalSourceType>{DST}{source_type}</Iptc4xmpExt:DigitalSourceType>"
    assert names(fake(xmp=xmp(body))) == set()


def test_xmp_creator_tool_and_dc_creator() -> None:
    tool = xmp("<xmp:CreatorTool>Midjourney v6</xmp:CreatorTool>")
    sig = provenance_signals(fake(xmp=tool))[0]
    assert (sig.name, sig.evidence["field"], sig.score) == (
        "metadata.generator_name", "XMP xmp:CreatorTool", 0.85)
    creator = xmp("<dc:creator><rdf:Seq><rdf:li>Leonardo.Ai</rdf:li></rdf:Seq></dc:creator>")
    sig = provenance_signals(fake(xmp=creator))[0]
    assert sig.evidence["value"] == "Leonardo.Ai"
    assert sig.score == 0.7  # free-text fields count less than software fields
    photoshop = xmp("<xmp:CreatorTool>Adobe Photoshop 25.0 (Windows)</xmp:CreatorTool>")
    assert names(fake(xmp=photoshop)) == set()


BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">
&lol4;</dc:creator></x:xmpmeta>"""


@pytest.mark.parametrize(
    "hostile",
    [
        BILLION_LAUGHS,
        b"",
        b"\xff\xfe\x00garbage\x00<<<>>>",
        b"<x:xmpmeta>" + b"<dc:creator>" * 200_000,
        b'<rdf:Description xmp:CreatorTool="' + b"a" * 1_000_000,
        b"<" * 1_000_000,
        ("<x:xmpmeta>" + "\u202e\ud800" + "</x:xmpmeta>").encode("utf-8", "surrogatepass"),
    ],
)
def test_hostile_xmp_is_harmless(hostile: bytes) -> None:
    start = time.perf_counter()
    assert provenance_signals(fake(xmp=hostile)) == []
    # A guard against runaway parsing (entity expansion takes minutes), not a benchmark: the
    # bound is loose so a loaded machine cannot fail it.
    assert time.perf_counter() - start < 15.0


# --- generator names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "software",
    ["Midjourney", "DALL·E 3", "DALL-E", "dall-e 2", "Stable Diffusion XL", "SDXL 1.0", "ComfyUI",
     "AUTOMATIC1111", "NovelAI", "Adobe Photoshop 25.0 (Generative Fill)", "Adobe Firefly",
     "firefly", "Leonardo.Ai", "FLUX.1-dev", "Black Forest Labs", "Bing Image Creator",
     "Aragon AI", "Generated Photos", "ThisPersonDoesNotExist", "StyleGAN2", "InvokeAI 3.4",
     "Fooocus 2.5", "DreamStudio", "Canva Magic Media", "Google Imagen 3", "Ideogram",
     "Google Gemini", "Gemini 3 Pro Image", "gemini-3-pro-image-preview", "Gemini 2.5 Flash Image",
     "gemini-2.5-flash-image", "Nano Banana Pro", "imagen-4.0-generate-001", "gpt-image-1",
     "Seedream 4.0"],
)
def test_generator_names_in_software_field(software: str) -> None:
    sig = provenance_signals(fake(exif={305: software}))[0]
    assert (sig.name, sig.evidence["value"], sig.score) == (
        "metadata.generator_name", software, 0.85)
    assert sig.evidence["field"] == "EXIF Software"


@pytest.mark.parametrize(
    "software",
    ["Adobe Photoshop 25.0 (Windows)", "Adobe Lightroom Classic 13.1", "GIMP 2.10.36",
     "Imagen de perfil", "Aragon", "Flux", "Fireflies", "Canon EOS R5", "Runway show 2024",
     "Pixelmator Pro", "Midjourneyman", "Gemini", "Gemini Pro", "Gemini 3", "Imagen 2024"],
)
def test_ordinary_software_is_not_a_generator(software: str) -> None:
    assert names(fake(exif={305: software, 270: software})) == set()


def test_description_field_counts_less_than_software_field() -> None:
    sig = provenance_signals(fake(exif={270: "portrait made with Midjourney"}))[0]
    assert (sig.evidence["field"], sig.score) == ("EXIF ImageDescription", 0.7)


def test_png_software_chunk_and_jpeg_comment() -> None:
    sig = provenance_signals(fake(text={"Software": "NovelAI"}))[0]
    assert (sig.name, sig.evidence["field"]) == ("metadata.generator_name",
                                                 "PNG text chunk 'Software'")
    sig = provenance_signals(fake(format="JPEG", info={"comment": b"Created with DreamStudio"}))[0]
    assert sig.evidence == {"field": "Text field 'comment'", "value": "Created with DreamStudio",
                            "generator": "DreamStudio", "matches": [
                                {"field": "Text field 'comment'",
                                 "value": "Created with DreamStudio", "generator": "DreamStudio"}]}


def test_generation_settings_in_a_jpeg_comment() -> None:
    comment = make_fixtures.A1111_PARAMETERS.encode()
    (sig,) = provenance_signals(fake(format="JPEG", info={"comment": comment}))
    assert (sig.name, sig.evidence["field"]) == ("metadata.generation_parameters",
                                                 "Text field 'comment'")


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a1111_user_comment_in_jpeg_and_webp(fmt: str) -> None:
    exif = make_fixtures.exif_bytes(user_comment=make_fixtures.A1111_PARAMETERS)
    data = make_fixtures.encode(make_fixtures.base_image(0), fmt, exif=exif)
    (sig,) = provenance_signals(load_image(data))
    assert (sig.name, sig.evidence["tool"]) == ("exif.generation_parameters",
                                                "Automatic1111-style")
    assert sig.evidence["value"] == make_fixtures.A1111_PARAMETERS


def test_weird_exif_value_types_are_ignored() -> None:
    img = fake(exif={305: (1, 2), 270: 12, 315: b"\xff\xfe\x00", 271: None},
               info={"exif": b"Exif\x00\x00garbage", "photoshop": {0x0404: b"\x1c\x02"}})
    assert provenance_signals(img) == []


def test_iptc_iim_originating_program() -> None:
    value = b"Midjourney"
    iim = b"\x1c\x02\x41" + len(value).to_bytes(2, "big") + value
    sig = provenance_signals(fake(info={"photoshop": {0x0404: iim}}))[0]
    assert (sig.evidence["field"], sig.evidence["value"]) == ("IPTC OriginatingProgram",
                                                              "Midjourney")


# --- generation settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "tool"),
    [
        ({"parameters": make_fixtures.A1111_PARAMETERS}, "Automatic1111-style"),
        ({"workflow": '{"nodes": [], "links": []}'}, "ComfyUI"),
        ({"Dream": '"a headshot" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms'}, "InvokeAI (Dream)"),
        ({"invokeai_metadata": '{"positive_prompt": "a headshot"}'}, "InvokeAI"),
        ({"sd-metadata": '{"model": "stable diffusion"}'}, "InvokeAI"),
        ({"Comment": '{"prompt": "x", "steps": 28, "sampler": "k_euler", "seed": 1, "uc": ""}'},
         "NovelAI"),
        ({"Description": "man in suit --ar 3:4 --v 6.1 Job ID: "
                         "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "Midjourney"),
    ],
)
def test_generation_settings_chunks(chunks: dict[str, str], tool: str) -> None:
    found = {s.name: s for s in provenance_signals(fake(text=chunks))}
    sig = found["png.generation_parameters"]
    assert sig.evidence["tool"] == tool
    assert sig.evidence["value"] == next(iter(chunks.values()))


@pytest.mark.parametrize(
    "chunks",
    [
        {"parameters": "dpi=300"},
        {"prompt": "Say cheese"},
        {"Comment": "Steps: the plan. Seed: round one."},  # two settings-like words: not enough
        {"Title": "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"},  # not a settings key
        {"parameters": "   "},
    ],
)
def test_text_that_is_not_generation_settings(chunks: dict[str, str]) -> None:
    assert "png.generation_parameters" not in names(fake(text=chunks))


def test_long_prompt_is_truncated_in_evidence() -> None:
    prompt = "a very detailed prompt " * 3000 + "\nSteps: 20, Sampler: Euler a, Seed: 1"
    sig = provenance_signals(fake(text={"parameters": prompt}))
    assert sig == []  # settings sit beyond the scanned head, so nothing is claimed
    head = "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1\n" + "x" * 10_000
    (sig,) = provenance_signals(fake(text={"parameters": head}))
    assert len(sig.evidence["value"]) <= 300
    assert sig.evidence["value"].startswith("Steps: 20")


def test_one_megabyte_text_chunk_is_harmless() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Midjourney? no. " * 65_536)  # 1 MiB
    info.add_text("parameters", "(" * 1_048_576)
    img = load_image(make_fixtures.encode(make_fixtures.base_image(0), "PNG", pnginfo=info))
    assert len(img.text["Comment"]) == 1_048_576
    start = time.perf_counter()
    found = provenance_signals(img)
    assert time.perf_counter() - start < 15.0  # runaway-parsing guard, as above
    assert [s.name for s in found] == ["metadata.generator_name"]
    assert len(found[0].evidence["value"]) <= 300
