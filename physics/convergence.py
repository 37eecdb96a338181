"""Error of the generated law against the number of steps, for every sampler, with the exact score.

Gaussian targets (closed form). With a Gaussian target N(μ, Σ) the exact score is affine in x, so every
sampler step is affine in (state, noise): x' = A x + b + G ξ. The generated law stays Gaussian and its
mean and covariance propagate exactly, m' = A m + b, C' = A C Aᵀ + G Gᵀ. A is the Jacobian of the step;
b and G are read off the step evaluated at x = 0 on a few noise draws (a least-squares solve that is exact
for an affine map). The error is KL(generated ‖ exact) between Gaussians,

    KL = ½ [tr(C₂⁻¹C₁) + (m₂ − m₁)ᵀ C₂⁻¹ (m₂ − m₁) − n + ln det C₂ / det C₁],

with the exact law p_{t_min} (continuous samplers) or q₁ (discrete samplers of `physics.discrete`). The
run starts from the exact noised law at the first time (init="exact": discretisation error only) or from
the prior N(0, σ_T² I) (init="prior": adds the prior mismatch). For nearby Gaussians TV ∝ √KL, so the
TV rates of the theory (Li et al. arXiv 2306.09251, 2403.03852) are the exponents of √KL.

Curie–Weiss (statistical). TV between the exact magnetisation law P(m) and the histogram of m = mean(sign x)
over generated samples; the finite-sample floor E TV(P̂_B, P) of B exact draws is estimated by resampling.

Rates. `fit_rate` fits ln err = a − p ln T by (weighted) least squares and returns p with its standard error.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .discrete import DISCRETE_SAMPLERS, DiscreteState, LiSchedule, TargetScore, discrete_sample, li_schedule
from .samplers import SAMPLERS
from .schedules import Schedule
from .scores import ExactScore
from .trajectory import reverse_sample

Array = Any
ALL_SAMPLERS = tuple(SAMPLERS) + tuple(DISCRETE_SAMPLERS)
#: TV exponents: continuous-time first-order schemes 1, Heun 2 (ODE theory); discrete ones: physics.discrete.
THEORY_RATE = {
    "euler_maruyama": 1.0,
    "ddpm": 1.0,
    "pf_euler": 1.0,
    "pf_heun": 2.0,
    "ddim": 1.0,
    "li_ode": 1.0,
    "li_ddpm": 0.5,
    "li_ddpm_acc": 1.0,
    "li_ddim_acc": 2.0,
}


def check_sampler(name: str) -> None:
    if name not in ALL_SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(ALL_SAMPLERS)}")


def gaussian_kl(m1: Array, c1: Array, m2: Array, c2: Array) -> float:
    """KL(N(m1, c1) ‖ N(m2, c2)) in float64 (module docstring)."""
    m1, c1, m2, c2 = (np.asarray(v, dtype=np.float64) for v in (m1, c1, m2, c2))
    n = m1.shape[0]
    c2inv = np.linalg.inv(c2)
    d = m2 - m1
    _, logdet1 = np.linalg.slogdet(c1)
    _, logdet2 = np.linalg.slogdet(c2)
    return float(0.5 * (np.trace(c2inv @ c1) + d @ c2inv @ d - n + logdet2 - logdet1))


def _propagate(step_rows, mean, cov, steps, noise_dim):
    """Exact mean and covariance after the affine steps step_rows(key, k, z (rows, dim)) -> (z', ξ (rows, noise_dim))."""
    dim = mean.shape[0]
    rows = 2 * noise_dim + 2
    key = jax.random.PRNGKey(0)

    def body(carry, k):
        m, c = carry
        a = jax.jacfwd(lambda z: step_rows(key, k, z[None])[0][0])(jnp.zeros(dim, mean.dtype))
        out, xi = step_rows(key, k, jnp.zeros((rows, dim), mean.dtype))
        design = jnp.concatenate([jnp.ones((rows, 1), mean.dtype), xi], axis=1)
        coef = jnp.linalg.lstsq(design, out)[0]
        b, g = coef[0], coef[1:].T
        return (a @ m + b, a @ c @ a.T + g @ g.T), None

    (m, c), _ = jax.lax.scan(body, (mean, cov), steps)
    return m, c


def propagate_continuous(target, schedule: Schedule, sampler: str, num_steps: int, init: str = "exact"):
    """(mean, cov) generated at t_min by a sampler of `physics.samplers` on a Gaussian target, and the exact ones."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown continuous sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    _check_init(init)
    times = schedule.time_grid(num_steps)
    score_fn = ExactScore(target, schedule)
    step = SAMPLERS[sampler]
    n = target.n

    def step_rows(key, k, x):
        x_new, info = step(key, x, times[k], times[k + 1], score_fn, schedule)
        return x_new, info.noise

    start = target.marginal(schedule.alpha(times[0]), schedule.sigma(times[0]))
    m0, c0 = (start.mean, start.cov) if init == "exact" else (jnp.zeros(n), schedule.sigma(times[0]) ** 2 * jnp.eye(n))
    m, c = jax.jit(_propagate, static_argnums=(0, 4))(step_rows, m0, c0, jnp.arange(num_steps), n)
    end = target.marginal(schedule.alpha(times[-1]), schedule.sigma(times[-1]))
    return (m, c), (end.mean, end.cov)


def propagate_discrete(target, schedule: LiSchedule, sampler: str, init: str = "exact"):
    """(mean, cov) of Y₁ from a sampler of `physics.discrete` on a Gaussian target, and those of q₁."""
    if sampler not in DISCRETE_SAMPLERS:
        raise ValueError(f"unknown discrete sampler {sampler!r}; choose one of {sorted(DISCRETE_SAMPLERS)}")
    _check_init(init)
    n = target.n
    step = DISCRETE_SAMPLERS[sampler]
    score_fn = TargetScore(target)
    T = schedule.num_steps

    def step_rows(key, t, z):
        state, info = step(key, DiscreteState(z[:, :n], z[:, n:]), t, schedule, score_fn)
        return jnp.concatenate([state.x, state.eps], axis=1), info.noise

    def law(abar):
        g = target.marginal(jnp.sqrt(abar), jnp.sqrt(1 - abar))
        return g.mean, g.cov

    m0, c0 = law(schedule.alpha_bar[T - 1]) if init == "exact" else (jnp.zeros(n), jnp.eye(n))
    big_m = jnp.concatenate([m0, jnp.zeros(n)])
    big_c = jnp.zeros((2 * n, 2 * n)).at[:n, :n].set(c0)
    noise_dim = 2 * n if sampler == "li_ddpm_acc" else n
    m, c = jax.jit(_propagate, static_argnums=(0, 4))(step_rows, big_m, big_c, jnp.arange(T, 1, -1), noise_dim)
    return (m[:n], c[:n, :n]), law(schedule.alpha_bar[0])


def gaussian_error(
    target, sampler: str, num_steps: int, *, schedule: Schedule | None = None, c0: float = 2.0, c1: float = 4.0,
    init: str = "exact",
) -> float:
    """KL(generated ‖ exact) for a Gaussian target after num_steps steps (T of Li et al. for discrete samplers)."""
    check_sampler(sampler)
    if sampler in DISCRETE_SAMPLERS:
        gen, exact = propagate_discrete(target, li_schedule(num_steps, c0, c1), sampler, init)
    else:
        if schedule is None:
            raise ValueError(f"sampler {sampler!r} runs in continuous time: give a schedule")
        gen, exact = propagate_continuous(target, schedule, sampler, num_steps, init)
    return gaussian_kl(*gen, *exact)


def _check_init(init: str) -> None:
    if init not in ("exact", "prior"):
        raise ValueError(f"init must be 'exact' or 'prior', got {init!r}")


# ---- Curie–Weiss: TV of the magnetisation law ------------------------------------------------------------
def magnetization_tv(spins_mean: Array, law: tuple[np.ndarray, np.ndarray]) -> float:
    """½ Σ_m |P̂(m) − P(m)| for generated m = mean(sign x) (batch,) against the exact law (m values, P(m))."""
    m_values, p = law
    n = len(m_values) - 1
    k = np.rint((np.asarray(spins_mean) * n + n) / 2).astype(int)
    counts = np.bincount(np.clip(k, 0, n), minlength=n + 1)
    return float(0.5 * np.abs(counts / counts.sum() - p).sum())


def tv_floor(law: tuple[np.ndarray, np.ndarray], batch: int, seed: int = 0, reps: int = 200) -> tuple[float, float]:
    """Mean and standard deviation of TV(P̂_B, P) for B = batch exact draws (the finite-sample floor)."""
    p = law[1]
    counts = np.random.default_rng(seed).multinomial(batch, p / p.sum(), size=reps)
    tv = 0.5 * np.abs(counts / batch - p).sum(axis=1)
    return float(tv.mean()), float(tv.std(ddof=1))


def curie_weiss_tv(
    key: Array, target, sampler: str, num_steps: int, batch: int, *, schedule: Schedule | None = None,
    c0: float = 2.0, c1: float = 4.0,
) -> float:
    """TV of the magnetisation of sign(x) generated from the prior with the exact score (one run)."""
    check_sampler(sampler)
    if sampler in DISCRETE_SAMPLERS:
        x0 = jax.random.normal(jax.random.fold_in(key, 2**31 - 1), (batch, target.n))
        x = discrete_sample(key, TargetScore(target), li_schedule(num_steps, c0, c1), x0, sampler)
    else:
        if schedule is None:
            raise ValueError(f"sampler {sampler!r} runs in continuous time: give a schedule")
        x = reverse_sample(key, ExactScore(target, schedule), schedule, num_steps=num_steps, batch=batch, n=target.n,
                           sampler=sampler).x
    return magnetization_tv(jnp.mean(jnp.sign(x), axis=-1), target.magnetization_law())


# ---- rate fits ----------------------------------------------------------------------------------------------
class RateFit(NamedTuple):
    """err ≈ exp(intercept) T^{−rate}; rate_err is the 1σ standard error; chi2_red = 1 when no error bars."""

    rate: float
    rate_err: float
    intercept: float
    chi2_red: float


def fit_rate(num_steps: Array, err: Array, err_sd: Array | None = None) -> RateFit:
    """Least squares of ln err on ln T (weights 1/σ²_{ln err}, σ_{ln err} = sd/err, when err_sd is given).

    With error bars the slope variance is (Σ w (x − x̄)²)⁻¹ inflated by max(1, χ²_red); without, the
    ordinary residual estimate RSS/(k − 2) is used. Needs at least 3 points and err > 0.
    """
    x, y = np.log(np.asarray(num_steps, dtype=float)), np.asarray(err, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise ValueError(f"need >= 3 matching (num_steps, err) points, got shapes {x.shape}, {y.shape}")
    if np.any(y <= 0):
        raise ValueError(f"err must be > 0 to fit a power law (subtract floors first), got {y}")
    y = np.log(y)
    w = np.ones_like(x) if err_sd is None else (np.asarray(err, float) / np.asarray(err_sd, float)) ** 2
    xm, ym = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * (y - ym)) / sxx
    resid = y - ym - slope * (x - xm)
    chi2_red = float(np.sum(w * resid**2) / (x.size - 2))
    var = (chi2_red if err_sd is None else max(1.0, chi2_red)) / sxx
    return RateFit(float(-slope), float(np.sqrt(var)), float(ym - slope * xm), chi2_red if err_sd is not None else 1.0)
