"""Quenched Franz–Parisi potential: disorder draws (s′, x_t), their sampler beyond enumeration, and the average.

The spin potential V(q; t) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′) (`physics.franz_parisi_spins`; Franz & Parisi,
J. Phys. I 5, 1401 (1995)) is a quenched average over the disorder (s′, x_t), drawn jointly as
s′ ~ P, x_t = α s′ + σ ξ (`sample_disorder`), with s′ from parallel tempering where P cannot be enumerated
(`tempering_reference_sampler`). Per draw, P(q | x_t, s′) by umbrella Monte Carlo (`physics.umbrella`); the mean
over draws with its two errors (disorder and Monte Carlo) by `quenched_average`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_noise_level, check_positive_int

from .forward import noise_at
from .tempering import init_tempering, run_tempering
from .umbrella import umbrella_overlap_potential

Array = Any

_noise_at = jax.jit(noise_at)


def sample_disorder(key: Array, target: Any, alpha: float, sigma: float, num_disorder: int,
                    reference_sampler: Any = None) -> tuple[Array, Array]:
    """Disorder draws (s′_d, x_d), d = 1..D: s′_d ~ P exactly and x_d = α s′_d + σ ξ_d, ξ_d ~ N(0, I).

    (s′, x_t) then has the joint law P(s′) N(x_t; α s′, σ² I), i.e. s′ is a posterior sample given x_t ~ p_t
    (Bayes' rule). ``reference_sampler(key, num) -> (num, N)`` replaces ``target.sample`` (exact by enumeration
    for N ≤ 20) when given, e.g. an equilibrated Monte-Carlo sampler at larger N.
    Returns references, x, each (D, N).
    """
    check_positive_int("num_disorder", num_disorder)
    check_noise_level(alpha, sigma)
    sampler = target.sample if reference_sampler is None else reference_sampler
    k_ref, k_noise = jax.random.split(key)
    refs = jnp.asarray(sampler(k_ref, num_disorder))
    if refs.ndim != 2 or refs.shape[0] != num_disorder:
        raise ValueError(f"reference_sampler must return shape (num_disorder, N) = ({num_disorder}, N), "
                         f"got {refs.shape}")
    refs = refs.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return refs, _noise_at(k_noise, refs, alpha, sigma)


def _no_observables(state):
    return ()


@functools.partial(jax.jit, static_argnames=("num", "num_sweeps"))
def _tempering_draws(key, couplings, field, betas, *, num, num_sweeps):
    """The last replica's spins (num, N) after num_sweeps parallel-tempering sweeps over ``betas`` from random
    spins (k_init, k_run = split(key)), and the swap acceptance (R − 1,)."""
    k_init, k_run = jax.random.split(key)
    state = init_tempering(k_init, couplings, betas.shape[0], num)
    state, _, _, swaps = run_tempering(k_run, couplings, field, betas, state, num_sweeps=num_sweeps,
                                       observables=_no_observables)
    return state.spins[-1], swaps


def tempering_reference_sampler(target: Any, num_replicas: int, num_sweeps: int):
    """reference_sampler(key, num) -> (num, N) for `sample_disorder` beyond enumeration: the β = target.beta
    replica of parallel tempering (`physics.tempering.run_tempering`, β geometric from target.beta/4 to
    target.beta) after num_sweeps sweeps from random spins. The smallest swap acceptance over the calls so far is
    in ``sampler.swap_min`` (1 before the first call)."""
    couplings = jnp.asarray(target.couplings)
    field = jnp.asarray(target.field)
    betas = jnp.asarray(np.geomspace(float(target.beta) / 4, float(target.beta), num_replicas), couplings.dtype)

    def sampler(key, num):
        spins, swaps = _tempering_draws(key, couplings, field, betas, num=num, num_sweeps=num_sweeps)
        sampler.swap_min = min(sampler.swap_min, float(np.min(np.asarray(swaps))))
        return spins

    sampler.swap_min = 1.0
    return sampler


class QuenchedAverage(NamedTuple):
    """Quenched mean over disorder samples of per-sample estimates (`quenched_average`)."""

    value: np.ndarray  # (L,) mean over the samples where the level is finite; NaN where none is
    error: np.ndarray  # (L,) standard error as an estimate of the disorder average E_{s′, x_t}
    mc_error: np.ndarray  # (L,) standard error given these disorder samples (Monte-Carlo errors only)
    count: np.ndarray  # (L,) number of disorder samples entering each level


def quenched_average(values: Array, errors: Array | None = None) -> QuenchedAverage:
    """Mean over disorder d of estimates V̂_d(q) = V_d(q) + e_d(q), Var e_d = ε_d²; values, errors (D, L).

    Levels where V̂_d is NaN or ±inf (not visited by sample d) are left out of that level's mean, and ``count``
    says how many entered (a level's mean over fewer than D samples is not the quenched average: the missing
    samples are those where it is least probable). With D_q the count,
        V̄ = (1/D_q) Σ_d V̂_d,
        error² = s²/D_q,  s² = Σ_d (V̂_d − V̄)²/(D_q − 1)   (E s² = Var_disorder V + ⟨ε_d²⟩: the spread of the V̂_d
                                                             already contains their Monte-Carlo noise, which is
                                                             therefore not added again),
        mc_error² = Σ_d ε_d² / D_q²                         (the error of V̄ as an estimate of (1/D_q) Σ_d V_d for
                                                             these very draws, e.g. against an exact method).
    error is NaN where D_q < 2; mc_error is NaN where an entering ε_d is NaN, and 0 when errors is None.
    """
    v = np.asarray(values, float)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (num_disorder, num_levels), got {v.shape}")
    eps = np.zeros_like(v) if errors is None else np.asarray(errors, float)
    if eps.shape != v.shape:
        raise ValueError(f"errors must have the shape of values {v.shape}, got {eps.shape}")
    ok = np.isfinite(v)
    count = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(0) / count
        spread = np.where(ok, (v - mean) ** 2, 0.0).sum(0) / (count - 1)
        error = np.where(count >= 2, np.sqrt(spread / count), np.nan)
        mc_error = np.sqrt(np.where(ok, eps**2, 0.0).sum(0)) / count
    mc_error = np.where(np.any(ok & ~np.isfinite(eps), axis=0), np.nan, mc_error)
    return QuenchedAverage(np.where(count > 0, mean, np.nan), error, np.where(count > 0, mc_error, np.nan), count)


class QuenchedPotential(NamedTuple):
    """Result of `quenched_umbrella_potential`."""

    q: np.ndarray  # (N+1,) overlap levels (2K − N)/N
    potentials: np.ndarray  # (D, N+1) V_d(q) = −(1/N) ln P(q | x_d, s′_d); NaN where sample d never visited q
    errors: np.ndarray  # (D, N+1) their umbrella standard errors (NaN where unavailable)
    mean: QuenchedAverage  # quenched mean over d, its errors, and the count per level
    references: np.ndarray  # (D, N) s′_d
    x: np.ndarray  # (D, N) x_d
    acceptance: np.ndarray  # (D,) Metropolis acceptance of each umbrella run


def quenched_umbrella_potential(key: Array, target: Any, alpha: float, sigma: float, num_disorder: int | None = None,
                                *, references: Array | None = None, x: Array | None = None,
                                reference_sampler: Any = None, **umbrella_options) -> QuenchedPotential:
    """Quenched Franz–Parisi potential V(q) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′) by umbrella Monte Carlo.

    For each disorder sample d = 1..D, (s′_d, x_d) from `sample_disorder` (or the given ``references`` and ``x``,
    so that an exact method can be run on the same draws), V_d(q) = −(1/N) ln P(q | x_d, s′_d) with its error by
    `umbrella_overlap_potential` (key fold_in(key, d); ``umbrella_options`` are its keyword arguments), and the
    mean over d by `quenched_average` (its docstring gives the two error formulas). Levels a run never visited are
    NaN in ``potentials`` (not +inf) and are counted out of the mean.

    Args:
        target: pairwise target (couplings, field, beta); ``target.sample`` or ``reference_sampler`` draws s′.
        alpha, sigma: noise level of x_t = α s′ + σ ξ (σ > 0).
        num_disorder: D, when the disorder is drawn here; with ``references`` and ``x`` it may be omitted.
        references, x: (D, N) disorder given explicitly (both or neither).
    """
    if (references is None) != (x is None):
        raise ValueError("references and x must be given together (both (num_disorder, N)) or not at all")
    k_disorder, k_mc = jax.random.split(key)
    if references is None:
        if num_disorder is None:
            raise ValueError("num_disorder is required when references and x are not given")
        references, x = sample_disorder(k_disorder, target, alpha, sigma, num_disorder, reference_sampler)
    references, x = np.asarray(references, float), np.asarray(x, float)
    if references.ndim != 2 or references.shape != x.shape or references.shape[1] != target.n:
        raise ValueError(f"references and x must both have shape (num_disorder, N = {target.n}), "
                         f"got {references.shape} and {x.shape}")
    if num_disorder is not None and num_disorder != references.shape[0]:
        raise ValueError(f"num_disorder ({num_disorder}) must equal len(references) ({references.shape[0]})")
    runs = [umbrella_overlap_potential(jax.random.fold_in(k_mc, d), target, references[d], x[d], alpha, sigma,
                                       **umbrella_options) for d in range(references.shape[0])]
    values = np.stack([r.potential.value for r in runs])
    values = np.where(np.isfinite(values), values, np.nan)
    errors = np.stack([r.potential.error for r in runs])
    return QuenchedPotential(runs[0].q, values, errors, quenched_average(values, errors), references, x,
                             np.array([r.acceptance for r in runs]))
