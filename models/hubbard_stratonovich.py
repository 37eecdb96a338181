"""The Hubbard–Stratonovich denoiser of Curie–Weiss groups: a one-dimensional integral, exact at every N.

With exp(β M²/(2N)) ∝ ∫ dz exp(−N z²/(2β) + z M) and uᵢ = h + α xᵢ/σ² (the field of the posterior P(s | x_t = x)),
    E[sᵢ | x] = ∫ dz w(z) tanh(z + uᵢ) / ∫ dz w(z),   ln w(z) = −N z²/(2β) + Σⱼ ln 2cosh(z + uⱼ)
(`models.curie_weiss.CurieWeiss.posterior_mean`; the two Curie–Weiss groups of `models.hopfield` with a mask).

Quadrature (`hubbard_stratonovich_mean`): the outermost stationary points z_lo ≤ z_hi of ln w (they solve
z = β·mean_j tanh(z + u_j) and lie in [−β, β]) are found by safeguarded Newton iterations from ±β; the support
[−β − 8√(β/N), β + 8√(β/N)] is cut into a window of ±8 peak widths around each saddle (the width from the local
curvature and quartic term) and the three gaps around them, and each piece gets Gauss–Legendre nodes. Disjoint pieces
covering all the weight make the rule converge whatever the shape of w (unimodal, bimodal for β > 1 with a shallow or
deep valley, a shoulder, quartic at criticality), and whether or not a search ends on a stationary point: where the
upper (lower) mode has vanished, the search crawls past its ghost and its NEWTON_STEPS steps can end far from any root
(more than 0.5 away in 7 of 512 exact samples of p_t at N = 64, β = 2, t = 0.5), and the denoiser of those rows is
still within 5.6e-8 of the exact elementary-symmetric sums (`tests/test_curie_weiss.py`). Against enumeration at
N ≤ 14 the max-norm relative error is 1.3e-10 with 24 nodes per window and 12 per gap (the defaults; 8e-8 with 8 per
gap, 1.2e-5 with 16 per window). In float32 at N = 1024 the defaults stay within 5e-6 of a converged float64
reference over β ∈ [0.5, 2] and α²/σ² ∈ [1e-3, 20] (`python benchmarks/bench.py --only cwq`); fewer nodes miss 1e-5
at β = 1.2. Float32 needs tanh(z_a + u_j) recomputed at the final saddle (not carried through the Newton updates) and
ln w(z_hi) − ln w(z_lo) summed term by term. Node values reuse T_j = tanh(z_a + u_j) at the saddle through
    ln cosh(z_a + δ + u) − ln cosh(z_a + u) = ln cosh δ + ln(1 + tanh δ · T),
    tanh(z_a + δ + u) = (tanh δ + T)/(1 + tanh δ · T),
so the node loop costs one log and one division per spin and node, and intermediates stay (batch, n). The nodes of
the pieces that share a reference saddle run in one loop (two loops, not one per piece: XLA compiles the node
body twice instead of five times, about 0.1–0.2 s less per program holding the quadrature, the same throughput).

Exact draws of the field z ~ w(z)/∫w (`hubbard_stratonovich_field_sample`, the posterior draws of Curie–Weiss at
large N): rejection from a piecewise log-linear envelope (its docstring).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .base import Array, log_two_cosh

#: 1/s² = Γ(1/4)/Γ(3/4)·√(N|φ''''|/24) matches the variance of a purely quartic peak exp(N φ'''' z⁴/24).
_QUARTIC_WIDTH = math.gamma(0.25) / math.gamma(0.75) / math.sqrt(24.0)
#: Default Gauss–Legendre nodes per saddle window and per gap, and Newton steps of the saddle search.
QUADRATURE_POINTS, GAP_POINTS, NEWTON_STEPS = 24, 12, 16

#: Half-width of a saddle's quadrature window, in peak widths (the Gaussian tail beyond is < e^{-32}).
_WINDOW = 8.0


def _saddle(u: Array, beta: Array, z0: Array, upper: bool, steps: int, spin_mean) -> tuple[Array, Array]:
    """Outermost root of g(z) = β⟨tanh(z+u)⟩ − z from z0 = ±β: Newton steps kept between z and the
    fixed-point step β⟨tanh(z+u)⟩, so the iterates move monotonically to the root. Returns (z, tanh(z+u))."""
    T = jnp.tanh(z0[:, None] + u)

    def body(carry, _):
        z, T = carry
        mean_t = spin_mean(T)
        slope = beta * spin_mean(1 - T**2) - 1
        fixed_point = beta * mean_t
        newton = jnp.where(slope < 0, z - (fixed_point - z) / jnp.where(slope < 0, slope, -1.0), fixed_point)
        z_new = jnp.clip(newton, fixed_point, z) if upper else jnp.clip(newton, z, fixed_point)
        tau = jnp.tanh(z_new - z)[:, None]
        return (z_new, _add_tanh(tau, T)), None

    (z, _), _ = jax.lax.scan(body, (z0, T), None, length=steps)
    return z, jnp.tanh(z[:, None] + u)


def _add_tanh(tau: Array, T: Array) -> Array:
    """tanh(a + δ) from T = tanh a and τ = tanh δ."""
    return (tau + T) / jnp.maximum(1 + tau * T, jnp.finfo(T.dtype).tiny)


def _log_cosh(delta: Array, tau: Array) -> Array:
    """ln cosh δ given τ = tanh δ: −½ ln(1 − τ²) for |δ| < 1 (no cancellation against ln 2, which costs
    float32 about 1e-4 of ln w at N = 1024), ln 2cosh δ − ln 2 beyond."""
    return jnp.where(jnp.abs(delta) < 1, -0.5 * jnp.log1p(-tau * tau), log_two_cosh(delta) - math.log(2.0))


def _log1p_tanh_product(tau: Array, T: Array, spin_sum) -> Array:
    """ln(1 + τT) = ln cosh(a + δ) − ln cosh a − ln cosh δ, summed over spins."""
    return spin_sum(jnp.log(jnp.maximum(1 + tau * T, jnp.finfo(T.dtype).tiny)))


def hubbard_stratonovich_mean(u: Array, beta: Array, n: int, num_nodes: int = QUADRATURE_POINTS,
                               gap_nodes: int = GAP_POINTS, newton_steps: int = NEWTON_STEPS,
                               mask: Array | None = None) -> Array:
    """⟨tanh(z + uᵢ)⟩_w for u of shape (batch, length) → (batch, length), β a scalar; the module docstring gives
    the integral and the quadrature.

    Without a mask, length = n and every spin enters ln w. With a 0/1 mask (length,), only the spins it
    selects do, n must be their number (it may be a traced array, so that one compiled function serves
    every subset of a fixed length), and the entries outside the mask are meaningless."""
    if mask is None:
        return _hubbard_stratonovich_all(u, beta, n, num_nodes, gap_nodes, newton_steps)
    return _hubbard_stratonovich_masked(u, beta, jnp.asarray(n, u.dtype), jnp.asarray(mask, u.dtype),
                                        num_nodes, gap_nodes, newton_steps)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _hubbard_stratonovich_all(u: Array, beta: Array, n: int, num_nodes: int, gap_nodes: int, newton_steps: int) -> Array:
    return _hubbard_stratonovich_core(u, beta, n, num_nodes, gap_nodes, newton_steps, lambda v: jnp.sum(v, axis=-1))


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _hubbard_stratonovich_masked(u: Array, beta: Array, n: Array, mask: Array, num_nodes: int, gap_nodes: int,
                                 newton_steps: int) -> Array:
    return _hubbard_stratonovich_core(u, beta, n, num_nodes, gap_nodes, newton_steps, lambda v: jnp.sum(v * mask, axis=-1))


#: Row blocks of u on the CPU (bytes of u per block). The quadrature makes ~100 passes over a handful of arrays of the
#: block's size; XLA runs an operation on a large array on all of its threads, at a fixed cost per operation that a
#: small block does not repay. Measured on 2 cores (`python benchmarks/bench.py --only cwblock`, one Euler–Maruyama
#: step at N = 1024): up to `_CPU_SMALL_BYTES` of u, blocks of `_CPU_SMALL_BLOCK_BYTES` (one core, the arrays in its
#: L2 cache) are the fastest; above, blocks of at most `_CPU_BLOCK_BYTES` run on both cores, 1.2× faster than
#: small blocks at 1e5 particle·spins and 1.4–1.7× from 2.6e5 to 1e7, with the cost per element flat where one block
#: of the whole batch falls out of cache (2.2× slower at 1e7).
_CPU_SMALL_BYTES, _CPU_SMALL_BLOCK_BYTES, _CPU_BLOCK_BYTES = 2**18, 2**17, 2**21


def _cpu_block_rows(batch: int, length: int, itemsize: int) -> int:
    """Rows per block of u (batch, length) on the CPU (the block sizes above), in equal blocks with the fewest
    padding rows; batch itself when one block holds everything."""
    row_bytes = length * itemsize
    block_bytes = _CPU_SMALL_BLOCK_BYTES if batch * row_bytes <= _CPU_SMALL_BYTES else _CPU_BLOCK_BYTES
    blocks = -(-batch // max(1, block_bytes // row_bytes))
    return -(-batch // blocks)


def _hubbard_stratonovich_core(u: Array, beta: Array, n, num_nodes: int, gap_nodes: int, newton_steps: int,
                               spin_sum) -> Array:
    """The quadrature of `hubbard_stratonovich_mean`; spin_sum sums over the spins that enter ln w.

    Every row of u is independent, so on the CPU a batch larger than one block (`_cpu_block_rows`) runs as a
    `lax.map` over equal blocks of rows (padded with u = 0 rows, dropped from the result); the arithmetic of each
    row is unchanged. Other backends take the whole batch at once."""
    batch, length = u.shape
    rows = _cpu_block_rows(batch, length, u.dtype.itemsize)
    if jax.default_backend() != "cpu" or rows >= batch:
        return _hubbard_stratonovich_block(u, beta, n, num_nodes, gap_nodes, newton_steps, spin_sum)
    blocks = -(-batch // rows)
    padded = jnp.pad(u, ((0, blocks * rows - batch), (0, 0))).reshape(blocks, rows, length)
    out = jax.lax.map(
        lambda block: _hubbard_stratonovich_block(block, beta, n, num_nodes, gap_nodes, newton_steps, spin_sum), padded)
    return out.reshape(blocks * rows, length)[:batch]


def _legendre(count: int, dtype) -> tuple[Array, Array]:
    """Gauss–Legendre nodes on [−1, 1] and the logarithms of their weights."""
    x_k, w_k = np.polynomial.legendre.leggauss(count)
    return jnp.asarray(x_k, dtype), jnp.asarray(np.log(w_k), dtype)


def _hubbard_stratonovich_block(u: Array, beta: Array, n, num_nodes: int, gap_nodes: int, newton_steps: int,
                                spin_sum) -> Array:
    """The quadrature of `hubbard_stratonovich_mean` on one block of rows u (rows, length)."""
    dtype = u.dtype
    beta = jnp.maximum(beta.astype(dtype), jnp.finfo(dtype).tiny)
    batch = u.shape[0]
    start = jnp.full((batch,), beta, dtype)

    def spin_mean(v):
        return spin_sum(v) / n

    z_hi, T_hi = _saddle(u, beta, start, True, newton_steps, spin_mean)
    z_lo, T_lo = _saddle(u, beta, -start, False, newton_steps, spin_mean)

    def width(T):
        """Peak width from the curvature N(1/β − ⟨sech²⟩) and the quartic term (criticality), ≥ √(β/N)."""
        sech2 = 1 - T**2
        curvature = n * jnp.maximum(1 - beta * spin_mean(sech2), 0.0)
        quartic = jnp.abs(spin_mean(4 * sech2 * T**2 - 2 * sech2**2))
        precision = curvature + _QUARTIC_WIDTH * beta * jnp.sqrt(n * quartic)
        return jnp.sqrt(jnp.maximum(beta / jnp.maximum(precision, jnp.finfo(dtype).tiny), beta / n))

    half = 0.5 * (z_hi - z_lo)
    z_mid = z_lo + half
    # ln w(z_hi) − ln w(z_lo) summed term by term: through the addition formula, ln(1 + τT) with τT → −1 for
    # distant saddles loses all float32 digits (a 1e-2 error in the weight ratio of the two peaks at β = 2).
    log_w_hi = -n * (2 * half) * (z_hi + z_lo) / (2 * beta) + spin_sum(
        log_two_cosh(z_hi[:, None] + u) - log_two_cosh(z_lo[:, None] + u))
    # All weight lies in [−β − 8√(β/N), β + 8√(β/N)] (every stationary point of ln w is in [−β, β] and the
    # tails fall at least as fast as the Gaussian factor). Split it into disjoint intervals: a window of
    # ± _WINDOW peak widths around each saddle (stopped at their midpoint) and the three gaps between,
    # which hold shoulders and the valley of a bimodal w. Gauss–Legendre on each.
    s_hi, s_lo = width(T_hi), width(T_lo)
    margin = _WINDOW * jnp.sqrt(beta / n)
    left, right = -beta - margin, beta + margin
    lo_a, lo_b = jnp.maximum(left, z_lo - _WINDOW * s_lo), jnp.minimum(z_mid, z_lo + _WINDOW * s_lo)
    hi_a, hi_b = jnp.maximum(z_mid, z_hi - _WINDOW * s_hi), jnp.minimum(right, z_hi + _WINDOW * s_hi)
    rules = (_legendre(num_nodes, dtype), _legendre(gap_nodes, dtype))
    groups = (  # per reference saddle (mode, tanh(mode + u), ln w(mode) − ln w(z_lo)): its intervals and rules
        (z_hi, T_hi, log_w_hi, ((hi_a, hi_b, rules[0]), (hi_b, right, rules[1]))),
        (z_lo, T_lo, 0.0, ((lo_a, lo_b, rules[0]), (left, lo_a, rules[1]), (lo_b, hi_a, rules[1]))),
    )

    def node(mode, T):
        def step(carry, point):
            running_max, denominator, numerator = carry
            z, log_weight = point
            delta = z - mode
            tau = jnp.tanh(delta)
            log_w = -n * (2 * mode * delta + delta**2) / (2 * beta) + n * _log_cosh(delta, tau)
            lw = log_weight + log_w + _log1p_tanh_product(tau[:, None], T, spin_sum)
            new_max = jnp.maximum(running_max, lw)
            scale, weight = jnp.exp(running_max - new_max), jnp.exp(lw - new_max)
            numerator = numerator * scale[:, None] + weight[:, None] * _add_tanh(tau[:, None], T)
            return (new_max, denominator * scale + weight, numerator), None

        return step

    carry = (jnp.full((batch,), -jnp.inf, dtype), jnp.zeros((batch,), dtype), jnp.zeros_like(u))
    for mode, T, offset, pieces in groups:  # the saddle window first: the running maximum is finite from the start
        points, log_weights = [], []
        for a, b, (x_k, log_w_k) in pieces:
            centre, half_length = 0.5 * (a + b), 0.5 * (b - a)
            points.append(centre + half_length * x_k[:, None])
            log_weights.append(log_w_k[:, None] + jnp.log(half_length) + offset)
        carry, _ = jax.lax.scan(node(mode, T), carry, (jnp.concatenate(points), jnp.concatenate(log_weights)))
    _, denominator, numerator = carry
    return numerator / denominator[:, None]


def _log_segment_mass(slope: Array, length: Array) -> Array:
    """ln ∫₀^L e^{λt} dt = ln L + ln((e^{λL} − 1)/(λL)), stable for every sign and size of λL."""
    x = slope * length
    small = jnp.abs(x) < 1e-6
    safe = jnp.where(small, 1.0, x)
    log_ratio = jnp.where(safe > 0, safe + jnp.log(-jnp.expm1(-safe)), jnp.log(-jnp.expm1(safe))) - jnp.log(jnp.abs(safe))
    return jnp.log(length) + jnp.where(small, 0.5 * x, log_ratio)


def _segment_draw(uniform: Array, slope: Array, length: Array) -> Array:
    """t ∈ [0, L] with density ∝ e^{λt}, by inversion of its distribution function (uniform in (0, 1])."""
    x = slope * length
    small = jnp.abs(x) < 1e-6
    safe = jnp.where(small, 1.0, slope)
    rising = length + jnp.log(uniform + (1 - uniform) * jnp.exp(-jnp.abs(safe) * length)) / jnp.abs(safe)
    falling = -jnp.log1p(-uniform * -jnp.expm1(-jnp.abs(safe) * length)) / jnp.abs(safe)
    return jnp.where(small, uniform * length, jnp.where(safe > 0, rising, falling))


def field_intervals(n: int) -> int:
    """Intervals of the envelope of `hubbard_stratonovich_field_sample` on [−R, R]: 8√N + 64, a width of at most
    (2β + 16√(β/N))/(8√N + 64) ≈ 0.25 (β + 8√(β/N))/√N."""
    return int(8 * math.isqrt(n) + 64)


@functools.partial(jax.jit, static_argnames=("intervals", "max_trials"))
def hubbard_stratonovich_field_sample(key: Array, u: Array, beta: Array, intervals: int | None = None,
                                      max_trials: int = 64) -> Array:
    """One exact draw of the Hubbard–Stratonovich field z ~ w(z)/∫w per row of u (batch, N), where
        ln w(z) = −N z²/(2β) + Σⱼ ln 2cosh(z + uⱼ)
    (module docstring), by rejection from a piecewise log-linear envelope. F(z) = Σⱼ ln 2cosh(z + uⱼ) is convex,
    so on each interval [a, b] it lies below its chord, and −N z²/(2β) lies below its tangent at the midpoint:
    their sum bounds ln w by a line. The 8√N + 64 intervals (`field_intervals`) cover [−R, R], R = β + 8√(β/N);
    beyond, F′ ∈ [−N, N] and the tangent at ±R bound ln w by lines of slope ∓N(R/β − 1) (decaying, R > β).
    An interval (or tail) is chosen with its envelope mass, t inside it by inversion, and z is kept with
    probability w(z)/envelope(z); the envelope exceeds w by at most N δ² (1 + 1/β)/8 in ln, δ the interval
    width (about 0.06 for β = 1, δ = 0.5/√N), so almost every row is accepted at its first trial (given fewer
    intervals, the envelope is looser and needs more trials for the same law). Rows not accepted after max_trials
    trials (each accepts with probability above 1/2 for β ≤ 8) are NaN. Cost: N(8√N + 64)
    ln cosh per row for the envelope, N per trial. F is summed as Σⱼ [ln 2cosh(z + uⱼ) − ln 2cosh uⱼ] (float32
    keeps its digits at large N). β = 0 gives z = 0."""
    batch, n = u.shape
    dtype = u.dtype
    beta = jnp.asarray(beta, dtype)
    positive = beta > 0
    beta_safe = jnp.where(positive, beta, 1.0)
    base = log_two_cosh(u)
    intervals = intervals or field_intervals(n)
    radius = beta_safe + 8 * jnp.sqrt(beta_safe / n)
    grid = jnp.linspace(-radius, radius, intervals + 1).astype(dtype)
    width = grid[1] - grid[0]

    def field_sum(z):  # F(z) − F(0) for z (batch,)
        return jnp.sum(log_two_cosh(z[:, None] + u) - base, axis=-1)

    F = jax.lax.map(lambda z: field_sum(jnp.full((batch,), z, dtype)), grid)  # (intervals + 1, batch)
    a, mid = grid[:-1], grid[:-1] + 0.5 * width
    gauss_slope = -n * mid / beta_safe  # tangent of −N z²/(2β) at the midpoint
    start = F[:-1] + (-n * mid**2 / (2 * beta_safe) + gauss_slope * (a - mid))[:, None]  # envelope at a
    slope = (F[1:] - F[:-1]) / width + gauss_slope[:, None]  # (intervals, batch)
    log_w_edge = jnp.stack([F[-1], F[0]]) - n * radius**2 / (2 * beta_safe)  # ln w(R), ln w(−R): (2, batch)
    tail_rate = n * (radius / beta_safe - 1)  # the tails decay as e^{−rate·distance}
    log_mass = jnp.concatenate([start + _log_segment_mass(slope, width), log_w_edge - jnp.log(tail_rate)]).T  # (batch, G + 2)

    def propose(key):
        k_piece, k_t, k_accept = jax.random.split(key, 3)
        piece = jax.random.categorical(k_piece, log_mass, axis=-1)
        uniform = 1 - jax.random.uniform(k_t, (batch,), dtype)  # (0, 1]
        rows = jnp.arange(batch)
        inside = jnp.minimum(piece, intervals - 1)
        seg_slope, seg_start = slope[inside, rows], start[inside, rows]
        t = _segment_draw(uniform, seg_slope, width)
        tail_t = -jnp.log(uniform) / tail_rate
        right = piece == intervals
        z = jnp.where(piece < intervals, a[inside] + t, jnp.where(right, radius + tail_t, -radius - tail_t))
        envelope = jnp.where(piece < intervals, seg_start + seg_slope * t,
                             jnp.where(right, log_w_edge[0], log_w_edge[1]) - tail_rate * tail_t)
        log_w = field_sum(z) - n * z**2 / (2 * beta_safe)
        accept = jnp.log(jax.random.uniform(k_accept, (batch,), dtype)) < log_w - envelope
        return z, accept

    def body(state):
        trial, z, done = state
        candidate, accept = propose(jax.random.fold_in(key, trial))
        take = accept & ~done
        return trial + 1, jnp.where(take, candidate, z), done | accept

    init = (jnp.int32(0), jnp.full((batch,), jnp.nan, dtype), jnp.zeros((batch,), bool))
    _, z, _ = jax.lax.while_loop(lambda s: (s[0] < max_trials) & ~jnp.all(s[2]), body, init)
    return jnp.where(positive, z, 0.0)
