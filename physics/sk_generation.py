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
The forward-law reference. With an exact score, x_t along generation has the law of the forward process,
x_t = α_t s₀ + σ_t ξ with s₀ ~ P (Anderson, Stoch. Proc. Appl. 12, 313 (1982): the reverse SDE has the forward
marginals). `forward_replica_posterior` runs the same posterior chains (same sweeps, same tempering ladder,
same warm start from one time to the next) at x_t of that law instead of x_t of the reverse run, and records
the same q₁₂, q_ab and χ_SG: the law exact generation would show at every t, against which the Monte-Carlo-score
run is compared. `enumerated_replica_observables` gives the same posterior quantities exactly for N ≤ 20.
Many disorder samples. `mc_replica_generation_samples`, `forward_replica_posterior_samples` and
`tempering_references_samples` run D coupling matrices as one vmapped program (entry d equals the single-sample
function's with keys[d], up to rounding): on a GPU a block of 16 samples costs what 5–10 cost one by one.
Any pairwise target. The generation and the equilibrium take a coupling matrix, so they serve every target of the
form ln P(s) = β ½ sᵀJs + b·s: SK, Edwards–Anderson on any graph, Hopfield (J = ξᵀξ/N, zero diagonal), Curie–Weiss
(`pairwise_form` reads (J, b, β) off a target and names any other). `generated_law` measures the law of the B
generated configurations of one coupling matrix (energy, ⟨q²⟩ and U₄(q) over all pairs, Mattis overlaps), with
jackknife errors, for the comparison with `physics.tempering_equilibrium` of the same couplings (measured at
N = 64 for 2-D EA ±J, Hopfield K = 3 and SK, and for EA L = 10, Hopfield K = 4, 5 and SK N = 128, with the sweeps
and steps needed at β ≥ 1, by scripts/validate_spin_glasses_at_scale.py: docs/spin_glasses_at_scale.md);
`generated_law_difference` the difference of two runs with the same keys, configuration by configuration, with a
joint jackknife error (two scores on the same noise). The replica-symmetric theory of SK along the trajectory:
`physics.replica_symmetric`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_enumerable, check_positive_int, pytree_dataclass, spin_states

from . import montecarlo as mc
from .mc_score import SINGLE_EVALUATION, MCScore, check_posterior_chains
from .scaling import Estimate
from .schedules import Schedule
from .tempering import init_tempering, run_tempering
from .trajectory import reverse_sample, reverse_sample_stacked

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
    if sampler not in SINGLE_EVALUATION:
        raise ValueError(f"sampler must be one of {SINGLE_EVALUATION} (one score evaluation per step), got {sampler!r}")
    check_positive_int("batch", batch)
    _check_replica_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in)
    couplings = mc.as_couplings(couplings)
    score = _replica_score(couplings, field, beta, ladder, schedule, num_steps, chains_per_x, sweeps_per_step,
                           burn_in, rule)
    run = reverse_sample(key, score, schedule, num_steps=num_steps, batch=batch, n=couplings.shape[-1],
                         sampler=sampler, spacing=spacing, dtype=couplings.dtype)
    return _replica_trajectory(schedule.time_grid(num_steps, spacing), run.score_state, run.x, ladder is not None,
                               chains_per_x)


def mc_replica_generation_samples(
    keys: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, *, num_steps: int, batch: int,
    chains_per_x: int = 4, sweeps_per_step: int = 2, burn_in: int = 100, sampler: str = "ddpm",
    spacing: str = "log", rule: str = "heat_bath", ladder: Array | None = None,
) -> list[ReplicaTrajectory]:
    """`mc_replica_generation` of D disorder samples in one compiled program (`physics.trajectory.
    reverse_sample_stacked`, a `jax.vmap` over the samples): entry d is mc_replica_generation(keys[d],
    couplings[d], field, beta, …) up to floating-point rounding. On a GPU a small run is bound by the latency of its
    sequential spin updates, which the D samples share (measured on an H200 at β = 1.5, 16 rungs × 48 sweeps,
    batch 128 × 4: 16 samples together cost what 4.9 one by one do at N = 32 and 10 at N = 256, where the field
    updates' memory traffic dominates; benchmarks/RESULTS.md). On a CPU it gains nothing.

    Args:
        keys: (D, …) one PRNG key per sample; couplings: dense J (D, n, n); the rest as `mc_replica_generation`
            (field, beta and ladder shared by the samples).
    Returns:
        D ReplicaTrajectory, one per sample.
    """
    if sampler not in SINGLE_EVALUATION:
        raise ValueError(f"sampler must be one of {SINGLE_EVALUATION} (one score evaluation per step), got {sampler!r}")
    check_positive_int("batch", batch)
    couplings = _stacked_couplings(couplings, keys)
    for J in couplings:
        _check_replica_chains(J, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in)
    couplings = mc.as_couplings(couplings)
    num, n = couplings.shape[0], couplings.shape[-1]
    score = _replica_score(couplings, field, beta, ladder, schedule, num_steps, chains_per_x, sweeps_per_step,
                           burn_in, rule, copies=num)
    run = reverse_sample_stacked(keys, score, schedule, num_steps=num_steps, batch=batch, n=n, sampler=sampler,
                                 spacing=spacing, dtype=couplings.dtype)
    times = schedule.time_grid(num_steps, spacing)
    return _per_sample_trajectories(times, run.score_state, run.x, ladder is not None, chains_per_x)


def _check_replica_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in):
    """`check_posterior_chains` with the M ≥ 4 replicas that χ_SG needs."""
    check_posterior_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in,
                           min_chains=4, why=" (chi_SG needs four replicas)")


def _per_sample_trajectories(times, states: ReplicaScoreState, x, tempered: bool,
                             chains_per_x: int) -> list[ReplicaTrajectory]:
    """The ReplicaTrajectory of every sample of a stacked run (leading axis D on the states and x), split on the
    host after one transfer."""
    states, x = jax.device_get((states, x))
    return [_replica_trajectory(times, jax.tree_util.tree_map(lambda a: a[d], states), x[d], tempered, chains_per_x)
            for d in range(x.shape[0])]


def _stacked_couplings(couplings: Array, keys: Array) -> np.ndarray:
    """Dense couplings (D, n, n) with one key per sample, or a clear error."""
    couplings = np.asarray(couplings, dtype=jnp.result_type(float))
    num_keys = int(np.shape(jax.tree_util.tree_leaves(keys)[0])[0])
    if couplings.ndim != 3 or couplings.shape[1] != couplings.shape[2] or couplings.shape[0] != num_keys:
        raise ValueError(f"couplings must be (D, n, n) dense matrices with one key per sample, got shape "
                         f"{couplings.shape} and {num_keys} keys")
    return couplings


def _replica_score(couplings, field, beta, ladder, schedule, num_steps, chains_per_x, sweeps_per_step, burn_in, rule,
                   copies=None) -> ReplicaMCScore:
    """The `ReplicaMCScore` of the posterior chains; with ``copies`` = D, couplings (D, n, n) and field, β and
    ladder repeated along a leading axis D (the stacked score of `reverse_sample_stacked`)."""
    dtype = couplings.dtype

    def shared(value):
        value = jnp.asarray(value, dtype)
        return value if copies is None else jnp.broadcast_to(value, (copies,) + value.shape)

    inner = MCScore(couplings, shared(field), shared(beta), schedule, int(chains_per_x), int(sweeps_per_step),
                    int(burn_in), rule, num_steps + 1, None if ladder is None else shared(ladder))
    return ReplicaMCScore(inner)


def _replica_trajectory(times, state: ReplicaScoreState, x, tempered: bool, chains_per_x: int) -> ReplicaTrajectory:
    """The ReplicaTrajectory of one run from its score's final state and x at t_min."""
    generated = _first_chains(state.inner.chains.spins, tempered, x.shape[0], chains_per_x)
    return ReplicaTrajectory(times, state.q12, state.q_pairs, state.chi_sg, x, generated, state.inner.acceptance,
                             state.inner.swap_acceptance)


def _first_chains(spins: Array, tempered: bool, batch: int, chains_per_x: int) -> Array:
    """Chain 0's spins of every particle, (batch, n), from the chains' spins (batch · M, n) (with a ladder
    (R, batch · M, n): rung 0), sliced on the host."""
    s = np.asarray(spins)
    if tempered:
        s = s[0]
    return jax.device_put(s.reshape(batch, chains_per_x, -1)[:, 0])


# ---- the forward-law reference: the posterior at x_t of the forward process -----------------------------------
def tempering_references(key: Array, couplings: Array, betas: Array, *, num_chains: int, num_sweeps: int,
                         rule: str = "metropolis") -> tuple[Array, Array]:
    """Equilibrium configurations s₀ of ln P = β ½ sᵀJs at every β of ``betas``: the final spins of
    ``num_chains`` independent parallel-tempering chains (`physics.tempering.run_tempering`, Hukushima & Nemoto,
    J. Phys. Soc. Jpn. 65, 1604 (1996)) after ``num_sweeps`` sweeps from uniformly random spins (key: fold_in(key,
    0) for the start, fold_in(key, 1) for the run).

    Args:
        couplings: J (n, n); betas: (R ≥ 2,) the tempering ladder, increasing.
    Returns:
        spins (R, num_chains, n), swap acceptance (R − 1,) per neighbouring pair.
    """
    check_positive_int("num_chains", num_chains)
    check_positive_int("num_sweeps", num_sweeps)
    betas = _check_reference_betas(betas)
    mc._check_rule(rule)
    couplings = np.asarray(couplings, dtype=jnp.result_type(float))
    mc.check_model(couplings, 0.0)
    return _tempering_references(key, jax.device_put(couplings), jax.device_put(betas.astype(couplings.dtype)),
                                 num_chains=num_chains, num_sweeps=num_sweeps, rule=rule)


def tempering_references_samples(keys: Array, couplings: Array, betas: Array, *, num_chains: int, num_sweeps: int,
                                 rule: str = "metropolis") -> tuple[Array, Array]:
    """`tempering_references` of D disorder samples in one compiled program (`jax.vmap`): entry d is
    tempering_references(keys[d], couplings[d], betas, …) up to floating-point rounding.

    Args:
        keys: (D, …); couplings: J (D, n, n); the rest as `tempering_references`.
    Returns:
        spins (D, R, num_chains, n), swap acceptance (D, R − 1).
    """
    check_positive_int("num_chains", num_chains)
    check_positive_int("num_sweeps", num_sweeps)
    betas = _check_reference_betas(betas)
    mc._check_rule(rule)
    couplings = _stacked_couplings(couplings, keys)
    for J in couplings:
        mc.check_model(J, 0.0)
    return _tempering_references_stacked(keys, jax.device_put(couplings),
                                         jax.device_put(betas.astype(couplings.dtype)), num_chains=num_chains,
                                         num_sweeps=num_sweeps, rule=rule)


def _check_reference_betas(betas: Array) -> np.ndarray:
    betas = np.asarray(betas, dtype=float)
    if betas.ndim != 1 or betas.size < 2 or np.any(np.diff(betas) <= 0) or betas[0] < 0:
        raise ValueError(f"betas must be increasing, >= 0, with at least two values, got {betas}")
    return betas


@functools.partial(jax.jit, static_argnames=("num_chains", "num_sweeps", "rule"))
def _tempering_references_stacked(keys, couplings, betas, *, num_chains, num_sweeps, rule):
    """`_tempering_references` vmapped over keys and couplings."""
    return jax.vmap(lambda key, J: _tempering_references(key, J, betas, num_chains=num_chains,
                                                         num_sweeps=num_sweeps, rule=rule))(keys, couplings)


@functools.partial(jax.jit, static_argnames=("num_chains", "num_sweeps", "rule"))
def _tempering_references(key, couplings, betas, *, num_chains, num_sweeps, rule):
    """`tempering_references` after its checks: random start (fold_in(key, 0)), num_sweeps tempering sweeps
    (fold_in(key, 1)) → (spins (R, num_chains, n), swap acceptance (R − 1,))."""
    state = init_tempering(jax.random.fold_in(key, 0), couplings, betas.shape[0], num_chains)
    state, _, _, swaps = run_tempering(jax.random.fold_in(key, 1), couplings, jnp.zeros((), couplings.dtype), betas,
                                       state, num_sweeps=num_sweeps, rule=rule, observables=mc._nothing)
    return state.spins, swaps


@jax.jit
def _forward_run(key, score, times, references):
    """The posterior chains of ``score`` (a `ReplicaMCScore`) at x_k = α_k s₀ + σ_k ξ, k = 0…K, warm-started,
    ξ from fold_in(key, 2**31 − 1) → (the score's state after the last time, x at the last time)."""
    schedule = score.inner.schedule
    alphas, sigmas = schedule.alpha(times), schedule.sigma(times)
    noise = jax.random.normal(jax.random.fold_in(key, 2**31 - 1), references.shape, references.dtype)
    state = score.init(jax.random.fold_in(key, 2**31 - 2), alphas[0] * references + sigmas[0] * noise, times[0])

    def one(state, k):
        x = alphas[k] * references + sigmas[k] * noise
        _, state = score(jax.random.fold_in(jax.random.fold_in(key, k), 1), x, times[k], state)
        return state, None

    state, _ = jax.lax.scan(one, state, jnp.arange(times.shape[0]))
    return state, alphas[-1] * references + sigmas[-1] * noise


_forward_run_stacked = jax.jit(jax.vmap(_forward_run, in_axes=(0, 0, None, 0)))


def forward_replica_posterior(
    key: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, references: Array, *,
    num_steps: int, chains_per_x: int = 4, sweeps_per_step: int = 2, burn_in: int = 100, spacing: str = "log",
    rule: str = "heat_bath", ladder: Array | None = None,
) -> ReplicaTrajectory:
    """The replica observables of the posterior P(s | x_t) at x_t of the forward law (module docstring): the law
    that generation with an exact score would show.

    Particle b has x_{t_k} = α_{t_k} s₀_b + σ_{t_k} ξ_b on the grid ``schedule.time_grid(num_steps, spacing)``
    (one ξ_b per particle, ξ ~ N(0, I) from fold_in(key, 2**31 − 1); at every t_k this is the forward marginal
    of x_t given s₀). The M posterior chains are those of `mc_replica_generation` (`ReplicaMCScore`: same sweeps,
    ladder, warm start from t_{k−1}, burn-in at the start time with fold_in(key, 2**31 − 2), evaluation k with
    fold_in(fold_in(key, k), 1)); only x_t differs: the forward law here, the reverse run there.

    Args:
        couplings: J (n, n); field: b (n,) or scalar; beta: β; schedule, num_steps, spacing: the time grid.
        references: s₀ (batch, n), ±1 draws of the target (e.g. `tempering_references`).
        chains_per_x (M ≥ 4), sweeps_per_step, burn_in, rule, ladder: as `mc_replica_generation`.
    Returns:
        ReplicaTrajectory: times (K + 1,), q12, q_pairs, chi_sg per time and particle; x = x_{t_min};
        generated = chain 0's spins at t_min (a posterior draw); acceptance and swap acceptance per evaluation.
    """
    _check_replica_chains(couplings, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in)
    couplings = jnp.asarray(couplings, dtype=jnp.result_type(float))
    n = couplings.shape[-1]
    refs = np.asarray(references, dtype=float)
    if refs.ndim != 2 or refs.shape[1] != n or refs.shape[0] < 1 or not np.all(np.abs(refs) == 1):
        raise ValueError(f"references must be ±1 configurations of shape (batch, {n}), got shape {refs.shape}")
    times = schedule.time_grid(num_steps, spacing).astype(couplings.dtype)
    score = _replica_score(couplings, field, beta, ladder, schedule, num_steps, chains_per_x, sweeps_per_step,
                           burn_in, rule)
    state, x = _forward_run(key, score, times, jax.device_put(refs.astype(couplings.dtype)))
    return _replica_trajectory(times, state, x, ladder is not None, chains_per_x)


def forward_replica_posterior_samples(
    keys: Array, couplings: Array, field: Array, beta: Array, schedule: Schedule, references: Array, *,
    num_steps: int, chains_per_x: int = 4, sweeps_per_step: int = 2, burn_in: int = 100, spacing: str = "log",
    rule: str = "heat_bath", ladder: Array | None = None,
) -> list[ReplicaTrajectory]:
    """`forward_replica_posterior` of D disorder samples in one compiled program (`jax.vmap` over the samples):
    entry d is forward_replica_posterior(keys[d], couplings[d], field, beta, schedule, references[d], …) up to
    floating-point rounding.

    Args:
        keys: (D, …); couplings: dense J (D, n, n); references: s₀ (D, batch, n); the rest as
            `forward_replica_posterior`.
    Returns:
        D ReplicaTrajectory, one per sample.
    """
    couplings = _stacked_couplings(couplings, keys)
    num, n = couplings.shape[0], couplings.shape[-1]
    refs = np.asarray(references, dtype=float)
    if refs.ndim != 3 or refs.shape[0] != num or refs.shape[2] != n or refs.shape[1] < 1 or not np.all(
            np.abs(refs) == 1):
        raise ValueError(f"references must be ±1 configurations of shape ({num}, batch, {n}), got {refs.shape}")
    for J in couplings:
        _check_replica_chains(J, beta, ladder, rule, num_steps, sweeps_per_step, chains_per_x, burn_in)
    couplings = jnp.asarray(couplings)
    times = schedule.time_grid(num_steps, spacing).astype(couplings.dtype)
    score = _replica_score(couplings, field, beta, ladder, schedule, num_steps, chains_per_x, sweeps_per_step,
                           burn_in, rule, copies=num)
    states, x = _forward_run_stacked(keys, score, times, jax.device_put(refs.astype(couplings.dtype)))
    return _per_sample_trajectories(times, states, x, ladder is not None, chains_per_x)


def enumerated_replica_observables(couplings: Array, field: Array, beta: float, x: Array, alpha: float,
                                   sigma: float) -> tuple[Array, Array]:
    """Exact q₁₂ = |E[s | x]|²/N and χ_SG = (1/N) Σ_ij (⟨sᵢsⱼ⟩ − ⟨sᵢ⟩⟨sⱼ⟩)² of the posterior
    P(s | x_t = x) ∝ exp(β ½ sᵀJs + (b + α x/σ²)·s), by enumeration of the 2ᴺ states (N ≤ 20): the quantities
    that `ReplicaTrajectory.q12` and ``chi_sg`` estimate.

    Args:
        couplings: J (n, n); field: b (n,) or scalar; x: (batch, n); alpha, sigma: the noise level (σ > 0).
    Returns:
        q12 (batch,), chi_sg (batch,).
    """
    couplings = jnp.asarray(couplings, dtype=jnp.result_type(float))
    n = couplings.shape[-1]
    check_enumerable(n, "the posterior replica observables by enumeration")
    mc.check_model(couplings, beta)
    x = jnp.asarray(x, couplings.dtype)
    if x.ndim != 2 or x.shape[1] != n:
        raise ValueError(f"x must have shape (batch, {n}), got {x.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    states = spin_states(n, couplings.dtype)
    prior = 0.5 * beta * jnp.einsum("ki,ij,kj->k", states, couplings, states) + states @ jnp.broadcast_to(
        jnp.asarray(field, couplings.dtype), (n,))

    def one(xx):
        w = jax.nn.softmax(prior + alpha * states @ xx / sigma**2)
        m = w @ states
        c = jnp.einsum("k,ki,kj->ij", w, states, states) - jnp.outer(m, m)
        return jnp.sum(m**2) / n, jnp.sum(c**2) / n

    return jax.lax.map(one, x)


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
    return {name: _jackknife(value, loo) for name, (value, loo) in _law_leave_one_out(spins, couplings,
                                                                                        projections).items()}


def generated_law_difference(spins: Array, reference: Array, couplings: Array,
                             projections: Array | None = None) -> dict[str, Estimate]:
    """`generated_law` of ``spins`` minus that of ``reference``, configuration b of one paired with configuration b
    of the other (two runs with the same keys, so the same noise): the values are the differences of the two laws,
    the errors a joint delete-one jackknife that leaves out pair b from both runs, so that what the pairs share
    cancels (for independent runs it reduces to √(err₁² + err₂²) up to the jackknife's own scatter).

    Args:
        spins, reference: (B ≥ 3, n) ±1 each, row b of one paired with row b of the other; couplings, projections:
            as in `generated_law`.
    """
    if np.shape(spins) != np.shape(reference):
        raise ValueError(f"paired runs need the same shape, got {np.shape(spins)} and {np.shape(reference)}")
    first = _law_leave_one_out(spins, couplings, projections)
    second = _law_leave_one_out(reference, couplings, projections)
    return {name: _jackknife(first[name][0] - second[name][0], first[name][1] - second[name][1]) for name in first}


def _jackknife(value: float, leave_one_out: np.ndarray) -> Estimate:
    """The value with the delete-one jackknife error √((B − 1)/B · Σ_b (θ_(b) − θ̄_(·))²)."""
    loo = np.asarray(leave_one_out)
    return Estimate(np.asarray(value), np.asarray(np.sqrt((loo.size - 1) * np.mean((loo - loo.mean()) ** 2))))


def _law_leave_one_out(spins: Array, couplings: Array, projections: Array | None) -> dict:
    """name -> (estimate on all B configurations, (B,) estimates leaving out configuration b) of `generated_law`."""
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
    out = {name: (values.mean(), (values.sum() - values) / (num - 1)) for name, values in per.items()}
    out["q2"] = (full[2], leave[2])
    out["q4"] = (full[4], leave[4])
    out["binder"] = (1.0 - full[4] / (3.0 * full[2] ** 2), 1.0 - leave[4] / (3.0 * leave[2] ** 2))
    return out
