"""Monte-Carlo denoiser of a pairwise Ising target: E[s | x_t = x] from chains of `physics.montecarlo` with an
honest error bar.

The posterior P(s | x_t = x) ∝ P(s) exp(α x·s/σ²) is the target in the field b + α x/σ² (`physics.montecarlo`,
module docstring), so its mean is the magnetisation of ``chains_per_x`` chains run in that field.

Estimator: the recorded spins, or by default their Rao–Blackwellised single-site conditional means (`posterior_mean`).
Errors (`physics.chain_statistics.chain_summary`): multi-chain ESS and split-R̂ of Vehtari, Gelman, Simpson,
Carpenter & Bürkner (Bayesian Analysis 16, 667 (2021)) over the chains of each row, floored by the spread of the
chains and, for spins frozen in every chain, by the error of one independent spin per chain.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_memory

from .chain_statistics import chain_summary
from .montecarlo import (ChainState, _check_rule, _coupling_field, _nothing, _spins, check_model, couplings_dtype, init,
                         run_chains)

Array = Any


class MCEstimate(NamedTuple):
    mean: Array  # (batch, n) estimate of E[s | x]
    stderr: Array  # (batch, n) standard error (`chain_summary`, floored for frozen spins)
    ess: Array  # (batch, n) multi-chain effective sample size
    rhat: Array  # (batch, n) split-R̂ (+inf: chains frozen on different values; nan: every draw equal)
    state: ChainState  # final chains, (batch · chains_per_x, n): pass back as ``init_state`` to warm-start
    acceptance: Array  # mean acceptance rate



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
        couplings: J (n, n), dense or a `physics.montecarlo.NeighbourCouplings` table; field: b (n,) or scalar;
            beta: β (scalar).
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
        dtype = jnp.result_type(couplings_dtype(couplings), x.dtype)
        state = init(couplings, jax.random.rademacher(k_init, (chains, n), dtype=dtype))
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
