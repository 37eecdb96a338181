"""Parallel tempering of the single-spin-flip chains of `physics.montecarlo` (pairwise Ising targets).

Hukushima & Nemoto, J. Phys. Soc. Jpn. 65, 1604 (1996): replicas r at β_r; after each sweep, neighbours (r, r+1)
with r ≡ sweep (mod 2) exchange configurations with probability
    min(1, exp[(β_r − β_{r+1})(E_J(s_{r+1}) − E_J(s_r))])
(the field term is the same at every β and cancels).

State arrays carry a leading replica axis: (R, chains, n). Couplings are dense (n, n) or a
`physics.montecarlo.NeighbourCouplings` table (O(z) per flip instead of O(N)).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .montecarlo import ChainState, couplings_dtype, default_observables, init, sweep

Array = Any


class TemperingInfo(NamedTuple):
    acceptance: Array  # (R, chains) single-spin acceptance
    swap_acceptance: Array  # (R − 1,) fraction of attempted swaps accepted, averaged over chains


def tempering_sweep(key, state: ChainState, couplings, field, betas, parity, rule="metropolis"):
    """One sweep at every β_r, then replica exchange between pairs (r, r+1), r ≡ parity (mod 2).

    state arrays have shape (R, chains, n), couplings (n, n), betas (R,), field broadcastable to (chains, n).
    Returns (ChainState (R, chains, n), TemperingInfo).
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
    """Parallel tempering for ``num_sweeps`` sweeps; state arrays (R, chains, n), couplings (n, n), betas (R,)
    increasing or not, field broadcastable to (chains, n).

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
    """Uniformly random spins for R replicas × chains, couplings (n, n) (dense or `NeighbourCouplings`) → state
    arrays (R, chains, n)."""
    n = couplings.shape[0]
    spins = jax.random.rademacher(key, (num_replicas * num_chains, n), dtype=couplings_dtype(couplings))
    s = init(couplings, spins)
    return ChainState(s.spins.reshape(num_replicas, num_chains, n), s.coupling_field.reshape(num_replicas, num_chains, n))
