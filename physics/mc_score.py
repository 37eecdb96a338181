"""Reverse diffusion with a Monte-Carlo score: persistent Markov chains per particle, warm-started along time.

For a pairwise Ising target ln P(s) = β ½ sᵀJs + b·s (`physics.montecarlo`), the score of the noised law is
Tweedie's (α E[s | x_t = x] − x)/σ², and E[s | x_t = x] is the magnetisation of the target in the field
b + α x/σ². Each particle x carries M chains of that posterior. At step k (time t_k → t_{k+1}) the chains run
``sweeps_per_step`` sweeps in the field of (x_k, t_k), starting from where they were at step k − 1 (the
posterior moves little between neighbouring times, so the chains stay near equilibrium), and

    D̂_k = (1/(M S)) Σ_{chains, sweeps} tanh(β g + b + α_k x_k/σ_k²),   g = J s,

the Rao–Blackwellised average (`physics.mc_posterior.posterior_mean`), enters the sampler step as the denoiser
(ddpm: Ho et al. 2020, eqs. 6–7; euler_maruyama: Song et al. 2021, eq. 6 — `physics.samplers`).

The run is `physics.trajectory.reverse_sample` with `MCScore`, a stateful score (`physics.integrator`): its
state — the chains, the last D̂ and the acceptance and spread of every evaluation — rides in the scan carry.
Evaluation k (the step from t_k, k = 0…K−1, and the final one at t_min, k = K) sweeps with key
fold_in(fold_in(key, k), 1); the initial chains and the burn-in at the start time come from
fold_in(key, 2**31 − 2).

Parallel tempering of the posterior chains (opt-in, ``ladder``). Where the posterior is glassy (weak field,
β > 1) warm-started chains at β lag it. With a ladder β = β₀ > β₁ > … > β_{R−1} every particle's M chains get
R rungs: rung r samples exp(β_r ½ sᵀJs + (b + α x/σ²)·s), the field kept whole at every rung, and after each
sweep neighbouring rungs exchange configurations (`physics.tempering.tempering_sweep`, Hukushima & Nemoto,
J. Phys. Soc. Jpn. 65, 1604 (1996)) with probability min(1, exp[(β_r − β_{r+1})(E_J(s_{r+1}) − E_J(s_r))]):
the field term is the same at every rung and cancels, so the exchange rate is set by the energy fluctuations
of the couplings alone, as in equilibrium PT, at every t. (Tempering the field with β would scale the swap
exponent by the field energy too, which grows as α²/σ² along the trajectory.) The sweep parity continues
across steps (sweep j of evaluation k has parity (k S + j) mod 2). Only rung 0 (β) enters D̂ and the
chains reported; ``tempering_ladder`` builds a geometric ladder. Without a ladder the run is unchanged.

``sweeps_per_step`` from the measured autocorrelation time: `autocorrelation_sweeps` measures τ (in sweeps)
of the posterior chains at several times, for x_t = α s + σ ξ with s from long chains of the target.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int, pytree_dataclass, tweedie_score

from . import montecarlo as mc
from .forward import noise
from .mc_posterior import posterior_mean
from .schedules import Schedule
from .tempering import tempering_sweep
from .trajectory import reverse_sample

Array = Any

#: Samplers that evaluate the score once per step, at (x_t, t): the chains are advanced once per step.
SINGLE_EVALUATION = ("euler_maruyama", "ddpm", "pf_euler", "ddim")


class MCTrajectory(NamedTuple):
    x: Array  # (batch, n) final state at t_min
    denoised: Array  # (batch, n) D̂ at the last step (t_min)
    chains: mc.ChainState  # (batch · chains_per_x, n) final chains
    acceptance: Array  # (num_steps + 1,) mean acceptance of the sweeps of each step
    spread: Array  # (num_steps + 1,) RMS over particles and sites of sd(chain means)/√M, the chains' disagreement
    swap_acceptance: Array | None = None  # with a ladder: (num_steps + 1, R − 1) exchange acceptance per step


class AutocorrelationTimes(NamedTuple):
    times: np.ndarray  # (T,) diffusion times probed
    tau_median: np.ndarray  # (T,) median over particles and sites of τ = draws/ESS, in sweeps
    tau_max: np.ndarray  # (T,) the largest τ over particles and sites


class MCScoreState(NamedTuple):
    """State of `MCScore`: the chains (batch · M, n; with a ladder (R, batch · M, n), rung 0 at β), the number of
    evaluations so far, the mean acceptance (rung 0) and the chains' spread of each evaluation
    ((num_evaluations,) each), the last D̂ (batch, n), and with a ladder the exchange acceptance of each
    evaluation per neighbouring pair ((num_evaluations, R − 1); None without)."""

    chains: mc.ChainState
    count: Array
    acceptance: Array
    spread: Array
    denoised: Array
    swap_acceptance: Array | None = None


def tempering_ladder(beta: float, beta_min: float, num_replicas: int) -> np.ndarray:
    """Geometric ladder β_r = β (β_min/β)^{r/(R−1)}, r = 0…R−1, from the target β down to β_min: (R,)."""
    check_positive_int("num_replicas", num_replicas)
    if num_replicas < 2 or not 0 < beta_min < beta:
        raise ValueError(f"a tempering ladder needs num_replicas >= 2 and 0 < beta_min < beta, got {num_replicas}, "
                         f"{beta_min}, {beta}")
    return beta * (beta_min / beta) ** (np.arange(num_replicas) / (num_replicas - 1))


def check_ladder(ladder: Array | None, beta: Array) -> None:
    """A ladder is None or (R ≥ 2,) finite values ≥ 0 with ladder[0] = β (checked on concrete values)."""
    if ladder is None:
        return
    shape = np.shape(ladder)
    if len(shape) != 1 or shape[0] < 2:
        raise ValueError(f"ladder must have shape (R >= 2,), got {shape}")
    if not isinstance(ladder, jax.core.Tracer) and not isinstance(beta, jax.core.Tracer):
        a = np.asarray(ladder, dtype=float)
        if not np.all(np.isfinite(a)) or np.any(a < 0) or not np.isclose(a[0], float(beta), rtol=1e-12, atol=0):
            raise ValueError(f"ladder must be finite, >= 0, with ladder[0] = beta = {float(beta)}, got {a}")


@pytree_dataclass(static=("schedule", "chains_per_x", "sweeps_per_step", "burn_in", "rule", "num_evaluations"))
class MCScore:
    """Stateful Monte-Carlo score of the pairwise Ising target ln P(s) = β ½ sᵀJs + b·s (module docstring):
    score(key, x, t, state) = (α_t D̂ − x)/σ_t² with D̂ the Rao–Blackwellised posterior mean of M chains per
    particle after S warm-started sweeps in the field b + α_t x/σ_t². x: (batch, n). ``ladder`` (R,), ladder[0]
    = β: parallel tempering of the chains over R rungs (module docstring); None (default): plain chains."""

    couplings: Array
    field: Array
    beta: Array
    schedule: Schedule
    chains_per_x: int
    sweeps_per_step: int
    burn_in: int
    rule: str
    num_evaluations: int
    ladder: Array | None = None

    def target_chains(self, state: MCScoreState) -> mc.ChainState:
        """The chains at β (rung 0 with a ladder), (batch · M, n)."""
        if self.ladder is None:
            return state.chains
        return mc.ChainState(state.chains.spins[0], state.chains.coupling_field[0])

    def _temper(self, key, chains, total, num_sweeps, start, record=True):
        """num_sweeps tempering sweeps (sweep j: key fold_in(key, j), parity (start + j) mod 2) → (chains, rung-0
        coupling fields (num_sweeps, chains, n) if record else None, rung-0 acceptance, exchange acceptance per
        pair (R − 1,))."""
        pairs = jnp.arange(self.ladder.shape[0] - 1)

        def one(carry, j):
            state, acc, swaps, attempts = carry
            parity = (start + j) % 2
            state, info = tempering_sweep(jax.random.fold_in(key, j), state, self.couplings, total, self.ladder,
                                          parity, self.rule)
            carry = (state, acc + info.acceptance[0].mean(), swaps + info.swap_acceptance,
                     attempts + (pairs % 2 == parity))
            return carry, state.coupling_field[0] if record else None

        zero = jnp.zeros((), total.dtype)
        init = (chains, zero, jnp.zeros(pairs.shape, total.dtype), jnp.zeros(pairs.shape, total.dtype))
        (chains, acc, swaps, attempts), g = jax.lax.scan(one, init, jnp.arange(num_sweeps))
        return chains, g, acc / num_sweeps, jnp.where(attempts > 0, swaps / jnp.maximum(attempts, 1), jnp.nan)

    def _posterior_field(self, x, t):
        return jnp.repeat(self.field + self.schedule.alpha(t) * x / self.schedule.sigma(t) ** 2, self.chains_per_x,
                          axis=0)

    def init(self, key: Array, x: Array, t: Array) -> MCScoreState:
        """Random ±1 chains (fold_in(key, 0)), burn_in sweeps (fold_in(key, 1)) in the posterior field of (x, t)."""
        if self.ladder is not None:
            return self._init_tempered(key, x, t)
        spins = jax.random.rademacher(jax.random.fold_in(key, 0), (x.shape[0] * self.chains_per_x, x.shape[1]),
                                      dtype=self.couplings.dtype)
        chains = mc.init(self.couplings, spins)
        if self.burn_in:
            chains, _, _ = mc.run_chains(jax.random.fold_in(key, 1), self.couplings, self._posterior_field(x, t),
                                         self.beta, chains, num_sweeps=self.burn_in, rule=self.rule,
                                         observables=mc._nothing)
        history = jnp.full(self.num_evaluations, jnp.nan, x.dtype)
        return MCScoreState(chains, jnp.zeros((), jnp.int32), history, history, jnp.zeros_like(x))

    def _init_tempered(self, key, x, t):
        rungs, chains = self.ladder.shape[0], x.shape[0] * self.chains_per_x
        spins = jax.random.rademacher(jax.random.fold_in(key, 0), (rungs * chains, x.shape[1]),
                                      dtype=self.couplings.dtype)
        flat = mc.init(self.couplings, spins)
        state = mc.ChainState(flat.spins.reshape(rungs, chains, -1), flat.coupling_field.reshape(rungs, chains, -1))
        if self.burn_in:
            state, _, _, _ = self._temper(jax.random.fold_in(key, 1), state, self._posterior_field(x, t),
                                          self.burn_in, 0, record=False)
        history = jnp.full(self.num_evaluations, jnp.nan, x.dtype)
        swaps = jnp.full((self.num_evaluations, rungs - 1), jnp.nan, x.dtype)
        return MCScoreState(state, jnp.zeros((), jnp.int32), history, history, jnp.zeros_like(x), swaps)

    def __call__(self, key: Array, x: Array, t: Array, state: MCScoreState) -> tuple[Array, MCScoreState]:
        if self.ladder is not None:
            return self._call_tempered(key, x, t, state)
        batch, n = x.shape
        sweeps, m = self.sweeps_per_step, self.chains_per_x
        total = self._posterior_field(x, t)
        chains, g, acc = mc.run_chains(key, self.couplings, total, self.beta, state.chains, num_sweeps=sweeps,
                                       rule=self.rule, observables=mc._coupling_field)
        chain_means = jnp.tanh(self.beta * g + total).reshape(sweeps, batch, m, n).mean(0)
        spread = jnp.sqrt(jnp.mean(jnp.var(chain_means, axis=1, ddof=1) / m))
        denoised = chain_means.mean(1)
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        new = MCScoreState(chains, state.count + 1, state.acceptance.at[state.count].set(acc.mean()),
                           state.spread.at[state.count].set(spread), denoised)
        return tweedie_score(denoised, x, alpha, sigma), new

    def _call_tempered(self, key, x, t, state):
        batch, n = x.shape
        sweeps, m = self.sweeps_per_step, self.chains_per_x
        total = self._posterior_field(x, t)
        chains, g, acc, swaps = self._temper(key, state.chains, total, sweeps, state.count * sweeps)
        chain_means = jnp.tanh(self.beta * g + total).reshape(sweeps, batch, m, n).mean(0)
        spread = jnp.sqrt(jnp.mean(jnp.var(chain_means, axis=1, ddof=1) / m))
        denoised = chain_means.mean(1)
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        new = MCScoreState(chains, state.count + 1, state.acceptance.at[state.count].set(acc),
                           state.spread.at[state.count].set(spread), denoised,
                           state.swap_acceptance.at[state.count].set(swaps))
        return tweedie_score(denoised, x, alpha, sigma), new


def check_posterior_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in, *,
                           min_chains: int = 2, why: str = "") -> None:
    """The settings of the persistent posterior chains, checked before any compute: chains_per_x an integer ≥
    ``min_chains`` (``why`` says why in the message), burn_in an integer ≥ 0, the rule, couplings, β and ladder."""
    mc._check_rule(rule)
    mc.check_model(couplings, beta)
    check_ladder(ladder, beta)
    check_positive_int("num_steps", num_steps)
    check_positive_int("sweeps_per_step", sweeps_per_step)
    if isinstance(chains_per_x, bool) or not isinstance(chains_per_x, (int, np.integer)) or chains_per_x < min_chains:
        raise ValueError(f"chains_per_x must be an integer >= {min_chains}{why}, got {chains_per_x!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")


def mc_reverse_sample(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, *, num_steps: int, batch: int,
    chains_per_x: int = 8, sweeps_per_step: int = 2, burn_in: int = 100, sampler: str = "ddpm",
    spacing: str = "log", rule: str = "heat_bath", x_init: Array | None = None, ladder: Array | None = None,
) -> MCTrajectory:
    """Reverse diffusion from T to t_min with the Monte-Carlo score of the pairwise Ising target (module docstring):
    `physics.trajectory.reverse_sample` with `MCScore`.

    Args:
        key: PRNG key; step k uses fold_in(key, k) for the sampler noise and fold_in(fold_in(key, k), 1) for the
            sweeps (k = num_steps: the final estimate at t_min); the prior fold_in(key, 2**31 − 1), the initial
            chains and the burn-in fold_in(key, 2**31 − 2).
        couplings: J (n, n); field: b (n,) or scalar; beta: β.
        schedule: the noise schedule; num_steps: steps on ``schedule.time_grid(num_steps, spacing)``.
        batch: number of particles (ignored when x_init is given).
        chains_per_x: persistent chains per particle (M ≥ 2).
        sweeps_per_step: sweeps per step (S ≥ 1), e.g. ⌈c τ⌉ from `autocorrelation_sweeps`.
        burn_in: sweeps at the start time before the first step.
        sampler: one of SINGLE_EVALUATION.
        x_init: (batch, n) start states instead of the prior N(0, σ_T² I).
        ladder: (R,) inverse temperatures with ladder[0] = β (e.g. `tempering_ladder`): parallel tempering of the
            chains, R × the sweeps (module docstring); None: plain chains.
    Returns:
        MCTrajectory (chains: rung 0).
    """
    check_posterior_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in)
    if sampler not in SINGLE_EVALUATION:
        raise ValueError(f"sampler must be one of {SINGLE_EVALUATION} (one score evaluation per step), got {sampler!r}")
    schedule.time_grid(1, spacing)
    couplings = mc.as_couplings(couplings)
    n = couplings.shape[0]
    if x_init is None:
        check_positive_int("batch", batch)
    else:
        x_init = jnp.asarray(x_init, dtype=couplings.dtype)
        if x_init.ndim != 2 or x_init.shape[1] != n:
            raise ValueError(f"x_init must have shape (batch, {n}), got {x_init.shape}")
    score = MCScore(couplings, jnp.asarray(field, couplings.dtype), jnp.asarray(beta, couplings.dtype), schedule,
                    int(chains_per_x), int(sweeps_per_step), int(burn_in), rule, num_steps + 1,
                    None if ladder is None else jnp.asarray(ladder, couplings.dtype))
    run = reverse_sample(key, score, schedule, num_steps=num_steps, batch=batch, n=n, x_init=x_init, sampler=sampler,
                         spacing=spacing, dtype=couplings.dtype)
    state = run.score_state
    return MCTrajectory(run.x, state.denoised, score.target_chains(state), state.acceptance, state.spread,
                        state.swap_acceptance)


def autocorrelation_sweeps(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, times: Array, *, particles: int = 8,
    chains_per_x: int = 16, num_sweeps: int = 400, burn_in: int = 200, target_sweeps: int = 2000,
    rule: str = "heat_bath",
) -> AutocorrelationTimes:
    """Integrated autocorrelation time τ (sweeps) of the posterior chains of `mc_reverse_sample` at ``times`` (T,);
    couplings J (n, n), field b (n,) or scalar, beta β. Returns AutocorrelationTimes of (T,) arrays.

    s: one configuration from each of ``particles`` chains of the target after ``target_sweeps`` sweeps;
    x_t = α_t s + σ_t ξ; τ = chains_per_x · num_sweeps / ESS of each site's Rao–Blackwellised draws
    (`physics.chain_statistics.chain_summary`); sites whose draws are all equal (frozen by the field) are left out.
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
        x = noise(jax.random.fold_in(k_noise, i), s, schedule, t)
        est = posterior_mean(jax.random.fold_in(k_post, i), couplings, field, beta, x, alpha, sigma,
                             chains_per_x=chains_per_x, num_sweeps=num_sweeps, burn_in=burn_in, rule=rule)
        tau = (chains_per_x * num_sweeps / np.asarray(est.ess))[~np.isnan(np.asarray(est.rhat))]
        medians.append(float(np.median(tau)))
        maxima.append(float(np.max(tau)))
    return AutocorrelationTimes(times, np.asarray(medians), np.asarray(maxima))
