"""Generation with an exact score plus a controlled error, and the path-KL (Girsanov) bound on its effect.

The error is put on the denoiser, where a Monte-Carlo or learned estimate makes it: with D = E[s | x_t = x]
the exact denoiser and ∇ln p_t = (α_t D − x)/σ_t² (Tweedie),

    D̂ = (1 − b) D + ε ζ,   ζ ~ N(0, I) drawn afresh at every evaluation,
    ŝ = (α_t D̂ − x)/σ_t² = ∇ln p_t + α_t (ε ζ − b D)/σ_t²,

so ε is an unbiased noise of the size a finite-sample Monte-Carlo average has (standard error ε per
component), and b a shrinkage of the denoiser towards 0 (a lagging chain). `PerturbedScore` is a stateful
score (`physics.integrator`): the i-th evaluation of step k draws ζ from fold_in(fold_in(key, k), i), a key
the sampler never uses for its own noise, so every level sees the same sampler noise, and a run with ε = b = 0
(`perturb`) is the exact-score run bit for bit.

Path-KL bound. A stochastic sampler step is Gaussian, x_{k+1} ~ N(μ_k(x_k, D), c_k I), and the error shifts
its mean by δ_k = a_k ΔD_k with ΔD = D̂ − D = εζ − bD. The chains with the exact and the perturbed score then
have (chain rule of the KL over the steps; Girsanov's theorem in the continuum, Chen et al., ICLR 2023
"Sampling is as easy as learning the score", Thm. 2, eq. 5)

    KL(Q_exact ‖ Q_ζ) = Σ_k a_k² E_{Q_exact}|ΔD_k|² / (2 c_k)

for every fixed ζ path, and by the joint convexity of the KL, KL(Q_exact ‖ E_ζ Q_ζ) is at most its mean over
ζ, with E|ΔD_k|² = ε² N + b² E|D(x_k, t_k)|² (ζ independent of x, mean 0). Data processing carries the bound to
any function of the final state (e.g. the law of m = Σ sign(x)/N), and Pinsker's inequality
TV ≤ √(KL/2) to the total variation. Per sampler (notation of `physics.samplers`, Δ = t − s):

    euler_maruyama   a = g_t² Δ α_t/σ_t²,           c = g_t² Δ          →  a²/(2c) = ½ g_t² Δ α_t²/σ_t⁴
    ddpm             a = α_s σ²_{t|s}/σ_t²,          c = σ²_{t|s} σ_s²/σ_t²  →  a²/(2c) = α_s² σ²_{t|s}/(2 σ_t² σ_s²)

both → ½ g² α²/σ⁴ dt as Δ → 0, i.e. ½ ∫ g² E|ŝ − ∇ln p_t|² dt.

Gaussian check (`gaussian_shrunk_variance`): for N(0, v I) data the exact denoiser is linear, D = α v x/V_t with
V_t = α_t² v + σ_t², so the shrunk score is ŝ = −k_t x with k_t = (b α_t² v + σ_t²)/(σ_t² V_t) and the reverse
SDE dx = [f x − g² ŝ] dt + g dW̄ is linear: its variance obeys dV/dt = 2 (f_t + g_t² k_t) V − g_t² in diffusion
time, from V(T) = σ_T² (the prior) down to t_min.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import denoiser_from_score, pytree_dataclass

from .schedules import Schedule, noise_levels

Array = Any

#: Samplers with a Gaussian step whose mean the denoiser error shifts (the path-KL bound needs a noise).
BOUND_SAMPLERS = ("euler_maruyama", "ddpm")


@pytree_dataclass(static=("active",))
class PerturbedScore:
    """Stateful score ŝ = ∇ln p_t + α_t (ε ζ − b D)/σ_t² (module docstring) around a pure score_fn(x, t).

    score(key, x, t, state) -> (ŝ (batch, n), state): D = (x + σ_t² s(x, t))/α_t, ζ ~ N(0, I) from ``key``.
    ``noise`` = ε ≥ 0 and ``bias`` = b are traced: one compilation serves every non-zero level. ``active``
    (static) False makes the score s(x, t) itself, the same computation as the exact-score run, so that the
    zero error reproduces it bit for bit (XLA fuses s + 0 differently from s, a difference at float rounding);
    build with `perturb`, which sets it from the levels.
    """

    base: Any
    schedule: Schedule
    noise: Array = 0.0
    bias: Array = 0.0
    active: bool = True

    def init(self, key: Array, x: Array, t: Array) -> None:
        return None

    def __call__(self, key: Array, x: Array, t: Array, state: Any) -> tuple[Array, Any]:
        value = self.base(x, t)
        if not self.active:
            return value, state
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        denoised = denoiser_from_score(value, x, alpha, sigma)
        zeta = jax.random.normal(key, x.shape, x.dtype)
        error = self.noise * zeta - self.bias * denoised
        return value + alpha * error / sigma**2, state


def perturb(base: Any, schedule: Schedule, noise: float, bias: float, *,
            exact_at_zero: bool = True) -> PerturbedScore:
    """`PerturbedScore` of a pure score_fn(x, t) with denoiser noise ε = ``noise`` and shrinkage b = ``bias``
    (checked, `check_error`); ε = b = 0 gives the inactive score (bit for bit the exact-score run), unless
    ``exact_at_zero`` is False: then the levels are traced at zero too, so that one compiled program serves every
    level, zero included (equal to the exact-score run to float rounding)."""
    check_error(float(noise), float(bias))
    active = not (exact_at_zero and float(noise) == 0.0 and float(bias) == 0.0)
    return PerturbedScore(base, schedule, jnp.asarray(noise, jnp.result_type(float)),
                          jnp.asarray(bias, jnp.result_type(float)), active)


def check_error(noise: float, bias: float) -> None:
    """ε must be finite and ≥ 0, b finite and < 1 (b = 1 removes the denoiser; b < 0 inflates it)."""
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise (ε) must be a finite number >= 0, got {noise}")
    if not (np.isfinite(bias) and bias < 1):
        raise ValueError(f"bias (b) must be a finite number < 1, got {bias}")


def step_kl_weights(schedule: Schedule, times: Array, sampler: str) -> np.ndarray:
    """a_k²/(2 c_k) of each step t_k → t_{k+1} (module docstring), (K,) for times (K + 1,), float64."""
    if sampler not in BOUND_SAMPLERS:
        raise ValueError(f"the path-KL bound needs a Gaussian step: sampler must be one of {BOUND_SAMPLERS}, "
                         f"got {sampler!r}")
    times = np.asarray(times, dtype=np.float64)
    t, s = times[:-1], times[1:]
    if times.ndim != 1 or times.size < 2 or np.any(s >= t):
        raise ValueError("times must be a decreasing (K + 1,) grid with K >= 1")
    alpha_t, sigma_t = (np.asarray(v, float) for v in noise_levels(schedule, t))
    if sampler == "euler_maruyama":
        g2 = np.asarray(schedule.diffusion2(t), float)
        return 0.5 * g2 * (t - s) * alpha_t**2 / sigma_t**4
    alpha_s, sigma_s = (np.asarray(v, float) for v in noise_levels(schedule, s))
    var_ts = sigma_t**2 - (alpha_t / alpha_s) ** 2 * sigma_s**2
    return alpha_s**2 * var_ts / (2 * sigma_t**2 * sigma_s**2)


def path_kl_bound(schedule: Schedule, times: Array, sampler: str, noise: float, bias: float, n: int,
                  mean_denoiser2: Array) -> float:
    """Σ_k a_k²/(2c_k) (ε² N + b² E|D_k|²): KL(exact-score chain ‖ perturbed chain), an upper bound on the KL
    of the law of any function of the final state (module docstring).

    Args:
        times: (K + 1,) the sampler's grid, t_0 = T > … > t_K = t_min.
        n: dimension N.
        mean_denoiser2: (K,) E|D(x_k, t_k)|² under the exact-score chain at the start of each step (e.g.
            recorded along the exact-score run), or a scalar.
    """
    check_error(noise, bias)
    weights = step_kl_weights(schedule, times, sampler)
    d2 = np.broadcast_to(np.asarray(mean_denoiser2, dtype=np.float64), weights.shape)
    return float(np.sum(weights * (noise**2 * n + bias**2 * d2)))


def pinsker(kl: Array) -> Array:
    """Pinsker's bound on the total variation, √(KL/2) (capped at 1, the largest TV)."""
    return np.minimum(np.sqrt(0.5 * np.asarray(kl, dtype=np.float64)), 1.0)


def gaussian_shrunk_variance(v: float, bias: float, schedule: Schedule, t_min: float | None = None) -> float:
    """Generated variance per component of the reverse SDE with the shrunk denoiser D̂ = (1 − b) D, data N(0, v I).

    With k_t = (b α_t² v + σ_t²)/(σ_t² V_t), V_t = α_t² v + σ_t² (module docstring), the reverse SDE
    dx = [f x + g² k_t x] dt + g dW̄ (dt < 0) run from t = T to t_min has the variance V of its marginal obeying, in
    diffusion time t (decreasing along generation),

        dV/dt = 2 (f_t + g_t² k_t) V − g_t²,   V(T) = σ_T² (the prior N(0, σ_T² I)),

    integrated in u = ln t by the classical Runge–Kutta method on 20 000 uniform steps (global error O(h⁴),
    h = ln(T/t_min)/20 000; below 1e-10 relative for OU, T = 5, t_min = 1e-3). b = 0 gives V(t) = V_t up to the prior's
    mismatch α_T² v, which decays as the reverse SDE contracts.
    """
    check_error(0.0, bias)
    if not v > 0:
        raise ValueError(f"v must be > 0, got {v}")
    t_min = schedule.t_min if t_min is None else float(t_min)
    T = float(schedule.T)

    steps = 20_000  # RK4 in u = ln t on a uniform grid, coefficients at the nodes and midpoints
    u = np.linspace(np.log(T), np.log(t_min), 2 * steps + 1)
    t = jnp.asarray(np.exp(u))
    alpha, sigma, f, g2 = (np.asarray(c, np.float64) for c in (schedule.alpha(t), schedule.sigma(t),
                                                              schedule.drift(t), schedule.diffusion2(t)))
    vt = alpha**2 * v + sigma**2
    k = (bias * alpha**2 * v + sigma**2) / (sigma**2 * vt)
    rate, source = np.exp(u) * 2 * (f + g2 * k), -np.exp(u) * g2  # dV/du = rate V + source
    h = u[2] - u[0]
    V = float(sigma[0]) ** 2
    for j in range(0, 2 * steps, 2):
        k1 = rate[j] * V + source[j]
        k2 = rate[j + 1] * (V + 0.5 * h * k1) + source[j + 1]
        k3 = rate[j + 1] * (V + 0.5 * h * k2) + source[j + 1]
        k4 = rate[j + 2] * (V + h * k3) + source[j + 2]
        V += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
    return float(V)
