"""Parallel-tempering equilibrium of pairwise Ising couplings ln P(s) = β ½ sᵀJs + b·s, vmapped over disorder
samples: energy, overlap moments ⟨q²⟩, ⟨q⁴⟩ and the Binder cumulant U₄(q), Mattis overlaps, with errors from
`physics.chain_statistics` — the reference that generation (`physics.sk_generation`) is compared with.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import chain_statistics as cs
from . import montecarlo as mc
from .tempering import init_tempering, run_tempering

Array = Any


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
    binder: np.ndarray | None = None  # U₄ = 1 − ⟨q⁴⟩/(3⟨q²⟩²) per sample
    binder_err: np.ndarray | None = None  # its error to first order (`tempering_equilibrium`)
    mattis2: np.ndarray | None = None  # with projections v_p: ⟨Σ_p m_p²⟩, m_p = v_p·s/N
    mattis2_err: np.ndarray | None = None
    mattis_max: np.ndarray | None = None  # ⟨max_p |m_p|⟩
    mattis_max_err: np.ndarray | None = None


def _energy_and_overlap(state: mc.ChainState) -> dict:
    """Per chain H/N, and q = s_c·s_{c + C/2}/N for the pairs of chains (c, c + C/2)."""
    n = state.spins.shape[-1]
    half = state.spins.shape[0] // 2
    q = jnp.sum(state.spins[:half] * state.spins[half:2 * half], -1) / n
    return {"energy": -mc.coupling_energy(state) / n, "q": q}


def _mattis(projections: Array):
    """Observables of `_energy_and_overlap` and, per chain, Σ_p m_p² and max_p |m_p| with m_p = v_p·s/N."""

    def observables(state: mc.ChainState) -> dict:
        m = state.spins @ projections.T / state.spins.shape[-1]
        return {**_energy_and_overlap(state), "mattis2": jnp.sum(m**2, -1), "mattis_max": jnp.max(jnp.abs(m), -1)}

    return observables


@functools.partial(jax.jit, static_argnames=("num_chains", "num_sweeps", "burn_in", "rule", "mattis"))
def _tempering(key, couplings, fields, projections, betas, *, num_chains, num_sweeps, burn_in, rule, mattis):
    summary = jax.vmap(cs.chain_summary, in_axes=1)  # over temperatures: (steps, R, chains) → (R,)

    def one(k, J, b, V):
        observables = _mattis(V) if mattis else _energy_and_overlap
        state = init_tempering(jax.random.fold_in(k, 0), J, betas.shape[0], num_chains)
        state, _, _, _ = run_tempering(jax.random.fold_in(k, 1), J, b, betas, state, num_sweeps=burn_in,
                                       rule=rule, observables=mc._nothing)
        _, rec, _, swaps = run_tempering(jax.random.fold_in(k, 2), J, b, betas, state, num_sweeps=num_sweeps,
                                         rule=rule, observables=observables)
        q = rec["q"]
        e, q2, q4 = summary(rec["energy"]), summary(q**2), summary(q**4)
        # U₄ to first order: δU = −(δ⟨q⁴⟩ − 2 (⟨q⁴⟩/⟨q²⟩) δ⟨q²⟩)/(3⟨q²⟩²), the error of the linearised series
        ratio = q4.mean / q2.mean
        linear = summary(q**4 - 2.0 * ratio[None, :, None] * q**2)
        binder = 1.0 - ratio / (3.0 * q2.mean)
        out = (e.mean, e.stderr, q2.mean, q2.stderr, q4.mean, q4.stderr, q2.rhat, swaps, binder,
               linear.stderr / (3.0 * q2.mean**2))
        if mattis:
            m2, mmax = summary(rec["mattis2"]), summary(rec["mattis_max"])
            out += (m2.mean, m2.stderr, mmax.mean, mmax.stderr)
        return out

    keys = jax.vmap(lambda d: jax.random.fold_in(key, d))(jnp.arange(couplings.shape[0]))
    return jax.vmap(one)(keys, couplings, fields, projections)


def tempering_equilibrium(key: Array, couplings: Array, betas: Array, *, num_chains: int = 8, num_sweeps: int = 1000,
                          burn_in: int = 1000, rule: str = "metropolis", field: Array | None = None,
                          projections: Array | None = None) -> TemperingEquilibrium:
    """Energy and overlap moments of ln P = β ½ sᵀJs + b·s at every β of ``betas`` for D coupling matrices, by
    parallel tempering (`physics.tempering.run_tempering`, Hukushima & Nemoto 1996) vmapped over disorder.

    q = s_c·s_{c+C/2}/N for the C/2 pairs of independent chains at the same β; the per-sample means and their
    standard errors are `chain_statistics.chain_summary` of the recorded series (steps, chains or pairs), which
    accounts for autocorrelation and for chains that disagree. The Binder cumulant U₄ = 1 − ⟨q⁴⟩/(3⟨q²⟩²) gets
    the first-order (delta-method) error: the standard error of the series q⁴ − 2(⟨q⁴⟩/⟨q²⟩) q², over 3⟨q²⟩².
    The field b is not tempered (it stays whole at every β; it cancels from the exchange rule). With
    ``projections`` v_p (e.g. the Hopfield patterns ξ^μ), the Mattis overlaps m_p = v_p·s/N of every chain give
    ⟨Σ_p m_p²⟩ and ⟨max_p |m_p|⟩ (Amit, Gutfreund & Sompolinsky, Phys. Rev. A 32, 1007 (1985): retrieval states
    have one |m_μ| = O(1)).

    Args:
        key: sample d uses fold_in(key, d).
        couplings: (D, n, n), or a stacked `physics.montecarlo.NeighbourCouplings` (D, n, z); betas: (R,)
            increasing, R ≥ 2.
        num_chains: independent PT chains per sample (even, ≥ 4); num_sweeps ≥ 4 recorded after burn_in.
        field: b, scalar, (n,) or (D, n); None: 0.
        projections: (P, n) or (D, P, n), P ≥ 1; None: no Mattis overlaps.
    Returns:
        TemperingEquilibrium with arrays (D, R) (swap acceptance (D, R − 1); the mattis fields None without
        projections).
    """
    couplings = mc.as_couplings(couplings)
    if couplings.ndim != 3:
        raise ValueError(f"couplings must be stacked (D, n, n), got shape {couplings.shape}")
    host = jax.tree.map(np.asarray, couplings)
    for d in range(couplings.shape[0]):
        mc.check_model(jax.tree.map(lambda a: a[d], host), 0.0)
    num, n = couplings.shape[0], couplings.shape[-1]
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
    fields = np.asarray(0.0 if field is None else field, dtype=float)
    bad_shape = fields.ndim > 2 or (fields.ndim >= 1 and fields.shape[-1] != n) or (
        fields.ndim == 2 and fields.shape[0] != num)
    if bad_shape or not np.all(np.isfinite(fields)):
        raise ValueError(f"field must be finite, a scalar, (n,) or (D, n) with (D, n) = ({num}, {n}), "
                         f"got shape {fields.shape}")
    fields = np.broadcast_to(fields, (num, n))
    mattis = projections is not None
    if mattis:
        projections = np.asarray(projections, dtype=float)
        if projections.ndim == 2:
            projections = np.broadcast_to(projections, (num,) + projections.shape)
        if projections.ndim != 3 or projections.shape[0] != num or projections.shape[2] != n \
                or projections.shape[1] == 0 or not np.all(np.isfinite(projections)):
            raise ValueError(f"projections must be finite, (P, n) or (D, P, n) with P >= 1 and (D, n) = ({num}, {n}), "
                             f"got shape {np.shape(projections)}")
    else:
        projections = np.zeros((num, 1, n))
    out = _tempering(key, couplings, jnp.asarray(fields, couplings.dtype), jnp.asarray(projections, couplings.dtype),
                     jnp.asarray(betas, couplings.dtype), num_chains=num_chains, num_sweeps=num_sweeps,
                     burn_in=burn_in, rule=rule, mattis=mattis)
    return TemperingEquilibrium(*(np.asarray(a) for a in out))
