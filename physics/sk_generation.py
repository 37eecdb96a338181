"""Replica order parameters of a pairwise Ising target along Monte-Carlo-score generation, and the law of the
generated configurations.


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
Any pairwise target. The generation and the equilibrium take a coupling matrix, so they serve every target of the
form ln P(s) = β ½ sᵀJs + b·s: SK, Edwards–Anderson on any graph, Hopfield (J = ξᵀξ/N, zero diagonal), Curie–Weiss
(`pairwise_form` reads (J, b, β) off a target and names any other). `generated_law` measures the law of the B
generated configurations of one coupling matrix (energy, ⟨q²⟩ and U₄(q) over all pairs, Mattis overlaps), with
jackknife errors, for the comparison with `physics.tempering_equilibrium` of the same couplings (measured at
N = 64 for 2-D EA ±J, Hopfield K = 3 and SK, and for EA L = 10, Hopfield K = 4, 5 and SK N = 128, with the sweeps
and steps needed at β ≥ 1, by scripts/validate_spin_glasses_at_scale.py: docs/spin_glasses_at_scale.md). The replica-symmetric theory of SK
along the trajectory: `physics.replica_symmetric`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int, pytree_dataclass

from . import montecarlo as mc
from .mc_score import SINGLE_EVALUATION, MCScore, check_ladder
from .scaling import Estimate
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


# ---- any pairwise target; the generated law ------------------------------------------------------------------
def pairwise_form(target: Any) -> tuple[Array, Array, Array]:
    """(J (n, n), b (n,), β) of a pairwise Ising target ln P(s) = β ½ sᵀJs + b·s + const: any target with a
    ``couplings`` matrix, a ``field`` and a scalar ``beta`` (`models.sk.SherringtonKirkpatrick`,
    `models.edwards_anderson.EdwardsAnderson`, `models.hopfield.Hopfield` with J = ξᵀξ/N, zero diagonal,
    `models.curie_weiss.CurieWeiss`). Raises ValueError for any other target."""
    missing = [name for name in ("couplings", "field", "beta") if not hasattr(target, name)]
    if missing:
        raise ValueError(f"Monte-Carlo-score generation needs a pairwise Ising target ln P = beta/2 s.Js + b.s with "
                         f"attributes couplings, field and beta; {type(target).__name__} lacks {missing}")
    couplings = jnp.asarray(target.couplings, dtype=jnp.result_type(float))
    beta = jnp.asarray(target.beta, couplings.dtype)
    field = jnp.broadcast_to(jnp.asarray(target.field, couplings.dtype), couplings.shape[-1:])
    if beta.ndim != 0:
        raise ValueError(f"the target's beta must be a scalar, got shape {beta.shape}")
    mc.check_model(couplings, beta)
    return couplings, field, beta


def pairwise_replica_generation(key: Array, target: Any, schedule: Schedule, **kwargs) -> ReplicaTrajectory:
    """`mc_replica_generation` of a pairwise Ising target (`pairwise_form`); kwargs as there."""
    couplings, field, beta = pairwise_form(target)
    return mc_replica_generation(key, couplings, field, beta, schedule, **kwargs)


def generated_law(spins: Array, couplings: Array, projections: Array | None = None) -> dict[str, Estimate]:
    """Law of B independent configurations of the same couplings (e.g. `ReplicaTrajectory.generated`): the energy
    per spin ⟨H⟩/N, H = −½ sᵀJs; ⟨q²⟩, ⟨q⁴⟩ and U₄ = 1 − ⟨q⁴⟩/(3⟨q²⟩²) over all B(B − 1) ordered pairs of distinct
    configurations, q_bc = s_b·s_c/N (U-statistics, unbiased for the moments); with ``projections`` v_p, the
    Mattis overlaps m_p = v_p·s/N: ⟨Σ_p m_p²⟩ and ⟨max_p |m_p|⟩. Errors: delete-one-configuration jackknife
    (Efron & Stein, Ann. Stat. 9, 586 (1981)), valid for the pair statistics too.

    Args:
        spins: (B ≥ 3, n) ±1; couplings: (n, n); projections: (P, n) or None.
    Returns:
        name -> Estimate(value, error) for energy, q2, q4, binder (and mattis2, mattis_max).
    """
    s = np.asarray(spins, dtype=float)
    J = np.asarray(couplings, dtype=float)
    if s.ndim != 2 or s.shape[0] < 3 or J.shape != (s.shape[1],) * 2:
        raise ValueError(f"spins must be (B >= 3, n) and couplings (n, n), got {s.shape} and {J.shape}")
    num, n = s.shape
    per = {"energy": -0.5 * np.einsum("bi,ij,bj->b", s, J, s) / n}
    if projections is not None:
        v = np.asarray(projections, dtype=float)
        if v.ndim != 2 or v.shape[1] != n:
            raise ValueError(f"projections must be (P, {n}), got {v.shape}")
        m = s @ v.T / n
        per |= {"mattis2": np.sum(m**2, -1), "mattis_max": np.max(np.abs(m), -1)}
    q = s @ s.T / n
    np.fill_diagonal(q, 0.0)
    pair_sums = {k: np.sum(q**k, 1) for k in (2, 4)}  # per configuration: Σ_{c ≠ b} q_bc^k
    full = {k: float(np.sum(v) / (num * (num - 1))) for k, v in pair_sums.items()}
    # leave out b: the pairs not involving b, (B − 1)(B − 2) ordered
    leave = {k: (full[k] * num * (num - 1) - 2.0 * v) / ((num - 1) * (num - 2)) for k, v in pair_sums.items()}

    def jackknife(value, loo):
        return Estimate(np.asarray(value), np.asarray(np.sqrt((num - 1) * np.mean((loo - loo.mean()) ** 2))))

    out = {}
    for name, values in per.items():
        loo = (values.sum() - values) / (num - 1)
        out[name] = jackknife(values.mean(), loo)
    out["q2"] = jackknife(full[2], leave[2])
    out["q4"] = jackknife(full[4], leave[4])
    out["binder"] = jackknife(1.0 - full[4] / (3.0 * full[2] ** 2), 1.0 - leave[4] / (3.0 * leave[2] ** 2))
    return out
