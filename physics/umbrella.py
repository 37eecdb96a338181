"""Umbrella sampling over the overlap with a reference, and WHAM: the Franz–Parisi potential beyond enumeration.

For one (x_t, s′), V(q) = −(1/N) ln P(q | x_t = x, s′) (`physics.franz_parisi_spins`) of any pairwise target
P(s | x) ∝ exp(β ½sᵀJs + (b + αx/σ²)·s) (`physics.montecarlo`), on the levels K = #(sᵢ = s′ᵢ) = N(1 + q)/2.
Window w biases the chains by exp(b_w(K)) (Torrie & Valleau, J. Comput. Phys. 23, 187 (1977)),
    b_w(K) = −(stiffness/2) ((q_K − c_w)/Δc)² − g(K),
window centres c_w evenly spaced on [−1, 1] (spacing Δc), and g(K) a multicanonical flattening (Berg & Neuhaus,
Phys. Rev. Lett. 68, 9 (1992)): ln C(N, K) in the first round (the overlap law at β = 0, x = 0), then the
previous round's estimate of ln P(K), so that each window's histogram is set by its harmonic term alone. g is a
table over K, not a quadratic in q, so the bias is not a coupling plus a field: the chains run
`physics.montecarlo.sweep` with a `LevelBias`. The final round's histograms are combined by WHAM on the discrete
levels (`wham_log_probs`; Kumar et al., J. Comput. Chem. 13, 1011 (1992); for discrete levels the
equations are exact, and MBAR (Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008)) gives the same estimate:
benchmarks/wham_vs_mbar.py).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from statphys.models.base import check_noise_level, check_positive_int

from . import montecarlo as mc
from .franz_parisi_spins import overlap_grid
from .scaling import Estimate

Array = Any


class UmbrellaPotential(NamedTuple):
    """Result of `umbrella_overlap_potential` for one (x_t, s′)."""

    q: np.ndarray  # (N+1,) overlap levels (2K − N)/N
    potential: Estimate  # V(q) = −(1/N) ln P(q | x_t, s′), P normalised over the levels; ± group spread
    log_probs: np.ndarray  # (N+1,) ln P(K) from all chains (−inf where never visited)
    counts: np.ndarray  # (windows, N+1) histogram of K in each window after every proposal, final round
    log_bias: np.ndarray  # (windows, N+1) b_w(K) of the final round, under which ``counts`` were sampled
    acceptance: float  # mean Metropolis acceptance per proposal, final round


def wham_log_probs(counts: np.ndarray, log_bias: np.ndarray, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """WHAM on discrete levels: ln P(K) (normalised) from histograms counts (W, L) sampled under P(K) e^{log_bias}.

    Self-consistent P(K) = Σ_w C_w(K) / Σ_w n_w e^{b_w(K) − F_w}, e^{F_w} = Σ_K P(K) e^{b_w(K)} (Kumar et al.,
    J. Comput. Chem. 13, 1011 (1992); exact for discrete levels: no binning error), iterated until the
    F_w move by less than tol. Levels never visited get −inf. counts, log_bias (W, L) -> (L,).
    """
    counts, log_bias = np.asarray(counts, float), np.asarray(log_bias, float)
    if counts.ndim != 2 or counts.shape != log_bias.shape:
        raise ValueError(f"counts and log_bias must both have shape (windows, levels), got {counts.shape} and "
                         f"{log_bias.shape}")
    total = counts.sum(0)
    seen = total > 0
    n_w = counts.sum(1)
    use = n_w > 0
    log_num = np.where(seen, np.log(np.where(seen, total, 1.0)), -np.inf)
    b, log_n = log_bias[use], np.log(n_w[use])
    f = np.zeros(b.shape[0])
    log_p = log_num
    for _ in range(max_iter):
        log_p = log_num - logsumexp(log_n[:, None] + b - f[:, None], axis=0)
        log_p = log_p - logsumexp(log_p)
        f_new = logsumexp(log_p[None, :] + b, axis=1)
        f_new = f_new - f_new[0]
        if np.max(np.abs(f_new - f)) < tol:
            f = f_new
            break
        f = f_new
    return log_p


@jax.jit
def _biased_run(key: Array, state: mc.ChainState, couplings: Array, field: Array, beta: Array, bias: mc.LevelBias,
                num_sweeps: Array):
    """num_sweeps biased sweeps (sweep k with fold_in(key, k)) → (state, visits (chains, N+1) of K after every
    proposal, acceptance summed over the sweeps (chains,)). num_sweeps is traced: one compilation serves the
    burn-in and the counted sweeps."""

    def one(k, carry):
        state, visits, acc = carry
        state, info = mc.sweep(jax.random.fold_in(key, k), state, couplings, field, beta, "metropolis", bias)
        return state, visits + info.level_visits, acc + info.acceptance

    chains, n = state.spins.shape
    init = (state, jnp.zeros((chains, n + 1), jnp.int32), jnp.zeros((chains,), state.spins.dtype))
    return jax.lax.fori_loop(0, num_sweeps, one, init)


@jax.jit
def _start_chains(key: Array, couplings: Array, reference: Array, flips: Array) -> mc.ChainState:
    """Chains at s′ = ``reference`` (n,) with ``flips[c]`` spins of chain c flipped, chosen by the ranks of uniform
    draws from ``key``; flips (chains,) → ChainState (chains, n)."""
    chains, n = flips.shape[0], reference.shape[0]
    ranks = jnp.argsort(jax.random.uniform(key, (chains, n)), axis=1).argsort(axis=1)
    return mc.init(couplings, reference[None, :] * jnp.where(ranks < flips[:, None], -1.0, 1.0).astype(reference.dtype))


def umbrella_overlap_potential(key: Array, target: Any, reference: Array, x: Array, alpha: float, sigma: float, *,
                               num_windows: int | None = None, stiffness: float = 1.0, chains_per_window: int = 16,
                               num_groups: int = 8, num_sweeps: int = 200, burn_in: int = 50,
                               num_rounds: int = 2) -> UmbrellaPotential:
    """V(q) = −(1/N) ln P(q | x_t = x, s′) by umbrella sampling over q (module docstring), for any pairwise target.

    Chains start at exactly K₀ = round(N(1 + c_w)/2) agreements with s′ (s′ with N − K₀ random spins flipped)
    and run random-site Metropolis (`physics.montecarlo.sweep` with the window's `LevelBias`). In each round
    after the first, g is the previous round's WHAM estimate of ln P(K); levels not yet visited take the nearest
    visited estimate shifted by the difference of ln C(N, K). K is counted after every proposal of the final
    round, and the histograms of all chains are combined by `wham_log_probs`.

    Errors: the chains of each window are split into ``num_groups`` independent groups; each group (one chain set
    per window) gives its own WHAM estimate, and the standard error of V is std(group estimates)/√groups.

    Args:
        target: pairwise target with couplings (N, N), field (N,), beta.
        reference: s′ (N,), ±1; x: x_t (N,); alpha, sigma: the noise level (σ > 0).
        num_windows: default min(N + 1, 33).
        stiffness: bias, in log-weight units, ½·stiffness at the neighbouring window centre.
        chains_per_window: a multiple of num_groups (≥ 2 groups).
        num_sweeps, burn_in: N-proposal sweeps per chain after / before the counting, per round.
        num_rounds: ≥ 1 rounds of bias refinement (only the last one's counts enter the estimate).
    Returns:
        UmbrellaPotential: q (N+1,), V ± error (N+1,), ln P(K), the final round's histograms and biases.
    """
    check_noise_level(alpha, sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    for name, value in (("chains_per_window", chains_per_window), ("num_sweeps", num_sweeps),
                        ("num_rounds", num_rounds), ("num_groups", num_groups)):
        check_positive_int(name, value)
    if num_groups < 2 or chains_per_window % num_groups:
        raise ValueError(f"chains_per_window ({chains_per_window}) must be a multiple of num_groups "
                         f"({num_groups}) >= 2")
    if not stiffness > 0:
        raise ValueError(f"stiffness must be > 0, got {stiffness!r}")
    couplings = jnp.asarray(target.couplings)
    mc.check_model(couplings, target.beta)
    n = couplings.shape[0]
    dtype = couplings.dtype
    num_windows = min(n + 1, 33) if num_windows is None else num_windows
    check_positive_int("num_windows", num_windows)
    if num_windows < 2:
        raise ValueError(f"num_windows must be >= 2, got {num_windows}")
    ref = jnp.asarray(reference, dtype)
    x = jnp.asarray(x, dtype)
    if ref.shape != (n,) or x.shape != (n,):
        raise ValueError(f"reference and x must have shape ({n},), got {ref.shape} and {x.shape}")
    if not np.all(np.abs(np.asarray(ref)) == 1):
        raise ValueError("reference must be a ±1 configuration")

    q = overlap_grid(n)
    centres = np.linspace(-1.0, 1.0, num_windows)
    spacing = centres[1] - centres[0]
    harmonic = -0.5 * stiffness * ((q[None, :] - centres[:, None]) / spacing) ** 2  # (W, N+1)
    chains = num_windows * chains_per_window
    window_of_chain = np.repeat(np.arange(num_windows), chains_per_window)
    field = np.asarray(target.field, dtype) + alpha * np.asarray(x) / sigma**2
    field = jax.device_put(np.broadcast_to(field, (chains, n)))
    beta = jnp.asarray(target.beta, dtype)

    # initial chains: s = s′ with N − K₀ randomly chosen spins flipped, K₀ the window's centre level
    k_init, key = jax.random.split(key)
    k0 = np.clip(np.round(n * (1 + centres) / 2).astype(int), 0, n)[window_of_chain]
    state = _start_chains(k_init, couplings, ref, jax.device_put(n - k0))

    g_entropy = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(n + 1)])
    g = g_entropy  # first guess of ln P(K): the number of configurations at K (the law at β = 0, x = 0)
    for r in range(num_rounds):
        log_bias = harmonic - g[None, :]
        bias = mc.LevelBias(ref, jnp.asarray(log_bias[window_of_chain], dtype))
        key, k_burn, k_run = jax.random.split(key, 3)
        if burn_in:
            state, _, _ = _biased_run(k_burn, state, couplings, field, beta, bias, burn_in)
        state, visits, acc = _biased_run(k_run, state, couplings, field, beta, bias, num_sweeps)
        visits = np.asarray(visits).reshape(num_windows, chains_per_window, n + 1)
        log_p = wham_log_probs(visits.sum(1), log_bias)
        if r < num_rounds - 1 and np.isfinite(log_p).any():
            # unvisited levels: the nearest visited one's estimate, shifted by the entropic guess
            seen = np.nonzero(np.isfinite(log_p))[0]
            near = seen[np.argmin(np.abs(np.arange(n + 1)[:, None] - seen[None, :]), axis=1)]
            g = log_p[near] + g_entropy - g_entropy[near]

    groups = visits.reshape(num_windows, num_groups, chains_per_window // num_groups, n + 1).sum(2)
    group_v = np.stack([-wham_log_probs(groups[:, j], log_bias) / n for j in range(num_groups)])
    with np.errstate(invalid="ignore"):
        err = group_v.std(axis=0, ddof=1) / math.sqrt(num_groups)
    err = np.where(np.all(np.isfinite(group_v), axis=0), err, np.nan)
    return UmbrellaPotential(q, Estimate(-log_p / n, err), log_p, visits.sum(1), log_bias,
                             float(np.asarray(acc).sum() / (chains * num_sweeps)))
