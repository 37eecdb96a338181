"""Single-spin-flip Monte Carlo for pairwise Ising targets, parallel tempering, and a Monte-Carlo denoiser.

Generic target (any model in the form, e.g. SK, Hopfield, Edwards–Anderson, Curie–Weiss with J = (11ᵀ − I)/N):
    ln P(s) = β E_J(s) + b·s + const,   E_J(s) = ½ sᵀJs,
J symmetric with zero diagonal (n, n), b the field (n,) or per chain (chains, n), β a scalar or one per chain.
The field is not multiplied by β (the package's convention, as in CurieWeiss), so a posterior
P(s | x_t) ∝ P(s) exp(α x·s/σ²) is the same model with b → b + α x/σ².

Kernel. Each chain stores its spins s and coupling fields g = J s; flipping spin i changes
ln P by Δ_i = −2 s_i (β g_i + b_i). Metropolis accepts with min(1, e^{Δ_i}); heat bath sets s_i = +1 with
probability 1/(1 + e^{−2(β g_i + b_i)}). After a flip g ← g + (s_i' − s_i) J[:, i]: O(N) per flip, O(N²) per
sweep. A sweep is N updates at independently uniform random sites (random-site Metropolis is aperiodic even
at β = 0, where a sequential sweep would not be). Chains are the leading axis of every array; disorder
samples are vmapped over by the caller.

Level bias (`LevelBias`, umbrella sampling): ln P(s) + b_c[K(s)] with K(s) = #(sᵢ = rᵢ), the number of spins
equal to a reference r, and b_c any table over the levels K = 0..N (one per chain). Only a bias quadratic in K
is a coupling r rᵀ plus a field; a tabulated one (a multicanonical −ln P(K) estimate) is not, so it enters the
kernel as an extra local field: with K₋ᵢ the level without spin i,
    ℓᵢ = β gᵢ + bᵢ + ½ (b_c[K₋ᵢ + (1 + rᵢ)/2] − b_c[K₋ᵢ + (1 − rᵢ)/2]),
the half log-ratio of the weights of sᵢ = +1 and sᵢ = −1, which both rules use in place of β gᵢ + bᵢ.

Parallel tempering (Hukushima & Nemoto, J. Phys. Soc. Jpn. 65, 1604 (1996)): replicas r at β_r; after each
sweep, neighbours (r, r+1) with r ≡ sweep (mod 2) exchange configurations with probability
min(1, exp[(β_r − β_{r+1})(E_J(s_{r+1}) − E_J(s_r))]) (the field term is the same at every β and cancels).

Errors (`physics.chain_statistics`): `integrated_time` (Sokal's self-consistent window M ≥ 5τ, autocovariance pooled over chains)
and effective sample size chains × steps/τ; `chain_summary` (multi-chain ESS and split-R̂ of Vehtari et al.
2021, floored by the spread of the chains) for many entries at once, used by the Monte-Carlo denoiser
`posterior_mean`, whose draws are Rao–Blackwellised single-site conditional means by default.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_memory

from .chain_statistics import chain_summary

Array = Any

RULES = ("metropolis", "heat_bath")


class ChainState(NamedTuple):
    spins: Array  # (chains, n), ±1 floats
    coupling_field: Array  # (chains, n), g = J s


class SweepInfo(NamedTuple):
    acceptance: Array  # (chains,), fraction of the N proposals that flipped a spin
    level_visits: Array | None = None  # with a LevelBias: (chains, N+1) counts of K(s) after each of the N proposals


class LevelBias(NamedTuple):
    """A factor exp(log_bias[c, K(s)]) on the law of chain c, K(s) = #(sᵢ = referenceᵢ) (module docstring)."""

    reference: Array  # (n,) ±1
    log_bias: Array  # (chains, n + 1), finite


def overlap_level(spins: Array, reference: Array) -> Array:
    """K = #(sᵢ = rᵢ) = (s·r + N)/2 per chain: spins (chains, n), reference (n,) -> (chains,) int32."""
    return jnp.round((spins @ reference + spins.shape[-1]) / 2).astype(jnp.int32)


class MCEstimate(NamedTuple):
    mean: Array  # (batch, n) estimate of E[s | x]
    stderr: Array  # (batch, n) standard error (`chain_summary`, floored for frozen spins)
    ess: Array  # (batch, n) multi-chain effective sample size
    rhat: Array  # (batch, n) split-R̂ (+inf: chains frozen on different values; nan: every draw equal)
    state: ChainState  # final chains, (batch · chains_per_x, n): pass back as ``init_state`` to warm-start
    acceptance: Array  # mean acceptance rate


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


def check_model(couplings: Array, beta: Array) -> None:
    """J square, symmetric, zero diagonal; β ≥ 0 (checked on concrete values only)."""
    J = jnp.asarray(couplings)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"couplings must be a square (n, n) matrix, got shape {J.shape}")
    if not isinstance(J, jax.core.Tracer):
        a = np.asarray(J)
        if not np.all(np.isfinite(a)) or not np.allclose(a, a.T, rtol=0, atol=1e-10) or np.any(np.diag(a) != 0):
            raise ValueError("couplings must be finite, symmetric, with a zero diagonal")
    if not isinstance(beta, jax.core.Tracer):
        b = np.asarray(beta)
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            raise ValueError(f"beta must be finite and >= 0, got {beta!r}")


def init(couplings: Array, spins: Array) -> ChainState:
    """Chain state from spins (chains, n): g = J s (J symmetric)."""
    spins = jnp.asarray(spins, dtype=jnp.result_type(couplings, float))
    return ChainState(spins, spins @ couplings)


def coupling_energy(state: ChainState) -> Array:
    """E_J(s) = ½ sᵀJs per chain, shape (chains,)."""
    return 0.5 * jnp.sum(state.spins * state.coupling_field, axis=-1)


def sweep(key: Array, state: ChainState, couplings: Array, field: Array, beta: Array, rule: str = "metropolis",
          bias: LevelBias | None = None):
    """N single-spin updates at uniform random sites for every chain → (ChainState, SweepInfo).

    field broadcasts to (chains, n), beta to (chains,) (module docstring for the acceptance rules); with a
    `LevelBias` the chains sample ln P(s) + log_bias[c, K(s)] (module docstring), and SweepInfo.level_visits
    counts K after every proposal (the histograms of umbrella sampling).
    """
    spins, g = state
    chains, n = spins.shape
    field = jnp.broadcast_to(field, (chains, n)).astype(spins.dtype)
    beta = jnp.broadcast_to(beta, (chains,)).astype(spins.dtype)
    k_site, k_u = jax.random.split(key)
    sites = jax.random.randint(k_site, (n, chains), 0, n)
    uniforms = jax.random.uniform(k_u, (n, chains), dtype=spins.dtype)
    rows = jnp.arange(chains)
    if bias is not None:
        reference = jnp.asarray(bias.reference, spins.dtype)
        table = jnp.broadcast_to(jnp.asarray(bias.log_bias, spins.dtype), (chains, n + 1))

    def update(carry, inputs):
        s, g, flips, level, visits = carry
        i, u = inputs
        s_i = s[rows, i]
        local = beta * g[rows, i] + field[rows, i]
        if bias is not None:
            r_i = reference[i]
            rest = level - ((1 + s_i * r_i) / 2).astype(jnp.int32)  # K without spin i
            up, down = rest + ((1 + r_i) / 2).astype(jnp.int32), rest + ((1 - r_i) / 2).astype(jnp.int32)
            local = local + 0.5 * (table[rows, up] - table[rows, down])
        if rule == "metropolis":
            new = jnp.where(u < jnp.exp(-2.0 * s_i * local), -s_i, s_i)
        else:
            new = jnp.where(u < jax.nn.sigmoid(2.0 * local), 1.0, -1.0).astype(s.dtype)
        change = new - s_i
        s = s.at[rows, i].set(new)
        g = g + change[:, None] * couplings[i]
        if bias is not None:
            level = level + (change * r_i / 2).astype(jnp.int32)
            visits = visits + (level[:, None] == jnp.arange(n + 1))
        return (s, g, flips + (change != 0), level, visits), None

    if bias is None:
        level, visits = jnp.zeros((chains,), jnp.int32), None
    else:
        level, visits = overlap_level(spins, reference), jnp.zeros((chains, n + 1), jnp.int32)
    init = (spins, g, jnp.zeros((chains,), spins.dtype), level, visits)
    (spins, g, flips, _, visits), _ = jax.lax.scan(update, init, (sites, uniforms))
    return ChainState(spins, g), SweepInfo(flips / n, visits)


def default_observables(state: ChainState) -> dict:
    """Per chain: coupling energy per spin −E_J/N and magnetisation m = Σs/N."""
    n = state.spins.shape[-1]
    return {"energy": -coupling_energy(state) / n, "magnetization": jnp.mean(state.spins, axis=-1)}


@functools.partial(jax.jit, static_argnames=("num_sweeps", "rule", "observables", "thin"))
def run_chains(
    key: Array,
    couplings: Array,
    field: Array,
    beta: Array,
    state: ChainState,
    *,
    num_sweeps: int,
    rule: str = "metropolis",
    observables: Callable[[ChainState], Any] = default_observables,
    thin: int = 1,
):
    """``num_sweeps`` sweeps as one lax.scan; returns (final ChainState, records, acceptance).

    records = observables(state) after every ``thin``-th sweep, leading axis num_sweeps // thin;
    acceptance (chains,) is averaged over all sweeps. Sweep k uses fold_in(key, k). Drop burn-in by slicing.
    """

    def block(carry, start):
        def one(c, k):
            s, acc = c
            s, info = sweep(jax.random.fold_in(key, k), s, couplings, field, beta, rule)
            return (s, acc + info.acceptance), None

        carry, _ = jax.lax.scan(one, carry, start + jnp.arange(thin))
        return carry, observables(carry[0])

    acc0 = jnp.zeros(state.spins.shape[:1], state.spins.dtype)
    (state, acc), records = jax.lax.scan(block, (state, acc0), jnp.arange(num_sweeps // thin) * thin)
    return state, records, acc / (num_sweeps // thin * thin)


def sample_chains(
    key: Array, couplings: Array, field: Array, beta: Array, *, num_chains: int, num_sweeps: int,
    burn_in: int = 0, rule: str = "metropolis", observables=default_observables, init_spins: Array | None = None,
    thin: int = 1,
):
    """Validated entry point: random (or given) initial spins, burn-in, then recorded sweeps.

    Returns (final ChainState, records (num_sweeps // thin, ...), acceptance (chains,)).
    """
    _check_rule(rule)
    check_model(couplings, beta)
    for name, value in (("num_chains", num_chains), ("num_sweeps", num_sweeps), ("thin", thin)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ValueError(f"burn_in must be a non-negative integer, got {burn_in!r}")
    n = couplings.shape[0]
    k_init, k_burn, k_run = jax.random.split(key, 3)
    if init_spins is None:
        init_spins = jax.random.rademacher(k_init, (num_chains, n), dtype=jnp.result_type(couplings, float))
    state = init(couplings, init_spins)
    if burn_in:
        state, _, _ = run_chains(k_burn, couplings, field, beta, state, num_sweeps=burn_in, rule=rule,
                                 observables=_nothing)
    return run_chains(k_run, couplings, field, beta, state, num_sweeps=num_sweeps, rule=rule,
                      observables=observables, thin=thin)


def _nothing(state: ChainState):
    return ()


# ---- parallel tempering --------------------------------------------------------------------------------------
class TemperingInfo(NamedTuple):
    acceptance: Array  # (R, chains) single-spin acceptance
    swap_acceptance: Array  # (R − 1,) fraction of attempted swaps accepted, averaged over chains


def tempering_sweep(key, state: ChainState, couplings, field, betas, parity, rule="metropolis"):
    """One sweep at every β_r, then replica exchange between pairs (r, r+1), r ≡ parity (mod 2).

    state arrays have shape (R, chains, n), betas (R,), field broadcastable to (chains, n).
    """
    R, chains, n = state.spins.shape
    k_sweep, k_swap = jax.random.split(key)
    flat = ChainState(state.spins.reshape(R * chains, n), state.coupling_field.reshape(R * chains, n))
    field = jnp.broadcast_to(field, (R, chains, n)).reshape(R * chains, n)
    flat, info = sweep(k_sweep, flat, couplings, field, jnp.repeat(betas, chains), rule)
    spins, g = flat.spins.reshape(R, chains, n), flat.coupling_field.reshape(R, chains, n)
    e = 0.5 * jnp.sum(spins * g, axis=-1)  # (R, chains)
    log_a = (betas[:-1, None] - betas[1:, None]) * (e[1:] - e[:-1])
    attempt = (jnp.arange(R - 1) % 2 == parity)[:, None]
    accept = attempt & (jnp.log(jax.random.uniform(k_swap, log_a.shape, dtype=spins.dtype)) < log_a)
    pad = jnp.zeros((1, chains), bool)
    with_next, with_prev = jnp.concatenate([accept, pad])[..., None], jnp.concatenate([pad, accept])[..., None]

    def exchange(a):
        return jnp.where(with_next, jnp.roll(a, -1, axis=0), jnp.where(with_prev, jnp.roll(a, 1, axis=0), a))

    swap_rate = jnp.sum(accept, axis=1) / chains
    return ChainState(exchange(spins), exchange(g)), TemperingInfo(info.acceptance.reshape(R, chains), swap_rate)


@functools.partial(jax.jit, static_argnames=("num_sweeps", "rule", "observables"))
def run_tempering(key, couplings, field, betas, state: ChainState, *, num_sweeps: int, rule: str = "metropolis",
                  observables: Callable[[ChainState], Any] = default_observables):
    """Parallel tempering for ``num_sweeps`` sweeps; state arrays (R, chains, n), betas (R,) increasing or not.

    Returns (final state, records with leading axes (num_sweeps, R, ...), acceptance (R,), swap acceptance
    (R − 1,) per attempted swap). observables act on a ChainState of one temperature (vmapped over R).
    """

    def one(carry, k):
        state, acc, swaps = carry
        state, info = tempering_sweep(jax.random.fold_in(key, k), state, couplings, field, betas, k % 2, rule)
        return (state, acc + info.acceptance.mean(1), swaps + info.swap_acceptance), jax.vmap(observables)(state)

    R = betas.shape[0]
    zeros = jnp.zeros((R,), state.spins.dtype)
    (state, acc, swaps), records = jax.lax.scan(one, (state, zeros, zeros[:-1]), jnp.arange(num_sweeps))
    attempts = jnp.array([(num_sweeps + 1 - r % 2) // 2 for r in range(R - 1)], state.spins.dtype)
    return state, records, acc / num_sweeps, swaps / jnp.maximum(attempts, 1)


def init_tempering(key, couplings, num_replicas: int, num_chains: int) -> ChainState:
    """Uniformly random spins for R replicas × chains, state arrays (R, chains, n)."""
    n = couplings.shape[0]
    spins = jax.random.rademacher(key, (num_replicas * num_chains, n), dtype=jnp.result_type(couplings, float))
    s = init(couplings, spins)
    return ChainState(s.spins.reshape(num_replicas, num_chains, n), s.coupling_field.reshape(num_replicas, num_chains, n))


# ---- Monte-Carlo denoiser ------------------------------------------------------------------------------------
ESTIMATORS = ("rao_blackwell", "spins")


def posterior_mean(
    key: Array, couplings: Array, field: Array, beta: Array, x: Array, alpha: Array, sigma: Array, *,
    chains_per_x: int = 32, num_sweeps: int = 200, burn_in: int = 100, rule: str = "heat_bath",
    init_state: ChainState | None = None, estimator: str = "rao_blackwell",
) -> MCEstimate:
    """E[s | x_t = x] by Monte Carlo on P(s) exp(α x·s/σ²): the target in the field b + α x/σ².

    Estimator. "spins" averages the recorded spins; "rao_blackwell" averages their conditional means
    E[sᵢ | s₋ᵢ] = tanh(β gᵢ + bᵢ + α xᵢ/σ²), g = Js, which have the same expectation and a smaller
    variance, and which are never exactly ±1 (Rao–Blackwellisation as in Gelfand & Smith, JASA 85, 398
    (1990), applied to single-site conditionals; valid for any rule, as it only uses the target). One draw
    per sweep.

    Error bar. ``chain_summary`` over the ``chains_per_x`` chains of each row (multi-chain ESS with the
    between-chain variance, floored by the spread of chain means). Entries where every draw of every
    chain is equal (a spin frozen in all chains) get the error of one independent spin per chain,
    √((1 − μ̃²)/M), μ̃ = μ̂ M/(M + 2) (Laplace's rule of succession on the M chains), never 0.

    Memory: the draws, 8 · num_sweeps · batch · chains_per_x · n bytes in float64.

    Args:
        x: (batch, n) or (n,); alpha, sigma: the schedule at the current time (σ > 0).
        chains_per_x: independent chains per row (≥ 2); num_sweeps ≥ 4 recorded sweeps after ``burn_in``.
        init_state: a previous estimate's ``state`` (batch · chains_per_x chains) to warm-start from.
    Returns:
        MCEstimate: mean, stderr, ess, rhat of the shape of x; the final state; the mean acceptance.
    """
    _check_rule(rule)
    check_model(couplings, beta)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if isinstance(chains_per_x, bool) or not isinstance(chains_per_x, (int, np.integer)) or chains_per_x < 2:
        raise ValueError(f"chains_per_x must be an integer >= 2 (the error bar needs two chains), got {chains_per_x!r}")
    if isinstance(num_sweeps, bool) or not isinstance(num_sweeps, (int, np.integer)) or num_sweeps < 4:
        raise ValueError(f"num_sweeps must be an integer >= 4 (split chains need two draws per half), "
                         f"got {num_sweeps!r}")
    if not isinstance(sigma, jax.core.Tracer) and np.any(np.asarray(sigma) <= 0):
        raise ValueError(f"sigma must be > 0 for a denoiser, got {sigma!r}")
    x = jnp.asarray(x)
    n = couplings.shape[0]
    batch = x.reshape(-1, n).shape[0]
    chains = batch * chains_per_x
    check_memory(8.0 * num_sweeps * chains * n * 3,
                 f"posterior_mean with {chains} chains x {num_sweeps} sweeps x n = {n}",
                 "call it on fewer rows of x at a time or record fewer sweeps")
    total_field = jnp.repeat(field + alpha * x.reshape(batch, n) / sigma**2, chains_per_x, axis=0)
    k_init, k_burn, k_run = jax.random.split(key, 3)
    if init_state is None:
        state = init(couplings, jax.random.rademacher(k_init, (chains, n), dtype=jnp.result_type(couplings, x.dtype, float)))
    elif init_state.spins.shape != (chains, n):
        raise ValueError(f"init_state must hold batch × chains_per_x = {chains} chains of {n} spins, got {init_state.spins.shape}")
    else:
        state = init_state
    if burn_in:
        state, _, _ = run_chains(k_burn, couplings, total_field, beta, state, num_sweeps=burn_in, rule=rule,
                                 observables=_nothing)
    observable = _coupling_field if estimator == "rao_blackwell" else _spins
    state, records, acc = run_chains(k_run, couplings, total_field, beta, state, num_sweeps=num_sweeps, rule=rule,
                                     observables=observable)
    summary = _summarise(records, total_field, jnp.broadcast_to(beta, (chains,)), batch, chains_per_x,
                         estimator == "rao_blackwell")
    return MCEstimate(*(a.reshape(x.shape) for a in summary), state, acc.mean())


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _summarise(records, total_field, beta, batch, chains_per_x, rao_blackwell):
    """Per row of x: draws (sweeps, chains_per_x, n) → ChainSummary, with the frozen-spin floor."""
    if rao_blackwell:
        records = jnp.tanh(beta[:, None] * records + total_field)
    steps, _, n = records.shape
    rows = jnp.moveaxis(records.reshape(steps, batch, chains_per_x, n), 1, 0)
    summary = jax.lax.map(chain_summary, rows)
    constant = jnp.all(rows == rows[:, :1, :1], axis=(1, 2))
    shrunk = summary.mean * chains_per_x / (chains_per_x + 2.0)
    floor = jnp.sqrt((1.0 - shrunk**2) / chains_per_x)
    stderr = jnp.where(constant, jnp.maximum(summary.stderr, floor), summary.stderr)
    return summary.mean, stderr, summary.ess, summary.rhat


def _spins(state: ChainState):
    return state.spins


def _coupling_field(state: ChainState):
    return state.coupling_field
