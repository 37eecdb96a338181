"""Closed forms of the symmetric mixture ½N(μ, σ²) + ½N(−μ, σ²) under the OU forward process (f = −1, g² = 2):
speciation time, Fisher information and reverse medium-entropy flux (Yu & Huang, arXiv 2405.11932, Secs. II–IV).

With μ_t = μ e^{−t} and Γ_t = 1 − e^{−2t} + σ² e^{−2t}, p_t = ½N(μ_t, Γ_t) + ½N(−μ_t, Γ_t) and
∂ₓ ln p_t = (μ_t tanh(μ_t x/Γ_t) − x)/Γ_t. Rates as in `physics.entropy_rates`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize

Array = Any


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
