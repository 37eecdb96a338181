"""Approximate message passing (AMP / TAP) for the posterior mean of a pairwise Ising target: a fast denoiser.

Target ln P(s) = β ½ sᵀJs + b·s + const (J symmetric, zero diagonal, SK: J_ij ~ N(0, 1/N)), observed through
x_t = α s + σ ξ. The posterior P(s | x_t = x) is the same model in the field h = b + α x/σ²
(`physics.montecarlo`), and its mean m = E[s | x_t = x] is approximated by the Thouless–Anderson–Palmer fixed point
    m_i = tanh(h_i + β Σ_j J_ij m_j − β² m_i Σ_j J_ij² (1 − m_j²))
(Thouless, Anderson & Palmer, Phil. Mag. 35, 593 (1977); with Σ_j J_ij² → 1/N the reaction term is
β²(1 − q) m_i, q = |m|²/N), reached by AMP with its Onsager correction (Bolthausen, Commun. Math. Phys. 325,
333 (2014); Bayati & Montanari, IEEE Trans. Inf. Theory 57, 764 (2011)):
    u^{k+1} = h + β J m^k − c_k ⊙ m^{k−1},   m^{k+1} = (1 − λ) m^k + λ tanh(u^{k+1}),
    c_k = β² (1/N) Σ_j (1 − (m_j^k)²)            (onsager="amp": the AMP coefficient, one per row)
    c_{k,i} = β² Σ_j J_ij² (1 − (m_j^k)²)          (onsager="tap": TAP's site-dependent reaction term)
from m⁻¹ = 0, m⁰ = tanh(h), with damping λ ∈ (0, 1] (λ = 1 is plain AMP). A fixed point of either
iteration solves the TAP equations above (with the matching reaction term).

Stochastic localisation (El Alaoui, Montanari & Sellke, arXiv 2203.05093, "Sampling from the
Sherrington–Kirkpatrick Gibbs measure via algorithmic stochastic localization") samples SK, μ(s) ∝ exp(β/2 sᵀAs)
with A from the GOE (the normalisation of `models.sk`), by running y(t) = t s + B(t) with the drift E[s | y(t)]
computed by AMP, and proves it for β < ½. Their field y at time t is our h = α x/σ² at α²/σ² = t
(h = (α²/σ²) s + (α/σ) ξ has mean t s and variance t), so the same AMP estimate gives the score of the
diffusion, (α E[s | x] − x)/σ² (Tweedie). Their AMP is followed by natural gradient descent on the TAP free
energy; here the damped iteration plays that role.

Measured against enumeration (mean |error| over x_t = α s + σ ξ, OU times 0.5, 1, 2): ∝ β³ and about
N^-0.4 with the TAP reaction term (β = 0.2: 3.6e-4 at N = 8, 2.4e-4 at N = 20; β = 0.4: 2.9e-3, 2.0e-3),
∝ β² with the averaged one (β = 0.4: 1.1e-2, 7.7e-3), and not decreasing with N without either (naive mean
field, β = 0.4: 2.6e-2, 3.1e-2). At N = 16 it degrades from β ≈ 0.75 (t ≥ 1: error/|E[s|x]| 0.06–0.15) and
fails beyond β ≈ 1 (t = 2: 0.35 at β = 1, 0.58 at β = 1.25); at β = 1.5 the damped iteration does not
converge for 4%, 64% and 100% of the x_t at t = 0.5, 1, 2. The law it generates as the score (ddpm, 100 steps)
at N = 64–256, against parallel tempering of the same couplings (scripts/validate_spin_glasses_at_scale.py
--sk-score amp): within the errors up to β = 1 (8 couplings × 256 particles; E/N to ±0.001 at N = 256); at
β = 1.05–1.1 an energy excess that vanishes with N (+0.005 at N = 64, within ±0.001 at N = 256); off at β = 1.2
(⟨q²⟩ −0.009 at every N, 4–7 errors), β = 1.3 and 1.4 (an energy excess, +0.016 and +0.025 at N = 64, that falls by
16 and 10 % to N = 256, against 52 % at β = 1.2) and β = 1.5 (E/N +0.034 at every N). Against enumeration at N = 12,
16 and 20 (scripts/amp_against_enumeration.py) it is off at β = 1.2 and 1.5 at every N and at β = 1 at N = 12 and 16
(E/N +0.010; +0.0024 ± 0.0014 at N = 20), where the exact score is not.
For comparison, the N → ∞ theory: the same authors' diffusion-process sampler is proved for the whole
replica-symmetric phase β < 1 of SK (Probab. Math. Phys. 6, 961 (2025), with a result of Celentano (2024)), and no
stable algorithm samples SK at β > 1 (the 2022 paper above).

`AMPDenoiser` is a small pytree with ``n`` and ``posterior_mean(x, alpha, sigma)``, so
`physics.scores.ExactScore(AMPDenoiser.from_target(sk), schedule)` is an (approximate) score function for
`physics.trajectory.reverse_sample`; everything is jittable and vmappable over particles and disorder.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_noise_level, is_concrete, pytree_dataclass, set_fields

Array = Any

ONSAGER = ("amp", "tap")


class AMPResult(NamedTuple):
    mean: Array  # (batch, n) the AMP/TAP estimate of E[s | field]
    residual: Array  # (batch,) max_i |m_i − tanh(h_i + βΣJ_ij m_j − c_i m_i)| at the returned m
    iterations: Array  # () iterations run


@pytree_dataclass(static=("max_iters", "onsager"))
class AMPDenoiser:
    """TAP/AMP denoiser E[s | x_t = x] for ln P(s) = β ½ sᵀJs + h·s (module docstring for the iteration).

    Args:
        couplings: J (n, n), symmetric with zero diagonal.
        beta: β ≥ 0.
        h: the target's field, a scalar or (n,) (log-weight units, not multiplied by β).
        damping: λ ∈ (0, 1]; 1 is undamped AMP.
        tol: stop when max |m^{k+1} − m^k| < tol over the whole batch.
        max_iters: at most this many iterations (static).
        onsager: "tap" (β² Σ_j J_ij²(1 − m_j²), TAP's reaction term, the default) or "amp" (β²(1 − q)).
    """

    couplings: Array
    beta: Array
    h: Array = 0.0
    damping: Array = 0.5
    tol: Array = 1e-10
    max_iters: int = 500
    onsager: str = "tap"

    def _prepare(self):
        if self.onsager not in ONSAGER:
            raise ValueError(f"onsager must be one of {ONSAGER}, got {self.onsager!r}")
        if isinstance(self.max_iters, bool) or not isinstance(self.max_iters, (int, np.integer)) or self.max_iters < 1:
            raise ValueError(f"max_iters must be a positive integer, got {self.max_iters!r}")
        J = jnp.asarray(self.couplings, dtype=jnp.result_type(float))
        if J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ValueError(f"couplings must be a square (n, n) matrix, got shape {J.shape}")
        if is_concrete(J):
            a = np.asarray(J)
            if not np.all(np.isfinite(a)) or not np.allclose(a, a.T, rtol=0, atol=1e-12) or np.any(np.diag(a) != 0):
                raise ValueError("couplings must be finite, symmetric, with a zero diagonal")
        beta, h, damping, tol = (jnp.asarray(v, dtype=J.dtype) for v in (self.beta, self.h, self.damping, self.tol))
        if is_concrete(beta, damping, tol):
            if not np.isfinite(float(beta)) or float(beta) < 0:
                raise ValueError(f"beta must be finite and >= 0, got {self.beta!r}")
            if not 0 < float(damping) <= 1:
                raise ValueError(f"damping must be in (0, 1] (1 = undamped AMP), got {self.damping!r}")
            if not float(tol) > 0:
                raise ValueError(f"tol must be > 0, got {self.tol!r}")
        if h.ndim > 1 or (h.ndim == 1 and h.shape[0] != J.shape[0]):
            raise ValueError(f"h must be a scalar or have shape ({J.shape[0]},), got shape {h.shape}")
        set_fields(self, couplings=J, beta=beta, h=h, damping=damping, tol=tol)

    @classmethod
    def from_target(cls, target: Any, **kwargs) -> "AMPDenoiser":
        """From a pairwise-Ising target with ``couplings``, ``beta``, ``h`` (SK, Edwards–Anderson, Hopfield)."""
        return cls(target.couplings, target.beta, target.h, **kwargs)

    @property
    def n(self) -> int:
        return self.couplings.shape[-1]

    def solve(self, field: Array) -> AMPResult:
        """Run the iteration in the total field h + ``field`` (batch, n) → AMPResult."""
        field = jnp.asarray(field, dtype=self.couplings.dtype)
        h = jnp.broadcast_to(self.h + field, jnp.broadcast_shapes(field.shape, (self.n,))).reshape(-1, self.n)
        return _iterate(self, h)

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x] ≈ the TAP fixed point in the field h + α x/σ², x of shape (..., n)."""
        check_noise_level(alpha, sigma)
        x = jnp.asarray(x)
        return self.solve(alpha * x / sigma**2).mean.reshape(x.shape)


def _reaction(denoiser: AMPDenoiser, m: Array) -> Array:
    """The Onsager coefficient c for iterate m (batch, n): (batch, 1) for "amp", (batch, n) for "tap"."""
    beta2 = denoiser.beta**2
    if denoiser.onsager == "amp":
        return beta2 * jnp.mean(1.0 - m**2, axis=-1, keepdims=True)
    return beta2 * (1.0 - m**2) @ (denoiser.couplings**2)


@jax.jit
def _iterate(denoiser: AMPDenoiser, h: Array) -> AMPResult:
    J, beta, lam = denoiser.couplings, denoiser.beta, denoiser.damping

    def step(m, m_prev):
        u = h + beta * (m @ J) - _reaction(denoiser, m) * m_prev
        return (1.0 - lam) * m + lam * jnp.tanh(u)

    def cond(carry):
        k, m, m_prev, change = carry
        return (k < denoiser.max_iters) & (change >= denoiser.tol)

    def body(carry):
        k, m, m_prev, _ = carry
        m_next = step(m, m_prev)
        return k + 1, m_next, m, jnp.max(jnp.abs(m_next - m))

    m0 = jnp.tanh(h)
    k, m, _, _ = jax.lax.while_loop(cond, body, (jnp.asarray(0), m0, jnp.zeros_like(m0), jnp.asarray(jnp.inf, h.dtype)))
    residual = jnp.max(jnp.abs(m - jnp.tanh(h + beta * (m @ J) - _reaction(denoiser, m) * m)), axis=-1)
    return AMPResult(m, residual, k)
