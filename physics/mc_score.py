"""Reverse diffusion with a Monte-Carlo score: persistent Markov chains per particle, warm-started along time.

For a pairwise Ising target ln P(s) = β ½ sᵀJs + b·s (`physics.montecarlo`), the score of the noised law is
Tweedie's (α E[s | x_t = x] − x)/σ², and E[s | x_t = x] is the magnetisation of the target in the field
b + α x/σ². Each particle x carries M chains of that posterior. At step k (time t_k → t_{k+1}) the chains run
``sweeps_per_step`` sweeps in the field of (x_k, t_k), starting from where they were at step k − 1 (the
posterior moves little between neighbouring times, so the chains stay near equilibrium), and

    D̂_k = (1/(M S)) Σ_{chains, sweeps} tanh(β g + b + α_k x_k/σ_k²),   g = J s,

the Rao–Blackwellised average (`physics.montecarlo.posterior_mean`), enters the sampler step as the denoiser
(ddpm: Ho et al. 2020, eqs. 6–7; euler_maruyama: Song et al. 2021, eq. 6 — `physics.samplers`). The whole
run is one `lax.scan` whose carry holds (x, chains).

Why not `physics.trajectory.reverse_sample`: its score is a pure function score_fn(x, t) and the scan carry
holds only x, so it cannot carry the chains. It would need a stateful score, e.g. score_fn.init(key, x_T) →
state and score_fn(key, x, t, state) → (score, state), with the state in the scan carry of `_run` and the
samplers taking a precomputed score (pf_heun, which evaluates the score twice per step, would need two state
updates). This module runs the loop itself instead.

``sweeps_per_step`` from the measured autocorrelation time: `autocorrelation_sweeps` measures τ (in sweeps)
of the posterior chains at several times, for x_t = α s + σ ξ with s from long chains of the target.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int

from . import montecarlo as mc
from .forward import prior_sample
from .samplers import get_sampler
from .schedules import Schedule

Array = Any

#: Samplers that evaluate the score once per step, at (x_t, t): the chains are advanced once per step.
SINGLE_EVALUATION = ("euler_maruyama", "ddpm", "pf_euler", "ddim")


class MCTrajectory(NamedTuple):
    x: Array  # (batch, n) final state at t_min
    denoised: Array  # (batch, n) D̂ at the last step (t_min)
    chains: mc.ChainState  # (batch · chains_per_x, n) final chains
    acceptance: Array  # (num_steps + 1,) mean acceptance of the sweeps of each step
    spread: Array  # (num_steps + 1,) RMS over particles and sites of sd(chain means)/√M, the chains' disagreement


class AutocorrelationTimes(NamedTuple):
    times: np.ndarray  # (T,) diffusion times probed
    tau_median: np.ndarray  # (T,) median over particles and sites of τ = draws/ESS, in sweeps
    tau_max: np.ndarray  # (T,) the largest τ over particles and sites


def mc_reverse_sample(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, *, num_steps: int, batch: int,
    chains_per_x: int = 8, sweeps_per_step: int = 2, burn_in: int = 100, sampler: str = "ddpm",
    spacing: str = "log", rule: str = "heat_bath", x_init: Array | None = None,
) -> MCTrajectory:
    """Reverse diffusion from T to t_min with the Monte-Carlo score of the pairwise Ising target (module docstring).

    Args:
        key: PRNG key; step k uses fold_in(key, k) for the sampler noise and fold_in(key, k + num_steps + 1)
            for the sweeps; the prior fold_in(key, 2**31 − 1), the initial chains fold_in(key, 2**31 − 2).
        couplings: J (n, n); field: b (n,) or scalar; beta: β.
        schedule: the noise schedule; num_steps: steps on ``schedule.time_grid(num_steps, spacing)``.
        batch: number of particles (ignored when x_init is given).
        chains_per_x: persistent chains per particle (M ≥ 2).
        sweeps_per_step: sweeps per step (S ≥ 1), e.g. ⌈c τ⌉ from `autocorrelation_sweeps`.
        burn_in: sweeps at the start time before the first step.
        sampler: one of SINGLE_EVALUATION.
    Returns:
        MCTrajectory.
    """
    mc._check_rule(rule)
    mc.check_model(couplings, beta)
    if sampler not in SINGLE_EVALUATION:
        raise ValueError(f"sampler must be one of {SINGLE_EVALUATION} (one score evaluation per step), got {sampler!r}")
    check_positive_int("num_steps", num_steps)
    check_positive_int("sweeps_per_step", sweeps_per_step)
    if isinstance(chains_per_x, bool) or not isinstance(chains_per_x, (int, np.integer)) or chains_per_x < 2:
        raise ValueError(f"chains_per_x must be an integer >= 2, got {chains_per_x!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")
    schedule.time_grid(1, spacing)
    couplings = jnp.asarray(couplings, dtype=jnp.result_type(float))
    n = couplings.shape[0]
    if x_init is None:
        check_positive_int("batch", batch)
        x_init = prior_sample(jax.random.fold_in(key, 2**31 - 1), schedule, schedule.start_time, (batch, n),
                              couplings.dtype)
    x_init = jnp.asarray(x_init, dtype=couplings.dtype)
    if x_init.ndim != 2 or x_init.shape[1] != n:
        raise ValueError(f"x_init must have shape (batch, {n}), got {x_init.shape}")
    spins = jax.random.rademacher(jax.random.fold_in(key, 2**31 - 2), (x_init.shape[0] * chains_per_x, n),
                                  dtype=couplings.dtype)
    return _run(key, couplings, jnp.asarray(field, couplings.dtype), jnp.asarray(beta, couplings.dtype), x_init,
                mc.init(couplings, spins), schedule, num_steps, chains_per_x, sweeps_per_step, burn_in, sampler,
                spacing, rule)


@functools.partial(jax.jit, static_argnums=(6, 7, 8, 9, 10, 11, 12, 13))
def _run(key, couplings, field, beta, x_init, chains, schedule, num_steps, chains_per_x, sweeps, burn_in, sampler,
         spacing, rule):
    step = get_sampler(sampler)
    times = schedule.time_grid(num_steps, spacing).astype(x_init.dtype)
    batch, n = x_init.shape

    def posterior_field(x, t):
        return jnp.repeat(field + schedule.alpha(t) * x / schedule.sigma(t) ** 2, chains_per_x, axis=0)

    def estimate(k, x, chains):
        """S sweeps from the carried chains → (D̂, chains, acceptance, spread of chain means)."""
        total = posterior_field(x, times[k])
        chains, g, acc = mc.run_chains(jax.random.fold_in(key, k + num_steps + 1), couplings, total, beta, chains,
                                       num_sweeps=sweeps, rule=rule, observables=mc._coupling_field)
        draws = jnp.tanh(beta * g + total).reshape(sweeps, batch, chains_per_x, n)
        chain_means = draws.mean(0)
        spread = jnp.sqrt(jnp.mean(jnp.var(chain_means, axis=1, ddof=1) / chains_per_x))
        return chain_means.mean(1), chains, acc.mean(), spread

    if burn_in:
        chains, _, _ = mc.run_chains(jax.random.fold_in(key, 2 * num_steps + 2), couplings,
                                     posterior_field(x_init, times[0]), beta, chains, num_sweeps=burn_in, rule=rule,
                                     observables=mc._nothing)

    def one_step(carry, k):
        x, chains = carry
        denoised, chains, acc, spread = estimate(k, x, chains)
        alpha, sigma = schedule.alpha(times[k]), schedule.sigma(times[k])
        score = (alpha * denoised - x) / sigma**2
        x_next, _ = step(jax.random.fold_in(key, k), x, times[k], times[k + 1], lambda *_: score, schedule)
        return (x_next, chains), (acc, spread)

    (x, chains), (acc, spread) = jax.lax.scan(one_step, (x_init, chains), jnp.arange(num_steps))
    denoised, chains, acc_last, spread_last = estimate(num_steps, x, chains)
    return MCTrajectory(x, denoised, chains, jnp.append(acc, acc_last), jnp.append(spread, spread_last))


def autocorrelation_sweeps(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, times: Array, *, particles: int = 8,
    chains_per_x: int = 16, num_sweeps: int = 400, burn_in: int = 200, target_sweeps: int = 2000,
    rule: str = "heat_bath",
) -> AutocorrelationTimes:
    """Integrated autocorrelation time τ (sweeps) of the posterior chains of `mc_reverse_sample` at ``times``.

    s: one configuration from each of ``particles`` chains of the target after ``target_sweeps`` sweeps;
    x_t = α_t s + σ_t ξ; τ = chains_per_x · num_sweeps / ESS of each site's Rao–Blackwellised draws
    (`physics.montecarlo.chain_summary`); sites whose draws are all equal (frozen by the field) are left out.
    A warm-started chain that must forget a change of the posterior
    within a step needs a few τ per step; the rule sweeps_per_step = ⌈c · max τ⌉ with c ≈ 1–3 is the
    caller's choice.
    """
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    k_target, k_noise, k_post = jax.random.split(key, 3)
    state, _, _ = mc.sample_chains(k_target, couplings, field, beta, num_chains=particles, num_sweeps=1,
                                   burn_in=target_sweeps, rule=rule, observables=mc._nothing)
    s = state.spins
    medians, maxima = [], []
    for i, t in enumerate(times):
        alpha, sigma = schedule.alpha(t), schedule.sigma(t)
        x = alpha * s + sigma * jax.random.normal(jax.random.fold_in(k_noise, i), s.shape, s.dtype)
        est = mc.posterior_mean(jax.random.fold_in(k_post, i), couplings, field, beta, x, alpha, sigma,
                                chains_per_x=chains_per_x, num_sweeps=num_sweeps, burn_in=burn_in, rule=rule)
        tau = (chains_per_x * num_sweeps / np.asarray(est.ess))[~np.isnan(np.asarray(est.rhat))]
        medians.append(float(np.median(tau)))
        maxima.append(float(np.max(tau)))
    return AutocorrelationTimes(times, np.asarray(medians), np.asarray(maxima))
