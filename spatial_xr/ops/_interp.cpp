// Interpolation kernels of spatial_xr (nearest, trilinear, per-label linear) on strided
// 3-D boxes in z, y, x order. Called from Python through ctypes (which releases the GIL),
// so that threads run them in parallel; see spatial_xr/ops/_kernels.py for the
// conventions (ITK's inside test, half-up nearest, clamped linear neighbours, integer
// outputs clamped then truncated toward zero).
//
// Strides are in elements. Every entry point returns 0, or -1 for an unknown dtype code.
//
// Built as a plain shared library (no Python API, so one binary serves every CPython
// version): see setup.py.

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

// On x86-64 Linux the hot loops are compiled twice, for the baseline ISA and for
// x86-64-v3 (AVX2, BMI2), and the loader picks the variant the CPU runs. Floating-point
// contraction (FMA) is off in the build, so both variants give identical results.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SXR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SXR_CLONES
#endif

namespace {

// dtype codes shared with _kernels.py
enum Code { I8 = 0, U8, I16, U16, I32, U32, I64, U64, F32, F64, BOOL };

// The one switch over dtype codes: calls f with a value of the code's type; false for an
// unknown code.
template <typename F>
bool visit(int code, F&& f) {
    switch (code) {
        case I8: f(int8_t{}); return true;
        case U8: f(uint8_t{}); return true;
        case I16: f(int16_t{}); return true;
        case U16: f(uint16_t{}); return true;
        case I32: f(int32_t{}); return true;
        case U32: f(uint32_t{}); return true;
        case I64: f(int64_t{}); return true;
        case U64: f(uint64_t{}); return true;
        case F32: f(float{}); return true;
        case F64: f(double{}); return true;
        case BOOL: f(bool{}); return true;
        default: return false;
    }
}

template <typename V>
using type_of = std::remove_cv_t<std::remove_reference_t<V>>;

struct Box {
    int64_t n[3];  // shape z, y, x
    int64_t s[3];  // strides z, y, x (elements)
};

inline int64_t clampi(int64_t v, int64_t n) { return v < 0 ? 0 : (v > n - 1 ? n - 1 : v); }

// Indices i in [0, n) with lo <= b + a*i <= hi, as [s, e) (maybe empty).
inline void row_interval(double a, double b, double lo, double hi, int64_t n, int64_t* s,
                         int64_t* e) {
    if (std::fabs(a) < 1e-300) {
        if (lo <= b && b <= hi) {
            *s = 0;
            *e = n;
        } else {
            *s = 0;
            *e = 0;
        }
        return;
    }
    double t1 = (lo - b) / a, t2 = (hi - b) / a;
    double tmin = t1 < t2 ? t1 : t2, tmax = t1 < t2 ? t2 : t1;
    double ss = std::ceil(tmin);
    if (ss < 0.0) ss = 0.0;
    double ee = std::floor(tmax) + 1.0;
    if (ee > double(n)) ee = double(n);
    if (ee <= ss) {
        *s = 0;
        *e = 0;
        return;
    }
    *s = int64_t(ss);
    *e = int64_t(ee);
}

// ------------------------------------------------------------------ storing values
template <typename T>
inline T to_out(double v) {
    if constexpr (std::is_same_v<T, bool>) {
        return v != 0.0;
    } else if constexpr (std::is_floating_point_v<T>) {
        return T(v);
    } else {
        // clamp to the range, then truncate toward zero (static_cast), NaN -> 0
        constexpr double lo = double(std::numeric_limits<T>::min());
        constexpr double hi = double(std::numeric_limits<T>::max());
        if (!(v == v)) return T(0);
        if (v <= lo) return std::numeric_limits<T>::min();
        if (v >= hi) return std::numeric_limits<T>::max();
        return T(v);
    }
}

template <typename T>
SXR_CLONES void store_row(void* out, int64_t stride, const double* row, int64_t n) {
    T* o = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) o[i * stride] = to_out<T>(row[i]);
}

using StoreFn = void (*)(void*, int64_t, const double*, int64_t);

StoreFn store_for(int code) {
    StoreFn fn = nullptr;
    visit(code, [&](auto v) { fn = store_row<type_of<decltype(v)>>; });
    return fn;
}

// Offset meaning "outside: fill" in a row of source offsets (offsets can be negative:
// views with negative strides).
constexpr int64_t FILL = std::numeric_limits<int64_t>::min();

// Nearest: a row of source offsets (FILL: fill value) gathered into the output. A value of the
// output's own type is copied as it is (exact for 64-bit integers too).
template <typename Tin, typename Tout>
SXR_CLONES void gather_row(const void* src, const int64_t* idx, int64_t n, void* out, int64_t stride,
                double fill) {
    const Tin* s = static_cast<const Tin*>(src);
    Tout* o = static_cast<Tout*>(out);
    const Tout f = to_out<Tout>(fill);
    for (int64_t i = 0; i < n; ++i) {
        int64_t k = idx[i];
        if (k == FILL) {
            o[i * stride] = f;
        } else if constexpr (std::is_same_v<Tin, Tout>) {
            o[i * stride] = s[k];
        } else {
            o[i * stride] = to_out<Tout>(double(s[k]));
        }
    }
}

using GatherFn = void (*)(const void*, const int64_t*, int64_t, void*, int64_t, double);

template <typename Tin>
GatherFn gather_for_out(int code) {
    GatherFn fn = nullptr;
    visit(code, [&](auto v) { fn = gather_row<Tin, type_of<decltype(v)>>; });
    return fn;
}


// ------------------------------------------------------------------ point values
template <typename T>
inline double at(const T* p, const Box& b, int64_t z, int64_t y, int64_t x) {
    return double(p[z * b.s[0] + y * b.s[1] + x * b.s[2]]);
}

// Trilinear value with neighbours clamped to the box (any point inside [lo, hi)).
template <typename T>
inline double linear_clamped(const T* p, const Box& b, double z, double y, double x) {
    double fz = std::floor(z), fy = std::floor(y), fx = std::floor(x);
    double wz = z - fz, wy = y - fy, wx = x - fx;
    int64_t iz = int64_t(fz), iy = int64_t(fy), ix = int64_t(fx);
    int64_t z0 = clampi(iz, b.n[0]), z1 = clampi(iz + 1, b.n[0]);
    int64_t y0 = clampi(iy, b.n[1]), y1 = clampi(iy + 1, b.n[1]);
    int64_t x0 = clampi(ix, b.n[2]), x1 = clampi(ix + 1, b.n[2]);
    double v000 = at(p, b, z0, y0, x0), v001 = at(p, b, z0, y0, x1);
    double v010 = at(p, b, z0, y1, x0), v011 = at(p, b, z0, y1, x1);
    double v100 = at(p, b, z1, y0, x0), v101 = at(p, b, z1, y0, x1);
    double v110 = at(p, b, z1, y1, x0), v111 = at(p, b, z1, y1, x1);
    double c00 = v000 + (v001 - v000) * wx;
    double c01 = v010 + (v011 - v010) * wx;
    double c10 = v100 + (v101 - v100) * wx;
    double c11 = v110 + (v111 - v110) * wx;
    double c0 = c00 + (c01 - c00) * wy;
    double c1 = c10 + (c11 - c10) * wy;
    return c0 + (c1 - c0) * wz;
}

inline int64_t nearest_offset_clamped(const Box& b, double z, double y, double x) {
    return clampi(int64_t(std::floor(z + 0.5)), b.n[0]) * b.s[0] +
           clampi(int64_t(std::floor(y + 0.5)), b.n[1]) * b.s[1] +
           clampi(int64_t(std::floor(x + 0.5)), b.n[2]) * b.s[2];
}

// Per-label linear vote (ITK's LabelImageGenericInterpolate with a linear interpolator):
// the label whose indicator interpolates highest wins, ties to the smaller label.
template <typename T>
inline double label_vote(const T* p, const Box& b, double z, double y, double x) {
    double fz = std::floor(z), fy = std::floor(y), fx = std::floor(x);
    double w[2][3] = {{1.0 - (z - fz), 1.0 - (y - fy), 1.0 - (x - fx)},
                      {z - fz, y - fy, x - fx}};
    int64_t zs[2] = {clampi(int64_t(fz), b.n[0]), clampi(int64_t(fz) + 1, b.n[0])};
    int64_t ys[2] = {clampi(int64_t(fy), b.n[1]), clampi(int64_t(fy) + 1, b.n[1])};
    int64_t xs[2] = {clampi(int64_t(fx), b.n[2]), clampi(int64_t(fx) + 1, b.n[2])};
    double labels[8], weights[8];
    int n = 0;
    for (int a = 0; a < 2; ++a)
        for (int c = 0; c < 2; ++c)
            for (int d = 0; d < 2; ++d) {
                double wt = w[a][0] * w[c][1] * w[d][2];
                double v = at(p, b, zs[a], ys[c], xs[d]);
                int m = 0;
                for (; m < n; ++m)
                    if (labels[m] == v) {
                        weights[m] += wt;
                        break;
                    }
                if (m == n) {
                    labels[n] = v;
                    weights[n] = wt;
                    ++n;
                }
            }
    double best = labels[0], best_w = weights[0];
    for (int m = 1; m < n; ++m)
        if (weights[m] > best_w || (weights[m] == best_w && labels[m] < best)) {
            best = labels[m];
            best_w = weights[m];
        }
    return best;
}

inline bool inside(const double* lo, const double* hi, double z, double y, double x) {
    return lo[0] <= z && z < hi[0] && lo[1] <= y && y < hi[1] && lo[2] <= x && x < hi[2];
}

// ------------------------------------------------------------------ block means
// Mean of each (fz, fy, fx) block of an integer box, exactly: the int64 sum s of the
// n = fz*fy*fx values, then floor((2s + n) / 2n) (halves round up), or 2s >= n for bool.
template <typename T>
SXR_CLONES void block_mean(const T* p, const Box& b, T* o, const Box& ob, int64_t fz,
                           int64_t fy, int64_t fx) {
    const int64_t ox = ob.n[2];
    const int64_t n = fz * fy * fx;
    int shift = -1;  // log2(2n) when 2n is a power of two
    if ((n & (n - 1)) == 0)
        for (shift = 0; (int64_t(1) << shift) < 2 * n; ++shift) {
        }
    std::vector<int64_t> acc(size_t(ox > 0 ? ox : 1));
    for (int64_t k = 0; k < ob.n[0]; ++k)
        for (int64_t j = 0; j < ob.n[1]; ++j) {
            std::fill(acc.begin(), acc.end(), 0);
            for (int64_t dz = 0; dz < fz; ++dz)
                for (int64_t dy = 0; dy < fy; ++dy) {
                    const T* r = p + (k * fz + dz) * b.s[0] + (j * fy + dy) * b.s[1];
                    if (fx == 1 && b.s[2] == 1) {
                        for (int64_t i = 0; i < ox; ++i) acc[i] += int64_t(r[i]);
                    } else if (fx == 2 && b.s[2] == 1) {
                        for (int64_t i = 0; i < ox; ++i)
                            acc[i] += int64_t(r[2 * i]) + int64_t(r[2 * i + 1]);
                    } else {
                        for (int64_t i = 0; i < ox; ++i)
                            for (int64_t dx = 0; dx < fx; ++dx)
                                acc[i] += int64_t(r[(i * fx + dx) * b.s[2]]);
                    }
                }
            T* orow = o + k * ob.s[0] + j * ob.s[1];
            if constexpr (std::is_same_v<T, bool>) {
                for (int64_t i = 0; i < ox; ++i) orow[i * ob.s[2]] = 2 * acc[i] >= n;
            } else if (shift >= 0) {  // 2n a power of two: an arithmetic shift floors
                for (int64_t i = 0; i < ox; ++i) orow[i * ob.s[2]] = T((2 * acc[i] + n) >> shift);
            } else {  // |2s + n| < 2^53 and 2n small: the float quotient floors exactly
                const double den = double(2 * n);
                for (int64_t i = 0; i < ox; ++i)
                    orow[i * ob.s[2]] = T(std::floor(double(2 * acc[i] + n) / den));
            }
        }
}


int out_size(int code) {
    int n = 0;
    visit(code, [&](auto v) { n = int(sizeof(v)); });
    return n;
}

// ------------------------------------------------------------------ affine mapping
// Output voxel (k, j, i) reads the continuous box index a[:, :3] @ (k, j, i) + a[:, 3].
template <typename T>
SXR_CLONES void affine(const T* p, const Box& b, void* out, int tout, const Box& o, const double* a,
            const double* lo, const double* hi, double fill, int order) {
    const int64_t ox = o.n[2];
    const int outsize = out_size(tout);
    std::vector<double> row(size_t(ox > 0 ? ox : 1));
    std::vector<int64_t> idx(size_t(ox > 0 ? ox : 1));
    StoreFn store = store_for(tout);
    GatherFn gather = gather_for_out<T>(tout);
    const double eps = 1e-6;
    double f0[3], f1[3];  // fast region: every neighbour inside the box
    for (int d = 0; d < 3; ++d) {
        if (order == 0) {
            f0[d] = -0.5 + eps;
            f1[d] = double(b.n[d]) - 0.5 - eps;
        } else {
            f0[d] = eps;
            f1[d] = double(b.n[d]) - 1.0 - eps;
        }
    }
    const double dz = a[2], dy = a[6], dx = a[10];
    for (int64_t k = 0; k < o.n[0]; ++k) {
        for (int64_t j = 0; j < o.n[1]; ++j) {
            char* orow = static_cast<char*>(out) + (k * o.s[0] + j * o.s[1]) * outsize;
            const double bz = a[0] * k + a[1] * j + a[3];
            const double by = a[4] * k + a[5] * j + a[7];
            const double bx = a[8] * k + a[9] * j + a[11];
            int64_t s1, e1, s2, e2, s3, e3;
            row_interval(dz, bz, f0[0], f1[0], ox, &s1, &e1);
            row_interval(dy, by, f0[1], f1[1], ox, &s2, &e2);
            row_interval(dx, bx, f0[2], f1[2], ox, &s3, &e3);
            int64_t fs = std::max(s1, std::max(s2, s3));
            int64_t fe = std::min(e1, std::min(e2, e3));
            if (fe < fs) fe = fs;
            // inside interval, widened by one voxel (the exact test decides there)
            row_interval(dz, bz, lo[0], hi[0], ox, &s1, &e1);
            row_interval(dy, by, lo[1], hi[1], ox, &s2, &e2);
            row_interval(dx, bx, lo[2], hi[2], ox, &s3, &e3);
            int64_t s0 = std::max<int64_t>(0, std::max(s1, std::max(s2, s3)) - 1);
            int64_t e0 = std::min<int64_t>(ox, std::min(e1, std::min(e2, e3)) + 1);
            if (e0 <= s0) s0 = e0 = 0;
            if (order == 0) {
                for (int64_t i = 0; i < s0; ++i) idx[i] = FILL;
                for (int64_t i = e0; i < ox; ++i) idx[i] = FILL;
                for (int64_t i = fs; i < fe; ++i)  // x + 1/2 > 0 here: int() is floor
                    idx[i] = int64_t(bz + dz * i + 0.5) * b.s[0] +
                             int64_t(by + dy * i + 0.5) * b.s[1] +
                             int64_t(bx + dx * i + 0.5) * b.s[2];
                for (int64_t i = s0; i < e0; ++i) {
                    if (i >= fs && i < fe) continue;
                    double z = bz + dz * i, y = by + dy * i, x = bx + dx * i;
                    idx[i] = inside(lo, hi, z, y, x) ? nearest_offset_clamped(b, z, y, x) : FILL;
                }
                gather(p, idx.data(), ox, orow, o.s[2], fill);
                continue;
            }
            for (int64_t i = 0; i < s0; ++i) row[i] = fill;
            for (int64_t i = e0; i < ox; ++i) row[i] = fill;
            if (order == 1) {
                // all neighbours inside (indices >= 0: int() is floor): branch-free
                for (int64_t i = fs; i < fe; ++i) {
                    const double z = bz + dz * i, y = by + dy * i, x = bx + dx * i;
                    const int64_t z0 = int64_t(z), y0 = int64_t(y), x0 = int64_t(x);
                    const double wz = z - double(z0), wy = y - double(y0),
                                 wx = x - double(x0);
                    const T* q = p + z0 * b.s[0] + y0 * b.s[1] + x0 * b.s[2];
                    const int64_t sz = b.s[0], sy = b.s[1], sx = b.s[2];
                    const double v0 = double(q[0]), v1 = double(q[sy]);
                    const double v2 = double(q[sz]), v3 = double(q[sz + sy]);
                    const double c00 = v0 + (double(q[sx]) - v0) * wx;
                    const double c01 = v1 + (double(q[sy + sx]) - v1) * wx;
                    const double c10 = v2 + (double(q[sz + sx]) - v2) * wx;
                    const double c11 = v3 + (double(q[sz + sy + sx]) - v3) * wx;
                    const double c0 = c00 + (c01 - c00) * wy;
                    const double c1 = c10 + (c11 - c10) * wy;
                    row[i] = c0 + (c1 - c0) * wz;
                }
                for (int64_t i = s0; i < e0; ++i) {
                    if (i >= fs && i < fe) continue;
                    double z = bz + dz * i, y = by + dy * i, x = bx + dx * i;
                    row[i] = inside(lo, hi, z, y, x) ? linear_clamped(p, b, z, y, x) : fill;
                }
            } else {  // label: per-voxel vote
                for (int64_t i = s0; i < e0; ++i) {
                    double z = bz + dz * i, y = by + dy * i, x = bx + dx * i;
                    row[i] = inside(lo, hi, z, y, x) ? label_vote(p, b, z, y, x) : fill;
                }
            }
            store(orow, o.s[2], row.data(), ox);
        }
    }
}

// ------------------------------------------------------------------ axis-aligned mapping
struct Axis {
    const int64_t* i0;  // lower (or nearest) source index per output index
    const int64_t* i1;  // upper source index (linear)
    const double* w;    // weight of i1 (linear)
    const uint8_t* in;  // inside flag
};

template <typename T>
SXR_CLONES void bilinear_plane(const T* p, const Box& b, int64_t z, const Axis& ay, const Axis& ax,
                    int64_t oy, int64_t ox, double* dst) {
    for (int64_t j = 0; j < oy; ++j) {
        const T* ra = p + z * b.s[0] + ay.i0[j] * b.s[1];
        const T* rb = p + z * b.s[0] + ay.i1[j] * b.s[1];
        const double wy = ay.w[j];
        double* d = dst + j * ox;
        for (int64_t i = 0; i < ox; ++i) {
            const int64_t xa = ax.i0[i] * b.s[2], xb = ax.i1[i] * b.s[2];
            const double wx = ax.w[i];
            const double a0 = double(ra[xa]), b0 = double(rb[xa]);
            const double c0 = a0 + (double(ra[xb]) - a0) * wx;
            const double c1 = b0 + (double(rb[xb]) - b0) * wx;
            d[i] = c0 + (c1 - c0) * wy;
        }
    }
}

template <typename T>
SXR_CLONES void separable(const T* p, const Box& b, void* out, int tout, int outsize, const Box& o,
               const Axis& az, const Axis& ay, const Axis& ax, double fill, int order) {
    const int64_t oz = o.n[0], oy = o.n[1], ox = o.n[2];
    StoreFn store = store_for(tout);
    GatherFn gather = gather_for_out<T>(tout);
    // the inside run along x is one interval (the mapping is linear in i)
    int64_t xs = 0;
    while (xs < ox && !ax.in[xs]) ++xs;
    int64_t xe = xs;
    while (xe < ox && ax.in[xe]) ++xe;
    std::vector<int64_t> idx(size_t(ox > 0 ? ox : 1));
    std::vector<double> row(size_t(ox > 0 ? ox : 1));
    auto orow = [&](int64_t k, int64_t j) {
        return static_cast<char*>(out) + (k * o.s[0] + j * o.s[1]) * outsize;
    };
    if (order == 0) {
        std::vector<int64_t> xoff(size_t(ox > 0 ? ox : 1));
        for (int64_t i = 0; i < ox; ++i)
            xoff[i] = (i >= xs && i < xe) ? ax.i0[i] * b.s[2] : FILL;
        for (int64_t k = 0; k < oz; ++k)
            for (int64_t j = 0; j < oy; ++j) {
                if (!(az.in[k] && ay.in[j])) {
                    for (int64_t i = 0; i < ox; ++i) idx[i] = FILL;
                } else {
                    const int64_t base = az.i0[k] * b.s[0] + ay.i0[j] * b.s[1];
                    for (int64_t i = 0; i < ox; ++i)
                        idx[i] = xoff[i] == FILL ? FILL : base + xoff[i];
                }
                gather(p, idx.data(), ox, orow(k, j), o.s[2], fill);
            }
        return;
    }
    // linear: bilinear planes of the source slices (each computed once, two cached), then
    // a lerp along z per output slice
    std::vector<double> pa(size_t(oy * ox > 0 ? oy * ox : 1));
    std::vector<double> pb(pa.size());
    double* plane_a = pa.data();
    double* plane_b = pb.data();
    int64_t za = -1, zb = -1;
    for (int64_t k = 0; k < oz; ++k) {
        if (!az.in[k]) {
            for (int64_t i = 0; i < ox; ++i) row[i] = fill;
            for (int64_t j = 0; j < oy; ++j) store(orow(k, j), o.s[2], row.data(), ox);
            continue;
        }
        const int64_t zlo = az.i0[k], zhi = az.i1[k];
        if (za != zlo) {
            if (zb == zlo) {
                std::swap(plane_a, plane_b);
                std::swap(za, zb);
            } else {
                bilinear_plane(p, b, zlo, ay, ax, oy, ox, plane_a);
                za = zlo;
            }
        }
        if (zb != zhi) {
            if (zhi == zlo) {
                zb = -1;
            } else {
                bilinear_plane(p, b, zhi, ay, ax, oy, ox, plane_b);
                zb = zhi;
            }
        }
        const double w = az.w[k];
        for (int64_t j = 0; j < oy; ++j) {
            if (!ay.in[j]) {
                for (int64_t i = 0; i < ox; ++i) row[i] = fill;
            } else {
                const double* ra = plane_a + j * ox;
                const double* rb = plane_b + j * ox;
                for (int64_t i = 0; i < xs; ++i) row[i] = fill;
                for (int64_t i = xe; i < ox; ++i) row[i] = fill;
                if (zhi == zlo)
                    for (int64_t i = xs; i < xe; ++i) row[i] = ra[i];
                else
                    for (int64_t i = xs; i < xe; ++i) row[i] = ra[i] + (rb[i] - ra[i]) * w;
            }
            store(orow(k, j), o.s[2], row.data(), ox);
        }
    }
}

Box make_box(const int64_t* n, const int64_t* s) {
    Box b;
    for (int d = 0; d < 3; ++d) {
        b.n[d] = n[d];
        b.s[d] = s[d];
    }
    return b;
}

}  // namespace

extern "C" {

// Resample a box through an affine index mapping a (3x4, row-major, z y x).
// order: 0 nearest, 1 linear, 2 label.
int sxr_affine(const void* src, int tin, const int64_t* sshape, const int64_t* sstrides,
               void* out, int tout, const int64_t* oshape, const int64_t* ostrides,
               const double* a, const double* lo, const double* hi, double fill, int order) {
    if (out_size(tout) == 0) return -1;
    const Box b = make_box(sshape, sstrides), o = make_box(oshape, ostrides);
    return visit(tin, [&](auto v) {
        using T = type_of<decltype(v)>;
        affine<T>(static_cast<const T*>(src), b, out, tout, o, a, lo, hi, fill, order);
    }) ? 0 : -1;
}

// Resample a box through a mapping that scales each axis (tables per output axis).
int sxr_separable(const void* src, int tin, const int64_t* sshape, const int64_t* sstrides,
                  void* out, int tout, const int64_t* oshape, const int64_t* ostrides,
                  const int64_t* z0, const int64_t* z1, const double* wz, const uint8_t* iz,
                  const int64_t* y0, const int64_t* y1, const double* wy, const uint8_t* iy,
                  const int64_t* x0, const int64_t* x1, const double* wx, const uint8_t* ix,
                  double fill, int order) {
    const int osize = out_size(tout);
    if (osize == 0) return -1;
    const Box b = make_box(sshape, sstrides), o = make_box(oshape, ostrides);
    const Axis az{z0, z1, wz, iz}, ay{y0, y1, wy, iy}, ax{x0, x1, wx, ix};
    return visit(tin, [&](auto v) {
        using T = type_of<decltype(v)>;
        separable<T>(static_cast<const T*>(src), b, out, tout, osize, o, az, ay, ax, fill,
                     order);
    }) ? 0 : -1;
}

// Block means of an integer (or bool) box into out (same dtype), factors f (z, y, x);
// out's shape is the box's divided by f. Integers of 8 to 32 bits and bool (sums of a
// block fit int64 with room to spare).
int sxr_block_mean(const void* src, int code, const int64_t* sshape, const int64_t* sstrides,
                   void* out, const int64_t* oshape, const int64_t* ostrides,
                   const int64_t* f) {
    const Box b = make_box(sshape, sstrides), o = make_box(oshape, ostrides);
    int rc = -1;
    visit(code, [&](auto v) {
        using T = type_of<decltype(v)>;
        if constexpr (std::is_integral_v<T> && sizeof(T) <= 4) {
            block_mean(static_cast<const T*>(src), b, static_cast<T*>(out), o, f[0], f[1],
                       f[2]);
            rc = 0;
        }
    });
    return rc;
}

// Values at n continuous box indices pts (n x 3, z y x), as doubles (fill outside).
// order: 0 nearest, 1 linear, 2 label.
int sxr_points(const void* src, int tin, const int64_t* sshape, const int64_t* sstrides,
               const double* pts, int64_t n, double* out, const double* lo, const double* hi,
               double fill, int order) {
    const Box b = make_box(sshape, sstrides);
    return visit(tin, [&](auto v) {
        using T = type_of<decltype(v)>;
        const T* p = static_cast<const T*>(src);
        for (int64_t q = 0; q < n; ++q) {
            const double z = pts[3 * q], y = pts[3 * q + 1], x = pts[3 * q + 2];
            if (!inside(lo, hi, z, y, x))
                out[q] = fill;
            else if (order == 0)
                out[q] = double(p[nearest_offset_clamped(b, z, y, x)]);
            else if (order == 1)
                out[q] = linear_clamped(p, b, z, y, x);
            else
                out[q] = label_vote(p, b, z, y, x);
        }
    }) ? 0 : -1;
}

}  // extern "C"
