"""Stochastic thermodynamics of the forward (noising) and reverse (generative) diffusions.

A diffusion with drift A(x, t) and isotropic noise, dx = A dt + g dW on ℝⁿ, has temperature (diffusion
coefficient, unit mobility) D(t) = g²/2. Along one path X = (x_t), Seifert's stochastic entropies are
(Seifert, Rep. Prog. Phys. 75, 126001 (2012), eqs. 44–48; Yu & Huang, arXiv 2405.11932, Sec. III):

    system   Δs_sys = ln p_start(x_start) − ln p_end(x_end)
    medium   Δs_m   = ∫ (A/D) ∘ dx            (heat over temperature, Stratonovich product ∘)
    total    Σ      = Δs_sys + Δs_m,          ⟨e^{−Σ}⟩ = 1 (integral fluctuation theorem, IFT).

Stratonovich ↔ Itô: for dx = A dt + g dW and h = A/D,  ∫ h ∘ dx = ∫ h · dx + ½ ∫ g² ∇·h dt
                                                        = ∫ h · dx + ∫ ∇·A dt.
On a time grid t_0 < … < t_K (step Δ_k) the path is simulated by Euler–Maruyama with the kernel
K_k(y | x) = N(y; x + A(x, t_k) Δ_k, g²(t_k) Δ_k I). The backward process uses the same protocol read in
reverse, K†_k(x | y) = N(x; y + A(y, t_k) Δ_k, g²(t_k) Δ_k I). Per step we record

    Stratonovich  (A(x_k) + A(x_{k+1}))/2 · Δx / D               (trapezoid rule)
    Itô           A(x_k) · Δx / D,   correction ∇·A(x_k) Δ_k
    path ratio    ln K_k(x_{k+1}|x_k) − ln K†_k(x_k|x_{k+1})
                  = Stratonovich + (|A(x_{k+1})|² − |A(x_k)|²) Δ_k / (2 g²).

Σ_path = Δs_sys + Σ_k (path ratio) is the log-ratio ln P_F[X]/P_B[X̃] of the discrete path measures, so
⟨e^{−Σ_path}⟩ = 1 and the Crooks relation P_F(Σ)/P_B(−Σ) = e^{Σ} hold exactly at any step size (for any
normalised p_end); the Stratonovich Σ converges to it as Δ → 0.

Ensemble rates at time t (Yu & Huang, Sec. III B): current velocity ν = A − D ∇ln p_t (J = ν p_t),
    entropy production π = E|ν|²/D,   medium entropy flux φ = E[A·ν]/D,   dS/dt = π − φ.
Forward process A = f x: ν = f x − ½ g² ∇ln p_t (the probability-flow velocity). Reverse process in the
generative time τ = T − t: A_R = −f x + g² ∇ln p_t, ν_R = −ν, hence π_R = π, dS_R/dτ = −dS/dt.
For data N(0, s₀² I): v_t = α² s₀² + σ², ν = (v̇/2v) x, π = n v̇²/(2 v g²) (OU: (v − 1)²/v per dimension).

Path KL (Girsanov; Franzese et al., arXiv 2206.05173, eq. 5): generation with a score s_θ from N(0, σ_T² I)
    KL(forward path law ‖ generative path law) = KL(p_T ‖ N(0, σ_T² I)) + ∫ ½ g² E_{p_t}‖s_θ − ∇ln p_t‖² dt.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.optimize

from .schedules import Schedule

Array = Any
DriftFn = Callable[[Array, Array], Array]


class PathIncrements(NamedTuple):
    """Per-step terms of the medium entropy, each of shape (num_steps, batch) (module docstring)."""

    stratonovich: Array
    ito: Array
    ito_correction: Array
    path_ratio: Array


class PathEntropy(NamedTuple):
    """Stochastic entropies of a batch of paths; totals of shape (batch,), increments (num_steps, batch)."""

    x_start: Array  # (batch, n)
    x_end: Array  # (batch, n)
    system: Array  # ln p_start(x_start) − ln p_end(x_end)
    increments: PathIncrements

    @property
    def medium(self) -> Array:
        """Δs_m = ∫ (A/D) ∘ dx (Stratonovich)."""
        return jnp.sum(self.increments.stratonovich, axis=0)

    @property
    def medium_ito(self) -> Array:
        """∫ (A/D) · dx (Itô), without the conversion term."""
        return jnp.sum(self.increments.ito, axis=0)

    @property
    def ito_correction(self) -> Array:
        """∫ ∇·A dt, the Stratonovich − Itô difference."""
        return jnp.sum(self.increments.ito_correction, axis=0)

    @property
    def total(self) -> Array:
        """Σ = Δs_sys + Δs_m (Stratonovich)."""
        return self.system + self.medium

    @property
    def total_path(self) -> Array:
        """Σ_path = ln P_F[X]/P_B[X̃] of the discrete path measures (exact IFT at any step)."""
        return self.system + jnp.sum(self.increments.path_ratio, axis=0)


class ExpAverage(NamedTuple):
    """⟨e^{−Σ}⟩ with its standard error and the Kish effective sample size (Σw)²/Σw² of w = e^{−Σ}."""

    mean: float
    stderr: float
    ess: float
    num: int


def exponential_average(sigma: Array) -> ExpAverage:
    """⟨e^{−Σ}⟩ over paths, standard error std(w)/√N, and the Kish ESS of the weights w = e^{−Σ}.

    The ESS says how many paths carry the average: when it is a small fraction of N the standard error is
    itself unreliable (rare paths with large w dominate), and a pass within the error bar means little.
    """
    s = np.asarray(sigma, dtype=float).ravel()
    if s.size < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"sigma must hold at least 2 finite values, got {s.size} values")
    w = np.exp(-s)
    return ExpAverage(float(w.mean()), float(w.std(ddof=1) / np.sqrt(s.size)), float(w.sum() ** 2 / np.sum(w**2)), s.size)


def _divergence(drift_fn: DriftFn, x: Array, t: Array) -> Array:
    """∇·A(x, t) for each row of x, (batch,), by exact Jacobian traces (small n)."""

    def single(y):
        return jnp.trace(jax.jacfwd(lambda z: drift_fn(z[None], t)[0])(y))

    return jax.vmap(single)(x)


def _step_terms(x0, x1, t, dt, drift_fn, diffusion2, ito_correction=True):
    a0, a1 = drift_fn(x0, t), drift_fn(x1, t)
    dx = x1 - x0
    strat = jnp.sum((a0 + a1) * dx, axis=-1) / diffusion2
    ito = 2.0 * jnp.sum(a0 * dx, axis=-1) / diffusion2
    corr = _divergence(drift_fn, x0, t) * dt if ito_correction else jnp.full_like(strat, jnp.nan)
    ratio = strat + (jnp.sum(a1**2, axis=-1) - jnp.sum(a0**2, axis=-1)) * dt / (2.0 * diffusion2)
    return PathIncrements(strat, ito, corr, ratio)


def _check_times(times: Array) -> Array:
    times = jnp.asarray(times)
    tn = np.asarray(times)
    if tn.ndim != 1 or tn.size < 2 or not np.all(np.diff(tn) > 0):
        raise ValueError(f"times must be a strictly increasing 1-D grid of at least 2 times, got shape {tn.shape}")
    return times


def path_entropy(
    key: Array,
    x_start: Array,
    drift_fn: DriftFn,
    diffusion2_fn: Callable[[Array], Array],
    times: Array,
    log_p_start: Callable[[Array], Array],
    log_p_end: Callable[[Array], Array],
    *,
    backward: bool = False,
    ito_correction: bool = True,
) -> PathEntropy:
    """Simulate dx = A dt + g dW by Euler–Maruyama and record the entropy increments of each step.

    Args:
        key: PRNG key; step k uses fold_in(key, k).
        x_start: (batch, n) start states, drawn from the law whose log-density is log_p_start.
        drift_fn: A(x, t), (batch, n) -> (batch, n).
        diffusion2_fn: g²(t) (scalar).
        times: increasing grid t_0 < … < t_K of the process time.
        log_p_start, log_p_end: ln p at t_0 and t_K, (batch, n) -> (batch,).
        backward: run the backward process instead: x_start is then the state at t_K, drawn from p_end,
            and the kernels K†_k are applied for k = K−1, …, 0. The returned entropies are those of the
            forward functional Σ_F evaluated on the generated path (Σ_B = −Σ_F; Crooks relation).
        ito_correction: compute ∇·A (exact Jacobian trace, n drift evaluations per step); NaN when False.

    Returns:
        PathEntropy; ``x_start``/``x_end`` are the states at t_0/t_K in both cases.
    """
    times = _check_times(times)
    x_start = jnp.asarray(x_start)
    if x_start.ndim != 2:
        raise ValueError(f"x_start must have shape (batch, n), got {x_start.shape}")
    num_steps = times.shape[0] - 1

    def step(x, k):
        t, dt = times[k], times[k + 1] - times[k]
        g2 = diffusion2_fn(t)
        xi = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        x_new = x + drift_fn(x, t) * dt + jnp.sqrt(g2 * dt) * xi
        x0, x1 = (x_new, x) if backward else (x, x_new)
        return x_new, _step_terms(x0, x1, t, dt, drift_fn, g2, ito_correction)

    order = jnp.arange(num_steps)[::-1] if backward else jnp.arange(num_steps)
    x_last, incs = jax.lax.scan(step, x_start, order)
    if backward:
        incs = jax.tree_util.tree_map(lambda a: a[::-1], incs)
        x0, xk = x_last, x_start
    else:
        x0, xk = x_start, x_last
    return PathEntropy(x0, xk, log_p_start(x0) - log_p_end(xk), incs)


def forward_process(target: Any, schedule: Schedule):
    """(drift_fn, diffusion2_fn, log_p(t)) of the noising SDE dx = f x dt + g dW for a target with a
    closed-form marginal (`marginal_log_prob`, e.g. Gaussian, GaussianMixture)."""
    _check_closed_form(target)

    def drift_fn(x, t):
        return schedule.drift(t) * x

    def log_p(t):
        return lambda x: target.marginal_log_prob(x, schedule.alpha(t), schedule.sigma(t))

    return drift_fn, schedule.diffusion2, log_p


def _check_closed_form(target):
    if not hasattr(target, "marginal_log_prob"):
        raise ValueError(
            f"target {type(target).__name__} has no closed-form marginal_log_prob; the system entropy −ln p_t needs "
            "it (use a Gaussian or GaussianMixture, or the path log-ratio with a known start law)"
        )


def forward_entropy(key: Array, target: Any, schedule: Schedule, *, num_trajectories: int, num_steps: int,
                    t_start: float = 0.0, t_end: float | None = None, backward: bool = False) -> PathEntropy:
    """Entropies of forward noising paths on the uniform grid t_start = t_0 < … < t_K = t_end (default T).

    x_{t_start} ~ p_{t_start} exactly (backward=False), or the backward process from x_{t_end} ~ p_{t_end}.
    Use t_start > 0 for schedules with g(0) = 0 (cond-OT), where the medium entropy ∫ (A/D) ∘ dx is singular.
    """
    t_end = schedule.T if t_end is None else float(t_end)
    if not 0 <= t_start < t_end <= schedule.T:
        raise ValueError(f"need 0 <= t_start < t_end <= T = {schedule.T}, got t_start = {t_start}, t_end = {t_end}")
    if float(schedule.diffusion2(t_start)) <= 0:
        raise ValueError(f"g²(t_start) = 0 at t_start = {t_start} (schedule {schedule.name!r}); choose t_start > 0")
    if not np.isfinite(float(schedule.drift(t_end))):
        raise ValueError(f"the drift f(t_end) is not finite at t_end = {t_end}; choose t_end < T for this schedule")
    drift_fn, g2, log_p = forward_process(target, schedule)
    times = jnp.linspace(t_start, t_end, num_steps + 1)
    k_data, k_noise, k_path = jax.random.split(key, 3)
    t_init = t_end if backward else t_start
    x0 = target.sample(k_data, num_trajectories)
    if t_init > 0:
        x0 = schedule.alpha(t_init) * x0 + schedule.sigma(t_init) * jax.random.normal(k_noise, x0.shape, x0.dtype)
    return path_entropy(k_path, x0, drift_fn, g2, times, log_p(t_start), log_p(t_end), backward=backward)


def reverse_entropy(key: Array, target: Any, schedule: Schedule, *, num_trajectories: int, num_steps: int,
                    score_fn: Callable | None = None, t_max: float | None = None, spacing: str = "uniform",
                    ito_correction: bool = True) -> PathEntropy:
    """Entropies of generative paths: the reverse SDE with the exact score, x_T ~ p_T exactly.

    Generative time τ = t_0 − t on the grid t_0 = schedule.time_grid(num_steps)[0] down to t_min:
        dx = [−f(t) x + g²(t) ∇ln p_t(x)] dτ + g(t) dW,   t = t_0 − τ,
    with the system entropy ln p_{t_0}(x_start) − ln p_{t_min}(x_end) (Yu & Huang, Sec. III C). score_fn(x, t)
    defaults to the target's closed-form marginal score. t_max replaces t_0 (uniform grid t_max → t_min): use it
    where the drift f = d ln α/dt diverges at T (cosine, cond-OT), since Euler–Maruyama needs |f| Δt ≪ 1.
    spacing "log" makes the grid geometric (Δt/t constant): needed where π ∝ 1/t as t → 0 (cond-OT, spins).
    Spin targets enter through `models.enumeration.SpinMarginal` (p_t by enumeration). ito_correction=False skips ∇·A (the
    Jacobian trace costs n drift evaluations per step); the field ito_correction is then NaN.
    """
    _check_closed_form(target)
    if spacing not in ("uniform", "log"):
        raise ValueError(f"spacing must be 'uniform' or 'log', got {spacing!r}")
    if t_max is None:
        t_grid = schedule.time_grid(num_steps, spacing)
    elif schedule.t_min < t_max <= schedule.T:
        grid = jnp.linspace if spacing == "uniform" else jnp.geomspace
        t_grid = grid(t_max, schedule.t_min, num_steps + 1)
    else:
        raise ValueError(f"t_max must be in (t_min, T] = ({schedule.t_min}, {schedule.T}], got {t_max}")
    t0 = t_grid[0]
    if score_fn is None:
        score_fn = lambda x, t: target.marginal_score(x, schedule.alpha(t), schedule.sigma(t))  # noqa: E731

    def drift_fn(x, tau):
        t = t0 - tau
        return -schedule.drift(t) * x + schedule.diffusion2(t) * score_fn(x, t)

    k_data, k_noise, k_path = jax.random.split(key, 3)
    x = target.sample(k_data, num_trajectories)
    x = schedule.alpha(t0) * x + schedule.sigma(t0) * jax.random.normal(k_noise, x.shape, x.dtype)
    log_p = lambda t: lambda y: target.marginal_log_prob(y, schedule.alpha(t), schedule.sigma(t))  # noqa: E731
    return path_entropy(k_path, x, drift_fn, lambda tau: schedule.diffusion2(t0 - tau), t0 - t_grid,
                        log_p(t0), log_p(t_grid[-1]), ito_correction=ito_correction)


class CrooksFit(NamedTuple):
    """Weighted least-squares fit ln[P_F(Σ)/P_B(−Σ)] = a + b Σ over histogram bins; b = 1 by Crooks."""

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    centers: Array
    log_ratio: Array
    log_ratio_err: Array


def crooks_fit(sigma_forward: Array, sigma_backward: Array, *, num_bins: int = 30, min_count: int = 20) -> CrooksFit:
    """Fit the detailed fluctuation theorem P_F(Σ)/P_B(−Σ) = e^{Σ} (Crooks, PRE 60, 2721 (1999), eq. 10).

    sigma_forward: Σ_F on forward paths; sigma_backward: the same functional Σ_F evaluated on backward paths
    (so that its law is P_B(−Σ_B = ·)). Bins with fewer than min_count paths in either sample are dropped;
    the error of each log-ratio is √(1/n_F + 1/n_B) (Poisson counts).
    """
    f, b = np.asarray(sigma_forward, float).ravel(), np.asarray(sigma_backward, float).ravel()
    lo, hi = max(np.quantile(f, 0.001), np.quantile(b, 0.001)), min(np.quantile(f, 0.999), np.quantile(b, 0.999))
    if not hi > lo:
        raise ValueError("the forward and backward samples of Σ do not overlap; use more paths or a shorter protocol")
    edges = np.linspace(lo, hi, num_bins + 1)
    nf, _ = np.histogram(f, edges)
    nb, _ = np.histogram(b, edges)
    keep = (nf >= min_count) & (nb >= min_count)
    if keep.sum() < 3:
        raise ValueError(f"only {keep.sum()} histogram bins have >= {min_count} paths in both samples; use more paths")
    centers = 0.5 * (edges[1:] + edges[:-1])[keep]
    y = np.log(nf[keep] / f.size) - np.log(nb[keep] / b.size)
    err = np.sqrt(1.0 / nf[keep] + 1.0 / nb[keep])
    coef, cov = np.polyfit(centers, y, 1, w=1.0 / err, cov="unscaled")
    return CrooksFit(float(coef[0]), float(np.sqrt(cov[0, 0])), float(coef[1]), float(np.sqrt(cov[1, 1])), centers, y, err)


# ---------------------------------------------------------------------------------------------------------
# Ensemble rates from the probability current


def _velocity(target, schedule, x, t):
    score = target.marginal_score(x, schedule.alpha(t), schedule.sigma(t))
    return schedule.drift(t) * x - 0.5 * schedule.diffusion2(t) * score, score


class RateEstimate(NamedTuple):
    value: float
    stderr: float


def entropy_production_rate(key: Array, target: Any, schedule: Schedule, t: float, *, num_samples: int,
                            direction: Array | None = None) -> RateEstimate:
    """π(t) = E_{p_t}|ν|²/D, ν = f x − ½ g² ∇ln p_t, D = g²/2, by Monte Carlo over exact samples of p_t.

    With a unit vector e (direction), the part carried by that mode, π_e = E_{p_t}(e·ν)²/D (e.g. the
    magnetisation mode e = 1/√N of a ferromagnet); π = Σ_e π_e over an orthonormal basis.
    """
    x0 = target.sample(jax.random.fold_in(key, 0), num_samples)
    x = schedule.alpha(t) * x0 + schedule.sigma(t) * jax.random.normal(jax.random.fold_in(key, 1), x0.shape, x0.dtype)
    nu, _ = _velocity(target, schedule, x, t)
    sq = jnp.sum(nu**2, axis=-1) if direction is None else (nu @ jnp.asarray(direction)) ** 2
    vals = np.asarray(sq / (0.5 * schedule.diffusion2(t)))
    return RateEstimate(float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(num_samples)))


def total_entropy_production(key: Array, target: Any, schedule: Schedule, t0: float, t1: float, *,
                             num_samples: int, num_nodes: int = 32) -> RateEstimate:
    """∫_{t0}^{t1} π(t) dt by Gauss–Legendre in t (num_nodes) and Monte Carlo at each node (independent)."""
    if not t1 > t0:
        raise ValueError(f"need t1 > t0, got t0 = {t0}, t1 = {t1}")
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    ts = 0.5 * (t1 - t0) * nodes + 0.5 * (t1 + t0)
    ws = 0.5 * (t1 - t0) * weights
    est = [entropy_production_rate(jax.random.fold_in(key, i), target, schedule, float(t), num_samples=num_samples)
           for i, t in enumerate(ts)]
    return RateEstimate(float(sum(w * e.value for w, e in zip(ws, est))),
                        float(np.sqrt(sum((w * e.stderr) ** 2 for w, e in zip(ws, est)))))


def gaussian_entropy_production_rate(schedule: Schedule, t: Array, s0: float, n: int = 1) -> Array:
    """Closed form for data N(0, s₀² I): π = n v̇²/(2 v g²), v = α² s₀² + σ², v̇ = 2 f v + g²."""
    t = jnp.asarray(t, dtype=float)
    v = schedule.alpha(t) ** 2 * s0**2 + schedule.sigma(t) ** 2
    g2 = schedule.diffusion2(t)
    vdot = 2 * schedule.drift(t) * v + g2
    return n * vdot**2 / (2 * v * g2)


class EnsembleRates(NamedTuple):
    """Ensemble rates at the times t (arrays (num_times,)); reverse quantities are per unit generative time."""

    t: Array
    entropy_production: Array  # π = π_R
    flux_forward: Array  # φ = E[A ν]/D, A = f x
    entropy_rate_forward: Array  # dS/dt = π − φ
    flux_reverse: Array  # φ_R = E[A_R ν_R]/D, A_R = −f x + g² ∇ln p_t
    entropy_rate_reverse: Array  # dS_R/dτ = π − φ_R = −dS/dt


def ensemble_rates_1d(target: Any, schedule: Schedule, times: Array, *, x_max: float = 12.0,
                      num_points: int = 4001) -> EnsembleRates:
    """π, φ, dS/dt of the forward and reverse processes of a 1-D target by quadrature on a grid.

    p_t, ∇ln p_t in closed form (target.marginal_log_prob / marginal_score); Simpson's rule on
    [−x_max, x_max] (Yu & Huang, arXiv 2405.11932, eqs. 20–24 for f = −1, D = 1).
    """
    _check_closed_form(target)
    if target.n != 1:
        raise ValueError(f"ensemble_rates_1d needs a 1-D target, got n = {target.n}")
    x = jnp.linspace(-x_max, x_max, num_points)[:, None]
    out = []
    for t in np.atleast_1d(np.asarray(times, float)):
        a, s = schedule.alpha(t), schedule.sigma(t)
        p = np.asarray(jnp.exp(target.marginal_log_prob(x, a, s)))
        nu, score = _velocity(target, schedule, x, t)
        nu, score = np.asarray(nu[:, 0]), np.asarray(score[:, 0])
        d = 0.5 * float(schedule.diffusion2(t))
        f = float(schedule.drift(t))
        xs = np.asarray(x[:, 0])
        integ = lambda y: scipy.integrate.simpson(y * p, x=xs)  # noqa: E731
        pi = integ(nu**2) / d
        phi = integ(f * xs * nu) / d
        phi_r = integ((-f * xs + 2 * d * score) * (-nu)) / d
        out.append((t, pi, phi, pi - phi, phi_r, pi - phi_r))
    return EnsembleRates(*map(np.asarray, zip(*out)))


def reverse_flux_zero(target: Any, schedule: Schedule, t_lo: float, t_hi: float) -> float:
    """Diffusion time t in (t_lo, t_hi) where the reverse medium-entropy flux φ_R changes sign (brentq on
    `ensemble_rates_1d`).

    Time direction: t is the forward (noising) diffusion time, t = 0 data; generation runs t = T → 0, with
    generative time τ = T − t, so a zero at smaller t comes later in generation order. For ½N(±1, 1) under OU
    t_flux ≈ 0.081 < t_S = ½ ln 2 ≈ 0.347 in diffusion time: the sign change comes after speciation in generation
    order (tests/test_thermodynamics.py); for the σ-dependence see `gmm_reverse_flux_zeros`.
    """
    fn = lambda t: float(ensemble_rates_1d(target, schedule, [t]).flux_reverse[0])  # noqa: E731
    if fn(t_lo) * fn(t_hi) > 0:
        raise ValueError(f"the reverse flux has the same sign at t_lo = {t_lo} and t_hi = {t_hi}; widen the bracket")
    return float(scipy.optimize.brentq(fn, t_lo, t_hi, xtol=1e-10))


def speciation_time_yu_huang(mu: float, sigma: float) -> float:
    """t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) for ½N(μ,σ²) + ½N(−μ,σ²) under OU (Yu & Huang, arXiv 2405.11932,
    Sec. IV: U″(0) = 0 of the reverse-dynamics potential, generalised to σ ≠ 1).

    Criterion: the reverse-SDE drift x + 2∇ln p_t turns unstable at x = 0 (Γ_t² − 2Γ_t + 2μ_t² = 0); it is not
    where p_t turns bimodal (μ_t² = Γ_t, `physics.transitions.gmm_bimodality_time`).
    """
    return 0.5 * float(np.log(mu**2 + np.sqrt(sigma**4 - 2 * sigma**2 + mu**4 + 1)))


def _check_mixture(mu: float, sigma: float) -> None:
    if not (np.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu must be a finite number >= 0, got {mu!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (the standard deviation of each component), got {sigma!r}")


def gmm_fisher_information(t: Array, mu: float, sigma: float, num_points: int = 2401) -> np.ndarray:
    """J_t = E_{p_t}(∂ₓ ln p_t)² of p_t = ½N(μ_t, Γ_t) + ½N(−μ_t, Γ_t), μ_t = μe^{−t}, Γ_t = 1 − e^{−2t} + σ²e^{−2t}
    (OU forward process of ½N(±μ, σ²); σ the standard deviation).

    With ∂ₓ ln p_t = (μ_t tanh(μ_t x/Γ_t) − x)/Γ_t (Yu & Huang, arXiv 2405.11932, Sec. II) and J = −E ∂ₓ² ln p_t,
        J_t = 1/Γ_t − (μ_t²/Γ_t²) E_{x∼N(μ_t, Γ_t)} sech²(μ_t x/Γ_t)
    (sech² is even, so one component suffices); the expectation by the trapezoid rule in z = (x − μ_t)/√Γ_t on
    [−12, 12] (num_points). t of any shape -> the same shape.
    """
    _check_mixture(mu, sigma)
    t = np.asarray(t, float)
    e2 = np.exp(-2 * t)[..., None]
    gamma, m = 1 - e2 + sigma**2 * e2, mu * np.exp(-t)[..., None]
    z = np.linspace(-12.0, 12.0, num_points)
    w = np.exp(-(z**2) / 2)
    w /= w.sum()
    u = m * (m + np.sqrt(gamma) * z) / gamma
    sech2 = 1.0 / np.cosh(np.clip(u, -350, 350)) ** 2
    j = 1 / gamma - (m**2 / gamma**2) * np.sum(w * sech2, axis=-1, keepdims=True)
    return j[..., 0]


def gmm_reverse_flux(t: Array, mu: float, sigma: float) -> np.ndarray:
    """Reverse medium-entropy flux φ_R(t) of ½N(±μ, σ²) under OU (f = −1, g² = 2, D = 1), in diffusion time t.

    φ_R = E[A_R ν_R]/D with A_R = x + 2∇ln p_t and ν_R = x + ∇ln p_t (module docstring; Yu & Huang, arXiv
    2405.11932, Sec. III C); with E[x ∂ₓ ln p_t] = −1 (by parts) and E x² = μ_t² + Γ_t,
        φ_R(t) = μ_t² + Γ_t − 3 + 2 J_t        (J_t: `gmm_fisher_information`).
    Gaussian data (μ = 0): φ_R = (Γ − 1)(Γ − 2)/Γ. t of any shape -> the same shape.
    """
    _check_mixture(mu, sigma)
    t = np.asarray(t, float)
    e2 = np.exp(-2 * t)
    return mu**2 * e2 + 1 - e2 + sigma**2 * e2 - 3 + 2 * gmm_fisher_information(t, mu, sigma)


def gmm_reverse_flux_zeros(mu: float, sigma: float, t_min: float = 1e-4, t_max: float = 6.0,
                           num_t: int = 600) -> np.ndarray:
    """Every diffusion time in [t_min, t_max] where φ_R (`gmm_reverse_flux`) changes sign, increasing: sign changes
    on a geometric grid of num_t times, each refined by brentq (xtol 1e-12). Sign changes closer than the grid
    spacing are missed. Generation order is the reverse of t: the largest zero is met first."""
    if not 0 < t_min < t_max:
        raise ValueError(f"need 0 < t_min < t_max, got t_min = {t_min}, t_max = {t_max}")
    t = np.geomspace(t_min, t_max, num_t)
    phi = gmm_reverse_flux(t, mu, sigma)
    i = np.nonzero(np.sign(phi[:-1]) * np.sign(phi[1:]) < 0)[0]
    fn = lambda s: float(gmm_reverse_flux(s, mu, sigma))  # noqa: E731
    return np.array([scipy.optimize.brentq(fn, t[k], t[k + 1], xtol=1e-12) for k in i])


# ---------------------------------------------------------------------------------------------------------
# Path KL between the forward and generative path laws


class PathKL(NamedTuple):
    """KL(forward ‖ generative) = prior + score_gap, each with a Monte-Carlo standard error."""

    prior: float
    prior_err: float
    score_gap: float
    score_gap_err: float

    @property
    def total(self) -> float:
        return self.prior + self.score_gap

    @property
    def total_err(self) -> float:
        return float(np.hypot(self.prior_err, self.score_gap_err))


def path_kl(key: Array, target: Any, schedule: Schedule, score_fn: Callable[[Array, Array], Array], *,
            num_samples: int, num_nodes: int = 32, t_min: float | None = None) -> PathKL:
    """Girsanov path KL: KL(p_T ‖ N(0, σ_T² I)) + ∫_{t_min}^T ½ g² E_{p_t}‖s_θ − ∇ln p_t‖² dt.

    Both terms by Monte Carlo over exact samples of p_t; the time integral by Gauss–Legendre (num_nodes).
    score_fn(x, t) is the approximate score s_θ; the exact one is the target's marginal_score.
    """
    _check_closed_form(target)
    t_min = schedule.t_min if t_min is None else float(t_min)
    T = schedule.T
    if not np.isfinite(float(schedule.drift(T))):
        raise ValueError(f"schedule {schedule.name!r} has an infinite drift at T; the path KL needs α_T > 0")

    def sample(k, t):
        x0 = target.sample(jax.random.fold_in(k, 0), num_samples)
        return schedule.alpha(t) * x0 + schedule.sigma(t) * jax.random.normal(jax.random.fold_in(k, 1), x0.shape, x0.dtype)

    xT = sample(jax.random.fold_in(key, num_nodes), T)
    sT = schedule.sigma(T)
    log_prior = -0.5 * jnp.sum(xT**2, axis=-1) / sT**2 - 0.5 * target.n * jnp.log(2 * jnp.pi * sT**2)
    d = np.asarray(target.marginal_log_prob(xT, schedule.alpha(T), sT) - log_prior)
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    ts = 0.5 * (T - t_min) * nodes + 0.5 * (T + t_min)
    ws = 0.5 * (T - t_min) * weights
    means, errs = [], []
    for i, t in enumerate(ts):
        x = sample(jax.random.fold_in(key, i), t)
        diff = score_fn(x, t) - target.marginal_score(x, schedule.alpha(t), schedule.sigma(t))
        vals = np.asarray(0.5 * schedule.diffusion2(t) * jnp.sum(diff**2, axis=-1))
        means.append(vals.mean())
        errs.append(vals.std(ddof=1) / np.sqrt(num_samples))
    return PathKL(float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), float(np.dot(ws, means)),
                  float(np.sqrt(np.sum((ws * np.asarray(errs)) ** 2))))
