#!/usr/bin/env python3
"""Fits the polynomial coefficients of rb's portable math (include/rb/detail/portable_math.hpp).

Every polynomial is a weighted minimax (Remez exchange) approximation computed here with mpmath at
high precision, then rounded to the working format one coefficient at a time: the lowest-order free
coefficient is rounded and the remaining ones are refitted with it fixed, so that later coefficients
absorb the rounding of earlier ones. The script also derives the split constants (ln 2 and pi in a
high and a low part, sqrt(1/2)) and prints everything as C++ hex-float literals, ready to paste.

    python3 scripts/fit_portable_math.py            # all approximations
    python3 scripts/fit_portable_math.py exp_f32    # one of them

The printed "max weighted error" is the approximation error alone (of the rounded coefficients,
measured on a dense grid in high precision); the rounding errors of the evaluation in float or
double come on top and are measured by tests/portable_math_test.cpp. mpmath is the only dependency
(requirements.txt); a full run takes a few minutes.
"""
import struct
import sys

import mpmath as mp

mp.mp.prec = 160


# ---- rounding to the working formats and hex-float printing -------------------------------------

def round_bits(x, bits):
    """x rounded to `bits` significant bits, to nearest with ties to even, in one rounding; the
    result as a Python float (exact: bits <= 53, and no value here is near under- or overflow)."""
    x = mp.mpf(x)
    if x == 0:
        return 0.0
    m, e = mp.frexp(x)  # x = m * 2^e, 0.5 <= |m| < 1
    return float(mp.ldexp(mp.nint(m * 2**bits), e - bits))  # nint: ties to even


def round_to(fmt, x):
    """x rounded to the nearest float ("f32") or double ("f64")."""
    return round_bits(x, 24 if fmt == "f32" else 53)


def hexfloat(v, fmt):
    """A C++ hex-float literal of v (exactly representable in fmt)."""
    if v == 0:
        return "0x0p+0f" if fmt == "f32" else "0x0p+0"
    sign = "-" if v < 0 else ""
    v = abs(v)
    h = float.hex(v)  # 0x1.xxxxxxxxxxxxxp+e
    mant, exp = h[2:].split("p")
    if "." in mant:
        ip, frac = mant.split(".")
        frac = frac.rstrip("0")
        mant = ip + ("." + frac if frac else "")
    lit = "%s0x%sp%s" % (sign, mant, exp if exp.startswith("-") else "+" + exp.lstrip("+"))
    if fmt == "f32":
        assert struct.unpack("f", struct.pack("f", v))[0] == v, "not a float: %r" % v
        lit += "f"
    return lit


def split_constant(c, fmt, free_bits):
    """c = hi + lo, hi with `free_bits` trailing zero bits in its significand, so that hi * k is
    exact for every integer |k| < 2^free_bits. lo is c - hi rounded to fmt."""
    precision = 24 if fmt == "f32" else 53
    hi = round_bits(c, precision - free_bits)
    return hi, round_to(fmt, mp.mpf(c) - hi)


# ---- Remez exchange for weighted polynomial approximation ---------------------------------------

def remez(g, w, a, b, powers, fixed=None, iterations=40, grid=4000):
    """Coefficients c_j (for the exponents in `powers`) minimising
    max |w(t) (sum c_j t^j + F(t) - g(t))| on [a, b], where F(t) = sum over `fixed` {power: value}
    of value * t^power. Returns (coefficients, max weighted error)."""
    fixed = fixed or {}
    n = len(powers)

    def fixed_part(t):
        return mp.fsum(v * t**p for p, v in fixed.items())

    def residual(c, t):
        return w(t) * (mp.fsum(cj * t**pj for cj, pj in zip(c, powers)) + fixed_part(t) - g(t))

    # Start from Chebyshev extrema.
    ref = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / n) for i in range(n + 1)]
    # Move points off zeros of the weight (the system needs 1 / w there).
    ref = [t + (b - a) / (5 * n) if w(t) < mp.mpf(2) ** -100 else t for t in ref]
    c = None
    for _ in range(iterations):
        # Solve sum c_j t_i^pj + (-1)^i E / w(t_i) = g(t_i) - F(t_i).
        A = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for i, t in enumerate(ref):
            for j, p in enumerate(powers):
                A[i, j] = t**p
            A[i, n] = (-1) ** i / w(t)
            rhs[i] = g(t) - fixed_part(t)
        sol = mp.lu_solve(A, rhs)
        c = [sol[j] for j in range(n)]
        level = abs(sol[n])
        # Locate the extrema of the weighted error: sign changes split [a, b] into n + 1 intervals.
        ts = [a + (b - a) * i / grid for i in range(grid + 1)]
        rs = [residual(c, t) for t in ts]
        signs = [mp.sign(r) for r in rs]
        for i in range(1, grid + 1):  # a zero of the weight is no alternation
            if signs[i] == 0:
                signs[i] = signs[i - 1]
        new_ref = []
        start = 0
        for i in range(1, grid + 2):
            if i == grid + 1 or signs[i] != signs[start]:
                seg = range(start, i)
                k = max(seg, key=lambda j: abs(rs[j]))
                # Refine the extremum by golden-section search on the neighbouring grid cells.
                lo_t = ts[max(k - 1, 0)]
                hi_t = ts[min(k + 1, grid)]
                tk = golden_max(lambda t: abs(residual(c, t)), lo_t, hi_t)
                if abs(residual(c, ts[k])) > abs(residual(c, tk)):
                    tk = ts[k]
                new_ref.append(tk)
                start = i
        if len(new_ref) < n + 1:
            raise RuntimeError("Remez: %d alternations for %d unknowns" % (len(new_ref), n))
        # Keep n + 1 alternating points with the largest errors (drop the smallest at the ends).
        while len(new_ref) > n + 1:
            if abs(residual(c, new_ref[0])) < abs(residual(c, new_ref[-1])):
                new_ref.pop(0)
            else:
                new_ref.pop()
        maxerr = max(abs(residual(c, t)) for t in new_ref)
        ref = new_ref
        if maxerr - level < level * mp.mpf("1e-6"):
            break
    return c, max_weighted_error(c, powers, fixed, g, w, a, b)


def golden_max(f, lo, hi, steps=60):
    invphi = (mp.sqrt(5) - 1) / 2
    x1 = hi - invphi * (hi - lo)
    x2 = lo + invphi * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(steps):
        if f1 < f2:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + invphi * (hi - lo)
            f2 = f(x2)
        else:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - invphi * (hi - lo)
            f1 = f(x1)
    return (lo + hi) / 2


def max_weighted_error(c, powers, fixed, g, w, a, b, grid=20000):
    worst = mp.mpf(0)
    for i in range(grid + 1):
        t = a + (b - a) * i / grid
        p = mp.fsum(cj * t**pj for cj, pj in zip(c, powers))
        p += mp.fsum(v * t**q for q, v in fixed.items())
        worst = max(worst, abs(w(t) * (p - g(t))))
    return worst


def fit_rounded(g, w, a, b, powers, fmt, fixed=None):
    """Remez, then round the coefficients to fmt one by one (lowest power first), refitting the
    rest each time. Returns ({power: rounded value}, max weighted error of the rounded
    polynomial)."""
    fixed = dict(fixed or {})
    free = list(powers)
    while free:
        c, _ = remez(g, w, a, b, free, fixed)
        fixed[free[0]] = mp.mpf(round_to(fmt, c[0]))
        free = free[1:]
    coeffs = {p: float(fixed[p]) for p in powers}
    err = max_weighted_error([mp.mpf(coeffs[p]) for p in powers], powers,
                             {p: v for p, v in fixed.items() if p not in powers}, g, w, a, b)
    return coeffs, err


# ---- the approximations of portable_math.hpp ----------------------------------------------------

def tiny(t, eps=mp.mpf(2) ** -120):
    """Moves t off 0, where the functions below are removable singularities."""
    return eps if t == 0 else t


def fit_log(fmt, terms):
    # log1p(f) = 2 atanh(s), s = f / (2 + f), |s| <= (sqrt 2 - 1)/(sqrt 2 + 1) = 3 - 2 sqrt 2 for
    # f in [sqrt(1/2) - 1, sqrt(2) - 1]; 2 atanh(s) = 2s + s R(z), z = s^2,
    # R(z) = sum_{j>=1} L_j z^j (Taylor: L_j = 2/(2j+1)). The error of s R is weighted relative to
    # 2 atanh(s).
    smax = 3 - 2 * mp.sqrt(2)
    g = lambda z: (2 * mp.atanh(mp.sqrt(tiny(z))) - 2 * mp.sqrt(tiny(z))) / mp.sqrt(tiny(z))
    w = lambda z: mp.sqrt(tiny(z)) / (2 * mp.atanh(mp.sqrt(tiny(z))))
    what = "R(z) = sum L_j z^j, log1p(f) = 2s + s R(s^2), |s| <= 3 - 2 sqrt(2)"
    return "log_" + fmt, fmt, what, \
        fit_rounded(g, w, mp.mpf(0), smax**2, list(range(1, terms + 1)), fmt)


def exp_interval():
    # |r| <= ln(2)/2 plus a margin for the rounding of x * log2(e) before k = round(.).
    return mp.log(2) / 2 * (1 + mp.mpf(2) ** -10)


def fit_exp(fmt, degree):
    # exp(r) = 1 + r + r^2 P(r); the error of r^2 P is weighted relative to exp(r).
    h = exp_interval()
    g = lambda r: (mp.expm1(tiny(r)) - tiny(r)) / tiny(r) ** 2
    w = lambda r: tiny(r) ** 2 / mp.exp(r)
    return "exp_" + fmt, fmt, "P, exp(r) = 1 + r + r^2 P(r), |r| <= ln(2)/2 (1 + 2^-10)", \
        fit_rounded(g, w, -h, h, list(range(0, degree + 1)), fmt)


def pi_split(fmt):
    """pi = p1 + p2: p1 with half the significand (12 bits for float, 26 for double), so that p1
    times a number of as many bits is exact; p2 the rest rounded to fmt."""
    return split_constant(mp.pi, fmt, 12 if fmt == "f32" else 27)


def fit_sinpi(fmt, degree):
    # sin(pi r) = r (p1 + (p2 + z S(z))), z = r^2, |r| <= 1/4; relative error. The constant term is
    # fixed to p1 + p2 (pi to twice the precision), which the code evaluates without rounding the
    # leading product: see Note [Exact reduction of sincospi] in portable_math.hpp.
    p1, p2 = pi_split(fmt)
    g = lambda z: mp.pi * mp.sincpi(mp.sqrt(z))
    w = lambda z: 1 / g(z)
    coeffs, err = fit_rounded(lambda z: (g(z) - p1 - p2) / tiny(z), lambda z: w(z) * tiny(z),
                              mp.mpf(0), mp.mpf(1) / 16, list(range(0, degree)), fmt)
    return "sinpi_" + fmt, fmt, "S, sin(pi r) = r (p1 + (p2 + r^2 S(r^2))), |r| <= 1/4, " \
        "pi = p1 + p2 = %s + %s" % (hexfloat(p1, fmt), hexfloat(p2, fmt)), (coeffs, err)


def fit_cospi(fmt, degree):
    # cos(pi r) = 1 + z C(z), z = r^2, |r| <= 1/4; the error of z C weighted relative to cos(pi r).
    g = lambda z: (mp.cospi(mp.sqrt(tiny(z))) - 1) / tiny(z)
    w = lambda z: tiny(z) / mp.cospi(mp.sqrt(z))
    return "cospi_" + fmt, fmt, "C, cos(pi r) = 1 + r^2 C(r^2), |r| <= 1/4", \
        fit_rounded(g, w, mp.mpf(0), mp.mpf(1) / 16, list(range(0, degree + 1)), fmt)


FITS = {
    "log_f32": lambda: fit_log("f32", 3),
    "log_f64": lambda: fit_log("f64", 7),
    "exp_f32": lambda: fit_exp("f32", 4),
    "exp_f64": lambda: fit_exp("f64", 10),
    "sinpi_f32": lambda: fit_sinpi("f32", 4),
    "cospi_f32": lambda: fit_cospi("f32", 3),
    "sinpi_f64": lambda: fit_sinpi("f64", 6),
    "cospi_f64": lambda: fit_cospi("f64", 6),
}


def print_constants():
    print("// Constants (scripts/fit_portable_math.py)")
    for fmt, free_bits in (("f32", 8), ("f64", 11)):
        hi, lo = split_constant(mp.log(2), fmt, free_bits)
        print("//   ln 2 = %s + %s  (hi: %d trailing zero bits)"
              % (hexfloat(hi, fmt), hexfloat(lo, fmt), free_bits))
        print("//   1 / ln 2 = %s" % hexfloat(round_to(fmt, 1 / mp.log(2)), fmt))
        print("//   sqrt(1/2) = %s" % hexfloat(round_to(fmt, mp.sqrt(0.5)), fmt))


def main(names):
    if not names:
        print_constants()
    for name in names or FITS:
        label, fmt, what, (coeffs, err) = FITS[name]()
        print("// %s: %s" % (label, what))
        print("//   max weighted approximation error %s (2^%.1f)" %
              (mp.nstr(err, 3), float(mp.log(err, 2)) if err > 0 else float("-inf")))
        for p in sorted(coeffs):
            print("  %s,  // t^%d" % (hexfloat(coeffs[p], fmt), p))


if __name__ == "__main__":
    main(sys.argv[1:])
