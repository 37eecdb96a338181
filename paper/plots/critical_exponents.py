"""Curie–Weiss finite-size scaling in equilibrium (control β, exact P(m)) and along the generative trajectory
(control λ = α²/σ², exact forward paths at fixed β).

(a) U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) against β, with the Binder crossing of the smallest and largest N (both errors)
and the large-N critical value U₄* = 1 − Γ(¼)²/(12Γ(¾)²) ≈ 0.2705; (b) U₄ of the denoiser magnetisation m_D
against λN^{1/2} (U₄ → U₄* as t → 0 at β = 1); (c), (d) the collapses ⟨m²⟩^{1/2} N^{b_m} against (c − c_c)N^{a}
with the emcee medians of c_c, a, b_m (68% intervals in the legend); mean field: β_c = 1, a = ½, b_m = ¼
(Botet, Jullien & Pfeuty, PRL 49, 478 (1982)), and λ_c = 0, a_λ = ½ along the trajectory. Error bars:
bootstrap standard errors.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters
from statphys.paper.plots._scaling import MEAN_FIELD, posterior_text, CW_CRITICAL_BINDER, MARKERS, collapse_panel


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=2, nrows=2, width=style.DOUBLE, height=2.3)
    sizes = ds.n.values
    for i, n in enumerate(sizes):
        marker = MARKERS[i % len(MARKERS)]
        axes[0, 0].errorbar(ds.beta.values, ds.eq_binder.values[i], ds.eq_binder_err.values[i], fmt=marker + "-",
                            ms=2.5, mfc="none", mew=0.7, lw=0.7, label=f"N = {n}")
        axes[0, 1].errorbar(ds.lam.values * np.sqrt(n), ds.traj_binder.values[i], ds.traj_binder_err.values[i],
                            fmt=marker + "-", ms=2.5, mfc="none", mew=0.7, lw=0.7, label=f"N = {n}")
    for ax in axes[0]:
        ax.axhline(CW_CRITICAL_BINDER, color="k", lw=0.6, ls="--",
                   label=rf"$U_4^* = {CW_CRITICAL_BINDER:.4f}$ (exact, $N\to\infty$)")
        ax.set_ylabel(r"Binder cumulant $U_4$")
    axes[0, 0].errorbar(float(ds.eq_binder_crossing_beta), float(ds.eq_binder_crossing_u4),
                        yerr=float(ds.eq_binder_crossing_u4_err), xerr=float(ds.eq_binder_crossing_beta_err),
                        fmt="*", ms=5, color="k", zorder=5, label=f"crossing, N = {sizes[0]} vs {sizes[-1]}")
    axes[0, 0].set_xlabel(r"inverse temperature $\beta$ (equilibrium, $t = 0$)")
    axes[0, 1].set_xlabel(r"$\lambda N^{1/2}$, $\lambda = \alpha_t^2/\sigma_t^2$ (trajectory, $\beta = %g$)"
                          % float(ds.trajectory_beta))
    axes[0, 1].set_xscale("log")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    fit_eq = collapse_panel(axes[1, 0], ds, "eq", "beta", r"\beta", "eq_m2",
                   r"$\langle m^2\rangle^{1/2} N^{b_m}$", logx=False,
                   theory=r"mean field: $\beta_c = 1$, $a = 1/2$, $b_m = 1/4$")
    fit_traj = collapse_panel(axes[1, 1], ds, "traj", "lam", r"\lambda", "traj_m2",
                   r"$\langle m_D^2\rangle^{1/2} N^{b_m}$", logx=True,
                   theory=r"theory: $\lambda_c = 0$, $a = 1/2$, $b_m = 1/4$")
    for ax, letter in zip(axes.ravel(), "abcd"):
        ax.set_title(f"({letter})", loc="left")
    style.subtitle(fig, "Curie–Weiss finite-size scaling: " + _parameters.lines(
        ds, ("N=sizes",), ("equilibrium: β values=num_betas", "exact draws per β=eq_samples",
                           "trajectory: β=beta", "OU paths=batch", "λ values=num_lambdas"),
        ("bootstrap resamples=bootstrap", "emcee steps=emcee_steps"),
        extra="fits: posterior median and 68% interval"))
    _legend.place(axes[1, 0], **fit_eq)
    _legend.place(axes[1, 1], **fit_traj)
    return fig


def summary(ds: xr.Dataset) -> str:
    mf = MEAN_FIELD
    lines = [
        "equilibrium (control beta, exact P(m)):",
        f"  beta_c = {posterior_text(ds, 'eq_c_c')}   [1]",
        f"  a = 1/nu_bar = {posterior_text(ds, 'eq_a')}   [{mf['a']}]",
        f"  b_m = beta/nu_bar = {posterior_text(ds, 'eq_b_m')}   [{mf['b_m']}];  b_chi = -gamma/nu_bar = {posterior_text(ds, 'eq_b_chi')}   [{mf['b_chi']}]",
        f"  exponents beta = {float(ds.eq_beta_exp):.3f} [0.5], gamma = {float(ds.eq_gamma_exp):.3f} [1]",
        f"  Binder crossing (smallest vs largest N): beta_x = {float(ds.eq_binder_crossing_beta):.4f} ± "
        f"{float(ds.eq_binder_crossing_beta_err):.4f}, U4_x = {float(ds.eq_binder_crossing_u4):.4f} ± "
        f"{float(ds.eq_binder_crossing_u4_err):.4f}   [{mf['binder']:.4f}]",
        f"generative trajectory (beta = {float(ds.trajectory_beta):g}, control lambda = alpha^2/sigma^2):",
        f"  lambda_c = {posterior_text(ds, 'traj_c_c')}   [0, i.e. t_c = inf]",
        f"  a_lambda = {posterior_text(ds, 'traj_a')}   [0.5]",
        f"  b_m = {posterior_text(ds, 'traj_b_m')}   [{mf['b_m']}];  b_chi = {posterior_text(ds, 'traj_b_chi')}   [{mf['b_chi']}]",
        f"  exponents (nu_bar from equilibrium) beta = {float(ds.traj_beta_exp):.3f} [0.5], gamma = {float(ds.traj_gamma_exp):.3f} [1]",
        f"  U4 at the largest lambda N^1/2 = {float(ds.traj_u4_end):.4f} ± {float(ds.traj_u4_end_err):.4f}   [{mf['binder']:.4f} as t -> 0]",
    ]
    return "\n".join(lines)
