"""Single-spin-flip Monte Carlo for pairwise Ising targets: Metropolis and heat-bath sweeps, chains of sweeps.

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

Parallel tempering of these chains: `physics.tempering`; the Monte-Carlo denoiser E[s | x_t] with its error bar:
`physics.mc_posterior`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

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


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


def check_model(couplings: Array, beta: Array) -> None:
    """couplings J (n, n) square, symmetric, zero diagonal; beta β ≥ 0, a scalar or (chains,) (checked on concrete
    values only)."""
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
    """Chain state from spins (chains, n) and couplings J (n, n): g = J s (J symmetric), both (chains, n)."""
    spins = jnp.asarray(spins, dtype=jnp.result_type(couplings, float))
    return ChainState(spins, spins @ couplings)


def coupling_energy(state: ChainState) -> Array:
    """E_J(s) = ½ sᵀJs per chain, shape (chains,)."""
    return 0.5 * jnp.sum(state.spins * state.coupling_field, axis=-1)


def sweep(key: Array, state: ChainState, couplings: Array, field: Array, beta: Array, rule: str = "metropolis",
          bias: LevelBias | None = None):
    """N single-spin updates at uniform random sites for every chain → (ChainState, SweepInfo).

    state (chains, n), couplings (n, n); field broadcasts to (chains, n), beta to (chains,) (module docstring for
    the acceptance rules); with a `LevelBias` the chains sample ln P(s) + log_bias[c, K(s)] (module docstring),
    and SweepInfo.level_visits (chains, n + 1) counts K after every proposal (the histograms of umbrella sampling).
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
    """Per chain: coupling energy per spin −E_J/N and magnetisation m = Σs/N, each (chains,), of a state (chains, n)."""
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

    state (chains, n), couplings (n, n), field broadcastable to (chains, n), beta scalar or (chains,);
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

    couplings (n, n), field broadcastable to (num_chains, n), beta scalar or (num_chains,), init_spins
    (num_chains, n). Returns (final ChainState (num_chains, n), records (num_sweeps // thin, ...), acceptance
    (num_chains,)).
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


def _spins(state: ChainState):
    return state.spins


def _coupling_field(state: ChainState):
    return state.coupling_field
