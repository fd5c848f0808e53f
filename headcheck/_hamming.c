/* Exact Hamming range scan for headcheck.index: every stored code within a radius of any of a
 * few queries (a hash and its mirror), in one pass over the codes. faiss scans the codes once per
 * query with one popcount a word; this reads each code once for all queries and compares 32
 * 64-bit codes (or 8 PDQ codes) a step with AVX-512 VPOPCNTDQ, reading 4 KB ahead. Loaded with
 * ctypes (headcheck/index.py), only where the CPU has those instructions; faiss answers otherwise.
 * The results are exactly faiss's (tests/core/test_index.py compares them).
 *
 * hk_scan: codes (n x words uint64), queries (nq x words), hits d <= radius written to
 * out_pos/out_q/out_d (at most cap of them); returns the number of hits (more than cap: call
 * again with room for all), or -1 for a shape it does not handle.
 *
 * hk_match32 (below): ORB descriptor matching for headcheck/verify.py, on any x86-64 CPU.
 */
#include <stddef.h>
#include <stdint.h>
#include <immintrin.h>

#define MAX_QUERIES 8

static inline int dist(const uint64_t *x, const uint64_t *q, int words) {
    int d = 0;
    for (int w = 0; w < words; w++) d += __builtin_popcountll(x[w] ^ q[w]);
    return d;
}

static inline void hit(int64_t *hits, int64_t cap, int64_t pos, int k, int d, int64_t *out_pos,
                       int32_t *out_q, int32_t *out_d) {
    if (*hits < cap) {
        out_pos[*hits] = pos;
        out_q[*hits] = k;
        out_d[*hits] = d;
    }
    (*hits)++;
}

static int64_t tail(const uint64_t *codes, int64_t from, int64_t n, int words, const uint64_t *q,
                    int nq, int radius, int64_t hits, int64_t cap, int64_t *out_pos,
                    int32_t *out_q, int32_t *out_d) {
    for (int64_t i = from; i < n; i++)
        for (int k = 0; k < nq; k++) {
            int d = dist(codes + (size_t)i * words, q + (size_t)k * words, words);
            if (d <= radius) hit(&hits, cap, i, k, d, out_pos, out_q, out_d);
        }
    return hits;
}

/* Read the codes this far ahead (4 KB, measured best from 1 to 8 KB): the scan is bound by
 * reading them, and a prefetch never faults, so it may run past the end. */
#define AHEAD 512 /* 64-bit words */

__attribute__((always_inline)) static inline void ahead(const uint64_t *x) {
    _mm_prefetch((const char *)(x + AHEAD), _MM_HINT_T0);
    _mm_prefetch((const char *)(x + AHEAD + 8), _MM_HINT_T0);
    _mm_prefetch((const char *)(x + AHEAD + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(x + AHEAD + 24), _MM_HINT_T0);
}

/* 64-bit codes: 32 codes (four registers) a step; every query's masks are OR-ed, so a step
 * without a hit (nearly all of them) costs one test. ``nq`` is a constant where it is inlined. */
__attribute__((target("avx512f,avx512vpopcntdq"), always_inline))
static inline int64_t scan1_n(const uint64_t *codes, int64_t n, const uint64_t *q, const int nq,
                              int radius, int64_t *out_pos, int32_t *out_q, int32_t *out_d,
                              int64_t cap) {
    int64_t hits = 0, i = 0;
    __m512i qv[MAX_QUERIES], rv = _mm512_set1_epi64(radius);
    for (int k = 0; k < nq; k++) qv[k] = _mm512_set1_epi64((long long)q[k]);
    for (; i + 32 <= n; i += 32) {
        ahead(codes + i);
        __m512i c[4];
        __mmask8 m[MAX_QUERIES][4];
        unsigned any = 0;
        for (int j = 0; j < 4; j++) c[j] = _mm512_loadu_si512((const void *)(codes + i + 8 * j));
        for (int k = 0; k < nq; k++)
            for (int j = 0; j < 4; j++) {
                m[k][j] = _mm512_cmple_epu64_mask(
                    _mm512_popcnt_epi64(_mm512_xor_si512(c[j], qv[k])), rv);
                any |= m[k][j];
            }
        if (__builtin_expect(!any, 1)) continue;
        for (int k = 0; k < nq; k++)
            for (int j = 0; j < 4; j++)
                for (unsigned mm = m[k][j]; mm; mm &= mm - 1) {
                    int64_t at = i + 8 * j + __builtin_ctz(mm);
                    hit(&hits, cap, at, k, dist(codes + at, q + k, 1), out_pos, out_q, out_d);
                }
    }
    return tail(codes, i, n, 1, q, nq, radius, hits, cap, out_pos, out_q, out_d);
}

__attribute__((target("avx512f,avx512vpopcntdq")))
static int64_t scan1(const uint64_t *codes, int64_t n, const uint64_t *q, int nq, int radius,
                     int64_t *out_pos, int32_t *out_q, int32_t *out_d, int64_t cap) {
    switch (nq) { /* a lookup sends a hash and its mirror */
    case 2: return scan1_n(codes, n, q, 2, radius, out_pos, out_q, out_d, cap);
    case 1: return scan1_n(codes, n, q, 1, radius, out_pos, out_q, out_d, cap);
    default: return scan1_n(codes, n, q, nq, radius, out_pos, out_q, out_d, cap);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vpopcntdq")))
static int64_t scan4(const uint64_t *codes, int64_t n, const uint64_t *q, int nq, int radius,
                     int64_t *out_pos, int32_t *out_q, int32_t *out_d, int64_t cap) {
    /* 8 codes a step in 4 registers (two 256-bit codes each). The word counts of the four
     * registers are packed into 16-bit fields of one (each at most 64), summed across each
     * code's four lanes by two permutes, and compared as 16-bit fields (a sum is at most 256). */
    int64_t hits = 0, i = 0;
    __m512i qv[MAX_QUERIES], rv = _mm512_set1_epi16((short)radius);
    for (int k = 0; k < nq; k++) {
        const long long *w = (const long long *)(q + 4 * k);
        qv[k] = _mm512_setr_epi64(w[0], w[1], w[2], w[3], w[0], w[1], w[2], w[3]);
    }
    for (; i + 8 <= n; i += 8) {
        const uint64_t *x = codes + 4 * i;
        ahead(x);
        __m512i c0 = _mm512_loadu_si512((const void *)x);
        __m512i c1 = _mm512_loadu_si512((const void *)(x + 8));
        __m512i c2 = _mm512_loadu_si512((const void *)(x + 16));
        __m512i c3 = _mm512_loadu_si512((const void *)(x + 24));
        for (int k = 0; k < nq; k++) {
            __m512i p = _mm512_or_si512(
                _mm512_or_si512(_mm512_popcnt_epi64(_mm512_xor_si512(c0, qv[k])),
                                _mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c1, qv[k])), 16)),
                _mm512_or_si512(_mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c2, qv[k])), 32),
                                _mm512_slli_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c3, qv[k])), 48)));
            p = _mm512_add_epi64(p, _mm512_permutex_epi64(p, 0xB1)); /* w0+w1, w2+w3 */
            p = _mm512_add_epi64(p, _mm512_permutex_epi64(p, 0x4E)); /* all four */
            /* field f of lane 0 is code i + 2f, of lane 4 code i + 2f + 1 */
            __mmask32 m = _mm512_cmple_epu16_mask(p, rv) & 0x000F000Fu;
            while (m) {
                int b = __builtin_ctz(m);
                m &= m - 1;
                int64_t at = i + 2 * (b & 3) + (b >> 4);
                hit(&hits, cap, at, k, dist(codes + 4 * at, q + 4 * k, 4), out_pos, out_q, out_d);
            }
        }
    }
    return tail(codes, i, n, 4, q, nq, radius, hits, cap, out_pos, out_q, out_d);
}

int hk_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vpopcntdq");
}

int64_t hk_scan(const uint64_t *codes, int64_t n, int words, const uint64_t *q, int nq,
                int radius, int64_t *out_pos, int32_t *out_q, int32_t *out_d, int64_t cap) {
    if (nq < 1 || nq > MAX_QUERIES || n < 0 || !hk_available()) return -1;
    if (words == 1) return scan1(codes, n, q, nq, radius, out_pos, out_q, out_d, cap);
    if (words == 4) return scan4(codes, n, q, nq, radius, out_pos, out_q, out_d, cap);
    return -1;
}

/* ORB descriptor matching for headcheck.verify: every pair of a (na x 32 bytes) and b (nb x 32
 * bytes) compared once. For each row of a, its nearest row of b (near_a), that distance (d1) and
 * the second smallest (d2; INT32_MAX when b has one row); for each row of b, its nearest row of a
 * (near_b). Ties keep the lowest index, as OpenCV's knnMatch does (tests/core/test_verify.py
 * compares the two). Both directions from one pass: knnMatch needs two. */
static inline __attribute__((always_inline)) void match32(
        const uint64_t *a, int na, const uint64_t *b, int nb, int32_t *near_a, int32_t *d1,
        int32_t *d2, int32_t *near_b, int32_t *col) {
    for (int j = 0; j < nb; j++) {
        col[j] = INT32_MAX;
        near_b[j] = -1;
    }
    for (int i = 0; i < na; i++) {
        const uint64_t *x = a + 4 * (long)i;
        int32_t m1 = INT32_MAX, m2 = INT32_MAX, k1 = -1;
        for (int j = 0; j < nb; j++) {
            const uint64_t *y = b + 4 * (long)j;
            int32_t d = __builtin_popcountll(x[0] ^ y[0]) + __builtin_popcountll(x[1] ^ y[1]) +
                        __builtin_popcountll(x[2] ^ y[2]) + __builtin_popcountll(x[3] ^ y[3]);
            if (d < m1) {
                m2 = m1;
                m1 = d;
                k1 = j;
            } else if (d < m2) {
                m2 = d;
            }
            if (d < col[j]) {
                col[j] = d;
                near_b[j] = i;
            }
        }
        near_a[i] = k1;
        d1[i] = m1;
        d2[i] = m2;
    }
}

__attribute__((target("popcnt"))) static void match32_popcnt(
        const uint64_t *a, int na, const uint64_t *b, int nb, int32_t *near_a, int32_t *d1,
        int32_t *d2, int32_t *near_b, int32_t *col) {
    match32(a, na, b, nb, near_a, d1, d2, near_b, col);
}

static void match32_plain(const uint64_t *a, int na, const uint64_t *b, int nb, int32_t *near_a,
                          int32_t *d1, int32_t *d2, int32_t *near_b, int32_t *col) {
    match32(a, na, b, nb, near_a, d1, d2, near_b, col);
}

/* col: scratch of nb int32 (the best distance so far of each row of b). */
void hk_match32(const uint64_t *a, int na, const uint64_t *b, int nb, int32_t *near_a,
                int32_t *d1, int32_t *d2, int32_t *near_b, int32_t *col) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt"))
        match32_popcnt(a, na, b, nb, near_a, d1, d2, near_b, col);
    else
        match32_plain(a, na, b, nb, near_a, d1, d2, near_b, col);
}
