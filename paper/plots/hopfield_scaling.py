"""Hopfield model with K = 2 random patterns: disorder-averaged finite-size scaling of the pattern overlaps.

(a) [U₄] against β: sampled disorder average (markers, jackknife errors over disorder samples) and the exact
binomial disorder average Σ_{N_A} Binomial(N_A; N, ½) U₄(N_A) (lines), with the large-N limits [U₄] → 0.4876
and U₄ → 0.4686 for orthogonal patterns (N_A = N/2) and the Binder crossing of the smallest and largest N;
(b) [U₄] of the denoiser overlaps along the generative trajectory against λN^{1/2}, λ = α²/σ², with the single
disorder samples of the largest N; (c), (d) the collapses [⟨|m|²⟩]^{1/2} N^{b_m} against (c − c_c) N^{a} with
the emcee medians (68% intervals in the legend). The model splits into two Curie–Weiss groups of sizes N_A and
N − N_A at β_A = 2βN_A/N, β_B = 2β(N − N_A)/N, so every reference line is exact.
"""

from __future__ import annotations

import matplotlib.lines as mlines
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters
from statphys.paper.plots._scaling import MARKERS, collapse_panel, posterior_text


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=2, nrows=2, width=style.DOUBLE, height=2.3)
    sizes, betas, lam = ds.n.values, ds.beta.values, ds.lam.values
    for d in range(ds.sizes["disorder"]):
        axes[0, 1].plot(lam * np.sqrt(sizes[-1]), ds.traj_binder_sample.values[-1, d], "-", lw=0.4, color="0.75",
                        zorder=1, label=f"single disorder samples, N = {sizes[-1]}" if d == 0 else None)
    for i, n in enumerate(sizes):
        marker = MARKERS[i % len(MARKERS)]
        line = axes[0, 0].errorbar(betas, ds.eq_binder.values[i], ds.eq_binder_err.values[i], fmt=marker, ms=2.5,
                                   mfc="none", mew=0.7, label=f"N = {n}", zorder=3)
        axes[0, 0].plot(betas, ds.eq_binder_exact.values[i], "-", lw=0.7, color=line[0].get_color(), zorder=2)
        axes[0, 1].errorbar(lam * np.sqrt(n), ds.traj_binder.values[i], ds.traj_binder_err.values[i],
                            fmt=marker + "-", ms=2.5, mfc="none", mew=0.7, lw=0.7, label=f"N = {n}", zorder=3)
    exact = mlines.Line2D([], [], color="0.3", lw=0.7, label="exact disorder average (lines)")
    u_limit, u_orthogonal = float(ds.binder_limit_disorder_averaged), float(ds.binder_limit_orthogonal)
    limit = axes[0, 0].axhline(u_limit, color="k", lw=0.6, ls="--",
                               label=rf"$[U_4]_{{N\to\infty}} = {u_limit:.4f}$ (exact)")
    orthogonal = axes[0, 0].axhline(u_orthogonal, color="k", lw=0.6, ls=":",
                                    label=rf"orthogonal patterns, $N\to\infty$: {u_orthogonal:.4f} (exact)")
    crossing = axes[0, 0].errorbar(float(ds.eq_binder_crossing_beta), float(ds.eq_binder_crossing_u4),
                                   yerr=float(ds.eq_binder_crossing_u4_err), xerr=float(ds.eq_binder_crossing_beta_err),
                                   fmt="*", ms=5, color="k", zorder=5,
                                   label=f"$[U_4]$ crossing, N = {sizes[0]} vs {sizes[-1]}")
    axes[0, 0].set(xlabel=r"inverse temperature $\beta$ (equilibrium, $t = 0$)", ylabel=r"Binder cumulant $[U_4]$")
    axes[0, 1].set(xlabel=r"$\lambda N^{1/2}$, $\lambda = \alpha_t^2/\sigma_t^2$ (trajectory, $\beta = %g$)"
                   % float(ds.trajectory_beta), ylabel=r"Binder cumulant $[U_4]$ of $m_D$", xscale="log")
    fit_eq = collapse_panel(axes[1, 0], ds, "eq", "beta", r"\beta", "eq_m2",
                   r"$[\langle|m|^2\rangle]^{1/2} N^{b_m}$", logx=False,
                   theory=r"mean field: $\beta_c = 1$, $a = 1/2$, $b_m = 1/4$")
    fit_traj = collapse_panel(axes[1, 1], ds, "traj", "lam", r"\lambda", "traj_m2",
                   r"$[\langle|m_D|^2\rangle]^{1/2} N^{b_m}$", logx=True,
                   theory=r"theory: $\lambda_c = 0$, $a = 1/2$, $b_m = 1/4$")
    for ax, letter in zip(axes.ravel(), "abcd"):
        ax.set_title(f"({letter})", loc="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    keep = [k for k, label in enumerate(labels) if label.startswith("N = ")]
    samples = axes[0, 1].get_legend_handles_labels()
    fig.legend([handles[k] for k in keep] + [exact, limit, orthogonal, crossing, samples[0][0]],
               [labels[k] for k in keep] + [exact.get_label(), limit.get_label(), orthogonal.get_label(),
                                            crossing.get_label(), samples[1][0]],
               loc="outside lower center", ncols=4)
    style.subtitle(fig, "Hopfield model, K = 2 random patterns, exact at every N: " + _parameters.lines(
        ds, ("N=sizes", "disorder samples per N=num_disorder"),
        ("equilibrium: β values=num_betas", "exact draws per β=eq_samples", "trajectory: β=beta",
         "OU paths=batch", "λ values=num_lambdas"),
        ("bootstrap resamples=bootstrap", "emcee steps=emcee_steps"),
        extra="errors: jackknife over disorder samples; fits: posterior median and 68% interval"))
    _legend.place(axes[1, 0], **fit_eq)
    _legend.place(axes[1, 1], **fit_traj)
    return fig


def summary(ds: xr.Dataset) -> str:
    n = ds.n.values
    lines = [
        f"Hopfield K = 2, {ds.sizes['disorder']} disorder samples per N; group sizes N_A/N at the largest N: "
        + ", ".join(f"{a / n[-1]:.3f}" for a in ds.size_a.values[-1]),
        "equilibrium (control beta, exact draws per sample, disorder average with its jackknife error):",
        f"  beta_c = {posterior_text(ds, 'eq_c_c')}   [1];  a = {posterior_text(ds, 'eq_a')}   [0.5]",
        f"  b_m = {posterior_text(ds, 'eq_b_m')}   [0.25];  b_chi = {posterior_text(ds, 'eq_b_chi')}   [-0.5]",
        f"  [U4] crossing (N = {n[0]} vs {n[-1]}): beta_x = {float(ds.eq_binder_crossing_beta):.4f} ± "
        f"{float(ds.eq_binder_crossing_beta_err):.4f}, U4_x = {float(ds.eq_binder_crossing_u4):.4f} ± "
        f"{float(ds.eq_binder_crossing_u4_err):.4f}",
        f"  exact [U4] at beta = 1 per N: " + ", ".join(f"{u:.4f}" for u in ds.eq_binder_at_beta_1_exact.values)
        + f"   [N -> inf: {float(ds.binder_limit_disorder_averaged):.4f}; orthogonal patterns "
        f"{float(ds.binder_limit_orthogonal):.4f}; U4 of averaged moments {float(ds.binder_limit_of_averaged_moments):.4f}]",
        f"generative trajectory (beta = {float(ds.trajectory_beta):g}, control lambda = alpha^2/sigma^2):",
        f"  lambda_c = {posterior_text(ds, 'traj_c_c')}   [0];  a_lambda = {posterior_text(ds, 'traj_a')}   [0.5]",
        f"  b_m = {posterior_text(ds, 'traj_b_m')}   [0.25];  b_chi = {posterior_text(ds, 'traj_b_chi')}   [-0.5]",
        "  [U4] at the largest lambda per N: " + ", ".join(
            f"{u:.3f} ± {e:.3f}" for u, e in zip(ds.traj_u4_end.values, ds.traj_u4_end_err.values)),
    ]
    return "\n".join(lines)
