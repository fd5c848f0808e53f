"""What each kind of signal can and cannot see, with its measured recall (docs/benchmarks.md), so
a prevalence is read as the lower bound it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    label: str
    signal: str
    sees: str
    misses: str
    measured: str  # figures from docs/benchmarks.md, with the script that measures them


DETECTION_LIMITS = (
    Limit("synthetic", "AI declarations in the file (C2PA, IPTC DigitalSourceType, China's "
          "AI-content label, generator names, generation settings)",
          "any generator whose output keeps its metadata",
          "files whose metadata was stripped: most sites strip it on upload",
          "recall 100%, precision 100% on 20 fixtures, 12 of them carrying a declaration; no "
          "signal on 3,586 photos without one (bench/provenance_eval.py)"),
    Limit("synthetic", "invisible watermarks that generators' reference code embeds (Stable "
          "Diffusion 1 and 2, SDXL through diffusers or Stability's code, FLUX.1's; InvokeAI's "
          "watermark node)",
          "files kept as those pipelines saved them (PNG, lossless WebP, JPEG with full-"
          "resolution colour, as FLUX.1's own tool writes), even with their metadata stripped",
          "resized, cropped or re-encoded copies (a JPEG with halved colour resolution, what "
          "most sites serve, erases it on about 19 photos in 20); generators and services "
          "that do not embed these marks (most hosted services); images on which the marking "
          "code itself failed (about 1 in 5 to 10 of its output)",
          "0 of 5,305 readings of real photos flagged (the closest at a chance of 7e-4 against "
          "the flag's 1e-7); 1,469 of the 1,470 marks that took found as PNG; of all copies "
          "the reference encoder marked, 78-89% found as PNG, "
          "79-92% as full-colour JPEG q90-95, 1-7% as JPEG q95 with halved colour, none once "
          "resized or cropped (bench/watermark_eval.py)"),
    Limit("synthetic", "StyleGAN eye geometry",
          "square, face-aligned StyleGAN-style portraits",
          "text-to-image (diffusion) faces, which are not aligned that way; crops that moved "
          "the eyes",
          "recall 90% of 50 held-out StyleGAN faces; 0% of 81 text-to-image faces; 0% of 72 "
          "real photos and 1.0% of 668 square crops of them flagged (bench/geometry_eval.py)"),
    Limit("synthetic", "CLIP probe for diffusion-made faces",
          "faces like those of FLUX.1 and SDXL (the generators it was trained on) and about half "
          "of StyleGAN faces, also as small, re-encoded copies (it was trained on such copies)",
          "generators it never saw score lower, some far lower: none of 44 faces made by "
          "Gemini 3 Pro Image and ChatGPT reached even the unsure band, none of 55 DALL-E 3 "
          "scenes with their metadata stripped was flagged (3 unsure; the provenance check "
          "found all 55 with it), none of 200 Stable Diffusion 3 profile pictures "
          "(bench/unseen_eval.py); other "
          "post-processing (all its AI training faces are sample-sheet tiles); small, grayscale, "
          "sharpened or noisy copies of faces it would flag as they are (of 120 AI images, "
          "52-76% found under each of 11 such edits, 79% as they are; "
          "bench/diffusion_robustness.py --v6); photos without a face the analyser finds; "
          "machines where no encoder kernels compute the features it was trained on (it then "
          "stays off); photos analysed before it was installed (the Software table counts the "
          "photos each detector checked)",
          "recall 82% of 1,563 AI images (text-to-image 87%) at 0 of 2,156 held-out real images "
          "flagged; at most 0.6% of a kind of real photo left out of training flagged; a "
          "generator left out of training: 65-97% (the recipe without it, its own threshold); "
          "StyleGAN with eye geometry 97.8% (bench/diffusion_v6.py); real photos under 16 edits: "
          "3 of 17,177 flagged (0.19% after a crop and second JPEG, 0.09% as 96 px avatars, "
          "none under the other fourteen; bench/diffusion_robustness.py --v6)"),
    Limit("composited", "the same body and backdrop under different faces",
          "a template used at least twice among the photos in this store",
          "a template seen only once here; composites on backdrops never reused",
          "recall 95.1% of 224 template pairs; 0 false pairs among 1,094,839 unrelated pairs "
          "(bench/evaluate.py)"),
    Limit("reused", "the same photo on several pages",
          "copies in this store, resized, re-encoded, cropped, padded or mirrored; also two "
          "frames of one still studio shoot, which it names as possibly such",
          "copies on pages that were not gathered",
          "recall 98.8% of 1,116 copies, 90-100% per transformation (bench/evaluate.py)"),
)
