"""Order-parameter moments with bootstrap errors, Binder crossings, power laws and data collapse by emcee.

Everything here is a NumPy reduction of samples of the magnetisation m (equilibrium or recorded along a
reverse trajectory). With n spins and ⟨·⟩ the sample mean,
    χ = n Var(m) = n (⟨m²⟩ − ⟨m⟩²),     U₄ = 1 − ⟨m⁴⟩ / (3 ⟨m²⟩²)      (Binder 1981, Z. Phys. B 43, 119).
Finite-size scaling near a critical value c_c of a control parameter c (β at t = 0, or the time t):
    y(c, n) = n^{−b} F((c − c_c) n^{a}),
with a = 1/ν̄ and b = exponent/ν̄ in the "volume" variable n (mean field: ν̄ = 2, ⟨m²⟩^{1/2} ~ n^{−1/4},
χ ~ n^{1/2}, i.e. β = ½ and γ = 1; Botet, Jullien & Pfeuty 1982). Fits are Bayesian: emcee posteriors,
reported as median and 68% interval.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

#: Large-n Binder cumulant of the critical Curie–Weiss law P(m) ∝ exp(−n m⁴/12): 1 − Γ(¼)²/(12 Γ(¾)²).
CW_CRITICAL_BINDER = 1.0 - math.gamma(0.25) ** 2 / (12.0 * math.gamma(0.75) ** 2)


class Estimate(NamedTuple):
    """A value with its standard error (arrays of the same shape)."""

    value: np.ndarray
    error: np.ndarray


class Posterior(NamedTuple):
    """Posterior summary of a fit: median, 16% and 84% quantiles per parameter, and the chain (samples, params)."""

    names: tuple
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    chain: np.ndarray

    def error(self) -> np.ndarray:
        """Half width of the 68% interval."""
        return 0.5 * (self.upper - self.lower)

    def get(self, name: str) -> tuple[float, float, float]:
        """(median, 16%, 84%) of one parameter."""
        i = self.names.index(name)
        return float(self.median[i]), float(self.lower[i]), float(self.upper[i])


def _check_samples(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    if m.ndim < 1 or m.shape[-1] < 2:
        raise ValueError(f"m must have a last (sample) axis of length >= 2, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("m must be finite")
    return m


def magnetization_statistics(m: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """⟨|m|⟩, ⟨m²⟩, ⟨m⁴⟩, χ = n Var(m), U₄ over the last axis of m (shape (..., samples)) → shape (...)."""
    return overlap_statistics(np.asarray(m, dtype=float)[None], n)


def overlap_statistics(m: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The same for a K-component order parameter (e.g. the overlaps with K patterns), m of shape
    (K, ..., samples): ⟨|m|⟩, ⟨|m|²⟩, ⟨|m|⁴⟩, χ = n(⟨|m|²⟩ − |⟨m⟩|²), U₄ = 1 − ⟨|m|⁴⟩/(3⟨|m|²⟩²) → shape (...)."""
    m = np.asarray(m, dtype=float)
    sq = np.sum(m * m, axis=0)
    return _statistics_from_means(np.mean(np.sqrt(sq), -1), np.mean(sq, -1), np.mean(sq * sq, -1), np.mean(m, -1), n)


def _statistics_from_means(abs_m, m2, m4, mean_vector, n: int) -> dict[str, np.ndarray]:
    """`overlap_statistics` from the sample means of |m|, |m|², |m|⁴ and of the K components (mean_vector (K, ...))."""
    return {
        "abs_m": abs_m,
        "m2": m2,
        "m4": m4,
        "chi": n * np.maximum(m2 - np.sum(mean_vector**2, axis=0), 0.0),
        "binder": 1.0 - m4 / (3.0 * m2**2),
    }


def bootstrap(
    samples: np.ndarray, statistic: Callable[[np.ndarray], dict], seed: int = 0, num_resamples: int = 200
) -> dict[str, Estimate]:
    """Bootstrap standard errors of every entry of statistic(samples) (resampling the last axis).

    Args:
        samples: (..., num_samples); the same resampled indices are used for all leading entries, so that
            statistics of different times or sizes sharing the samples keep their correlations.
        statistic: maps (..., num_samples) to a dict of arrays.
    Returns:
        name -> Estimate(value on the full sample, standard deviation over resamples).
    """
    samples = _check_samples(samples)
    rng = np.random.default_rng(seed)
    full = statistic(samples)
    draws = {k: [] for k in full}
    size = samples.shape[-1]
    for _ in range(num_resamples):
        resampled = statistic(samples[..., rng.integers(0, size, size)])
        for k, v in resampled.items():
            draws[k].append(v)
    return {k: Estimate(np.asarray(full[k]), np.std(np.asarray(draws[k]), axis=0, ddof=1)) for k in full}


def overlap_bootstrap(m: np.ndarray, n: int, seed: int = 0, num_resamples: int = 200) -> dict[str, Estimate]:
    """`bootstrap` of `overlap_statistics` (m of shape (K, ..., samples)), with the same resampled indices and the
    same values up to rounding, by resample weights: every statistic is a function of the sample means of
    √|m|², |m|², |m|⁴ and the K components, and the means over resample r are c_r·f/samples with c_r the counts of
    each sample in it: one (resamples × samples) @ (samples × features) product instead of a gather per resample."""
    m = _check_samples(m)
    rng = np.random.default_rng(seed)
    size = m.shape[-1]
    counts = np.stack([np.bincount(rng.integers(0, size, size), minlength=size) for _ in range(num_resamples)])
    sq = np.sum(m * m, axis=0)
    features = np.concatenate([np.stack([np.sqrt(sq), sq, sq * sq]), m])  # (3 + K, ..., samples)
    means = (counts @ features.reshape(-1, size).T / size).reshape((num_resamples,) + features.shape[:-1])
    draws = _statistics_from_means(means[:, 0], means[:, 1], means[:, 2], np.moveaxis(means[:, 3:], 1, 0), n)
    return {k: Estimate(np.asarray(v), np.std(draws[k], axis=0, ddof=1)) for k, v in overlap_statistics(m, n).items()}


def moments(m: np.ndarray, n: int, seed: int = 0, num_resamples: int = 200) -> dict[str, Estimate]:
    """`magnetization_statistics` of samples m (..., samples) with bootstrap errors."""
    return overlap_bootstrap(np.asarray(m, dtype=float)[None], n, seed, num_resamples)


def exact_moments(m_values: np.ndarray, probabilities: np.ndarray, n: int) -> dict[str, float]:
    """Same statistics as `magnetization_statistics` from an exact law P(m) (e.g. CurieWeiss.magnetization_law)."""
    p = np.asarray(probabilities, dtype=float)
    m = np.asarray(m_values, dtype=float)
    m2, m4, m1 = np.sum(p * m**2), np.sum(p * m**4), np.sum(p * m)
    return {"abs_m": np.sum(p * np.abs(m)), "m2": m2, "m4": m4, "chi": n * (m2 - m1**2), "binder": 1 - m4 / (3 * m2**2)}


def crossing(x: np.ndarray, y: np.ndarray, level: float | np.ndarray = 0.0) -> float:
    """First x where the piecewise-linear curve y(x) − level changes sign (x sorted increasingly); NaN if none."""
    x, d = np.asarray(x, float), np.asarray(y, float) - level
    sign_change = np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) <= 0)[0]
    if sign_change.size == 0:
        return float("nan")
    i = sign_change[0]
    if d[i + 1] == d[i]:
        return float(x[i])
    return float(x[i] - d[i] * (x[i + 1] - x[i]) / (d[i + 1] - d[i]))


def binder_crossing(
    control: np.ndarray, u_small: np.ndarray, u_large: np.ndarray
) -> tuple[float, float]:
    """Control value c× where U₄ of two sizes cross, and U₄(c×), by linear interpolation on a common grid."""
    c = crossing(control, np.asarray(u_large) - np.asarray(u_small))
    return c, float(np.interp(c, control, u_small)) if math.isfinite(c) else float("nan")


def binder_crossing_estimate(control: np.ndarray, u_small: Estimate, u_large: Estimate, seed: int = 0,
                             num_resamples: int = 400) -> tuple[Estimate, Estimate]:
    """`binder_crossing` with errors by parametric bootstrap: curves redrawn as value + error·N(0, 1) per point."""
    rng = np.random.default_rng(seed)
    c0, u0 = binder_crossing(control, u_small.value, u_large.value)
    draws = np.array([
        binder_crossing(control, u_small.value + u_small.error * rng.standard_normal(len(control)),
                        u_large.value + u_large.error * rng.standard_normal(len(control)))
        for _ in range(num_resamples)
    ])
    return Estimate(c0, np.nanstd(draws[:, 0], ddof=1)), Estimate(u0, np.nanstd(draws[:, 1], ddof=1))


def fit_linear_correction(sizes: np.ndarray, y: np.ndarray, dy: np.ndarray, omega: float) -> tuple[Estimate, Estimate]:
    """Weighted least squares y = y_∞ + c n^{−ω}: (Estimate of y_∞, Estimate of c) from the normal equations."""
    n, y, dy = (np.asarray(v, float) for v in (sizes, y, dy))
    design = np.stack([np.ones_like(n), n ** (-omega)], axis=1) / dy[:, None]
    cov = np.linalg.inv(design.T @ design)
    coef = cov @ design.T @ (y / dy)
    return Estimate(coef[0], math.sqrt(cov[0, 0])), Estimate(coef[1], math.sqrt(cov[1, 1]))


def _emcee(log_prob: Callable[[np.ndarray], float], start: np.ndarray, scale: np.ndarray, names: tuple,
           seed: int, num_walkers: int, num_steps: int, burn: int, vectorize: bool = False) -> Posterior:
    """emcee's affine-invariant ensemble from start + scale·N(0, 1) per walker; vectorize: log_prob takes the
    (walkers, ndim) positions at once and returns (walkers,) (emcee's `vectorize`: the same chain, one call per
    step)."""
    import emcee

    rng = np.random.default_rng(seed)
    ndim = len(start)
    p0 = start + scale * rng.standard_normal((num_walkers, ndim))
    sampler = emcee.EnsembleSampler(num_walkers, ndim, log_prob, vectorize=vectorize)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(p0, num_steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    lo, med, hi = np.percentile(chain, [16, 50, 84], axis=0)
    return Posterior(names, med, lo, hi, chain)


def fit_power_law(
    sizes: np.ndarray, y: np.ndarray, dy: np.ndarray, correction: float | None = None, seed: int = 0,
    num_walkers: int = 24, num_steps: int = 1500, burn: int = 500,
) -> Posterior:
    """Posterior of the exponent x in y = A nˣ (1 + B n^{−ω}) with Gaussian errors dy (emcee, flat priors).

    Args:
        sizes: n values (k,); y, dy: observable and its standard error (k,).
        correction: the correction-to-scaling exponent ω (fixed), or None for a pure power law.
    Returns:
        Posterior over ("x", "ln_A") or ("x", "ln_A", "B").
    """
    n, y, dy = (np.asarray(v, float) for v in (sizes, y, dy))
    if n.shape != y.shape or y.shape != dy.shape or n.ndim != 1 or n.size < 2:
        raise ValueError(f"sizes, y, dy must be 1-D of equal length >= 2, got {n.shape}, {y.shape}, {dy.shape}")
    if np.any(y <= 0) or np.any(dy <= 0):
        raise ValueError("y and dy must be positive for a power-law fit")
    x0, ln_a0 = np.polyfit(np.log(n), np.log(y), 1)

    def model(p):
        """A nˣ (1 + B n^{−ω}) for the walkers' positions p (walkers, ndim) -> (walkers, k)."""
        base = np.exp(p[:, 1:2]) * n ** p[:, 0:1]
        return base if correction is None else base * (1 + p[:, 2:3] * n ** (-correction))

    def log_prob(p):
        return np.where(np.abs(p[:, 0]) > 10, -np.inf, -0.5 * np.sum(((y - model(p)) / dy) ** 2, axis=-1))

    names = ("x", "ln_A") if correction is None else ("x", "ln_A", "B")
    start = np.array([x0, ln_a0] + ([0.0] if correction is not None else []))
    return _emcee(log_prob, start, 1e-3 * np.ones_like(start), names, seed, num_walkers, num_steps, burn,
                  vectorize=True)


def collapse_residuals(params: np.ndarray, control: np.ndarray, sizes: np.ndarray, y: np.ndarray,
                       dy: np.ndarray) -> np.ndarray:
    """Normalised residuals of a data collapse X = (c − c_c) nᵃ, Y = y nᵇ, params = (c_c, a, b).

    For every pair of sizes (j, k ≠ j), each point of j inside the X range of k is compared with the linear
    interpolation of k there: r = (Y_j − Y_k(X_j)) / √(dY_j² + dY_k(X_j)²) (Houdayer & Hartmann 2004,
    Phys. Rev. B 70, 014418, eq. 4, pairwise). control (p,), sizes (k,), y and dy (k, p).
    """
    c_c, a, b = params
    X = (control[None, :] - c_c) * sizes[:, None] ** a
    Y, dY = y * sizes[:, None] ** b, dy * sizes[:, None] ** b
    out = []
    for j in range(len(sizes)):
        for k in range(len(sizes)):
            if j == k:
                continue
            inside = (X[j] >= X[k, 0]) & (X[j] <= X[k, -1])
            if not np.any(inside):
                continue
            yk = np.interp(X[j, inside], X[k], Y[k])
            dyk = np.interp(X[j, inside], X[k], dY[k])
            out.append((Y[j, inside] - yk) / np.sqrt(dY[j, inside] ** 2 + dyk**2))
    return np.concatenate(out) if out else np.zeros(0)


def fit_collapse(
    control: np.ndarray, sizes: np.ndarray, y: np.ndarray, dy: np.ndarray, start: tuple[float, float, float],
    bounds: tuple[tuple[float, float], ...], seed: int = 0, num_walkers: int = 24, num_steps: int = 1200,
    burn: int = 400,
) -> Posterior:
    """Posterior of (c_c, a = 1/ν̄, b = exponent/ν̄) from the collapse of y(c, n) nᵇ against (c − c_c) nᵃ.

    Likelihood exp(−½ P⟨r²⟩) with r the pairwise `collapse_residuals` and P the number of data points: the
    mean residual times a fixed count, so that parameters cannot gain by shrinking the overlap region.
    Flat priors inside ``bounds`` ((lo, hi) per parameter). control (p,) increasing, sizes (k,), y, dy (k, p).
    """
    control, sizes, y, dy = (np.asarray(v, float) for v in (control, sizes, y, dy))
    if y.shape != (sizes.size, control.size) or dy.shape != y.shape:
        raise ValueError(f"y and dy must have shape (len(sizes), len(control)) = {(sizes.size, control.size)}")
    if np.any(np.diff(control) <= 0):
        raise ValueError("control must be strictly increasing")
    lo, hi = np.array(bounds, float).T
    count = y.size

    def log_prob(p):
        """The walkers' positions p (walkers, 3) at once (emcee's `vectorize`: the same chain, one call per step)."""
        mean_square, residuals = collapse_mean_squares(p, control, sizes, y, dy)
        allowed = np.all((p >= lo) & (p <= hi), axis=1) & (residuals >= control.size)
        return np.where(allowed, -0.5 * count * mean_square, -np.inf)

    start = np.asarray(start, float)
    return _emcee(log_prob, start, 1e-3 * (hi - lo), ("c_c", "a", "b"), seed, num_walkers, num_steps, burn,
                  vectorize=True)


def collapse_mean_squares(params: np.ndarray, control: np.ndarray, sizes: np.ndarray, y: np.ndarray,
                          dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """⟨r²⟩ of the pairwise `collapse_residuals` and their number, for many params (w, 3) at once -> (w,), (w,)
    (⟨r²⟩ = inf where there is no residual). The same residuals: the points of j inside k's X range are chosen in
    X as there, and k is interpolated in the control variable instead, at c′ = c_c + X_j / n_kᵃ (the affine map
    c ↦ (c − c_c) n_kᵃ leaves linear interpolation unchanged), so that every parameter set shares k's grid and one
    `np.interp` serves them all."""
    params = np.atleast_2d(np.asarray(params, float))
    c_c, a, b = (params[:, i:i + 1] for i in range(3))
    total, number = np.zeros(len(params)), np.zeros(len(params), int)
    for j in range(len(sizes)):
        x_j = (control[None, :] - c_c) * sizes[j] ** a
        y_j, dy_j = y[j] * sizes[j] ** b, dy[j] * sizes[j] ** b
        for k in range(len(sizes)):
            if j == k:
                continue
            scale_k = sizes[k] ** a
            inside = (x_j >= (control[0] - c_c) * scale_k) & (x_j <= (control[-1] - c_c) * scale_k)
            at = (c_c + x_j / scale_k).ravel()
            y_k, dy_k = (np.interp(at, control, v).reshape(x_j.shape) * sizes[k] ** b for v in (y[k], dy[k]))
            r2 = (y_j - y_k) ** 2 / (dy_j**2 + dy_k**2)
            total += np.sum(np.where(inside, r2, 0.0), axis=1)
            number += np.sum(inside, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(number > 0, total / np.maximum(number, 1), np.inf), number


def collapse_at_fixed_exponents(control: np.ndarray, sizes: np.ndarray, y: np.ndarray, dy: np.ndarray, a: float,
                                b: float, bounds: tuple[float, float]) -> tuple[float, float]:
    """The critical point of a collapse with the exponents held fixed (e.g. at their mean-field values): c_c in
    ``bounds`` minimising the mean square ⟨r²⟩ of the pairwise `collapse_residuals` of y nᵇ against (c − c_c) nᵃ,
    by scipy's bounded scalar minimiser. Returns (c_c, ⟨r²⟩ there). ⟨r²⟩ ≈ 1 is a collapse within the errors;
    set beside the free fit's ⟨r²⟩ (`collapse_mean_square`) it says whether those exponents are excluded or only
    disfavoured by a second minimum of a free fit."""
    from scipy.optimize import minimize_scalar

    def mean_square(c_c):
        return collapse_mean_square((c_c, a, b), control, sizes, y, dy)

    best = minimize_scalar(mean_square, bounds=bounds, method="bounded", options={"xatol": 1e-6})
    return float(best.x), float(best.fun)


def collapse_mean_square(params, control: np.ndarray, sizes: np.ndarray, y: np.ndarray, dy: np.ndarray) -> float:
    """⟨r²⟩ of the pairwise `collapse_residuals` at params = (c_c, a, b); inf where no two sizes overlap
    (`collapse_mean_squares` of one parameter set)."""
    mean_square, _ = collapse_mean_squares(params, *(np.asarray(v, float) for v in (control, sizes, y, dy)))
    return float(mean_square[0])


def fit_order_parameter_collapse(control: np.ndarray, sizes: np.ndarray, stats: dict[str, Estimate],
                                 start: tuple, bounds: tuple, num_steps: int, seed: int) -> dict[str, tuple]:
    """`fit_collapse` of m = ⟨m²⟩^{1/2} and of χ from stats (name -> Estimate of shape (sizes, control)).

    Args:
        start, bounds: ((c_c, a, b) for m, (c_c, a, b) for χ) and the matching ((lo, hi) × 3) pairs.
    Returns:
        {"c_c", "a", "b_m"} from the fit of m and {"c_c_chi", "a_chi", "b_chi"} from χ, each (median, 16%, 84%).
    """
    m2, dm2 = stats["m2"]
    m, dm = np.sqrt(m2), dm2 / (2 * np.sqrt(m2))
    chi, dchi = stats["chi"]
    kw = {"num_steps": num_steps, "burn": num_steps // 3, "seed": seed}
    post_m = fit_collapse(control, sizes, m, dm, start=start[0], bounds=bounds[0], **kw)
    post_chi = fit_collapse(control, sizes, chi, dchi, start=start[1], bounds=bounds[1], **kw)
    return {"c_c": post_m.get("c_c"), "a": post_m.get("a"), "b_m": post_m.get("b"),
            "c_c_chi": post_chi.get("c_c"), "a_chi": post_chi.get("a"), "b_chi": post_chi.get("b")}


def order_parameter_collapse_descriptions(prefix: str, y: str, chi: str, control: str, critical: str,
                                          critical_mean_field: str) -> dict[str, tuple[str, str]]:
    """(long name, units) of the `fit_order_parameter_collapse` results stored as <prefix>_<key> (median), _lo and
    _hi (16% and 84% quantiles), with y and chi the collapsed quantities, control the control parameter and
    critical its critical value (mean field: critical_mean_field)."""
    entries = (("c_c", critical, y, critical_mean_field), ("a", "a = 1/nu-bar", y, "1/2"),
               ("b_m", "b = beta_exp/nu-bar", y, "1/4"), ("c_c_chi", critical, chi, critical_mean_field),
               ("a_chi", "a = 1/nu-bar", chi, "1/2"), ("b_chi", "b = -gamma_exp/nu-bar", chi, "-1/2"))
    out = {}
    for key, parameter, of, mean_field in entries:
        out[f"{prefix}_{key}"] = (f"{parameter} of the emcee collapse y N^b vs ({control} - {critical}) N^a of y = "
                                  f"{of}, median (mean field: {mean_field})", "1")
        out[f"{prefix}_{key}_lo"] = (f"16% quantile of the emcee posterior of {prefix}_{key}", "1")
        out[f"{prefix}_{key}_hi"] = (f"84% quantile of the emcee posterior of {prefix}_{key}", "1")
    return out


def stack_estimates(per_size: list[dict[str, Estimate]], names=("m2", "chi", "binder")) -> dict[str, Estimate]:
    """Stack per-size dicts of Estimates into Estimates with a leading size axis."""
    return {k: Estimate(np.stack([e[k].value for e in per_size]), np.stack([e[k].error for e in per_size]))
            for k in names}


def quartic_window_moments(c: float) -> tuple[float, float]:
    """⟨x²⟩, ⟨x⁴⟩ of P(x) ∝ exp(c x²/2 − x⁴/12): the Curie–Weiss law in its critical window,
    x = m N^{1/4}, c = (β − 1) N^{1/2} (ln C(N, k) + βNm²/2 = const + N[(β − 1)m²/2 − m⁴/12] + …). By scipy quad."""
    from scipy.integrate import quad

    shift = max(c, 0.0) ** 2 * 0.75  # the maximum of c x²/2 − x⁴/12, subtracted for range
    weight = lambda x, k: x**k * math.exp(c * x * x / 2 - x**4 / 12 - shift)  # noqa: E731
    z, m2, m4 = (quad(weight, 0.0, math.inf, args=(k,), epsabs=0, epsrel=1e-12, limit=200)[0] for k in (0, 2, 4))
    return m2 / z, m4 / z


def hopfield_pair_binder(c: float) -> float:
    """Large-N U₄ of |m|² = m₁² + m₂² for K = 2 Hopfield patterns whose two Curie–Weiss groups
    (models.hopfield) sit at scaling variables +c and −c: |m|² ∝ x_A² + x_B² with independent x_A, x_B from
    `quartic_window_moments`, so U₄ = 1 − (a₄ + b₄ + 2a₂b₂)/(3(a₂ + b₂)²). At c = 0 (orthogonal patterns at β = 1):
    U₄ = 1 − (r + 1)/6 with r = Γ(¼)⁴/(8π²) = 3(1 − CW_CRITICAL_BINDER)."""
    a2, a4 = quartic_window_moments(c)
    b2, b4 = quartic_window_moments(-c)
    return 1.0 - (a4 + b4 + 2 * a2 * b2) / (3 * (a2 + b2) ** 2)


def hopfield_pair_disorder_binder(num_nodes: int = 40) -> dict[str, float]:
    """Large-N disorder averages at β = 1 for random K = 2 patterns: the group sizes N_A ~ Binomial(N, ½) put the
    groups at c = ±g/√2 with g ~ N(0, 1) ((β_A − 1)√N_A = (2N_A/N − 1)√N_A → g/√2). Returns the average of the
    per-sample Binder cumulant [U₄] and the cumulant of the averaged moments 1 − [⟨|m|⁴⟩]/(3[⟨|m|²⟩]²), by
    Gauss–Hermite quadrature over g."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
    weights = weights / weights.sum()
    u4, m2, m4 = 0.0, 0.0, 0.0
    for g, w in zip(nodes, weights):
        a2, a4 = quartic_window_moments(g / math.sqrt(2))
        b2, b4 = quartic_window_moments(-g / math.sqrt(2))
        pair2, pair4 = a2 + b2, a4 + b4 + 2 * a2 * b2
        u4 += w * (1 - pair4 / (3 * pair2**2))
        m2, m4 = m2 + w * pair2, m4 + w * pair4
    return {"sample_averaged": u4, "moment_averaged": 1 - m4 / (3 * m2**2)}
