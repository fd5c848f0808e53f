/** Verdicts as the server answers them for the sample profiles (headcheck check --json). */

const m = (sha, page, extra = {}) => ({
  sha256: sha.repeat(64).slice(0, 64), region: "context", distance: 2, pages: [page],
  relation: "same_context", inliers: 35, face_inliers: 0, face_distance: 0.76, ...extra,
});

export const COMPOSITED = {
  file: null, sha256: "b".repeat(64), label: "composited", confidence: 0.932, error: null, cached: false,
  reasons: [{
    kind: "composited", signal: "match.same_context", score: 0.932,
    detail: "the same body and backdrop as 3 other photos under a different face (seen on 3 pages; up to 33 matching keypoints)",
    matches: [
      m("1", "https://people.example.org/profile/lena-brandt", { inliers: 33 }),
      m("2", "https://people.example.org/profile/stock-photo-4452457288", { inliers: 32 }),
      m("3", "https://people.example.org/profile/marc-oyelaran", { inliers: 30 }),
    ],
  }],
};

export const REUSED = {
  file: null, sha256: "c".repeat(64), label: "reused", confidence: 0.938, error: null, cached: true,
  reasons: [{
    kind: "reused", signal: "match.same_photo", score: 0.938,
    detail: "the same photo appears on 5 distinct pages (as 3 other files)",
    matches: ["sam-keller", "samuel-k", "s-keller-consulting"].map((p, i) => m(String(i + 4),
      `https://people.example.org/profile/${p}`, { relation: "same_photo", inliers: 60, face_inliers: 55, face_distance: null })),
  }],
};

export const SYNTHETIC = {
  file: null, sha256: "d".repeat(64), label: "synthetic", confidence: 0.85, error: null, cached: false,
  reasons: [
    { kind: "synthetic", signal: "metadata.generator_name", score: 0.85,
      detail: "The EXIF Software field names an AI image generator (Midjourney).", matches: [] },
    { kind: "reused", signal: "match.same_photo", score: 0.5,
      detail: "the same photo appears on 2 distinct pages", matches: [] },
  ],
};

export const STYLEGAN = {
  file: null, sha256: "e".repeat(64), label: "synthetic", confidence: 0.697, error: null, cached: false,
  reasons: [{ kind: "synthetic", signal: "geometry.stylegan_eyes", score: 0.697,
              detail: "the eyes sit where StyleGAN-style generators put them (distance 1.82, threshold 3.58)", matches: [] }],
};

export const NONE = {
  file: null, sha256: "f".repeat(64), label: "none", confidence: 0, reasons: [], error: null, cached: false,
};
