"""Yu & Huang's reverse entropy flux of ½N(±μ, σ²) under OU: the closed form φ_R = μ_t² + Γ_t − 3 + 2J_t against
the quadrature of the current, its sign change against the speciation time over σ², and the exact-score reverse
SDE in their third regime σ² > 2 against the exact law."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models.gaussian import GaussianMixture
from statphys.physics.entropy_rates import ensemble_rates_1d, reverse_flux_zero
from statphys.physics.mixture_flux import (
    gmm_fisher_information,
    gmm_reverse_flux,
    gmm_reverse_flux_zeros,
    speciation_time_yu_huang,
)
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule

Z = 4.5


@pytest.mark.parametrize("sigma2", [0.1, 0.4, 1.0, 3.0])
def test_reverse_flux_closed_form_matches_current_quadrature(sigma2):
    """φ_R from the Fisher information (trapezoid in z) against E[(x + 2∇ln p)(x + ∇ln p)] by Simpson's rule on a
    grid of the closed-form p_t and score (`ensemble_rates_1d`): two independent quadratures."""
    mix = GaussianMixture.symmetric(1.0, math.sqrt(sigma2), 1)
    ts = np.array([0.01, 0.1, 0.3, 0.5, 1.0, 2.0])
    grid = ensemble_rates_1d(mix, make_schedule("ou", T=5.0, t_min=1e-3), ts, x_max=16.0, num_points=16001)
    np.testing.assert_allclose(gmm_reverse_flux(ts, 1.0, math.sqrt(sigma2)), grid.flux_reverse, rtol=1e-6,
                               atol=1e-9)


def test_reverse_flux_gaussian_closed_form():
    """μ = 0: p_t = N(0, Γ_t), J = 1/Γ, so φ_R = (Γ − 1)(Γ − 2)/Γ."""
    t = np.geomspace(1e-3, 5.0, 30)
    for s2 in (0.3, 2.5):
        gamma = 1 - np.exp(-2 * t) + s2 * np.exp(-2 * t)
        # φ_R = Γ − 3 + 2/Γ cancels terms of order 3: absolute rounding ~ 10 ε
        np.testing.assert_allclose(gmm_reverse_flux(t, 0.0, math.sqrt(s2)), (gamma - 1) * (gamma - 2) / gamma,
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sigma2,t_flux,t_s", [(0.1, 0.494, 0.426), (0.4, 0.244, 0.386), (1.0, 0.081, 0.347)])
def test_flux_sign_change_against_speciation(sigma2, t_flux, t_s):
    """One sign change of φ_R in diffusion time; its position by the closed form equals the brentq zero of the
    quadrature of the current (`reverse_flux_zero`); t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) is the reverse-SDE drift
    instability at x = 0. σ² = 0.1: t_flux > t_S (the flux flips before speciation in generation order);
    σ² = 0.4 and 1: t_flux < t_S (after)."""
    sigma = math.sqrt(sigma2)
    zeros = gmm_reverse_flux_zeros(1.0, sigma)
    assert zeros.size == 1, zeros
    mix = GaussianMixture.symmetric(1.0, sigma, 1)
    other = reverse_flux_zero(mix, make_schedule("ou", T=5.0, t_min=1e-3), zeros[0] * 0.8, zeros[0] * 1.25)
    assert zeros[0] == pytest.approx(other, abs=1e-6)
    assert zeros[0] == pytest.approx(t_flux, abs=1e-3)
    assert tr.gmm_speciation_time(1.0, sigma) == pytest.approx(t_s, abs=1e-3)
    assert speciation_time_yu_huang(1.0, sigma) == pytest.approx(tr.gmm_speciation_time(1.0, sigma), abs=1e-14)
    slopes = tr.gmm_drift_slopes(tr.gmm_speciation_time(1.0, sigma), 1.0, sigma)
    assert float(slopes[1]) == pytest.approx(0.0, abs=1e-12)  # the slope of x + 2∇ln p_t at 0 vanishes at t_S
    assert (zeros[0] > t_s) == (sigma2 < 0.16)


def test_third_regime_exact_reverse_sde_reproduces_the_law():
    """σ² = 3 > 2, where Γ_t > 2 for t < t_USB = ½ ln 2 and the reverse-SDE drift points outwards at large |x|: the
    exact-score reverse SDE (Euler–Maruyama, 400 steps from the exact p_T) still reproduces p_{t_min}: KS p-value
    above 10⁻³ and ⟨x²⟩, ⟨x⁴⟩ within 4.5 standard errors (20 000 paths; the Euler–Maruyama bias of ⟨x²⟩ at 400
    steps, ≈ 0.03 by the 100-step value / 4, is below one standard error, 0.04)."""
    from statphys.studies.kinds import reverse_flux as kind

    r = kind.usb_check(jax.random.PRNGKey(3), 1.0, 3.0, 400, 20_000, 5.0, 1e-3)
    assert r["ks_pvalue"] > 1e-3, r["ks_pvalue"]
    assert abs(r["m2"] - r["m2_exact"]) < Z * r["m2_err"], r
    assert abs(r["m4"] - r["m4_exact"]) < Z * r["m4_err"], r
    assert r["m2_exact"] == pytest.approx(math.exp(-2e-3) * 4 + 1 - math.exp(-2e-3))


@pytest.mark.slow
def test_study_kind_runs_and_plots(tmp_path):
    from statphys.paper import plots
    from statphys.studies.kinds import reverse_flux as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(num_sigma2=12, num_t=40, usb_sigma2=[3.0], num_steps=[50, 100], num_samples=2000, num_bins=20)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    for name in ("t_flux", "t_speciation", "flux_reverse", "ks_pvalue", "m2", "m2_err", "histogram"):
        assert np.all(np.isfinite(ds[name].values)), name
    assert np.all(ds.flux_zero_count.values == 1)
    assert 0.1 < float(ds.sigma2_flux_equals_speciation) < 0.2
    assert float(ds.sel(curve_sigma2=0.1).curve_t_flux) == pytest.approx(0.4943, abs=1e-3)
    ds.attrs.update(kind="reverse_flux", profile="test", config="{}")
    written = plots.draw("reverse_flux", ds, tmp_path / "reverse_flux")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    with pytest.raises(ValueError, match="usb_sigma2"):
        kind.validate({**params, "usb_sigma2": []})
    with pytest.raises(ValueError, match="sampler"):
        kind.validate({**params, "sampler": "pf_heun"})


def test_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        gmm_reverse_flux(0.1, 1.0, 0.0)
    with pytest.raises(ValueError, match="mu"):
        gmm_fisher_information(0.1, -1.0, 1.0)
    with pytest.raises(ValueError, match="t_min"):
        gmm_reverse_flux_zeros(1.0, 1.0, t_min=1.0, t_max=0.5)
    assert float(gmm_fisher_information(jnp.asarray(0.7), 0.0, 1.0)) == pytest.approx(1.0)
