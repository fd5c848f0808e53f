import assert from "node:assert/strict";
import test from "node:test";

import { describeReason, describeVerdict, link, plural } from "../lib/wording.js";
import { COMPOSITED, NONE, REUSED, STYLEGAN, SYNTHETIC } from "./fixtures.js";

test("composited: label and confidence on the badge, other profiles with links", () => {
  const v = describeVerdict(COMPOSITED, { pageUrl: "https://www.linkedin.com/in/dana/" });
  assert.equal(v.label, "composited");
  assert.equal(v.badgeText, "Composited 93%");
  assert.match(v.summary, /^Composited, 93% confidence: .*face pasted/);
  assert.equal(v.explain, "Signs of a face pasted onto a stock photo.");
  const [r] = v.reasons;
  assert.equal(r.headline, "The same body and backdrop as 3 other profiles, with a different face");
  assert.match(r.evidence, /faces belong to different people/);
  assert.equal(r.details[0], "Up to 33 matching points in the body and backdrop.");
  assert.deepEqual(r.links.map((l) => l.text), [
    "people.example.org/profile/lena-brandt", "people.example.org/profile/stock-photo-4452457288",
    "people.example.org/profile/marc-oyelaran",
  ]);
  assert.equal(r.moreLinks, 0);
});

test("the page being looked at is not one of the 'other' profiles", () => {
  const v = describeVerdict(COMPOSITED, { pageUrl: "https://people.example.org/profile/lena-brandt" });
  assert.equal(v.reasons[0].headline, "The same body and backdrop as 2 other profiles, with a different face");
  assert.equal(v.reasons[0].links.length, 2);
});

test("links: three at most, the rest counted", () => {
  const many = structuredClone(COMPOSITED);
  for (let i = 0; i < 5; i += 1) {
    many.reasons[0].matches.push({ ...many.reasons[0].matches[0], pages: [`https://p.example/u/${i}`] });
  }
  const [r] = describeVerdict(many).reasons;
  assert.equal(r.links.length, 3);
  assert.equal(r.moreLinks, 5);
  assert.match(r.headline, /as 8 other profiles/);
});

test("reused: the server's page count, minus this page", () => {
  const v = describeVerdict(REUSED, { pageUrl: "https://x.com/keller" });
  assert.equal(v.badgeText, "Reused 94%");
  const [r] = v.reasons;
  assert.equal(r.headline, "The same photo appears on 4 other pages");
  assert.equal(r.links.length, 3);
  assert.equal(r.moreLinks, 1);
  assert.match(r.evidence, /resized, cropped or mirrored/);
});

test("metadata findings name the generator in plain words", () => {
  const v = describeVerdict(SYNTHETIC, { pageUrl: "https://x.com/chris" });
  assert.equal(v.badgeText, "Synthetic 85%");
  assert.equal(v.reasons[0].headline, "Its metadata says it was made with Midjourney");
  assert.equal(v.reasons[0].evidence, undefined);
  assert.ok(v.reasons[0].details.includes("The EXIF Software field names an AI image generator (Midjourney)."));
  assert.equal(v.reasons[1].headline, "This exact file is also on 1 other page");
  assert.equal(v.reasons[1].evidence, undefined);
});

test("StyleGAN geometry, and unknown signals fall back to the server's sentence", () => {
  const [r] = describeVerdict(STYLEGAN).reasons;
  // Plain words up front; the model's name and the numbers behind "Details".
  assert.doesNotMatch(`${r.headline} ${r.evidence}`, /StyleGAN|distance|threshold/);
  assert.match(r.headline, /AI face generator/);
  assert.ok(r.details.some((d) => /StyleGAN/.test(d)));
  assert.ok(r.details.some((d) => /distance 1\.82, threshold 3\.58/.test(d)));
  const other = describeReason({ kind: "synthetic", signal: "new.detector", detail: "something new was found", matches: [] });
  assert.equal(other.headline, "Something new was found");
  assert.equal(other.evidence, undefined);
});

test("no raw terms up front for any known signal", () => {
  const raw = /DigitalSourceType|trainedAlgorithmicMedia|distance \d|threshold|context, distance|StyleGAN|C2PA|dwtDct/;
  for (const signal of ["geometry.stylegan_eyes", "iptc.digital_source_type", "c2pa.ai_generated", "c2pa.unreadable",
                        "png.generation_parameters", "metadata.generator_name", "tc260.aigc_label",
                        "watermark.generator"]) {
    const r = describeReason({ kind: "synthetic", signal, score: 0.9, matches: [],
                               detail: "XMP Iptc4xmpExt:DigitalSourceType is trainedAlgorithmicMedia (distance 1.2, threshold 3.5)" });
    assert.doesNotMatch(`${r.headline} ${r.evidence ?? ""}`, raw, signal);
    assert.ok(r.details.length >= 2, signal);
  }
});

test("the server's own headline and evidence are shown, not parsed", () => {
  const r = describeReason({ kind: "synthetic", signal: "c2pa.ai_generated", score: 0.95, matches: [],
                             headline: "Content Credentials say an AI tool made this photo",
                             detail: "c2pa actions", evidence: { issuer: "Adobe Inc.", claim_generator: "Firefly", value: 3 } });
  assert.equal(r.headline, "Content Credentials say an AI tool made this photo");
  assert.equal(r.evidence, "Signed by Adobe Inc. with Firefly.");
  assert.ok(r.details.includes("value: 3"));
  // An older store's stand-in headline (the detail itself) is not shown as a sentence.
  const old = describeReason({ kind: "synthetic", signal: "geometry.stylegan_eyes", score: 0.7, matches: [],
                               headline: "the eyes sit (distance 1.8, threshold 3.6)", detail: "the eyes sit (distance 1.8, threshold 3.6)" });
  assert.doesNotMatch(old.headline, /threshold/);
});

test("reuse: the names the photo appeared under, with first-seen dates where given", () => {
  const reason = { ...structuredClone(REUSED.reasons[0]), page_count: 5,
                   evidence: { names: [{ name: "Sam Keller", first_seen: "2026-03-01T10:00:00+00:00",
                                         page: "https://people.example.org/profile/sam-keller" },
                                       "Samuel K", "Samuel K", { name: "Me", page: "https://x.com/keller" }],
                               pages: ["https://people.example.org/profile/sam-keller"], identities: 1 } };
  const r = describeReason(reason, "https://x.com/keller");
  assert.deepEqual(r.names, [
    { name: "Sam Keller", firstSeen: "2026-03-01", href: "https://people.example.org/profile/sam-keller" },
    { name: "Samuel K" }]);
  assert.equal(r.headline, "The same photo appears on 4 other pages under 2 other names");
  const bare = describeReason(REUSED.reasons[0], "https://x.com/keller");
  assert.deepEqual(bare.names, []);  // an older server: no names, no harm
});

test("reuse: where the face pixels agree less than a copy's, a frame of the same shoot is allowed for", () => {
  const reason = { ...structuredClone(REUSED.reasons[0]), page_count: 5,
                   evidence: { face_corr: 0.96, names: ["Samuel K"] } };
  const r = describeReason(reason, "https://x.com/keller");
  assert.equal(r.headline, "The same or a near-identical photo appears on 4 other pages under 1 other name");
  assert.match(r.evidence, /another frame of the same shoot/);
  const faceless = describeReason({ ...reason, evidence: { window_corr: 0.95, names: ["Samuel K"] } },
                                  "https://x.com/keller");
  assert.equal(faceless.headline, r.headline);  // matched without a face: the whole photo's pixels
  const copy = describeReason({ ...reason, evidence: { names: ["Samuel K"] } }, "https://x.com/keller");
  assert.equal(copy.headline, "The same photo appears on 4 other pages under 1 other name");
});

test("a disputed verdict says so, with the feedback as a reason", () => {
  const disputed = { ...structuredClone(COMPOSITED), confidence: 0.466, disputed: true,
                     feedback: { false_positive: 2, confirmed: 0 } };
  disputed.reasons.push({ kind: "composited", signal: "feedback.disputed", score: 0, matches: [],
                          detail: "disputed: 2 people marked this verdict wrong (0 confirmed it)",
                          headline: "Disputed: 2 people marked this finding wrong; look again before you rely on it.",
                          evidence: { false_positive: 2, confirmed: 0 } });
  const v = describeVerdict(disputed);
  assert.equal(v.disputed, true);
  assert.match(v.summary, /^Disputed\. Composited, 47% confidence/);
  assert.equal(v.reasons.at(-1).headline, "Disputed: 2 people marked this finding wrong; look again before you rely on it");
  assert.equal(describeVerdict(COMPOSITED).disputed, false);
});

test("none: a quiet 'checked' that never says genuine", () => {
  const v = describeVerdict(NONE);
  assert.equal(v.label, "none");
  assert.equal(v.badgeText, "checked");
  assert.match(v.summary, /not prove/);
  assert.deepEqual(v.reasons, []);
});

test("none with a note: nothing flagged, and the note is shown, not contradicted", () => {
  const v = describeVerdict({
    label: "none", confidence: 0, reasons: [{
      kind: "synthetic", signal: "diffusion.clip_probe", score: 0, matches: [],
      detail: "unsure: the CLIP probe scores the face 0.9941, between its unsure (0.9900) and flag (0.9995) thresholds; the label is unchanged",
      headline: "Unsure: the face has some traits of AI-generated faces, not enough to flag it.",
      evidence: { band: "unsure", probability: 0.9941 } }],
  });
  assert.equal(v.label, "none");
  assert.equal(v.badgeText, "checked");
  assert.match(v.summary, /^Checked: nothing to flag; the notes below/);
  assert.doesNotMatch(v.summary, /no signal/);
  assert.match(v.summary, /not prove/);
  assert.equal(v.reasons.length, 1);
  assert.match(v.reasons[0].headline, /^Unsure: the face has some traits of AI-generated faces/);
  assert.ok(v.reasons[0].details.includes("A note only: it does not flag the photo."));
  assert.ok(!v.reasons[0].details.some((d) => d.startsWith("Strength")));
});

test("unexpected answers do not break the wording", () => {
  const v = describeVerdict({ label: "authentic", confidence: 7, reasons: [null, { kind: "x" }] });
  assert.equal(v.label, "none");
  assert.equal(v.confidence, 1);
  assert.equal(v.reasons.length, 1);
  assert.equal(describeVerdict(undefined).label, "none");
});

test("links are http(s) only and shortened", () => {
  assert.equal(link("javascript:alert(1)"), null);
  assert.equal(link("data:text/html,<b>x</b>"), null);
  assert.equal(link("not a url"), null);
  assert.deepEqual(link("https://a.example/u/x/?q=1"), { href: "https://a.example/u/x/?q=1", text: "a.example/u/x" });
  assert.ok(link(`https://a.example/${"y".repeat(100)}`).text.length <= 60);
  const bad = describeReason({ kind: "composited", signal: "match.same_context",
                               matches: [{ pages: ["javascript:alert(1)", "https://ok.example/u/1"], inliers: 12 }] });
  assert.deepEqual(bad.links.map((l) => l.href), ["https://ok.example/u/1"]);
});

test("plural", () => {
  assert.equal(plural(1, "page"), "1 page");
  assert.equal(plural(2, "page"), "2 pages");
});
