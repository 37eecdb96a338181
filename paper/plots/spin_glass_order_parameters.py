"""SK order parameters along the exact generative trajectory, per disorder sample and disorder-averaged.

Four panels against the diffusion time t (generation runs t = T → 0), one colour per swept point (β, N):
(a) the replica overlap [q₁₂] = [|E[s|x_t]|²/N] and the end-point overlap [q₀]; (b) χ = N Var m_D of the
denoiser magnetisation, with its t → 0 limit N[⟨m²⟩] (enumeration); (c) the Binder cumulants [U₄] of m_D and of
the sampled replica overlap q_ab, with the equilibrium [U₄(q)] (enumeration), its t → ∞ limit; (d) [⟨q_ab²⟩]
with the equilibrium [⟨q²⟩]. Markers: disorder averages with jackknife (or bootstrap) errors over disorder
samples; thin lines: the single disorder samples; bands: exact per-sample values averaged over the same
disorder samples, ± their disorder error. Second series of a panel drawn at 1.06 t so that error bars do not
overlap.
"""

from __future__ import annotations

import matplotlib.lines as mlines
import matplotlib.patches as mpatches
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters

SHIFT = 1.06  # the second series of a panel is drawn at SHIFT · t


#: Panel labels in the figure's notation (`style.sweep_panels`).
SYMBOLS = {"n": "N", "beta": "β"}


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=2, nrows=2, width=style.DOUBLE, height=2.2)
    panels = (
        (axes[0, 0], (("q12", "-", "o"), ("q0", "--", "s")), r"overlaps $[q_{12}]$, $[q_0]$", None),
        (axes[0, 1], (("chi_m", "-", "o"),), r"susceptibility $[\chi] = N[\mathrm{Var}\,m_D]$", "chi"),
        (axes[1, 0], (("binder_m", "-", "o"), ("binder_q", "--", "s")), r"Binder cumulant $[U_4]$", "binder_q"),
        (axes[1, 1], (("q2", "--", "s"),), r"$[\langle q_{ab}^2\rangle]$", "q2"),
    )
    colours = []
    for i, (label, one) in enumerate(style.sweep_panels(ds, "q12", ("disorder", "time"), SYMBOLS)):
        color = f"C{i}"
        colours.append(mpatches.Patch(color=color, label=label or "SK"))
        t = one.time.values
        for ax, curves, _, reference in panels:
            for j, (name, ls, marker) in enumerate(curves):
                x = t * SHIFT**j
                ax.plot(x, one[name].values.T, color=color, lw=0.3, alpha=0.35, ls=ls)
                ax.errorbar(x, one[f"{name}_avg"], one[f"{name}_avg_err"], color=color, ls=ls, marker=marker, ms=2.5,
                            mfc="none" if j else color, lw=0.8)
            if reference is None:
                continue
            if reference == "chi":
                value = float(one.n_spins) * float(one.m2_exact_avg)
                error = float(one.n_spins) * float(one.m2_exact_avg_err)
            else:
                value, error = float(one[f"{reference}_exact_avg"]), float(one[f"{reference}_exact_avg_err"])
            ax.axhspan(value - error, value + error, color=color, alpha=0.2, lw=0)
            ax.axhline(value, color=color, lw=0.6, ls=":")
    for (ax, _, ylabel, _), letter in zip(panels, "abcd"):
        ax.set_xscale("log")
        ax.set_xlabel(r"diffusion time $t$ (generation runs $t = T \to 0$)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"({letter})", loc="left")
    grey = "0.3"
    styles = [
        mlines.Line2D([], [], color=grey, marker="o", ms=2.5, lw=0.8,
                      label=r"(a) $[q_{12}]$, (b) $[\chi]$, (c) $[U_4(m_D)]$"),
        mlines.Line2D([], [], color=grey, marker="s", mfc="none", ms=2.5, ls="--", lw=0.8,
                      label=r"(a) $[q_0]$, (c) $[U_4(q_{ab})]$, (d) $[\langle q_{ab}^2\rangle]$"),
        mlines.Line2D([], [], color=grey, lw=0.3, alpha=0.6, label="single disorder samples"),
        mpatches.Patch(color=grey, alpha=0.3, lw=0,
                       label=r"exact (enumeration) ± disorder error: (b) $N[\langle m^2\rangle]$, $t\to 0$;"
                             "\n" r"(c) $[U_4(q)]$, (d) $[\langle q^2\rangle]$ in equilibrium, $t\to\infty$"),
    ]
    fig.legend(colours + styles, [h.get_label() for h in colours + styles], loc="outside lower center", ncols=3)
    style.subtitle(fig, "Sherrington–Kirkpatrick, exact forward paths and enumeration: " + _parameters.lines(
        ds, ("N=n", "β=beta", "disorder samples=num_disorder"),
        ("paths per sample=num_samples", "times=num_times", "t_min", "t_max"), ("bootstrap resamples=bootstrap",),
        extra=f"disorder error: {ds.attrs.get('disorder_error', 'jackknife')}; second series drawn at {SHIFT:g} t"))
    return fig


def summary(ds: xr.Dataset) -> str:
    def pm(one, name, **sel):
        v = one[name].sel(**sel) if sel else one[name]
        e = one[f"{name}_err"].sel(**sel) if sel else one[f"{name}_err"]
        return f"{float(v):.4f} ± {float(e):.4f}"

    lines = []
    for label, one in style.sweep_panels(ds, "q12", ("disorder", "time")):
        first, last = float(one.time[0]), float(one.time[-1])
        n = float(one.n_spins)
        lines += [
            f"{label or 'SK'} (D = {one.disorder.size}):",
            f"  t = {first:g}: [q12] = {pm(one, 'q12_avg', time=first)}, [q0] = {pm(one, 'q0_avg', time=first)}, "
            f"[chi] = {pm(one, 'chi_m_avg', time=first)} vs N[<m^2>] = {n * float(one.m2_exact_avg):.4f}",
            f"  t = {last:g}: [<q_ab^2>] = {pm(one, 'q2_avg', time=last)} vs exact [<q^2>] = "
            f"{pm(one, 'q2_exact_avg')}; "
            f"[U4(q)] = {pm(one, 'binder_q_avg', time=last)} vs exact {pm(one, 'binder_q_exact_avg')}; "
            f"U4 of [moments] = {pm(one, 'binder_q_of_avg', time=last)}",
            f"  t = {last:g}, paired with the exact value per sample: "
            f"[<q_ab^2> - <q^2>] = {pm(one, 'q2_late_diff_avg')}, "
            f"[U4(q) - U4_exact] = {pm(one, 'binder_q_late_diff_avg')}",
            f"  end points: [<m^2>] = {pm(one, 'm2_end_avg')} vs exact {float(one.m2_exact_avg):.4f}; "
            f"[<q^2>] (pairs) = {pm(one, 'q2_ends_avg')} vs exact {float(one.q2_exact_avg):.4f}",
        ]
    return "\n".join(lines)
