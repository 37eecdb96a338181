"""Figure of the ode_sde_gap study (Deveney et al., arXiv 2311.15996): W₂ between the PF-ODE and reverse-SDE
laws of a learned score, and of each against the data, vs the Fokker–Planck regulariser weight λ for the
score-PDE and log-density forms; the residual E_{p_t}[R_u²] integrated over t; the gap against the residual
per training run."""

from __future__ import annotations

import numpy as np

from statphys.paper import style

FORMS = {"score": ("C0", "o", r"score form $R_s=\nabla R_u$"), "log_density": ("C3", "s", r"log-density form $R_u$")}
LINTHRESH = 0.1  # symlog x axis: linear below, so that λ = 0 is drawn


def _x(lam: np.ndarray, shift: float) -> np.ndarray:
    """λ offset sideways on the symlog axis so that the two forms do not overlap."""
    return np.where(lam > 0, lam * (1 + shift), shift * LINTHRESH)


def plot(ds):
    fig, axes = style.figure(ncols=2, nrows=2, width=style.DOUBLE, height=2.5)
    (a, b), (c, d) = axes
    lam = ds.fp_weight.values
    forms = [f for f in FORMS if f in ds.fp_form.values]
    for i, form in enumerate(forms):
        color, marker, label = FORMS[form]
        sel = ds.sel(fp_form=form)
        shift = 0.12 * (i - (len(forms) - 1) / 2)
        a.errorbar(_x(lam, shift), sel.w2_ode_sde.values, yerr=sel.w2_ode_sde_err.values, color=color,
                   marker=marker, label=label)
        for name, ls, fill, what in (("w2_ode_data", "-", color, "ODE"), ("w2_sde_data", "--", "white", "SDE")):
            b.errorbar(_x(lam, shift), sel[name].values, yerr=sel[f"{name}_err"].values, color=color, ls=ls,
                       marker=marker, mfc=fill, label=f"{what}, {form.replace('_', '-')} form")
        c.errorbar(_x(lam, shift), sel.fp_residual.values, yerr=sel.fp_residual_err.values, color=color,
                   marker=marker, label=label)
    floor, floor_err = ds.w2_floor.values.mean(), ds.w2_floor_err.values.mean()
    for ax in (a, b):
        ax.axhspan(floor - floor_err, floor + floor_err, color="0.85", zorder=0)
        ax.axhline(floor, color="0.4", ls=":", lw=0.9, label="two exact samples (floor)")
    a.set(ylabel=r"$W_2(\mathrm{ODE},\,\mathrm{SDE})$", title="(a) ODE–SDE gap")
    b.set(ylabel=r"$W_2(\cdot,\ \mathrm{data})$", title="(b) each law against the data")
    c.set(yscale="log", ylabel=r"$\int dt\; E_{p_t}[R_u^2]$", title="(c) log-density Fokker–Planck residual")
    for ax in (a, b, c):
        ax.set_xscale("symlog", linthresh=LINTHRESH, linscale=0.5)
        ax.set_xticks(lam)
        ax.set_xticklabels([f"{v:g}" for v in lam])
        ax.set_xlabel(r"regulariser weight $\lambda$")
        ax.set_xlim(-0.06, lam.max() * 1.6)
    a.set_ylim(0, 1.35 * float((ds.w2_ode_sde + ds.w2_ode_sde_err).max()))
    b.set_ylim(0, 1.55 * float((ds.w2_sde_data + ds.w2_sde_data_err).max()))
    a.legend(loc="upper right")
    b.legend(loc="upper left", ncol=2)
    c.legend(loc="lower left")

    markers = ["o", "s", "^", "D", "v", "P"]
    for i, form in enumerate(forms):
        color = FORMS[form][0]
        for j, value in enumerate(lam):
            sel = ds.sel(fp_form=form, fp_weight=value)
            d.errorbar(sel.fp_residual_runs.values, sel.w2_ode_sde_runs.values, yerr=sel.w2_ode_sde_boot.values,
                       color=color, marker=markers[j % len(markers)], ls="none", alpha=0.8)
    for form in forms:
        d.plot([], [], color=FORMS[form][0], ls="-", label=FORMS[form][2])
    for j, value in enumerate(lam):
        d.plot([], [], color="0.3", marker=markers[j % len(markers)], ls="none", label=rf"$\lambda$ = {value:g}")
    d.set(xscale="log", xlabel=r"$\int dt\; E_{p_t}[R_u^2]$ of one run",
          ylabel=r"$W_2(\mathrm{ODE},\,\mathrm{SDE})$ of one run", title="(d) gap vs residual, each training run")
    d.set_ylim(0, 1.5 * float((ds.w2_ode_sde_runs + ds.w2_ode_sde_boot).max()))
    d.legend(loc="upper left", ncol=2)

    config = style.describe(ds, "μ=mu", "σ=sigma", "T=diffusion_time", "t_min", "train_steps", "hidden", "seeds",
                            "steps=num_steps", "samples=batch")
    style.subtitle(fig, "ODE–SDE gap of a learned score: target ½N(μ,σ²)+½N(−μ,σ²), OU noising; network: tanh MLP "
                        "(2 hidden layers) added to the N(0,1) score\nPF-ODE (Heun) vs reverse SDE (Euler–Maruyama); "
                        "error bars: standard error over independent training runs (d: bootstrap within a run)\n"
                   + config)
    return fig
