"""Generate Curie–Weiss samples with the exact score and compare the magnetisation law with the exact P(m).

For each sampler: the histogram of m = (1/N) Σᵢ sign(xᵢ) at t_min over the generated samples, the total
variation TV = ½ Σ_m |P̂(m) − P(m)| with its bootstrap standard error, and the TV that the same number of
exact samples gives (multinomial draws from P(m): the finite-sample floor, mean ± sd). Agreement means the
generated TV is within a few sd of that floor.
"""

from __future__ import annotations

import pathlib

import jax
import numpy as np
import xarray as xr

from models import CurieWeiss
from physics import SAMPLERS, ExactScore, make_schedule, reverse_sample

DESCRIPTION = "Curie–Weiss samples from the exact score (reverse SDE, PF-ODE) vs the exact P(m)"
PARAMS = {
    "n": (int, 64),
    "beta": (float, 1.2),
    "h": (float, 0.0),
    "schedule": (str, "ou"),
    "T": (float, 5.0),
    "t_min": (float, 1e-3),
    "samplers": (list, ["euler_maruyama", "pf_heun"]),
    "num_steps": (int, 200),
    "spacing": (str, "log"),
    "num_samples": (int, 4096),
    "batch_size": (int, 4096),
    "bootstrap": (int, 200),
}
SWEEP = ("beta", "n")


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for sampler in params["samplers"]:
        if sampler not in SAMPLERS:
            raise ValueError(f"[params] samplers: unknown sampler {sampler!r}; allowed: {sorted(SAMPLERS)}")
    for beta in np.atleast_1d(params["beta"]):
        if beta < 0:
            raise ValueError(f"[params] beta must be >= 0 (an inverse temperature), got {beta}")
    for name in ("n", "num_steps", "num_samples", "batch_size", "bootstrap"):
        if np.min(params[name]) <= 0:
            raise ValueError(f"[params] {name} must be positive, got {params[name]}")
    make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"]).time_grid(1, params["spacing"])


def total_variation(counts: np.ndarray, p: np.ndarray) -> float:
    return 0.5 * float(np.abs(counts / counts.sum() - p).sum())


def run(params: dict, key) -> xr.Dataset:
    n, num = params["n"], params["num_samples"]
    target = CurieWeiss(n, params["beta"], params["h"])
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    score = ExactScore(target, schedule)
    m_values, p = target.magnetization_law()
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    counts, tv, tv_err = [], [], []
    for index, sampler in enumerate(params["samplers"]):
        M = []
        for start in range(0, num, params["batch_size"]):
            size = min(params["batch_size"], num - start)
            out = reverse_sample(
                jax.random.fold_in(jax.random.fold_in(key, index), start), score, schedule,
                num_steps=params["num_steps"], batch=size, n=n, sampler=sampler, spacing=params["spacing"],
            )
            M.append(np.sign(np.asarray(out.x)).sum(1))
        k = ((np.concatenate(M) + n) / 2).round().astype(int)
        c = np.bincount(np.clip(k, 0, n), minlength=n + 1)
        boot = [total_variation(np.bincount(rng.choice(k, k.size), minlength=n + 1), p) for _ in range(params["bootstrap"])]
        counts.append(c)
        tv.append(total_variation(c, p))
        tv_err.append(float(np.std(boot)))
    floor = [total_variation(rng.multinomial(num, p), p) for _ in range(params["bootstrap"])]
    return xr.Dataset(
        {
            "counts": (("sampler", "m"), np.array(counts)),
            "p_exact": (("m",), p),
            "tv": (("sampler",), np.array(tv)),
            "tv_err": (("sampler",), np.array(tv_err)),
            "tv_floor": float(np.mean(floor)),
            "tv_floor_sd": float(np.std(floor)),
        },
        coords={"sampler": list(params["samplers"]), "m": m_values},
    )


def summary(ds: xr.Dataset) -> str:
    from paper.style import sweep_panels

    lines = []
    for title, sel in sweep_panels(ds, "tv", ("sampler",)):
        for sampler in sel["sampler"].values:
            s = sel.sel(sampler=sampler)
            lines.append(
                f"{title:20s} {sampler:16s} TV = {float(s.tv):.4f} ± {float(s.tv_err):.4f}   "
                f"(exact-sampler floor {float(s.tv_floor):.4f} ± {float(s.tv_floor_sd):.4f})"
            )
    return "\n".join(lines)


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure, sweep_panels

    panels = sweep_panels(ds, "tv", ("sampler",))
    fig, axes = figure(ncols=len(panels), squeeze=False)
    for ax, (title, sel) in zip(axes[0], panels):
        m = sel["m"].values
        p = sel["p_exact"].values
        ok = np.isfinite(p)
        width = (m[1] - m[0]) if m.size > 1 else 1.0
        ax.plot(m[ok], p[ok] / width, "k-", lw=1.5, label="exact $P(m)$")
        for sampler in sel["sampler"].values:
            s = sel.sel(sampler=sampler)
            c = s["counts"].values
            c = np.where(np.isfinite(c), c, 0)
            total = c.sum()
            err = np.sqrt(c) / total / width
            ax.errorbar(m[ok], (c / total / width)[ok], yerr=err[ok], fmt="o", ms=2.5, capsize=0,
                        label=f"{sampler}: TV = {float(s.tv):.3f} ± {float(s.tv_err):.3f}")
        ax.set_title(title + f"  (TV of as many exact samples: {float(sel.tv_floor):.3f})", fontsize=8)
        ax.set_xlabel("magnetisation $m$")
        ax.set_ylabel("density $P(m)$")
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
