"""Finite-size scaling calibrated on the equilibrium Curie–Weiss transition in β (t = 0), exact P(m).

Samples of m are drawn from the exact law (CurieWeiss.magnetization_law), so every estimate has a genuine
sampling error, and go through the same code path (bootstrap moments, Binder crossing, emcee fits) as
magnetisations recorded along a reverse trajectory."""

import math

import numpy as np
import pytest

from statphys.models.curie_weiss import CurieWeiss
from statphys.physics import scaling as sc

SIZES = np.array([256, 512, 1024, 2048, 4096])


def _samples(n, beta, num, seed):
    m, p = CurieWeiss(n, beta).magnetization_law()
    return np.random.default_rng(seed).choice(m, size=num, p=p)


def test_binder_and_moments_of_exact_law():
    n = 4096
    m, p = CurieWeiss(n, 1.0).magnetization_law()
    exact = sc.exact_moments(m, p, n)
    assert exact["binder"] == pytest.approx(sc.CW_CRITICAL_BINDER, abs=3 / math.sqrt(n))
    assert sc.CW_CRITICAL_BINDER == pytest.approx(0.270520, abs=1e-6)
    est = sc.moments(_samples(n, 1.0, 20000, 0), n)
    for name in ("m2", "binder", "chi"):
        assert abs(est[name].value - exact[name]) < 4 * est[name].error, name


def test_critical_power_laws():
    """At β = 1: ⟨m²⟩ ∝ N^{−1/2}, χ ∝ N^{1/2} (correction N^{−1/2} fitted), exponents within 3σ of theory."""
    est = [sc.moments(_samples(n, 1.0, 20000, i), n) for i, n in enumerate(SIZES)]
    for name, expected in (("m2", -0.5), ("chi", 0.5)):
        y = np.array([e[name].value for e in est])
        dy = np.array([e[name].error for e in est])
        post = sc.fit_power_law(SIZES, y, dy, correction=0.5)
        x, lo, hi = post.get("x")
        assert abs(x - expected) < 3 * (hi - lo) / 2, (name, x, lo, hi)
    # a wrong law is rejected: the fit on m⁴-scaled data (N^{−1}) does not give −1/2
    y = np.array([e["m4"].value for e in est])
    x, lo, hi = sc.fit_power_law(SIZES, y, np.array([e["m4"].error for e in est]), correction=0.5).get("x")
    assert abs(x + 0.5) > 5 * (hi - lo) / 2


@pytest.mark.parametrize("num,num_betas", [(10000, 13), pytest.param(20000, 25, marks=pytest.mark.slow)])
def test_binder_limit_and_crossing(num, num_betas):
    """U₄(β = 1, N) = U∞ + c N^{−1/2} extrapolates to 0.270520; the sampled U₄ crossing of N = 1024 and 4096
    agrees with the crossing of the exact curves (which tends to β = 1, U∞ with O(N^{−1/2}) corrections)."""
    u = [sc.moments(_samples(n, 1.0, 2 * num, i), n)["binder"] for i, n in enumerate(SIZES)]
    u_inf, _ = sc.fit_linear_correction(SIZES, np.array([e.value for e in u]), np.array([e.error for e in u]), 0.5)
    assert abs(u_inf.value - sc.CW_CRITICAL_BINDER) < 3 * u_inf.error, u_inf
    betas = np.linspace(0.97, 1.03, num_betas)
    curves, exact = {}, {}
    for n in (1024, 4096):
        draws = np.stack([_samples(n, b, num, int(n + 1000 * b)) for b in betas])
        curves[n] = sc.moments(draws, n, num_resamples=100)["binder"]
        exact[n] = np.array([sc.exact_moments(*CurieWeiss(n, b).magnetization_law(), n)["binder"] for b in betas])
    beta_x, u_x = sc.binder_crossing_estimate(betas, curves[1024], curves[4096])
    beta_e, u_e = sc.binder_crossing(betas, exact[1024], exact[4096])
    assert abs(beta_x.value - beta_e) < 4 * beta_x.error and abs(u_x.value - u_e) < 4 * u_x.error
    assert abs(beta_e - 1) < 0.002 and abs(u_e - sc.CW_CRITICAL_BINDER) < 0.02


@pytest.mark.parametrize("sizes,num_betas,emcee_steps", [((256, 1024, 4096), 13, 250),
                                                         pytest.param((1024, 4096, 16384), 21, 1200, marks=pytest.mark.slow)])
def test_collapse(sizes, num_betas, emcee_steps):
    """The collapse of m N^{b} vs (β−1)N^{a} gives a = ½, b = ¼ (mean field: ν̄ = 2, β = ½), and of χ N^{−b'}
    gives b' = ½ (γ = 1). The posterior widths (~0.3%) are far below the corrections to scaling, which are
    relative O(N_min^{−1/2}) (the m⁶ term of the binomial entropy), so the tolerance is 2 N_min^{−1/2} relative
    for the exponents and 0.1 N_min^{−1/2} (a tenth of the smallest size's critical window) for β_c."""
    betas = np.linspace(0.97, 1.03, num_betas)
    sizes = np.array(sizes)
    steps = {"num_steps": emcee_steps, "burn": emcee_steps // 3}
    stats = {}
    for n in sizes:
        draws = np.stack([_samples(n, b, 20000, int(n + 1000 * b)) for b in betas])
        stats[n] = sc.moments(draws, n, num_resamples=100)
    m = np.stack([np.sqrt(stats[n]["m2"].value) for n in sizes])
    dm = np.stack([stats[n]["m2"].error / (2 * np.sqrt(stats[n]["m2"].value)) for n in sizes])
    post = sc.fit_collapse(betas, sizes, m, dm, start=(1.0, 0.5, 0.25), bounds=((0.97, 1.03), (0.2, 0.8), (0.0, 0.5)), **steps)
    for name, expected in (("c_c", 1.0), ("a", 0.5), ("b", 0.25)):
        med, lo, hi = post.get(name)
        tol = 0.1 / math.sqrt(sizes[0]) if name == "c_c" else 2 * expected / math.sqrt(sizes[0])
        assert abs(med - expected) < tol + 3 * (hi - lo) / 2, (name, med, lo, hi)
    chi = np.stack([stats[n]["m2"].value * n for n in sizes])  # χ = N⟨m²⟩ (⟨m⟩ = 0 by symmetry)
    dchi = np.stack([stats[n]["m2"].error * n for n in sizes])
    post = sc.fit_collapse(betas, sizes, chi, dchi, start=(1.0, 0.5, -0.5), bounds=((0.97, 1.03), (0.2, 0.8), (-1.0, 0.0)), **steps)
    med, lo, hi = post.get("b")
    assert abs(med + 0.5) < 2 * 0.5 / math.sqrt(sizes[0]) + 3 * (hi - lo) / 2, (med, lo, hi)


def test_collapse_mean_squares_of_many_parameter_sets_are_those_of_the_residuals():
    """`collapse_mean_squares` (k interpolated in the control variable, all parameter sets at once) against the
    pairwise `collapse_residuals` of each set (X interpolated as written): the same ⟨r²⟩ to 1e-12 and the same
    number of residuals, over parameter sets that give full, partial and no overlap; and `fit_collapse` (vectorised
    walkers) gives the chain of emcee run one walker at a time on ⟨r²⟩ from `collapse_residuals`."""
    rng = np.random.default_rng(3)
    control = np.sort(rng.uniform(0.9, 1.1, 15))
    sizes = np.array([64.0, 256.0, 1024.0])
    y = rng.uniform(0.1, 1.0, (3, 15))
    dy = rng.uniform(0.01, 0.05, (3, 15))
    params = np.column_stack([rng.uniform(0.8, 1.2, 300), rng.uniform(-1.0, 2.0, 300), rng.uniform(-1, 1, 300)])
    params[:3, 1] = 0.0  # a = 0: every X range the same, ends included
    mean_square, number = sc.collapse_mean_squares(params, control, sizes, y, dy)
    residuals = [sc.collapse_residuals(p, control, sizes, y, dy) for p in params]
    assert np.array_equal(number, [r.size for r in residuals])
    assert 0 in number and number.max() == len(sizes) * (len(sizes) - 1) * control.size  # none and all overlap
    expected = np.array([np.mean(r**2) if r.size else np.inf for r in residuals])
    np.testing.assert_allclose(mean_square, expected, rtol=1e-12)

    bounds = ((0.9, 1.1), (0.2, 0.8), (-1.0, 1.0))
    lo, hi = np.array(bounds).T

    def one_walker(p):
        if np.any(p < lo) or np.any(p > hi):
            return -np.inf
        r = sc.collapse_residuals(p, control, sizes, y, dy)
        return -np.inf if r.size < control.size else -0.5 * y.size * np.mean(r**2)

    post = sc.fit_collapse(control, sizes, y, dy, (1.0, 0.5, 0.0), bounds, seed=5, num_steps=60, burn=20)
    scalar = sc._emcee(one_walker, np.array([1.0, 0.5, 0.0]), 1e-3 * (hi - lo), ("c_c", "a", "b"), 5, 24, 60, 20)
    np.testing.assert_allclose(post.chain, scalar.chain, rtol=1e-12)


def test_collapse_at_fixed_exponents_finds_the_planted_critical_point():
    """Data that scale exactly: ⟨m²⟩ = N^{−1/2} ⟨x²⟩(c), c = (β − β_c) N^{1/2}, the Curie–Weiss critical-window law
    (`quartic_window_moments`, scipy quadrature) with β_c planted at 1.004 and 1% errors. With the right exponents
    the fixed-exponent collapse finds β_c to 1e-4 with ⟨r²⟩ far below 1 (the only residual is the linear
    interpolation between the 41 points); with b off by 0.1 the collapse fails (⟨r²⟩ > 5; 9.8 measured)."""
    betas = np.linspace(0.95, 1.05, 41)
    sizes = np.array([256.0, 1024.0, 4096.0])
    y = np.array([[sc.quartic_window_moments((b - 1.004) * math.sqrt(n))[0] / math.sqrt(n) for b in betas]
                  for n in sizes])
    dy = 0.01 * y
    c_c, mean_square = sc.collapse_at_fixed_exponents(betas, sizes, y, dy, a=0.5, b=0.5, bounds=(0.97, 1.03))
    assert abs(c_c - 1.004) < 1e-4 and mean_square < 0.05, (c_c, mean_square)
    assert sc.collapse_mean_square((1.004, 0.5, 0.5), betas, sizes, y, dy) == pytest.approx(mean_square, abs=0.05)
    assert sc.collapse_at_fixed_exponents(betas, sizes, y, dy, a=0.5, b=0.4, bounds=(0.97, 1.03))[1] > 5


def test_bad_input():
    with pytest.raises(ValueError, match="sample"):
        sc.moments(np.ones(1), 4)
    with pytest.raises(ValueError, match="increasing"):
        sc.fit_collapse(np.array([1.0, 0.0]), np.array([4, 8]), np.ones((2, 2)), np.ones((2, 2)), (0, 0.5, 0), ((-1, 1),) * 3)
    with pytest.raises(ValueError, match="positive"):
        sc.fit_power_law(np.array([4, 8]), np.array([1.0, -1.0]), np.ones(2))


@pytest.mark.parametrize("sizes,batch,emcee_steps", [((32, 64, 128), 256, 250),
                                                     pytest.param((64, 128, 256, 512), 1024, 800, marks=pytest.mark.slow)])
def test_trajectory_collapse_at_critical_beta(sizes, batch, emcee_steps):
    """Along the generative trajectory at β = 1 (exact forward law), ⟨m_D²⟩^{1/2} N^{b} collapses against
    (λ − λ_c) N^{a} with λ = α²/σ²: the field scale h ~ λ m₀ ~ N^{−3/4} with m₀ ~ N^{−1/4} gives a = ½, b = β/ν̄ = ¼
    (studies/kinds/critical_exponents.py). Tolerance: 3 posterior half-widths plus the relative O(N_min^{−1/2})
    corrections to scaling (2 × expected / √N_min), the same rule as the equilibrium collapse."""
    import jax
    import jax.numpy as jnp

    from statphys.physics import transitions as tr
    from statphys.physics.schedules import make_schedule

    lambdas = np.geomspace(0.003, 1.0, 10)
    times = 0.5 * np.log1p(1 / lambdas)
    m, dm = [], []
    for i, n in enumerate(sizes):
        m_d = tr.forward_denoiser_magnetization(jax.random.PRNGKey(i), CurieWeiss(n, 1.0), make_schedule("ou"),
                                                jnp.asarray(times[::-1]), batch)
        est = sc.moments(np.asarray(m_d)[::-1], n, num_resamples=100)["m2"]
        m.append(np.sqrt(est.value))
        dm.append(est.error / (2 * np.sqrt(est.value)))
    post = sc.fit_collapse(lambdas, np.array(sizes), np.stack(m), np.stack(dm), start=(0.0, 0.5, 0.25),
                           bounds=((-0.03, 0.03), (0.1, 1.0), (0.0, 0.6)), num_steps=emcee_steps, burn=emcee_steps // 3)
    for name, expected in (("a", 0.5), ("b", 0.25)):
        med, lo, hi = post.get(name)
        assert abs(med - expected) < 3 * (hi - lo) / 2 + 2 * expected / math.sqrt(sizes[0]), (name, med, lo, hi)


@pytest.mark.parametrize("shape", [(1, 7, 301), (2, 4, 3, 500)])
def test_overlap_bootstrap_by_resample_counts_is_the_bootstrap_of_the_overlap_statistics(shape):
    """The weights form (one matmul of resample counts) against the generic gather-per-resample bootstrap, with the
    same seed: the same values, the same errors to rounding; another seed gives other errors (the resamples
    matter)."""
    m = np.random.default_rng(3).normal(0.2, 0.5, size=shape)
    generic = sc.bootstrap(m, lambda v: sc.overlap_statistics(v, 40), seed=5, num_resamples=60)
    fast = sc.overlap_bootstrap(m, 40, seed=5, num_resamples=60)
    other = sc.overlap_bootstrap(m, 40, seed=6, num_resamples=60)
    assert set(fast) == set(generic)
    for name, estimate in generic.items():
        np.testing.assert_array_equal(fast[name].value, estimate.value)
        np.testing.assert_allclose(fast[name].error, estimate.error, rtol=1e-11)
        assert np.max(np.abs(other[name].error / estimate.error - 1)) > 1e-3, name
