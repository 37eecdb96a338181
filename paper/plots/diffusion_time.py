"""Figure of the diffusion_time study (Franzese et al., arXiv 2206.05173): against −ln ᾱ(T), for OU and the
linear VP schedule, (a) the exact-score KL on Gaussian data and its prior part, (b) the learned-score term
G(s_θ, T), one network per T beside one network trained to the largest T, (c) the bound G + prior KL with the
best T of each schedule."""

from __future__ import annotations

import numpy as np

from statphys.paper import style

SCHEDULES = {"ou": ("C0", "o", "OU"), "vp_linear": ("C3", "s", "linear VP")}


def plot(ds):
    fig, (a, b, c) = style.figure(ncols=3, width=style.DOUBLE, height=3.0)
    x = -np.log(ds.abar_T.isel(schedule=0).values)
    names = [str(s) for s in ds.schedule.values]
    shift = {name: 1 + 0.03 * (i - (len(names) - 1) / 2) for i, name in enumerate(names)}
    a.plot(x, ds.prior_kl_gaussian.isel(schedule=0).values, color="0.3", ls=":", marker="^", mfc="white",
           label=r"prior part, KL$(p_T\|\mathcal{N}(0,\sigma_T^2))$")
    c.plot(x, ds.prior_kl_mixture.isel(schedule=0).values, color="0.3", ls=":", marker="^", mfc="white",
           label=r"prior KL$(p_T\|\mathcal{N}(0,\sigma_T^2))$")
    for name in names:
        color, marker, label = SCHEDULES.get(name, ("k", "o", name))
        sel = ds.sel(schedule=name)
        xs = x * shift[name]
        a.plot(xs, sel.total_kl_gaussian_exact_score.values, color=color, marker=marker,
               label=f"{label}: KL(generated ‖ data)")
        b.errorbar(xs, sel.score_term.values, yerr=sel.score_term_err.values, color=color, marker=marker,
                   label=rf"{label}: a network per $T$")
        b.errorbar(xs, sel.score_term_shared.values, yerr=sel.score_term_shared_err.values, color=color,
                   marker=marker, mfc="white", ls="--", label=rf"{label}: one network to $T_{{\max}}$")
        c.errorbar(xs, sel.bound.values, yerr=sel.bound_err.values, color=color, marker=marker,
                   label=rf"{label}: $G$ + prior KL")
        for ax, best in ((a, float(sel.best_T_exact)), (c, float(sel.best_T_learned))):
            i = int(np.argmin(np.abs(sel.diffusion_T.values - best)))
            top = float(np.nanmax(sel.bound.values if ax is c else sel.total_kl_gaussian_exact_score.values))
            ax.vlines(x[i] * shift[name], 0, 3 * top, color=color, ls="-.", lw=0.8,
                      label=rf"{label}: $T^*$ = {best:.3g}, $\bar\alpha(T^*)$ = {float(sel.abar_T.values[i]):.3g}")
    a.set(yscale="log", ylabel="KL (nats)", title="(a) exact score, data N(1, 0.3)")
    b.set(ylabel=r"score term $G(s_\theta,T)$ (nats)", title="(b) learned score, mixture")
    b.set_ylim(0, 1.9 * float((ds.score_term + ds.score_term_err).max()))
    c.set(yscale="log", ylabel="bound, prior KL (nats)", title="(c) Franzese et al. bound")
    for ax in (a, c):
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * (hi / lo) ** 0.55)
    for ax in (a, b, c):
        ax.set_xscale("log")
        ax.set_xlabel(r"$-\ln\bar\alpha(T)$   (OU: $2T$)")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.minorticks_off()
        ax.legend(loc="upper left", fontsize=5.5)
    described = style.describe(ds, "μ=mu", "σ=sigma", "β₀=beta_min", "β₁=beta_max", "t_min (OU-equivalent)=t_min",
                               "steps (a)=num_steps", "sampler", "train_steps", "hidden", "seeds")
    style.subtitle(fig, "Diffusion-time trade-off: OU (β ≡ 2) vs linear VP β(t) = β₀ + (β₁ − β₀)t, compared at "
                        "equal ᾱ(T); (a) exact, closed form; (b, c) target ½N(μ,σ²)+½N(−μ,σ²),\n"
                        "G = ½∫g²E|s_θ − ∇ln p_t|²dt over [t_min, T]; network: tanh MLP "
                        "(2 hidden layers) + N(0,1) score, one trained per (schedule, T, seed); error bars: "
                        "standard error over training runs\n" + described)
    return fig
