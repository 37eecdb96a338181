"""Franz–Parisi potentials (study kind franz_parisi).

Rows 1–3, one per time of Yu & Huang's Fig. 11 (arXiv 2405.11932, Sec. V; 1-D mixture ½N(±μ, σ²)): V(q), V′(q),
V″(q) by quadrature (exact up to quadrature error, no error bars) against q = (x₀ − x₀′)², x₀′ a posterior draw,
with every inflection point (V″ = 0) marked and an independent Monte-Carlo estimate of V″ with its standard error.
Right column: the inflection points along a scan of the diffusion time t, the window where additional ones exist
(edges: V″ = V‴ = 0) and the small-t limit law q = q′*Δ_t/a²; below it, their number against t.
Bottom row: Curie–Weiss V(q; t) in the overlap with a posterior reference (sampling errors), the class gap
N ΔV against t − t_S, the spinodal and degeneracy times against t_S, and (when run) the SK quenched potential
by umbrella Monte Carlo.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from paper import style
from paper.plots import _legend, _parameters


def _runs(ds):
    swept = "n" in ds.t_s.dims
    return (ds.stack(run=["n"]) if swept else ds.expand_dims(run=[0])), swept


def _sk_part(ds):
    if "mc_v" not in ds:
        return None
    part = ds[[name for name in ds.data_vars if name.startswith("mc_")]]
    if "n" in part.mc_v.dims:
        part = part.isel(n=int(np.argmax(np.isfinite(part.mc_v.values).any(axis=(1, 2)))))
    return part


def _mark_inflections(axes, qs):
    for ax in axes:
        for x in qs:
            ax.axvline(x, color="0.55", ls=":", lw=0.8)


def _gmm_rows(axes, first, samples: int):
    q = first.q_gmm.values
    for r, t in enumerate(first.gmm_time.values):
        row = first.sel(gmm_time=t)
        qs = row.gmm_inflection_q.values
        qs = qs[np.isfinite(qs)]
        ax_v, ax_d1, ax_d2 = axes[r, 0], axes[r, 1], axes[r, 2]
        ax_v.plot(q, row.gmm_v.values, "C0-", label="$V$ (quadrature)")
        ax_d1.plot(q, row.gmm_dv.values, "C0-", label=r"$V'$ (quadrature)")
        ax_d2.plot(q, row.gmm_d2v.values, "C0-", label=r"$V''$ (quadrature)")
        ax_d2.axhline(0, color="k", lw=0.5)
        _mark_inflections((ax_v, ax_d1, ax_d2), qs)
        ax_d2.plot(qs, np.zeros_like(qs), "o", mfc="none", color="C3", label=f"inflection points ({qs.size})")
        ax_d2.errorbar(row.gmm_check_q.values, row.gmm_check_d2v.values, row.gmm_check_d2v_err.values, fmt="s",
                       ms=2.5, color="C1", label=f"$V''$ Monte Carlo ({samples:,} draws)")
        ax_d2.set_yscale("symlog", linthresh=1.0)
        ax_d2.set_ylim(min(-30.0, 1.2 * float(np.min(row.gmm_d2v.values[q > 0.5 * q[0] + 0.05]))), 30.0)
        ax_v.text(0.96, 0.04, f"$t = {t:g}$\n" + "\n".join(f"$q^*={x:.3f}$" for x in qs), transform=ax_v.transAxes,
                  va="bottom", ha="right", fontsize=6)
        ax_v.set_ylabel(r"$V(q,t)$")
        ax_d1.set_ylabel(r"$\partial_q V$")
        ax_d2.set_ylabel(r"$\partial_q^2 V$ (symlog)")
        for ax in (ax_v, ax_d1, ax_d2):
            ax.set_xlim(0, float(q[-1]))
    for ax in axes[2, :3]:
        ax.set_xlabel(r"$q=(x_0-x_0')^2$")
    _legend.place(axes[0, 2], fontsize=5.5)


def _scan(ax_map, ax_count, first):
    t = first.scan_time.values
    qs = first.scan_inflection_q.values
    lo, hi = float(first.window_t_lo), float(first.window_t_hi)
    for ax in (ax_map, ax_count):
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axvspan(lo, hi, color="C2", alpha=0.15, lw=0, label="extra inflections")
        ax.set_xscale("log")
    tt = np.repeat(t[:, None], qs.shape[1], axis=1)
    ok = np.isfinite(qs)
    ax_map.plot(tt[ok], qs[ok], "o", ms=2.2, color="C0", label=r"$V''=0$")
    ax_map.plot(t, first.scan_limit_law_q.values, "k--", lw=0.8,
                label=rf"$t\to0$: ${float(first.limit_law_q_prime):.2f}\,\Delta_t/a^2$")
    merge_t = [float(first.window_t_lo), float(first.window_t_hi)]
    merge_q = [float(first.window_q_lo), float(first.window_q_hi)]
    ax_map.plot(merge_t, merge_q, "*", ms=6, color="C3", label=r"$V''=V'''=0$")
    fig11 = first.gmm_inflection_q.values
    for k, t11 in enumerate(first.gmm_time.values):
        row = fig11[k][np.isfinite(fig11[k])]
        ax_map.plot(np.full(row.size, t11), row, "D", mfc="none", color="C1", ms=4,
                    label="Fig. 11 times" if k == 0 else None)
    ax_map.set_yscale("log")
    ax_map.set_ylim(1e-5, 1e2)
    ax_map.set_ylabel(r"inflection point $q^*$")
    ax_map.text(0.04, 0.97, f"window\n{lo:.4f} < t < {hi:.4f}", transform=ax_map.transAxes, va="top", fontsize=6)
    ax_map.legend(loc="lower right", fontsize=5)
    ax_count.step(t, first.scan_inflections.values, where="mid", color="C0", label="count on the scan")
    ax_count.set_ylim(0, 5)
    ax_count.set_yticks([0, 1, 2, 3])
    ax_count.set_ylabel("number of inflections")
    ax_count.set_xlabel(r"diffusion time $t$")
    _legend.place(ax_count, fontsize=5.5)


def _curie_weiss(axes, flat, swept):
    ax_v, ax_gap, ax_times = axes
    last = flat.isel(run=-1)
    q = last.q_spin.values
    size = int(last.n) if swept else None
    for t in last.time.values[:: max(1, last.sizes["time"] // 3)][:4]:
        row = last.sel(time=t)
        v, err = row.spin_v.values, row.spin_v_err.values
        scale = size or 1
        ax_v.errorbar(q[::8], scale * (v[::8] - np.nanmin(v)), scale * err[::8], fmt="-", lw=0.9, elinewidth=0.5,
                      label=f"t = {t:.2f}")
    ax_v.set_xlabel(r"overlap $q=s\cdot s'/N$")
    ax_v.set_ylabel(r"$N(V-\min V)$" if swept else r"$V-\min V$")
    _legend.place(ax_v, fontsize=5, title=f"Curie–Weiss N = {size}" if size else "Curie–Weiss", title_fontsize=5.5,
                  ncols=2, corners=("upper right", "upper left", "center right"))
    markers = ("o", "s", "^", "D", "v")
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        lab = f"N = {one.n.item()}" if swept else "CW"
        gap_err = one.class_gap_err.values if "class_gap_err" in one else None
        ax_gap.errorbar(one.time - one.t_s, one.class_gap, gap_err, fmt=markers[i % 5] + "-", ms=2, lw=0.8,
                        elinewidth=0.5, label=lab)
        ax_times.plot(float(one.t_s), float(one.t_degenerate), "o", color=f"C{i}",
                      label=f"{lab}: $N\\Delta V=1$ (interpolated)")
        ax_times.errorbar(float(one.t_s), float(one.t_appear), float(one.t_appear_resolution), fmt="s", mfc="none",
                          color=f"C{i}", label=f"{lab}: secondary minimum appears")
    ax_gap.set_yscale("log")
    ax_gap.axhline(1.0, color="k", lw=0.5)
    ax_gap.set_xlabel(r"$t - t_S$, $t_S=\frac{1}{2}\ln N\langle m^2\rangle$")
    ax_gap.set_ylabel(r"class gap $N\Delta V$")
    _legend.place(ax_gap, fontsize=5.5)
    lo, hi = ax_times.get_xlim()
    ax_times.plot([lo, hi], [lo, hi], color="0.6", lw=0.5, label="$t = t_S$")
    ax_times.set_xlabel(r"$t_S=\frac{1}{2}\ln N\langle m^2\rangle$")
    ax_times.set_ylabel(r"diffusion time $t$")
    _legend.place(ax_times, fontsize=5)


def _sk(ax, part):
    if part is None:
        ax.axis("off")
        return
    qm = part.mc_q.values
    times = part.mc_time.values
    offsets = (np.arange(times.size) - (times.size - 1) / 2) * 0.012
    for k, t in enumerate(times):
        row = part.sel(mc_time=t)
        v = row.mc_v.values
        line = ax.errorbar(qm + offsets[k], v - np.nanmin(v), row.mc_v_error.values, fmt=".-", ms=3, lw=0.8,
                           label=f"t = {t:g}")
        for name, marker in (("mc_q_global", "v"), ("mc_q_secondary", "^")):
            x = float(row[name])
            if np.isfinite(x):
                y = (v - np.nanmin(v))[int(np.argmin(np.abs(qm - x)))]
                ax.plot(x, y, marker, ms=5, mfc="none", color=line[0].get_color())
    ax.plot([], [], "v", mfc="none", color="k", label="global minimum")
    ax.plot([], [], "^", mfc="none", color="k", label="secondary minimum")
    ax.set_xlabel(r"overlap $q=s\cdot s'/N$")
    ax.set_ylabel(r"$\bar V-\min\bar V$")
    _legend.place(ax, fontsize=5, title=f"SK N = {int(part.mc_size)}, {int(part.mc_num_disorder)} draws",
                  title_fontsize=5.5)


def plot(ds: xr.Dataset):
    flat, swept = _runs(ds)
    first = flat.isel(run=0)
    part = _sk_part(ds)
    fig, axes = style.figure(ncols=4, nrows=4, width=style.DOUBLE, height=1.7)
    grid = axes[0, 3].get_gridspec()
    axes[0, 3].remove()
    axes[1, 3].remove()
    ax_map = fig.add_subplot(grid[0:2, 3])
    config = _parameters.lines(ds, ("μ=mu", "σ²=sigma2", "t=gmm_times"), ("CW β=beta", "N=n", "samples=num_samples"),
                               extra="posterior references; V by quadrature, V'' also by Monte Carlo")
    samples = _samples(ds)
    _gmm_rows(axes, first, samples)
    _scan(ax_map, axes[2, 3], first)
    _curie_weiss(axes[3, :3], flat, swept)
    _sk(axes[3, 3], part)
    style.subtitle(fig, "Franz–Parisi potentials. 1-D mixture ½N(±μ, σ²): " + config)
    return fig


def _samples(ds) -> int:
    import json

    config = json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}
    return int(config.get("gmm_check_samples", 0))


def summary(ds: xr.Dataset) -> str:
    flat, swept = _runs(ds)
    first = flat.isel(run=0)
    params = json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}
    lines = [f"1-D mixture (μ = {params.get('mu', '?')}, σ² = {params.get('sigma2', '?')}): inflection points of V(q) "
             "at t = " + "; ".join(
                 f"{t:g}: {int(c)} (q = {', '.join(f'{x:.4f}' for x in qs[np.isfinite(qs)])})"
                 for t, c, qs in zip(first.gmm_time.values, first.gmm_inflections.values,
                                     first.gmm_inflection_q.values)),
             f"  V″ quadrature vs Monte Carlo at q = {', '.join(f'{x:g}' for x in first.gmm_check_q.values)}: "
             f"max |z| = {float(first.gmm_check_max_z):.2f}",
             f"  additional inflection points for {float(first.window_t_lo):.5f} < t < {float(first.window_t_hi):.5f} "
             f"(pairs merge at q = {float(first.window_q_lo):.4f} and {float(first.window_q_hi):.4f}; V″ = V‴ = 0 "
             f"to {float(first.window_residual):.1e}); counts along the scan: "
             + " ".join(f"{t:.4g}:{int(c)}" for t, c in zip(first.scan_time.values, first.scan_inflections.values))]
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        label = f"n={one.n.item()}" if swept else ""
        lines.append(f"{label:8s} secondary minimum (q = {float(one.q_secondary):+.3f}) appears at t = "
                     f"{float(one.t_appear):.3f} ± {float(one.t_appear_resolution):.3f}; N ΔV = 1 at t = "
                     f"{float(one.t_degenerate):.3f};  t_S = ½ ln Λ = {float(one.t_s):.3f}")
    part = _mc(ds)
    if part is not None:
        lines.append(f"SK N = {int(part.mc_size)}, umbrella MC + WHAM, {int(part.mc_num_disorder)} disorder draws "
                     f"(PT references, min swap acceptance {float(part.mc_pt_swap_min):.2f}):")
        for t in part.mc_time.values:
            row = part.sel(mc_time=t)
            z = float(row.mc_enum_max_z)
            lines.append(f"  t = {t:g}: global minimum of V̄ at q = {float(row.mc_q_global):+.3f}, secondary "
                         + (f"at q = {float(row.mc_q_secondary):+.3f}" if np.isfinite(row.mc_q_secondary) else "none")
                         + f"; max error {np.nanmax(row.mc_v_error.values):.3f} (MC-only "
                         f"{np.nanmax(row.mc_v_mc_error.values):.3f}); draws per level "
                         f"{int(row.mc_count.min())}..{int(row.mc_count.max())}"
                         + (f"; vs enumeration max |z| = {z:.2f}" if np.isfinite(z) else ""))
    return "\n".join(lines)


def _mc(ds):
    """The SK Monte-Carlo variables of the chunk that computed them (None when the part was off)."""
    if "mc_v" not in ds:
        return None
    part = ds[[name for name in ds.data_vars if name.startswith("mc_")]]
    if "n" in part.mc_v.dims:
        part = part.isel(n=int(np.argmax(np.isfinite(part.mc_v.values).any(axis=(1, 2)))))
    return part
