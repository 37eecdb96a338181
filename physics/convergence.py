"""Error of the generated law against the number of steps, for every sampler, with the exact score.

Gaussian targets (closed form). With a Gaussian target N(μ, Σ) the exact score is affine in x, so every
sampler step is affine in (state, noise): x' = A x + b + G ξ. The generated law stays Gaussian and its
mean and covariance propagate exactly, m' = A m + b, C' = A C Aᵀ + G Gᵀ, with (A, b, G) read off the step
evaluated on a few random states and noise draws (a least-squares solve that is exact for an affine map).
The error is KL(generated ‖ exact) between Gaussians, evaluated as

    KL = ½ [Σ_i (δ_i − ln(1 + δ_i)) + (m₂ − m₁)ᵀ C₂⁻¹ (m₂ − m₁)],   δ_i: eigenvalues of C₂⁻¹(C₁ − C₂),

which equals ½ [tr(C₂⁻¹C₁) − n + ln det C₂/det C₁ + (m₂ − m₁)ᵀ C₂⁻¹ (m₂ − m₁)] without its cancellation,
with the exact law p_{t_min} (continuous samplers) or q₁ (discrete samplers of `physics.discrete`). The
run starts from the exact noised law at the first time (init="exact": discretisation error only) or from
the prior N(0, σ_T² I) (init="prior": adds the prior mismatch). For nearby Gaussians TV ∝ √KL, so the TV
rates of the theory (Li et al. arXiv 2306.09251, 2403.03852) are compared with the decay of √KL. The
error has no statistical uncertainty: its dependence on T is described by local (secant) slopes
d ln √KL / d ln T between successive T (`local_slope`), not by a fit with a standard error.

Several numbers of steps are propagated in one compiled run: every schedule is padded to the longest
(discrete: α = 1 past T; continuous: t_min repeated) and the padded steps are masked out. With
``every_sampler=True`` the steps of every sampler of the kind (continuous, or discrete with the same noise width)
are compiled into one program and a traced index picks one by a `lax.switch` around the whole propagation (a switch
at every step keeps XLA from fusing the step with the solve: measured twice the run time): one compilation then
serves a sweep over samplers, at the price of a larger program for one sampler alone (the default compiles that
sampler only).

Curie–Weiss (statistical). TV between the exact magnetisation law P(m) and the histogram of m = mean(sign x)
over generated samples; the finite-sample floor E TV(P̂_B, P) of B exact draws is estimated by resampling.

Rates of statistical errors. `fit_rate` fits ln err = a − p ln T by weighted least squares and returns p
with its standard error.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from .discrete import (
    BOUND_EXPONENT,
    DISCRETE_SAMPLERS,
    SCHEME_ORDER,
    LiExactScore,
    LiSchedule,
    discrete_sample,
    li_arrays,
    li_schedule,
)
from .integrator import SamplerState, as_score
from .samplers import SAMPLERS
from .schedules import Schedule, noise_levels
from .scores import ExactScore
from .total_variation import histogram_tv, null_tv
from .trajectory import reverse_sample

Array = Any
ALL_SAMPLERS = tuple(SAMPLERS) + tuple(DISCRETE_SAMPLERS)
#: Order q of each scheme in its step size h (error ∝ h^q for a smooth target): Euler-type steps 1, Heun 2;
#: weak order for the stochastic ones. Continuous samplers take h = (T − t_min)/N, discrete ones h ∝ ln T/T.
ORDER = {"euler_maruyama": 1.0, "ddpm": 1.0, "pf_euler": 1.0, "pf_heun": 2.0, "ddim": 1.0, **SCHEME_ORDER}


def check_sampler(name: str) -> None:
    if name not in ALL_SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(ALL_SAMPLERS)}")


def bound_exponent(sampler: str) -> float:
    """p of the published TV bound ∝ T^{−p} (up to log factors) for Li et al.'s samplers; NaN for the others."""
    check_sampler(sampler)
    return BOUND_EXPONENT.get(sampler, float("nan"))


def _kl_terms(delta: np.ndarray) -> np.ndarray:
    """δ − ln(1 + δ), by its series where |δ| < 1e-3 (relative accuracy ~1e-12 there)."""
    small = np.abs(delta) < 1e-3
    d = np.where(small, delta, 0.0)
    series = d**2 * (1 / 2 - d / 3 + d**2 / 4 - d**3 / 5 + d**4 / 6)
    return np.where(small, series, delta - np.log1p(np.where(small, 0.0, delta)))


def gaussian_kl(m1: Array, c1: Array, m2: Array, c2: Array) -> float:
    """KL(N(m1, c1) ‖ N(m2, c2)) in float64 (module docstring); m: (n,), c: (n, n) symmetric positive definite."""
    m1, c1, m2, c2 = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (m1, c1, m2, c2))
    c1, c2 = np.atleast_2d(c1), np.atleast_2d(c2)
    delta = scipy.linalg.eigh(c1 - c2, c2, eigvals_only=True)
    d = m2 - m1
    return float(0.5 * (np.sum(_kl_terms(delta)) + d @ np.linalg.solve(c2, d)))


def _propagate(step_rows, mean, cov, steps, valid, noise_dim):
    """Exact mean and covariance after the affine steps step_rows(k, z (rows, dim)) -> (z', ξ (rows, noise_dim));
    steps with valid = False leave them unchanged. (A, b, G) of z' = A z + b + G ξ come from one least-squares
    solve on random rows z (exact for an affine map up to rounding)."""
    dim = mean.shape[0]
    rows = 2 * (dim + noise_dim) + 2
    probe = jax.random.normal(jax.random.PRNGKey(1), (rows, dim), mean.dtype)

    def body(carry, inputs):
        m, c = carry
        k, ok = inputs
        out, xi = step_rows(k, probe)
        design = jnp.concatenate([jnp.ones((rows, 1), mean.dtype), probe, xi], axis=1)
        coef = jnp.linalg.lstsq(design, out)[0]
        b, a, g = coef[0], coef[1:dim + 1].T, coef[dim + 1:].T
        m_new, c_new = a @ m + b, a @ c @ a.T + g @ g.T
        return (jnp.where(ok, m_new, m), jnp.where(ok, c_new, c)), None

    (m, c), _ = jax.lax.scan(body, (mean, cov), (steps, valid))
    return m, c


#: Discrete samplers that draw two noise vectors per step (the others draw one or none).
_TWO_NOISE_DRAWS = ("li_ddpm_acc",)
#: Samplers whose steps one compiled propagation can hold (``every_sampler=True``): the continuous ones, and the
#: discrete ones grouped by the width of their noise draw, so that the branches of one `lax.switch` return arrays
#: of one shape.
_FAMILIES = (tuple(SAMPLERS), tuple(name for name in DISCRETE_SAMPLERS if name not in _TWO_NOISE_DRAWS),
             _TWO_NOISE_DRAWS)


def _family(sampler: str, every_sampler: bool) -> tuple[str, ...]:
    """The samplers compiled into the propagation that runs ``sampler``: its family, or itself alone."""
    return next(names for names in _FAMILIES if sampler in names) if every_sampler else (sampler,)


def _continuous_step(name, key, score_fn, schedule, x, t, s):
    """One step of the continuous sampler ``name`` from rows x: (x_s, the noise drawn)."""
    x_new, info = SAMPLERS[name](key, x, t, s, score_fn, schedule)
    return x_new, info.noise


def _discrete_step(name, key, score, schedule, z, t):
    """One step t → t − 1 of the discrete sampler ``name`` from rows z = (x, history): (z', the noise drawn)."""
    n = z.shape[1] // 2
    state, info = DISCRETE_SAMPLERS[name].step(key, SamplerState(z[:, :n], z[:, n:]), t, t - 1, score, schedule)
    return jnp.concatenate([state.x, state.history], axis=1), info.noise


@functools.partial(jax.jit, static_argnames=("family",))
def _propagate_continuous(target, schedule, times, m0, c0, num_steps, sampler_index, *, family):
    """vmapped over the leading axis of times (B, L + 1), m0 (B, n), c0 (B, n, n), num_steps (B,). The schedule is a
    pytree argument (`physics.schedules`, traced_fields) and the sampler family[sampler_index] is chosen by
    `lax.switch` around the whole propagation: one compiled function serves every OU schedule and every sampler of
    the family."""
    score_fn = ExactScore(target, schedule)
    ks = jnp.arange(times.shape[1] - 1)
    key = jax.random.PRNGKey(0)  # the noise draws only probe the affine map; the result does not depend on them

    def run(name):
        step = functools.partial(_continuous_step, name, key, score_fn, schedule)

        def one(times, m0, c0, n_steps):
            return _propagate(lambda k, x: step(x, times[k], times[k + 1]), m0, c0, ks, ks < n_steps, m0.shape[0])

        return jax.vmap(one)(times, m0, c0, num_steps)

    return jax.lax.switch(sampler_index, [functools.partial(run, name) for name in family])


@functools.partial(jax.jit, static_argnames=("family",))
def _propagate_discrete(target, alpha, alpha_bar, m0, c0, num_steps, sampler_index, *, family):
    """vmapped over the leading axis of alpha, alpha_bar (B, L) (padded schedules), m0, c0, num_steps (B,); the
    sampler family[sampler_index] is chosen by `lax.switch` around the whole propagation (one compiled function per
    family)."""
    steps = jnp.arange(alpha.shape[1], 1, -1)
    key = jax.random.PRNGKey(0)
    noise_dim = m0.shape[1] if family[0] in _TWO_NOISE_DRAWS else m0.shape[1] // 2

    def run(name):
        def one(alpha, alpha_bar, m0, c0, T):
            schedule = LiSchedule(alpha, alpha_bar)
            step = functools.partial(_discrete_step, name, key, as_score(LiExactScore(target, schedule)), schedule)
            return _propagate(lambda t, z: step(z, t), m0, c0, steps, steps <= T, noise_dim)

        return jax.vmap(one)(alpha, alpha_bar, m0, c0, num_steps)

    return jax.lax.switch(sampler_index, [functools.partial(run, name) for name in family])


def _check_steps(num_steps) -> list[int]:
    steps = [num_steps] if np.isscalar(num_steps) else list(num_steps)
    for n in steps:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"num_steps must be positive integers, got {n!r}")
    if not steps:
        raise ValueError("num_steps is empty")
    return [int(n) for n in steps]


def propagate_continuous_many(target, schedule: Schedule, sampler: str, num_steps: Sequence[int],
                              init: str = "exact", every_sampler: bool = False):
    """[(mean, cov) generated at t_min after N steps, for N in num_steps] by a sampler of `physics.samplers`
    on a Gaussian target, and the exact (mean, cov) of p_{t_min}; mean (n,), cov (n, n), NumPy. Uniform
    time grids from T to t_min. every_sampler: compile every continuous sampler into the program (module
    docstring)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown continuous sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    _check_init(init)
    steps = _check_steps(num_steps)
    n, batch = target.n, len(steps)
    grids = _padded_grids(schedule.start_time, schedule.t_min, steps=tuple(steps))
    levels = np.asarray([noise_levels(schedule, t) for t in (schedule.start_time, schedule.t_min)])  # (2, 2)
    m0, c0 = (_noised_gaussian(target, levels[0, 0], levels[0, 1]) if init == "exact"
              else (np.zeros(n, levels.dtype), (levels[0, 1] * levels[0, 1]) * np.eye(n, dtype=levels.dtype)))
    family = _family(sampler, every_sampler)
    m, c = _propagate_continuous(target, schedule, grids, np.broadcast_to(m0, (batch, n)),
                                 np.broadcast_to(c0, (batch, n, n)), np.asarray(steps), family.index(sampler),
                                 family=family)
    m, c = np.asarray(m), np.asarray(c)
    return [(m[i], c[i]) for i in range(batch)], _noised_gaussian(target, levels[1, 0], levels[1, 1])


@functools.partial(jax.jit, static_argnames=("steps",))
def _padded_grids(start, stop, *, steps):
    """The uniform grids from start to stop of N + 1 times for N in steps, each continued with stop to the longest:
    (len(steps), max(steps) + 1)."""
    longest = max(steps)
    return jnp.stack([jnp.concatenate([jnp.linspace(start, stop, N + 1), jnp.full(longest - N, stop)])
                      for N in steps])


def _noised_gaussian(target, alpha, sigma) -> tuple[np.ndarray, np.ndarray]:
    """(α μ, α² Σ + σ² I) of a `Gaussian` target, the law of α x₀ + σ ξ, in NumPy in the target's dtype."""
    mean, cov = np.asarray(target.mean), np.asarray(target.cov)
    dtype = np.result_type(mean, cov)
    alpha, sigma = dtype.type(alpha), dtype.type(sigma)
    return alpha * mean, (alpha * alpha) * cov + (sigma * sigma) * np.eye(target.n, dtype=dtype)


def propagate_continuous(target, schedule: Schedule, sampler: str, num_steps: int, init: str = "exact"):
    """(mean (n,), cov (n, n)) generated at t_min by a sampler of `physics.samplers` on a Gaussian target, and the
    exact ones."""
    generated, exact = propagate_continuous_many(target, schedule, sampler, _check_steps(num_steps), init)
    return generated[0], exact


def propagate_discrete_many(target, sampler: str, num_steps: Sequence[int], c0: float = 2.0, c1: float = 4.0,
                            init: str = "exact", every_sampler: bool = False):
    """[((mean, cov) of Y₁, (mean, cov) of q₁) for T in num_steps] for a sampler of `physics.discrete` on
    Li et al.'s schedule with T steps (eq. 5 of 2306.09251); mean (n,), cov (n, n), NumPy. every_sampler: compile
    every discrete sampler with the same noise width into the program (module docstring)."""
    if sampler not in DISCRETE_SAMPLERS:
        raise ValueError(f"unknown discrete sampler {sampler!r}; choose one of {sorted(DISCRETE_SAMPLERS)}")
    _check_init(init)
    dtype = jnp.result_type(float)
    schedules = [tuple(v.astype(dtype) for v in li_arrays(T, c0, c1)) for T in _check_steps(num_steps)]
    longest = max(alpha.size for alpha, _ in schedules)
    alpha = np.stack([np.concatenate([a, np.ones(longest - a.size, dtype)]) for a, _ in schedules])
    alpha_bar = np.stack([np.concatenate([ab, np.full(longest - ab.size, ab[-1])]) for _, ab in schedules])
    return _propagate_discrete_laws(target, sampler, alpha, alpha_bar, [a.size for a, _ in schedules], init,
                                    every_sampler)


def _li_law(target, abar) -> tuple[np.ndarray, np.ndarray]:
    """(mean, cov) of q_t, the law of √ᾱ_t x₀ + √(1 − ᾱ_t) ξ (NumPy, abar a NumPy scalar)."""
    return _noised_gaussian(target, np.sqrt(abar), np.sqrt(abar.dtype.type(1) - abar))


def _propagate_discrete_laws(target, sampler, alpha, alpha_bar, num_steps, init, every_sampler=False):
    """[((mean, cov) of Y₁, (mean, cov) of q₁)] for the padded schedules alpha, alpha_bar (B, L) (NumPy) with
    num_steps (B,) real steps each."""
    n = target.n
    big_m = np.zeros((len(num_steps), 2 * n), alpha.dtype)
    big_c = np.zeros((len(num_steps), 2 * n, 2 * n), alpha.dtype)
    for i, T in enumerate(num_steps):
        m0, c0 = _li_law(target, alpha_bar[i, T - 1]) if init == "exact" else (0.0, np.eye(n))
        big_m[i, :n], big_c[i, :n, :n] = m0, c0
    family = _family(sampler, every_sampler)
    m, c = _propagate_discrete(target, alpha, alpha_bar, big_m, big_c, np.asarray(num_steps), family.index(sampler),
                               family=family)
    m, c = np.asarray(m), np.asarray(c)
    return [((m[i, :n], c[i, :n, :n]), _li_law(target, alpha_bar[i, 0])) for i in range(len(num_steps))]


def propagate_discrete(target, schedule: LiSchedule, sampler: str, init: str = "exact"):
    """(mean (n,), cov (n, n)) of Y₁ from a sampler of `physics.discrete` on a Gaussian target, and those of q₁
    (NumPy)."""
    if sampler not in DISCRETE_SAMPLERS:
        raise ValueError(f"unknown discrete sampler {sampler!r}; choose one of {sorted(DISCRETE_SAMPLERS)}")
    _check_init(init)
    alpha, alpha_bar = np.asarray(schedule.alpha)[None], np.asarray(schedule.alpha_bar)[None]
    return _propagate_discrete_laws(target, sampler, alpha, alpha_bar, [schedule.num_steps], init)[0]


def gaussian_errors(
    target, sampler: str, num_steps: Sequence[int], *, schedule: Schedule | None = None, c0: float = 2.0,
    c1: float = 4.0, init: str = "exact", every_sampler: bool = False,
) -> np.ndarray:
    """KL(generated ‖ exact) for a Gaussian target after each number of steps (T of Li et al. for discrete
    samplers), shape (len(num_steps),), from one compiled run; every_sampler: one program for every sampler of the
    kind, so that a sweep over samplers compiles once (module docstring)."""
    check_sampler(sampler)
    if sampler in DISCRETE_SAMPLERS:
        laws = propagate_discrete_many(target, sampler, num_steps, c0, c1, init, every_sampler)
    else:
        if schedule is None:
            raise ValueError(f"sampler {sampler!r} runs in continuous time: give a schedule")
        generated, exact = propagate_continuous_many(target, schedule, sampler, num_steps, init, every_sampler)
        laws = [(g, exact) for g in generated]
    return np.array([gaussian_kl(*gen, *exact) for gen, exact in laws])


def gaussian_error(
    target, sampler: str, num_steps: int, *, schedule: Schedule | None = None, c0: float = 2.0, c1: float = 4.0,
    init: str = "exact",
) -> float:
    """KL(generated ‖ exact) for a Gaussian target after num_steps steps (T of Li et al. for discrete samplers)."""
    return float(gaussian_errors(target, sampler, _check_steps(num_steps), schedule=schedule, c0=c0, c1=c1,
                                 init=init)[0])


def step_size(sampler: str, num_steps: Array, *, diffusion_time: float = 1.0, t_min: float = 0.0,
              c1: float = 4.0) -> np.ndarray:
    """The step size h that the error of a scheme of order q scales as h^q: (T − t_min)/N for continuous
    samplers on a uniform grid, the bulk step β = c₁ ln T / T of Li et al.'s schedule (eq. 5 of 2306.09251)
    for discrete ones. Shape of num_steps."""
    check_sampler(sampler)
    n = np.asarray(num_steps, dtype=float)
    if sampler in DISCRETE_SAMPLERS:
        return c1 * np.log(n) / n
    return (diffusion_time - t_min) / n


def local_slope(x: Array, err: Array) -> tuple[np.ndarray, np.ndarray]:
    """Secant slopes d ln err / d ln x between successive grid points x (k,), k ≥ 2, and where they apply: the
    geometric midpoints √(x_i x_{i+1}) (a secant slope equals the derivative there up to O(Δ²), Δ = ln x_{i+1}/x_i).
    Returns (midpoints (k − 1,), slopes (k − 1,)). For deterministic errors: no error bar."""
    x, err = np.asarray(x, dtype=float), np.asarray(err, dtype=float)
    if x.shape != err.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"need matching 1-D (x, err) with >= 2 points, got shapes {x.shape}, {err.shape}")
    if np.any(err <= 0) or np.any(x <= 0):
        raise ValueError("x and err must be > 0 for logarithmic slopes")
    lx, le = np.log(x), np.log(err)
    return np.exp(0.5 * (lx[1:] + lx[:-1])), np.diff(le) / np.diff(lx)


def _check_init(init: str) -> None:
    if init not in ("exact", "prior"):
        raise ValueError(f"init must be 'exact' or 'prior', got {init!r}")


# ---- Curie–Weiss: TV of the magnetisation law ------------------------------------------------------------
def magnetization_tv(spins_mean: Array, law: tuple[np.ndarray, np.ndarray]) -> float:
    """½ Σ_m |P̂(m) − P(m)| for generated m = mean(sign x) (batch,) against the exact law (m values, P(m))."""
    m_values, p = law
    n = len(m_values) - 1
    k = np.rint((np.asarray(spins_mean) * n + n) / 2).astype(int)
    return histogram_tv(np.bincount(np.clip(k, 0, n), minlength=n + 1), p)


def tv_floor(law: tuple[np.ndarray, np.ndarray], batch: int, seed: int = 0, reps: int = 200) -> tuple[float, float]:
    """Mean and standard deviation of TV(P̂_B, P) for B = batch exact draws (the finite-sample floor; law = (m values
    (K,), P(m) (K,)), `physics.total_variation.null_tv` with ``reps`` draws)."""
    tv = null_tv(law[1], batch, seed, reps)
    return float(tv.mean()), float(tv.std(ddof=1))


def curie_weiss_tv(
    key: Array, target, sampler: str, num_steps: int, batch: int, *, schedule: Schedule | None = None,
    c0: float = 2.0, c1: float = 4.0,
) -> float:
    """TV of the magnetisation of sign(x) generated from the prior with the exact score (one run of ``batch``
    particles of target.n spins; `magnetization_tv`)."""
    check_sampler(sampler)
    if sampler in DISCRETE_SAMPLERS:
        x0 = jax.random.normal(jax.random.fold_in(key, 2**31 - 1), (batch, target.n))
        li = li_schedule(num_steps, c0, c1)
        x = discrete_sample(key, LiExactScore(target, li), li, x0, sampler)
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
