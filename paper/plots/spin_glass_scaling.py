"""SK along Monte-Carlo-score (and AMP) generation beyond enumeration, calibrated against parallel tempering.

Six panels, one colour per size N. Top row, along generation against λ = α²/σ² (generation runs λ = 0 → ∞):
(a) the posterior overlap [q₁₂] for each β (filled: Monte-Carlo score; open: AMP score at β < 1) with the
replica-symmetric theory (black, β < 1); (b) the four-replica spin-glass susceptibility [χ_SG] with the
replica-symmetric theory and the forward-law reference (open triangles: the posterior at x_t of the forward
process, s₀ from parallel tempering — what exact generation would show); (c) χ_SG N^{−1/3} at the largest β,
generation (filled) and forward-law reference (open triangles, dotted), whose crossings λ× (grey band) and
λ×_forward (hatched band), each ± error, mark the generative transition and its exact-score value (at a largest
β < 1 χ_SG stays finite and no crossing is expected). Bottom row: (d) the generated law at t_min minus parallel-tempering equilibrium of the same
couplings, paired per sample ([Δ energy per spin], [Δ⟨q²⟩] and ΔU₄(q) of the averaged moments, jackknife errors
over disorder; zero = agreement);
(e) equilibrium [U₄(q)] against β with its crossing β× (grey band) and the mean-field β_c = 1 (dotted);
(f) equilibrium [χ_SG] N^{−1/3} against β (mean field: curves cross at β_c = 1).
"""

from __future__ import annotations

import matplotlib.lines as mlines
import matplotlib.patches as mpatches
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters

LINESTYLES = ("-", "--", ":", "-.")


def _scalar(ds, name):
    return float(ds[name])


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=3, nrows=2, width=style.DOUBLE, height=2.0)
    lam = ds.lam.values
    sizes = ds.n.values
    betas = ds.beta.values
    for i, n in enumerate(sizes):
        color = f"C{i}"
        for j, beta in enumerate(betas):
            ls = LINESTYLES[j % len(LINESTYLES)]
            one = ds.sel(n=n, beta=beta)
            axes[0, 0].errorbar(lam, one.gen_q12_avg, one.gen_q12_avg_err, color=color, ls=ls, marker="o", ms=1.8,
                                lw=0.8)
            axes[0, 1].errorbar(lam, one.gen_chi_sg_avg, one.gen_chi_sg_avg_err, color=color, ls=ls, marker="o",
                                ms=1.8, lw=0.8)
        if "amp_beta" in ds.coords:
            for beta in ds.amp_beta.values:
                one = ds.sel(n=n, amp_beta=beta)
                axes[0, 0].errorbar(lam * 1.08, one.amp_q12_avg, one.amp_q12_avg_err, color=color, ls="none",
                                    marker="s", mfc="none", ms=2.2, lw=0.6)
        if "forward_chi_sg_avg" in ds:
            for beta in betas:
                one = ds.sel(n=n, beta=beta)
                axes[0, 1].errorbar(lam * 0.93, one.forward_chi_sg_avg, one.forward_chi_sg_avg_err, color=color,
                                    ls="none", marker="^", mfc="none", ms=2.2, lw=0.6)
        fss = ds.sel(n=n, beta=float(ds.fss_beta))
        scale = float(n) ** (-1 / 3)
        axes[0, 2].errorbar(lam, fss.gen_chi_sg_avg * scale, fss.gen_chi_sg_avg_err * scale, color=color,
                            marker="o", ms=1.8, lw=0.8)
        if "forward_chi_sg_avg" in ds:
            axes[0, 2].errorbar(lam * 0.93, fss.forward_chi_sg_avg * scale, fss.forward_chi_sg_avg_err * scale,
                                color=color, ls=":", marker="^", mfc="none", ms=2.2, lw=0.7)
        one = ds.sel(n=n)
        axes[1, 1].errorbar(ds.pt_beta, one.pt_binder_q_avg, one.pt_binder_q_avg_err, color=color, marker="o", ms=2,
                            lw=0.8)
        axes[1, 2].errorbar(ds.pt_beta, one.pt_chi_sg_avg * scale, one.pt_chi_sg_avg_err * scale, color=color,
                            marker="o", ms=2, lw=0.8)
    if "rs_beta" in ds.coords:
        for beta in ds.rs_beta.values:
            ls = LINESTYLES[list(betas).index(beta) % len(LINESTYLES)] if beta in betas else "-"
            axes[0, 0].plot(lam, ds.rs_q12.sel(rs_beta=beta), color="k", lw=1.0, ls=ls, zorder=5)
            axes[0, 1].plot(lam, ds.rs_chi_sg.sel(rs_beta=beta), color="k", lw=1.0, ls=ls, zorder=5)
    # (d) calibration against parallel tempering
    ax = axes[1, 0]
    offsets = np.linspace(-0.06, 0.06, 2 * len(betas) + 2)
    k = 0
    for prefix, dim, marker, mfc in (("diff", "beta", "o", None), ("amp_diff", "amp_beta", "s", "none")):
        if f"{prefix}_energy" not in ds:
            continue
        for j, beta in enumerate(ds[dim].values):
            jb = list(betas).index(beta)
            for name, color in (("energy", "0.15"), ("q2", "C3"), ("binder", "C4")):
                if f"{prefix}_{name}" not in ds:
                    continue
                x = sizes * np.exp(offsets[k])
                ax.errorbar(x, ds[f"{prefix}_{name}"].sel({dim: beta}), ds[f"{prefix}_{name}_err"].sel({dim: beta}),
                            color=color, ls=LINESTYLES[jb % len(LINESTYLES)], marker=marker,
                            mfc=mfc or color, ms=2.5, lw=0.7, capsize=1.5)
            k += 1
    ax.axhline(0.0, color="0.5", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(int(n)) for n in sizes])
    ax.minorticks_off()
    # crossings
    lam_x, lam_e = _scalar(ds, "gen_crossing_lam"), _scalar(ds, "gen_crossing_lam_err")
    axes[0, 2].axvspan(lam_x - lam_e, lam_x + lam_e, color="0.5", alpha=0.25, lw=0)
    if "forward_crossing_snr" in ds:
        fwd_x, fwd_e = _scalar(ds, "forward_crossing_snr"), _scalar(ds, "forward_crossing_snr_err")
        axes[0, 2].axvspan(fwd_x - fwd_e, fwd_x + fwd_e, facecolor="none", edgecolor="0.35", hatch="////", lw=0)
    beta_x, beta_e = _scalar(ds, "eq_crossing_beta"), _scalar(ds, "eq_crossing_beta_err")
    axes[1, 1].axvspan(beta_x - beta_e, beta_x + beta_e, color="0.5", alpha=0.25, lw=0)
    for a in (axes[1, 1], axes[1, 2]):
        a.axvline(1.0, color="k", lw=0.8, ls=":")
    labels = (
        (axes[0, 0], r"$[q_{12}]$", "(a)"), (axes[0, 1], r"$[\chi_{SG}]$", "(b)"),
        (axes[0, 2], rf"$[\chi_{{SG}}]\,N^{{-1/3}}$ at $\beta = {float(ds.fss_beta):g}$", "(c)"),
        (axes[1, 0], r"generated $-$ equilibrium", "(d)"), (axes[1, 1], r"equilibrium $[U_4(q)]$", "(e)"),
        (axes[1, 2], r"equilibrium $[\chi_{SG}]\,N^{-1/3}$", "(f)"),
    )
    for ax, ylabel, letter in labels:
        ax.set_ylabel(ylabel)
        ax.set_title(letter, loc="left")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_xlabel(r"$\lambda = \alpha_t^2/\sigma_t^2$ (generation: $\lambda = 0 \to \infty$)")
    axes[0, 1].set_yscale("symlog", linthresh=0.1)
    axes[0, 1].set_ylim(bottom=0.0)
    axes[1, 0].set_xlabel(r"$N$")
    for ax in axes[1, 1:]:
        ax.set_xlabel(r"$\beta$ (parallel tempering)")
    handles = [mpatches.Patch(color=f"C{i}", label=f"N = {int(n)}") for i, n in enumerate(sizes)]
    handles += [mlines.Line2D([], [], color="0.3", ls=LINESTYLES[j % len(LINESTYLES)], marker="o", ms=2, lw=0.8,
                              label=f"β = {b:g}, Monte-Carlo score") for j, b in enumerate(betas)]
    if "amp_beta" in ds.coords:
        handles.append(mlines.Line2D([], [], color="0.3", ls="none", marker="s", mfc="none", ms=2.5,
                                     label="AMP score (β < 1)"))
    if "forward_chi_sg_avg" in ds:
        handles.append(mlines.Line2D([], [], color="0.3", ls=":", marker="^", mfc="none", ms=2.5, lw=0.7,
                                     label="forward law (exact score)"))
        handles.append(mpatches.Patch(facecolor="none", edgecolor="0.35", hatch="////", lw=0,
                                      label="(c) forward-law crossing ± error"))
    handles += [mlines.Line2D([], [], color="k", lw=1.0, label="replica-symmetric theory (β < 1)"),
                mlines.Line2D([], [], color="0.15", marker="o", ms=2.5, lw=0.7, label=r"(d) $[\Delta e]$"),
                mlines.Line2D([], [], color="C3", marker="o", ms=2.5, lw=0.7,
                              label=r"(d) $[\Delta\langle q^2\rangle]$"),
                mlines.Line2D([], [], color="C4", marker="o", ms=2.5, lw=0.7,
                              label=r"(d) $\Delta U_4$ of $[\langle q^2\rangle], [\langle q^4\rangle]$"),
                mpatches.Patch(color="0.5", alpha=0.3, lw=0, label="crossing ± error"),
                mlines.Line2D([], [], color="k", lw=0.8, ls=":", label=r"mean field $\beta_c = 1$")]
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncols=4)
    style.subtitle(fig, "Sherrington–Kirkpatrick along generation, Monte-Carlo score vs parallel tempering: "
                   + _parameters.lines(
                       ds, ("N=sizes", "β=betas", "disorder samples=num_disorder", "particles=batch"),
                       ("chains per particle=chains_per_x", "steps=num_steps", "sweeps per step=sweeps_per_step",
                        "burn-in sweeps=burn_in", "t_min", "T=t_max"),
                       ("β > 1: tempered posterior rungs=posterior_replicas",
                        "rung β_min=posterior_beta_min", "sweeps per step per rung=posterior_sweeps"),
                       ("forward-law particles=forward_batch", "PT replicas=pt_num_betas", "PT β_min=pt_beta_min",
                        "PT β_max=pt_beta_max", "PT chains=pt_chains", "PT burn-in=pt_burn_in", "PT sweeps=pt_sweeps"),
                       ("AMP score below β=amp_max_beta", "collapse half-width in β=eq_collapse_window",
                        "emcee steps=emcee_steps"),
                       extra="disorder errors: jackknife"))
    return fig


def summary(ds: xr.Dataset) -> str:
    def pm(name, fmt=".4f"):
        return f"{float(ds[name]):{fmt}} ± {float(ds[name + '_err']):{fmt}}"

    def interval(name):
        return (f"{float(ds[name]):.3f} (68%: {float(ds[name + '_lo']):.3f} … {float(ds[name + '_hi']):.3f})")

    lines = ["SK along Monte-Carlo-score generation against parallel tempering (same couplings), "
             "generated - equilibrium at t_min, [.] over disorder with jackknife errors:"]
    for n in ds.n.values:
        for beta in ds.beta.values:
            one = ds.sel(n=n, beta=beta)
            lines.append(f"  N = {int(n)}, beta = {beta:g}: [d energy] = {float(one.diff_energy):+.4f} ± "
                         f"{float(one.diff_energy_err):.4f} (z = {float(one.diff_energy_z):+.1f}), [d <q^2>] = "
                         f"{float(one.diff_q2):+.4f} ± {float(one.diff_q2_err):.4f} (z = {float(one.diff_q2_z):+.1f}), "
                         f"d U4 = {float(one.diff_binder):+.3f} ± {float(one.diff_binder_err):.3f} "
                         f"(z = {float(one.diff_binder_z):+.1f})"
                         + ("" if "tempered_beta" not in ds.coords or beta not in ds.tempered_beta.values else
                            f", tempered posterior chains: smallest exchange acceptance "
                            f"{float(ds.gen_swap_min.sel(n=n, tempered_beta=beta).mean()):.2f}"))
        if "amp_beta" in ds.coords:
            for beta in ds.amp_beta.values:
                one = ds.sel(n=n, amp_beta=beta)
                lines.append(f"  N = {int(n)}, beta = {beta:g}, AMP score: [d energy] = "
                             f"{float(one.amp_diff_energy):+.4f}"
                             f" ± {float(one.amp_diff_energy_err):.4f} (z = {float(one.amp_diff_energy_z):+.1f}), "
                             f"[d <q^2>] = {float(one.amp_diff_q2):+.4f} ± {float(one.amp_diff_q2_err):.4f} "
                             f"(z = {float(one.amp_diff_q2_z):+.1f})")
    lines += [
        f"Equilibrium crossing of [U4(q)] (N = {int(ds.n[0])}, {int(ds.n[-1])}): "
        f"beta_x = {pm('eq_crossing_beta', '.3f')}"
        f" (mean field 1), U4 there = {pm('eq_crossing_u4', '.3f')}",
        f"Equilibrium [chi_SG] ~ N^x at beta = {float(ds.eq_chi_exponent_beta):g}: x = {interval('eq_chi_exponent')}"
        " (mean field 1/3 at beta_c = 1)",
        f"Equilibrium collapse of [chi_SG]: beta_c = {interval('eq_collapse_c_c')} (mean field 1), "
        f"a = 1/nu-bar = {interval('eq_collapse_a')} (1/3), b = {interval('eq_collapse_b')} (-1/3)"
        + ("" if "eq_collapse_mf_c_c" not in ds else
           f"; <r^2> = {float(ds.eq_collapse_mean_square):.2f} there, and {float(ds.eq_collapse_mf_mean_square):.2f}"
           f" with the mean-field exponents held fixed (beta_c = {float(ds.eq_collapse_mf_c_c):.3f})"),
        f"Generation at beta = {float(ds.fss_beta):g}: chi_SG N^(-1/3) crossing at lambda_x = "
        f"{pm('gen_crossing_lam', '.3f')} (no mean-field value computed)",
    ]
    if "forward_crossing_snr" in ds:
        lines.append(f"Forward-law reference at beta = {float(ds.fss_beta):g} (posterior at x_t = alpha s0 + sigma xi, "
                     f"s0 from parallel tempering: what exact generation would show): lambda_x = "
                     f"{pm('forward_crossing_snr', '.3f')}"
                     + ("" if float(ds.fss_beta) > 1 else " (beta < 1: chi_SG stays finite, no crossing expected)"))
        gap = ds.gen_minus_forward_chi_sg / ds.gen_minus_forward_chi_sg_err
        for n in ds.n.values:
            for beta in ds.beta.values:
                z = gap.sel(n=n, beta=beta).values
                finite = z[np.isfinite(z)]
                lines.append(f"  N = {int(n)}, beta = {beta:g}: [chi_SG generated - forward law] paired per sample: "
                             f"largest |z| over times {np.max(np.abs(finite)) if finite.size else np.nan:.1f}, "
                             f"mean z {np.mean(finite) if finite.size else np.nan:+.2f}")
    return "\n".join(lines)
