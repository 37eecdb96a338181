"""Replica order parameters of a pairwise Ising target along Monte-Carlo-score generation, parallel-tempering
equilibrium of the same couplings, and the replica-symmetric theory of SK along the trajectory.

Generation with replicas. The reverse run of `physics.mc_score.mc_reverse_sample` (its `MCScore`, same keys):
each particle x carries M persistent chains of the posterior P(s | x_t) ∝ P(s) exp(α x·s/σ²), warm-started
from step to step, whose Rao–Blackwellised mean is the denoiser (with a ``ladder``, parallel-tempered over
β₀ = β > β₁ > …, the field kept at every rung: `physics.mc_score`). Here the M chains (at β) are also M replicas
of the posterior at the particle's x_t, and at every step k, after the sweeps at (x_k, t_k), the run records
    q₁₂ = (1/N) [M(M−1)]⁻¹ Σ_{a≠b} m̂_a·m̂_b          replica overlap |E[s|x_t]|²/N, unbiased
                                                      (m̂_a = tanh(β J s_a + h): chain a's conditional means),
    q_ab = (1/N) s_a·s_b, a < b                        overlaps of the chains' current spins,
    χ_SG = (1/N) Σ_ij (⟨sᵢsⱼ⟩ − ⟨sᵢ⟩⟨sⱼ⟩)² = N (E q_ab² − 2 E q_ab q_ac + E q_ab q_cd)
                                                      spin-glass susceptibility of the posterior, unbiased over
                                                      distinct replicas a, b, c, d (M ≥ 4).
The generated configuration is chain 0's spins after the last step: a draw of P(s | x_{t_min}), which has
the target's law exactly when x_{t_min} has the law of the forward process (Nishimori: s₀ given x_t is a
posterior draw), whatever t_min.

Replica-symmetric theory (N → ∞). With the posterior field h = α x/σ² = λ s₀ + √λ ξ, λ = α²/σ² and s₀ ~ SK at
β (a spiked GOE at β < 1), the cavity field on a spin is H = (λ + β²q) s₀ + √(λ + β²q) G, G ~ N(0, 1), and
    q = E tanh(λ + β²q + √(λ + β²q) G)                 (= E tanh² by the Nishimori identity)
(El Alaoui, Montanari & Sellke, arXiv 2203.05093, "Sampling from the SK Gibbs measure via algorithmic
stochastic localization": the replica-symmetric fixed point q_*(β, t) of their analysis, at their t = λ).
The solution is stable while
    β² a < 1,   a = E sech⁴(λ + β²q + √(λ + β²q) G)    (de Almeida & Thouless, J. Phys. A 11, 983 (1978)),
and then χ_SG = a/(1 − β² a) (the geometric series of cavity responses); at λ = 0, q = 0 and
χ_SG = 1/(1 − β²). This holds for β < 1, where the SK measure is contiguous to the planted (spiked) model that the
equation describes; for β > 1 the early posterior (λ → 0) is the replica-symmetry-broken SK measure and this
equation does not apply (its solution has no AT instability there), so no theory is given for β ≥ 1. Mean-field
finite-size scaling at the equilibrium SK transition: χ_SG ~ N^{1/3}, scaling variable (β − 1) N^{1/3}
(Kirkpatrick & Sherrington, Phys. Rev. B 17, 4384 (1978); Parisi, Ritort & Slanina, J. Phys. A 26, 3775 (1993)).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int, pytree_dataclass

from . import chain_statistics as cs
from . import montecarlo as mc
from .mc_score import SINGLE_EVALUATION, MCScore, check_ladder
from .schedules import Schedule
from .trajectory import reverse_sample

Array = Any


class ReplicaTrajectory(NamedTuple):
    times: Array  # (K + 1,) times of the records, from the start time down to t_min
    q12: Array  # (K + 1, batch) unbiased |E[s|x_t]|²/N from the chains' conditional means
    q_pairs: Array  # (K + 1, batch, M(M−1)/2) overlaps of the chains' spins, pairs a < b
    chi_sg: Array  # (K + 1, batch) four-replica spin-glass susceptibility (module docstring)
    x: Array  # (batch, n) final state at t_min
    generated: Array  # (batch, n) spins of chain 0 after the last step: the generated configuration
    acceptance: Array  # (K + 1,) mean acceptance of the sweeps of each evaluation
    swap_acceptance: Array | None = None  # with a ladder: (K + 1, R − 1) exchange acceptance of each evaluation


def replica_observables(chain_means: Array, spins: Array) -> tuple[Array, Array, Array]:
    """q₁₂, q_ab (a < b) and χ_SG of M replicas per particle (module docstring).

    Args:
        chain_means: (batch, M, n) independent per-chain unbiased estimates of E[s | x] (e.g. the conditional
            means tanh(β Js + h) of each chain), M ≥ 2.
        spins: (batch, M, n) one configuration per replica, M ≥ 4.
    Returns:
        q12 (batch,), q_pairs (batch, M(M−1)/2), chi_sg (batch,).
    """
    batch, m, n = spins.shape
    total = jnp.sum(chain_means, axis=1)
    q12 = (jnp.sum(total**2, -1) - jnp.sum(chain_means**2, axis=(1, 2))) / (m * (m - 1) * n)
    overlap = jnp.einsum("bai,bci->bac", spins, spins) / n
    upper = jnp.triu_indices(m, 1)
    off = overlap * (1.0 - jnp.eye(m, dtype=spins.dtype))
    pairs2 = jnp.sum(off**2, axis=(1, 2))
    rows = jnp.sum(off, axis=2)
    triples = jnp.sum(rows**2, axis=1) - pairs2
    quads = jnp.sum(off, axis=(1, 2)) ** 2 - 4.0 * triples - 2.0 * pairs2
    chi = n * (pairs2 / (m * (m - 1)) - 2.0 * triples / (m * (m - 1) * (m - 2))
               + quads / (m * (m - 1) * (m - 2) * (m - 3)))
    return q12, overlap[:, upper[0], upper[1]], chi


class ReplicaScoreState(NamedTuple):
    """`MCScore`'s state and the replica observables of every evaluation ((num_evaluations, batch, ...))."""

    inner: Any
    q12: Array
    q_pairs: Array
    chi_sg: Array


@pytree_dataclass(static=())
class ReplicaMCScore:
    """`physics.mc_score.MCScore` that also records, after each evaluation, the replica observables of its chains
    at β (`replica_observables` with the chains' conditional means tanh(β Js + b + α x/σ²) and current spins;
    with a tempering ladder, the M chains of rung 0)."""

    inner: MCScore

    def init(self, key: Array, x: Array, t: Array) -> ReplicaScoreState:
        m = self.inner.chains_per_x
        shape = (self.inner.num_evaluations, x.shape[0])
        return ReplicaScoreState(self.inner.init(key, x, t), jnp.zeros(shape, x.dtype),
                                 jnp.zeros(shape + (m * (m - 1) // 2,), x.dtype), jnp.zeros(shape, x.dtype))

    def __call__(self, key: Array, x: Array, t: Array, state: ReplicaScoreState):
        score, inner = self.inner(key, x, t, state.inner)
        batch, n = x.shape
        m = self.inner.chains_per_x
        field = self.inner._posterior_field(x, t)
        chains = self.inner.target_chains(inner)
        means = jnp.tanh(self.inner.beta * chains.coupling_field + field).reshape(batch, m, n)
        q12, pairs, chi = replica_observables(means, chains.spins.reshape(batch, m, n))
        k = inner.count - 1
        return score, ReplicaScoreState(inner, state.q12.at[k].set(q12), state.q_pairs.at[k].set(pairs),
                                        state.chi_sg.at[k].set(chi))


def mc_replica_generation(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, *, num_steps: int, batch: int,
    chains_per_x: int = 4, sweeps_per_step: int = 2, burn_in: int = 100, sampler: str = "ddpm",
    spacing: str = "log", rule: str = "heat_bath", ladder: Array | None = None,
) -> ReplicaTrajectory:
    """`physics.mc_score.mc_reverse_sample` (same arguments and keys, so the same x) recording the replica
    observables of its chains at every evaluation, from the start time to t_min (module docstring).
    Jittable in (couplings, field, beta): vmap over disorder samples.

    Args:
        key, couplings (n, n), field ((n,) or scalar), beta, schedule, num_steps, batch, sweeps_per_step,
            burn_in, sampler, spacing, rule: as `mc_reverse_sample`.
        chains_per_x: replicas per particle, M ≥ 4 (χ_SG needs four distinct replicas).
        ladder: (R,) with ladder[0] = β: parallel tempering of the posterior chains (`physics.mc_score`); the
            replicas are the M chains at β.
    Returns:
        ReplicaTrajectory.
    """
    mc._check_rule(rule)
    mc.check_model(couplings, beta)
    check_ladder(ladder, beta)
    if sampler not in SINGLE_EVALUATION:
        raise ValueError(f"sampler must be one of {SINGLE_EVALUATION} (one score evaluation per step), got {sampler!r}")
    for name, value in (("num_steps", num_steps), ("sweeps_per_step", sweeps_per_step), ("batch", batch)):
        check_positive_int(name, value)
    if isinstance(chains_per_x, bool) or not isinstance(chains_per_x, (int, np.integer)) or chains_per_x < 4:
        raise ValueError(f"chains_per_x must be an integer >= 4 (chi_SG needs four replicas), got {chains_per_x!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")
    couplings = jnp.asarray(couplings, dtype=jnp.result_type(float))
    n = couplings.shape[-1]
    inner = MCScore(couplings, jnp.asarray(field, couplings.dtype), jnp.asarray(beta, couplings.dtype), schedule,
                    int(chains_per_x), int(sweeps_per_step), int(burn_in), rule, num_steps + 1,
                    None if ladder is None else jnp.asarray(ladder, couplings.dtype))
    run = reverse_sample(key, ReplicaMCScore(inner), schedule, num_steps=num_steps, batch=batch, n=n,
                         sampler=sampler, spacing=spacing, dtype=couplings.dtype)
    state = run.score_state
    generated = inner.target_chains(state.inner).spins.reshape(batch, chains_per_x, n)[:, 0]
    return ReplicaTrajectory(schedule.time_grid(num_steps, spacing), state.q12, state.q_pairs, state.chi_sg, run.x,
                             generated, state.inner.acceptance, state.inner.swap_acceptance)


# ---- parallel-tempering equilibrium --------------------------------------------------------------------------
class TemperingEquilibrium(NamedTuple):
    """Per disorder sample and temperature, shapes (D, R); errors from `chain_statistics.chain_summary`."""

    energy: np.ndarray  # ⟨H⟩/N, H = −½ sᵀJs
    energy_err: np.ndarray
    q2: np.ndarray  # ⟨q²⟩ of pairs of independent chains
    q2_err: np.ndarray
    q4: np.ndarray  # ⟨q⁴⟩
    q4_err: np.ndarray
    rhat: np.ndarray  # split-R̂ of q² over the pairs of chains (1 when equilibrated)
    swap_acceptance: np.ndarray  # (D, R − 1) replica-exchange acceptance


def _energy_and_overlap(state: mc.ChainState) -> dict:
    """Per chain H/N, and q = s_c·s_{c + C/2}/N for the pairs of chains (c, c + C/2)."""
    n = state.spins.shape[-1]
    half = state.spins.shape[0] // 2
    q = jnp.sum(state.spins[:half] * state.spins[half:2 * half], -1) / n
    return {"energy": -mc.coupling_energy(state) / n, "q": q}


@functools.partial(jax.jit, static_argnames=("num_chains", "num_sweeps", "burn_in", "rule"))
def _tempering(key, couplings, betas, *, num_chains, num_sweeps, burn_in, rule):
    def one(k, J):
        state = mc.init_tempering(jax.random.fold_in(k, 0), J, betas.shape[0], num_chains)
        state, _, _, _ = mc.run_tempering(jax.random.fold_in(k, 1), J, 0.0, betas, state, num_sweeps=burn_in,
                                          rule=rule, observables=mc._nothing)
        _, rec, _, swaps = mc.run_tempering(jax.random.fold_in(k, 2), J, 0.0, betas, state, num_sweeps=num_sweeps,
                                            rule=rule, observables=_energy_and_overlap)
        summary = jax.vmap(cs.chain_summary, in_axes=1)  # over temperatures: (steps, R, chains) → (R,)
        q = rec["q"]
        e, q2, q4 = summary(rec["energy"]), summary(q**2), summary(q**4)
        return e.mean, e.stderr, q2.mean, q2.stderr, q4.mean, q4.stderr, q2.rhat, swaps

    keys = jax.vmap(lambda d: jax.random.fold_in(key, d))(jnp.arange(couplings.shape[0]))
    return jax.vmap(one)(keys, couplings)


def tempering_equilibrium(key: Array, couplings: Array, betas: Array, *, num_chains: int = 8, num_sweeps: int = 1000,
                          burn_in: int = 1000, rule: str = "metropolis") -> TemperingEquilibrium:
    """Energy and overlap moments of ln P = β ½ sᵀJs at every β of ``betas`` for D coupling matrices, by parallel
    tempering (`physics.montecarlo.run_tempering`, Hukushima & Nemoto 1996) vmapped over disorder.

    q = s_c·s_{c+C/2}/N for the C/2 pairs of independent chains at the same β; the per-sample means and their
    standard errors are `chain_statistics.chain_summary` of the recorded series (steps, chains or pairs), which
    accounts for autocorrelation and for chains that disagree.

    Args:
        key: sample d uses fold_in(key, d).
        couplings: (D, n, n); betas: (R,) increasing, R ≥ 2.
        num_chains: independent PT chains per sample (even, ≥ 4); num_sweeps ≥ 4 recorded after burn_in.
    Returns:
        TemperingEquilibrium with arrays (D, R) (swap acceptance (D, R − 1)).
    """
    couplings = jnp.asarray(couplings, dtype=jnp.result_type(float))
    if couplings.ndim != 3:
        raise ValueError(f"couplings must be stacked (D, n, n), got shape {couplings.shape}")
    for J in couplings:
        mc.check_model(J, 0.0)
    betas = np.asarray(betas, dtype=float)
    if betas.ndim != 1 or betas.size < 2 or np.any(np.diff(betas) <= 0) or betas[0] < 0:
        raise ValueError(f"betas must be increasing, >= 0, with at least two values, got {betas}")
    if (isinstance(num_chains, bool) or not isinstance(num_chains, (int, np.integer)) or num_chains < 4
            or num_chains % 2):
        raise ValueError(f"num_chains must be an even integer >= 4 (pairs of chains give the overlaps), "
                         f"got {num_chains!r}")
    if isinstance(num_sweeps, bool) or not isinstance(num_sweeps, (int, np.integer)) or num_sweeps < 4:
        raise ValueError(f"num_sweeps must be an integer >= 4, got {num_sweeps!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or burn_in < 1:
        raise ValueError(f"burn_in must be a positive integer, got {burn_in!r}")
    mc._check_rule(rule)
    out = _tempering(key, couplings, jnp.asarray(betas, couplings.dtype), num_chains=num_chains,
                     num_sweeps=num_sweeps, burn_in=burn_in, rule=rule)
    return TemperingEquilibrium(*(np.asarray(a) for a in out))


# ---- replica-symmetric theory (β < 1) ----------------------------------------------------------------------
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(121)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _check_high_temperature(beta: float, snr: Array) -> np.ndarray:
    lam = np.asarray(snr, dtype=float)
    if not 0 <= beta < 1:
        raise ValueError(f"the replica-symmetric theory along generation holds for 0 <= beta < 1 (the high-temperature "
                         f"phase, where s0 ~ SK is contiguous to the planted model), got beta = {beta}")
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"snr = alpha^2/sigma^2 must be finite and >= 0, got {snr}")
    return lam


def _cavity(beta: float, lam: float, q: float) -> np.ndarray:
    v = lam + beta**2 * q
    return v + np.sqrt(v) * _NODES


def _sech4(h: np.ndarray) -> np.ndarray:
    e = np.exp(-2.0 * np.abs(h))
    return (2.0 * np.sqrt(e) / (1.0 + e)) ** 4


def rs_overlap(beta: float, snr: Array) -> np.ndarray:
    """q(β, λ) = E tanh(λ + β²q + √(λ + β²q) G), G ~ N(0, 1), for 0 ≤ β < 1 (module docstring), by iteration
    from q = 1 (the largest solution) with Gauss–Hermite quadrature, for every λ = α²/σ² of ``snr`` (any shape)."""
    lam = _check_high_temperature(beta, snr)
    out = np.empty(lam.shape)
    for idx, value in np.ndenumerate(lam):
        q = 1.0
        for _ in range(100000):
            new = float(np.sum(_WEIGHTS * np.tanh(_cavity(beta, value, q))))
            if abs(new - q) < 1e-14:
                break
            q = new
        out[idx] = new
    return out


def rs_spin_glass_susceptibility(beta: float, snr: Array) -> np.ndarray:
    """χ_SG = a/(1 − β² a), a = E sech⁴(λ + β²q + √(λ + β²q) G) at q = `rs_overlap`, for 0 ≤ β < 1 (where
    β² a ≤ β² < 1: the replica-symmetric solution is stable at every λ); 1/(1 − β²) at λ = 0."""
    lam = _check_high_temperature(beta, snr)
    q = rs_overlap(beta, lam)
    a = np.vectorize(lambda l, qq: float(np.sum(_WEIGHTS * _sech4(_cavity(beta, l, qq)))))(lam, q)
    return a / (1.0 - beta**2 * a)
