"""`statphys paper`: regenerate the paper's headline figures and its numbers from the studies' results.

For every headline figure (FIGURES below: one per result of the paper), the study's combined dataset
<out>/<study>/<profile>/<study>.nc is loaded and the figure is drawn again by the study kind's plot() into
<figures>/<name>.png and <name>.pdf. A figure whose results are missing is reported with the command that
makes them and the build goes on. <figures>/results.tex gets every number the paper states, with its
error bar, read from the datasets, so that paper.tex never holds a hand-copied number:

    \\result{<study>/<variable>}                      value ± error of a scalar variable (or a posterior
                                                     median with its interval, from <variable>_lo/_hi)
    \\result{<study>/<variable>[<dim>=<value>,...]}   one entry of a small array (dims in the variable's order)
    \\resultvalue{...}, \\resulterror{...}            the value or the error alone
    \\headline{<figure>.<label>}                     a curated headline number (HEADLINES in FIGURES)
    \\headlinewhere{<figure>.<label>}                the coordinates it was taken at
    \\resultstable{<study>}                          a table of all the study's small results
    \\studyinfo{<study>}{profile|wall_time_s|git_commit|device|package_version|seed}
    \\headlinefigure{<figure>}{<caption>}            the figure when its results exist, else the command to run

Errors are taken from companion variables (<var>_err, <var>_sd, <var>_stderr, <var>_std, or <base>_sd for
<base>_mean); a kind may add numbers with an optional summary(ds) that returns a mapping
name -> value or (value, error) (a summary that returns text is copied into results.tex as a comment).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Any, Callable, Mapping

import numpy as np

PAPER_DIR = pathlib.Path(__file__).resolve().parent
DEFAULT_FIGURES = PAPER_DIR / "figures"
ERROR_SUFFIXES = ("_err", "_sd", "_stderr", "_std", "_error")
MAX_ENTRIES = 16  # arrays with more entries than this (histograms, time series) are left to the figures
MAX_TABLE_ROWS = 40


@dataclasses.dataclass(frozen=True)
class Headline:
    """One headline number: `var` (± `err`) at coordinates `sel`; dims not in `sel` take their first value
    ("last" as a value picks the last one). A key of `sel` may also be a non-index coordinate along a dim (a
    flat list of ragged values, e.g. {"gmm_inflection_time": 0.01, "gmm_inflection_rank": 1}): the first entry
    where all of them match is picked. reduce="argmin:<dim>" gives the coordinate of the minimum instead."""

    label: str
    var: str
    err: str | None = None
    sel: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    reduce: str | None = None


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str  # <figures>/<name>.pdf and .png
    study: str  # studies/<study>.toml, results in <out>/<study>/<profile>/<study>.nc
    result: str  # what the figure shows
    headlines: tuple[Headline, ...] = ()


# The paper's headline figures, one per result, in the order of the paper.
FIGURES: tuple[Figure, ...] = (
    Figure("curie_weiss_generation", "curie_weiss_generation",
           "generated vs exact magnetisation law, Curie-Weiss", (
               Headline("tv_sde", "tv", "tv_err", {"sampler": "euler_maruyama", "beta": 1.2}),
               Headline("tv_ode", "tv", "tv_err", {"sampler": "pf_heun", "beta": 1.2}),
               Headline("tv_floor", "tv_floor", "tv_floor_sd", {"beta": 1.2}),
           )),
    Figure("spin_glass_generation", "spin_glass_generation",
           "generated vs exact magnetisation law, spin glasses", (
               Headline("tv_sk", "tv", "tv_err", {"model": "sk", "sampler": "pf_heun"}),
               Headline("tv_null_sk", "tv_null_mean", "tv_null_sd", {"model": "sk", "sampler": "pf_heun"}),
               Headline("p_sk", "p_value", None, {"model": "sk", "sampler": "pf_heun"}),
               Headline("energy_sk", "energy", "energy_err", {"model": "sk", "sampler": "pf_heun"}),
               Headline("energy_exact_sk", "energy_exact", None, {"model": "sk"}),
           )),
    Figure("speed_accuracy", "speed_accuracy", "speed-accuracy trade-off across schedules", (
        Headline("eta", "eta", None, {"schedule": "cosine", "mu": 1.0, "shift": 1.0}),
        Headline("eta_flow_condot", "eta_flow", None, {"schedule": "cond_ot", "mu": 1.0, "shift": 1.0}),
        Headline("c1_cosine", "c1", None, {"schedule": "cosine", "mu": 1.0, "shift": 1.0}),
        Headline("c2_cosine", "c2", None, {"schedule": "cosine", "mu": 1.0, "shift": 1.0}),
        Headline("pl_cosine", "path_length_bound", None, {"schedule": "cosine", "mu": 1.0, "shift": 1.0}),
        Headline("c1_condot", "c1", None, {"schedule": "cond_ot", "mu": 1.0, "shift": 1.0}),
        Headline("c2_condot", "c2", None, {"schedule": "cond_ot", "mu": 1.0, "shift": 1.0}),
        Headline("c1_ot", "c1", None, {"schedule": "ot", "mu": 1.0, "shift": 1.0}),
        Headline("c2_ot", "c2", None, {"schedule": "ot", "mu": 1.0, "shift": 1.0}),
        Headline("dw1", "delta_w1", None, {"mu": 1.0, "shift": 1.0}),
        Headline("dw1_samples", "delta_w1_samples", "delta_w1_samples_err", {"mu": 1.0, "shift": 1.0}),
    )),
    Figure("speed_accuracy_curie_weiss", "speed_accuracy_curie_weiss", "speed-accuracy hierarchy, Curie-Weiss", (
        Headline("eta", "eta", "eta_err", {"schedule": "cosine"}),
        Headline("c1_cosine", "c1", "c1_err", {"schedule": "cosine"}),
        Headline("c2_cosine", "c2", "c2_err", {"schedule": "cosine"}),
        Headline("c1_condot", "c1", "c1_err", {"schedule": "cond_ot"}),
        Headline("c2_condot", "c2", "c2_err", {"schedule": "cond_ot"}),
    )),
    Figure("diffusion_time", "diffusion_time", "diffusion-time trade-off, OU vs linear VP at equal abar(T)", (
        Headline("best_T_exact_ou", "best_T_exact", None, {"schedule": "ou"}),
        Headline("best_abar_exact_ou", "best_abar_exact", None, {"schedule": "ou"}),
        Headline("best_T_exact_vp", "best_T_exact", None, {"schedule": "vp_linear"}),
        Headline("best_abar_exact_vp", "best_abar_exact", None, {"schedule": "vp_linear"}),
        Headline("best_T_learned_ou", "best_T_learned", None, {"schedule": "ou"}),
        Headline("best_abar_learned_ou", "best_abar_learned", None, {"schedule": "ou"}),
        Headline("best_T_learned_vp", "best_T_learned", None, {"schedule": "vp_linear"}),
        Headline("best_abar_learned_vp", "best_abar_learned", None, {"schedule": "vp_linear"}),
    )),
    Figure("sampler_convergence", "sampler_convergence",
           "exact sampler errors vs number of steps; local decay exponents vs the published bounds", (
               Headline("T_max", "num_steps", None, {"num_steps": "last"}),
               Headline("T_mid_last", "num_steps_mid", None, {"num_steps_mid": "last"}),
               Headline("order_em", "order_last", None, {"sampler": "euler_maruyama"}),
               Headline("order_ddpm", "order_last", None, {"sampler": "ddpm"}),
               Headline("order_heun", "order_last", None, {"sampler": "pf_heun"}),
               Headline("exp_li_ode", "decay_exponent_last", None, {"sampler": "li_ode"}),
               Headline("exp_li_ddpm", "decay_exponent_last", None, {"sampler": "li_ddpm"}),
               Headline("exp_li_ddim", "decay_exponent_last", None, {"sampler": "li_ddim"}),
               Headline("exp_li_ddim_acc", "decay_exponent_last", None, {"sampler": "li_ddim_acc"}),
               Headline("exp_li_ddpm_acc", "decay_exponent_last", None, {"sampler": "li_ddpm_acc"}),
               Headline("order_li_ddim", "order_last", None, {"sampler": "li_ddim"}),
               Headline("order_li_ddim_acc", "order_last", None, {"sampler": "li_ddim_acc"}),
               Headline("order_li_ddpm", "order_last", None, {"sampler": "li_ddpm"}),
               Headline("order_li_ddpm_acc", "order_last", None, {"sampler": "li_ddpm_acc"}),
               Headline("err_li_ddim", "error", None, {"sampler": "li_ddim", "num_steps": "last"}),
               Headline("err_li_ddim_acc", "error", None, {"sampler": "li_ddim_acc", "num_steps": "last"}),
           )),
    Figure("ode_sde_gap", "ode_sde_gap", "ODE-SDE gap of a learned score vs Fokker-Planck regulariser form and weight", (
        Headline("gap_plain_score", "w2_ode_sde", "w2_ode_sde_err", {"fp_form": "score", "fp_weight": "first"}),
        Headline("gap_fp_score", "w2_ode_sde", "w2_ode_sde_err", {"fp_form": "score", "fp_weight": "last"}),
        Headline("gap_plain_logdensity", "w2_ode_sde", "w2_ode_sde_err", {"fp_form": "log_density", "fp_weight": "first"}),
        Headline("gap_fp_logdensity", "w2_ode_sde", "w2_ode_sde_err", {"fp_form": "log_density", "fp_weight": "last"}),
        Headline("ode_data_plain_score", "w2_ode_data", "w2_ode_data_err", {"fp_form": "score", "fp_weight": "first"}),
        Headline("sde_data_plain_score", "w2_sde_data", "w2_sde_data_err", {"fp_form": "score", "fp_weight": "first"}),
        Headline("ode_data_fp_score", "w2_ode_data", "w2_ode_data_err", {"fp_form": "score", "fp_weight": "last"}),
        Headline("sde_data_fp_score", "w2_sde_data", "w2_sde_data_err", {"fp_form": "score", "fp_weight": "last"}),
        Headline("fp_weight", "fp_weight", None, {"fp_weight": "last"}),
        Headline("floor", "w2_floor", "w2_floor_err", {"fp_form": "score", "fp_weight": "first"}),
    )),
    Figure("fluctuation_theorems", "fluctuation_theorems", "entropy production and fluctuation theorems", (
        Headline("ift_forward", "ift_forward_path", "ift_forward_path_err", {"schedule": "ou", "target": "mixture"}),
        Headline("ift_reverse", "ift_reverse_path", "ift_reverse_path_err", {"schedule": "ou", "target": "mixture"}),
        Headline("crooks", "crooks_slope", "crooks_slope_err", {"schedule": "ou", "target": "mixture"}),
        Headline("sigma", "mean_sigma_forward", "mean_sigma_forward_err", {"schedule": "ou", "target": "mixture"}),
        Headline("int_pi", "integrated_rate", None, {"schedule": "ou", "target": "mixture"}),
    )),
    Figure("reverse_flux", "reverse_flux",
           "reverse entropy flux sign change vs the speciation time over sigma^2; exact reverse SDE for sigma^2 > 2", (
               Headline("t_flux_01", "curve_t_flux", None, {"curve_sigma2": 0.1}),
               Headline("t_s_01", "curve_t_speciation", None, {"curve_sigma2": 0.1}),
               Headline("t_flux_04", "curve_t_flux", None, {"curve_sigma2": 0.4}),
               Headline("t_s_04", "curve_t_speciation", None, {"curve_sigma2": 0.4}),
               Headline("t_flux_1", "curve_t_flux", None, {"curve_sigma2": 1.0}),
               Headline("t_s_1", "curve_t_speciation", None, {"curve_sigma2": 1.0}),
               Headline("sigma2_cross", "sigma2_flux_equals_speciation"),
               Headline("ks_p_3", "ks_pvalue", None, {"usb_sigma2": 3.0, "num_steps": "last"}),
               Headline("ks_p_5", "ks_pvalue", None, {"usb_sigma2": 5.0, "num_steps": "last"}),
               Headline("m2_3", "m2", "m2_err", {"usb_sigma2": 3.0, "num_steps": "last"}),
               Headline("m2_exact_3", "m2_exact", None, {"usb_sigma2": 3.0}),
               Headline("steps", "num_steps", None, {"num_steps": "last"}),
           )),
    Figure("entropy_production", "entropy_production",
           "entropy production rate along Curie-Weiss generation vs the speciation time", (
               Headline("t_crossover", "t_mode_crossover", "t_mode_crossover_err", {"n": "last"}),
               Headline("t_speciation", "t_speciation", None, {"n": "last"}),
               Headline("t_excess_peak", "t_excess_peak", "t_excess_peak_err", {"n": "last"}),
               Headline("n", "n", None, {"n": "last"}),
           )),
    Figure("franz_parisi_mixture", "franz_parisi_mixture",
           "Franz-Parisi potential of the 1-D mixture: Yu-Huang Fig. 11 at sigma^2 = 0.1 and its inflection window", (
               Headline("q_042", "gmm_inflection_q", None, {"gmm_inflection_time": 0.42, "gmm_inflection_rank": 0}),
               Headline("q_0015", "gmm_inflection_q", None, {"gmm_inflection_time": 0.015, "gmm_inflection_rank": 0}),
               Headline("q_001_a", "gmm_inflection_q", None, {"gmm_inflection_time": 0.01, "gmm_inflection_rank": 0}),
               Headline("q_001_b", "gmm_inflection_q", None, {"gmm_inflection_time": 0.01, "gmm_inflection_rank": 1}),
               Headline("q_001_c", "gmm_inflection_q", None, {"gmm_inflection_time": 0.01, "gmm_inflection_rank": 2}),
               Headline("window_lo", "window_t_lo"),
               Headline("window_hi", "window_t_hi"),
               Headline("check_z", "gmm_check_max_z"),
               Headline("q_limit", "limit_law_q_prime"),
           )),
    Figure("franz_parisi", "franz_parisi",
           "Franz-Parisi potential of Curie-Weiss: secondary minimum and class gap vs the speciation time", (
               Headline("n", "n", None, {"n": "last"}),
               Headline("t_appear", "t_appear", "t_appear_resolution", {"n": "last"}),
               Headline("t_degenerate", "t_degenerate", None, {"n": "last"}),
               Headline("t_s", "t_s", None, {"n": "last"}),
           )),
    Figure("franz_parisi_sk", "franz_parisi_sk",
           "quenched Franz-Parisi potential of SK by umbrella Monte Carlo", (
               Headline("n", "n"),
               Headline("draws", "num_disorder"),
           )),
    Figure("critical_exponents", "critical_exponents",
           "order parameter, susceptibility and Binder cumulant vs time; FSS collapse and exponent posteriors", (
               Headline("beta_c", "eq_c_c"),  # posterior median and credible interval (_lo, _hi)
               Headline("a", "eq_a"),
               Headline("b_m", "eq_b_m"),
               Headline("b_chi", "eq_b_chi"),
               Headline("binder_beta", "eq_binder_crossing_beta", "eq_binder_crossing_beta_err"),
               Headline("binder_u4", "eq_binder_crossing_u4", "eq_binder_crossing_u4_err"),
               Headline("traj_a", "traj_a"),
               Headline("traj_b_m", "traj_b_m"),
               Headline("traj_u4_end", "traj_u4_end", "traj_u4_end_err"),
           )),
    Figure("hopfield_scaling", "hopfield_scaling",
           "Hopfield (two random patterns): disorder-averaged Binder cumulant and FSS collapse of the overlaps", (
               Headline("beta_c", "eq_c_c"),
               Headline("b_m", "eq_b_m"),
               Headline("b_chi", "eq_b_chi"),
               Headline("binder_u4", "eq_binder_crossing_u4", "eq_binder_crossing_u4_err"),
               Headline("binder_limit", "binder_limit_disorder_averaged"),
               Headline("binder_orthogonal", "binder_limit_orthogonal"),
               Headline("traj_a", "traj_a"),
               Headline("traj_b_m", "traj_b_m"),
               Headline("traj_b_chi", "traj_b_chi"),
           )),
    Figure("spin_glass_order_parameters", "spin_glass_order_parameters",
           "SK order parameters along the generative trajectory: [q12], [q0], chi, U4 per disorder sample and averaged", (
               Headline("q2_late_diff", "q2_late_diff_avg", "q2_late_diff_avg_err", {"beta": 1.5}),
               Headline("binder_q_late_diff", "binder_q_late_diff_avg", "binder_q_late_diff_avg_err", {"beta": 1.5}),
               Headline("q2_exact", "q2_exact_avg", "q2_exact_avg_err", {"beta": 1.5}),
               Headline("chi_start", "chi_m_avg", "chi_m_avg_err", {"beta": 1.5}),
           )),
    Figure("speciation", "speciation", "speciation time vs theory", (
        Headline("t_s", "t_s", "t_s_err", {"n": "last", "beta": 1.5}),
        Headline("t_s_theory", "t_s_theory", None, {"n": "last", "beta": 1.5}),
        Headline("n", "n", None, {"n": "last"}),
    )),
    Figure("collapse", "collapse", "collapse time vs theory"),
)


@dataclasses.dataclass
class Row:
    figure: str
    study: str
    status: str  # made | missing | no study | failed
    wall_time_s: float | None = None
    command: str = ""
    message: str = ""


# ---------------------------------------------------------------------------------------------- numbers


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _plain(x: float, digits: int) -> str:
    return f"{x:.{max(digits, 0)}f}"


def format_number(value, error=None) -> str:
    """LaTeX math (no $): 'v \\pm e' with e to 2 significant digits and v to the same place, or v to 4 digits;
    powers of ten outside [1e-3, 1e4]."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if not _finite(value):
        return r"\mathrm{n/a}"
    v = float(value)
    e = float(error) if _finite(error) and float(error) > 0 else None
    scale = max(abs(v), e or 0.0)
    exp = 0
    if scale >= 1e4 or (0 < scale < 1e-3):
        exp = int(math.floor(math.log10(scale)))
        v, e = v / 10**exp, (e / 10**exp if e is not None else None)
    if e is not None:
        digits = 1 - int(math.floor(math.log10(e)))
        body = f"{_plain(v, digits)} \\pm {_plain(e, digits)}"
        if exp:
            body = f"({body})"
    else:
        if float(value) == int(float(value)) and abs(float(value)) < 1e6 and not exp:
            body = str(int(float(value)))
        else:
            digits = 3 - int(math.floor(math.log10(abs(v)))) if v != 0 else 0
            body = _plain(v, digits)
    return body + (f" \\times 10^{{{exp}}}" if exp else "")


def format_interval(value, lo, hi) -> str:
    """A posterior median with its credible interval [lo, hi]: 'v^{+(hi-v)}_{-(v-lo)}' at the precision of the
    smaller side (2 significant digits)."""
    if not (_finite(value) and _finite(lo) and _finite(hi)):
        return format_number(value)
    v, up, down = float(value), float(hi) - float(value), float(value) - float(lo)
    width = min(w for w in (up, down) if w > 0) if max(up, down) > 0 else 0
    if width <= 0:
        return format_number(v)
    digits = max(1 - int(math.floor(math.log10(width))), 0)
    return f"{_plain(v, digits)}^{{+{_plain(up, digits)}}}_{{-{_plain(down, digits)}}}"


def _interval(ds, name: str):
    if name + "_lo" in ds.variables and name + "_hi" in ds.variables:
        return ds[name + "_lo"], ds[name + "_hi"]
    return None


def _coord(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _key_safe(text: str) -> str:
    return "".join(c for c in text if c not in "{}\\%#~^$&")


def _tex_text(text: str) -> str:
    out = str(text)
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                 ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        out = out.replace(a, b)
    return out


def error_variable(ds, name: str) -> str | None:
    for suffix in ERROR_SUFFIXES:
        if name + suffix in ds.variables:
            return name + suffix
    if name.endswith("_mean"):
        for suffix in ERROR_SUFFIXES:
            if name[: -len("_mean")] + suffix in ds.variables:
                return name[: -len("_mean")] + suffix
    return None


def _is_error(ds, name: str) -> bool:
    for suffix in ("_lo", "_hi"):
        if name.endswith(suffix) and _interval(ds, name[: -len(suffix)]) is not None:
            return True
    for suffix in ERROR_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in ds.variables or base + "_mean" in ds.variables:
                return True
    return False


def dataset_numbers(ds, study: str) -> list[tuple[str, float, float | None]]:
    """(key, value, error) for every entry of the dataset's small numeric variables."""
    rows = []
    for name in ds.data_vars:
        var = ds[name]
        if not np.issubdtype(var.dtype, np.number) or _is_error(ds, name) or var.size > MAX_ENTRIES or var.size == 0:
            continue
        err_name = error_variable(ds, name)
        err = ds[err_name].broadcast_like(var) if err_name is not None else None
        interval = _interval(ds, name)
        for index in np.ndindex(var.shape):
            where = {}
            for d, i in zip(var.dims, index):
                if d in var.coords:
                    where[d] = var[d].values[i]
                elif _along(var, d):  # a flat list of ragged values: named by its labels
                    where.update({name: var[name].values[i] for name in _along(var, d)})
                else:
                    where[d] = i
            label = ",".join(f"{d}={_coord(v)}" for d, v in where.items())
            key = _key_safe(f"{study}/{name}" + (f"[{label}]" if label else ""))
            if interval is not None:  # (value, (lo, hi)): a credible interval
                lo, hi = (float(x.broadcast_like(var).values[index]) for x in interval)
                rows.append((key, float(var.values[index]), (lo, hi)))
                continue
            e = float(err.values[index]) if err is not None else None
            rows.append((key, float(var.values[index]), e))
    return rows


def _along(var, dim: str) -> list[str]:
    """The non-index coordinates of var that lie along dim alone (the labels of a flat list of ragged values)."""
    return [name for name, c in var.coords.items() if name != dim and c.dims == (dim,)]


def _pick(var, sel: Mapping[str, Any]):
    """Select var at sel (missing values fall back to the first), remaining dims at their first value; sel may
    name non-index coordinates along a dim (Headline)."""
    where, coords = {}, {}
    for dim in var.dims:
        values = var[dim].values if dim in var.coords else np.arange(var.sizes[dim])
        labels = [name for name in _along(var, dim) if name in sel]
        want = sel.get(dim, "first")
        if labels:
            ok = np.ones(var.sizes[dim], bool)
            for name in labels:
                ok &= np.array([_coord(v) == _coord(sel[name]) for v in var[name].values])
            if dim in sel and sel[dim] not in ("first", "last"):
                ok &= np.array([_coord(v) == _coord(want) for v in values])
            i = int(np.argmax(ok)) if ok.any() else 0
            coords.update({name: _coord(var[name].values[i]) for name in labels})
        elif want == "last":
            i = len(values) - 1
        elif want == "first":
            i = 0
        else:
            matches = [j for j, v in enumerate(values) if _coord(v) == _coord(want)]
            i = matches[0] if matches else 0
        where[dim] = i
        if not labels:
            coords[dim] = _coord(var[dim].values[i]) if dim in var.coords else str(i)
    picked = var.isel(where) if where else var
    return picked, coords


def headline_numbers(ds, figure: Figure) -> list[tuple[str, float, float | None, str]]:
    """(key, value, error, where) for the figure's HEADLINES that the dataset has."""
    rows = []
    for h in figure.headlines:
        if h.var not in ds.variables:
            continue
        var = ds[h.var]
        if h.reduce and h.reduce.startswith("argmin:"):
            dim = h.reduce.split(":", 1)[1]
            if dim not in var.dims:
                continue
            picked, coords = _pick(var, {**h.sel, dim: "first"})
            coords.pop(dim, None)
            line = var.isel({d: 0 for d in var.dims if d != dim})  # (a swept dim: its first value)
            if line.dims != (dim,) or not np.isfinite(line.values).any():
                continue
            value, err = float(var[dim].values[int(np.nanargmin(line.values))]), None
        else:
            picked, coords = _pick(var, h.sel)
            value = float(picked.values)
            err = None
            err_name = h.err if h.err in ds.variables else None
            if err_name is not None:
                e, _ = _pick(ds[err_name], {**h.sel, **coords})
                err = float(e.values)
            elif h.err is None and _interval(ds, h.var) is not None:
                err = tuple(float(_pick(x, {**h.sel, **coords})[0].values) for x in _interval(ds, h.var))
        where = ", ".join(f"{d} = {v}" for d, v in coords.items() if d != h.var)
        rows.append((_key_safe(f"{figure.name}.{h.label}"), value, err, where))
    return rows


def kind_summary(summary, ds):
    """A kind's optional summary(ds): a mapping of numbers, or text."""
    if summary is None:
        return None
    try:
        return summary(ds)
    except Exception as err:  # a broken summary must not stop the build
        return f"summary() failed: {err!r}"


def _as_value_error(item) -> tuple[float, float | None]:
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return float(item[0]), (float(item[1]) if item[1] is not None else None)
    return float(item), None


# ---------------------------------------------------------------------------------------------- results.tex

PREAMBLE = r"""% Generated by `statphys paper` on {date} from {out} (profile {profile}). Do not edit: run `make -C paper`.
\makeatletter
\providecommand{{\statres@missing}}[1]{{\PackageWarning{{statphys}}{{no result for #1}}\textbf{{[\texttt{{\detokenize{{#1}}}}: no result]}}}}
\providecommand{{\result}}[1]{{\@ifundefined{{statres@#1}}{{\statres@missing{{#1}}}}{{\ensuremath{{\csname statres@#1\endcsname}}}}}}
\providecommand{{\resultvalue}}[1]{{\@ifundefined{{statresv@#1}}{{\statres@missing{{#1}}}}{{\ensuremath{{\csname statresv@#1\endcsname}}}}}}
\providecommand{{\resulterror}}[1]{{\@ifundefined{{statrese@#1}}{{\statres@missing{{#1}}}}{{\ensuremath{{\csname statrese@#1\endcsname}}}}}}
\providecommand{{\headline}}[1]{{\@ifundefined{{stathl@#1}}{{\statres@missing{{#1}}}}{{\ensuremath{{\csname stathl@#1\endcsname}}}}}}
\providecommand{{\headlinewhere}}[1]{{\@ifundefined{{stathlw@#1}}{{}}{{\csname stathlw@#1\endcsname}}}}
\providecommand{{\resultstable}}[1]{{\@ifundefined{{stattab@#1}}{{\statres@missing{{#1}}}}{{\csname stattab@#1\endcsname}}}}
\providecommand{{\studyinfo}}[2]{{\@ifundefined{{statinfo@#1/#2}}{{\statres@missing{{#1/#2}}}}{{\csname statinfo@#1/#2\endcsname}}}}
\providecommand{{\ifresults}}[3]{{\@ifundefined{{statavail@#1}}{{#3}}{{#2}}}}
\providecommand{{\runcommand}}[1]{{\@ifundefined{{statcmd@#1}}{{}}{{\texttt{{\csname statcmd@#1\endcsname}}}}}}
\providecommand{{\headlinefigure}}[2]{{%
  \begin{{figure}}[htbp]\centering
  \ifresults{{#1}}{{\includegraphics[width=\linewidth,height=0.42\textheight,keepaspectratio]{{\statfigdir#1}}}}%
    {{\PackageWarning{{statphys}}{{no result for figure:#1}}\fbox{{\parbox{{0.9\linewidth}}{{\centering Results missing: run \runcommand{{#1}}, then \texttt{{make -C paper}}.}}}}}}%
  \caption{{#2}}\label{{fig:#1}}
  \end{{figure}}}}
"""


def _format(value, err) -> str:
    if isinstance(err, tuple):
        return format_interval(value, *err)
    return format_number(value, err)


def _def(prefix: str, key: str, body: str) -> str:
    return f"\\expandafter\\def\\csname {prefix}@{key}\\endcsname{{{body}}}\n"


def _table(study: str, numbers: list[tuple[str, float, float | None]]) -> str:
    shown = numbers[:MAX_TABLE_ROWS]
    lines = [r"{\footnotesize\begin{tabular}{@{}ll@{}}\hline quantity & value \\ \hline"]
    for key, value, err in shown:
        name = key[len(study) + 1:]
        lines.append(f"\\texttt{{{_tex_text(name)}}} & ${_format(value, err)}$ \\\\")
    if len(numbers) > len(shown):
        lines.append(f"\\multicolumn{{2}}{{l}}{{\\dots\\ {len(numbers) - len(shown)} more in results.tex}} \\\\")
    lines.append(r"\hline\end{tabular}}")
    return "\n".join(lines)


def write_results_tex(path: pathlib.Path, entries: list[dict], out, profile: str, figures_dir: pathlib.Path) -> None:
    date = datetime.datetime.now().isoformat(timespec="seconds")
    text = [PREAMBLE.format(date=date, out=_tex_text(out), profile=profile)]
    try:  # paper.tex sits in paper/: a relative path when the figures are below it
        figdir = figures_dir.resolve().relative_to(PAPER_DIR).as_posix()
    except ValueError:
        figdir = figures_dir.resolve().as_posix()
    text.append(f"\\providecommand{{\\statfigdir}}{{{figdir}/}}\n")
    for entry in entries:
        figure, study = entry["figure"], entry["study"]
        text.append(f"\n% ---- {figure.name} (study {study}): {entry['status']}\n")
        text.append(_def("statcmd", figure.name, _tex_text(entry["command"])))
        if entry["status"] != "made":
            continue
        text.append(_def("statavail", figure.name, "1"))
        ds = entry["ds"]
        for field in ("profile", "wall_time_s", "git_commit", "device", "package_version", "seed", "precision"):
            if field in ds.attrs:
                value = ds.attrs[field]
                body = f"{float(value):.1f}" if field == "wall_time_s" and _finite(value) else _tex_text(value)
                text.append(_def("statinfo", f"{study}/{field}", body))
        numbers = dataset_numbers(ds, study)
        summary = entry.get("summary")
        if isinstance(summary, Mapping):
            for name, item in summary.items():
                try:
                    value, err = _as_value_error(item)
                except (TypeError, ValueError):
                    continue
                numbers.append((_key_safe(f"{study}/{name}"), value, err))
        elif isinstance(summary, str):
            text.extend(f"% {line}\n" for line in summary.splitlines())
        for key, value, err in numbers:
            text.append(_def("statres", key, _format(value, err)))
            text.append(_def("statresv", key, format_number(value)))
            if isinstance(err, tuple):
                text.append(_def("statrese", key, f"[{format_number(err[0])}, {format_number(err[1])}]"))
            elif err is not None:
                text.append(_def("statrese", key, format_number(err)))
        for key, value, err, where in headline_numbers(ds, figure):
            text.append(_def("stathl", key, _format(value, err)))
            text.append(_def("stathlw", key, _tex_text(where)))
        text.append(_def("stattab", study, _table(study, numbers)))
    text.append("\\makeatother\n")
    path.write_text("".join(text))


# ---------------------------------------------------------------------------------------------- figures


def run_command(study: str, profile: str, out) -> str:
    command = f"statphys run studies/{study}.toml --profile {profile}"
    if pathlib.Path(out) != pathlib.Path("results"):
        command += f" --out {out}"
    return command


def draw(ds, figures_dir: pathlib.Path, name: str) -> None:
    """The figure of a study's dataset (paper/plots/<kind>.py, kind from ds.attrs) as <name>.png and <name>.pdf."""
    from statphys.paper import plots

    png, pdf = figures_dir / f"{name}.png", figures_dir / f"{name}.pdf"
    for stale in (png, pdf):
        stale.unlink(missing_ok=True)
    plots.draw(ds.attrs.get("kind"), ds, figures_dir / name)
    for target in (png, pdf):
        if not target.exists():
            raise RuntimeError(f"plot did not write {target.name}")


def build(out="results", profile: str = "default", figures_dir=DEFAULT_FIGURES,
          figures: tuple[Figure, ...] = FIGURES, echo: Callable[[str], None] = print, *,
          studies: set[str] | None = None, summarize: Callable | None = None) -> list[Row]:
    """Regenerate every available headline figure and results.tex; one Row per figure.

    studies: the names of the study files that exist (a figure whose study is absent is reported as such);
    summarize(ds) -> mapping or text: a study kind's extra numbers for results.tex."""
    import xarray as xr

    out, figures_dir = pathlib.Path(out), pathlib.Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    rows, entries = [], []
    for figure in figures:
        command = run_command(figure.study, profile, out)
        row = Row(figure.name, figure.study, "missing", command=command)
        entry = {"figure": figure, "study": figure.study, "status": "missing", "command": command}
        has_study = studies is None or figure.study in studies
        nc = out / figure.study / profile / f"{figure.study}.nc"
        if not nc.exists():
            if has_study:
                row.message = f"results missing ({nc}): run `{command}`"
            else:
                row.status = "no study"
                row.message = f"no study file studies/{figure.study}.toml in this version (then run `{command}`)"
            echo(f"{figure.name}: {row.message}")
        else:
            try:
                ds = xr.load_dataset(nc, engine="h5netcdf")
                row.wall_time_s = float(ds.attrs["wall_time_s"]) if _finite(ds.attrs.get("wall_time_s")) else None
                draw(ds, figures_dir, figure.name)
                row.status = "made"
                row.message = f"{figures_dir / figure.name}.pdf/.png"
                entry.update(status="made", ds=ds, summary=kind_summary(summarize, ds))
            except Exception as err:  # one broken figure must not stop the others
                row.status = "failed"
                row.message = f"{type(err).__name__}: {err}"
                entry["status"] = "failed"
                echo(f"{figure.name}: failed: {row.message}")
        rows.append(row)
        entries.append(entry)
    write_results_tex(figures_dir / "results.tex", entries, out, profile, figures_dir)
    echo(table(rows))
    echo(f"numbers for the paper: {figures_dir / 'results.tex'}")
    return rows


def table(rows: list[Row]) -> str:
    lines = [f"{'figure':26s} {'study':26s} {'status':9s} {'run time':>10s}  note",
             f"{'-' * 26} {'-' * 26} {'-' * 9} {'-' * 10}  {'-' * 4}"]
    for r in rows:
        time = f"{r.wall_time_s:.1f} s" if r.wall_time_s is not None else "-"
        note = r.message if r.status in ("failed",) else (r.command if r.status != "made" else "")
        lines.append(f"{r.figure:26s} {r.study:26s} {r.status:9s} {time:>10s}  {note}")
    made = sum(r.status == "made" for r in rows)
    lines.append(f"{made}/{len(rows)} figures made")
    return "\n".join(lines)


def compile_pdf(paper_dir: pathlib.Path = PAPER_DIR, echo: Callable[[str], None] = print) -> list[str]:
    """latexmk -pdf paper.tex in paper_dir; returns the problems found (empty when the PDF is right): LaTeX
    missing or failing, undefined references or citations, a result or figure that was not available."""
    if shutil.which("latexmk") is None:
        return ["LaTeX is not installed (no latexmk on PATH): apt-get install texlive-latex-recommended "
                "texlive-latex-extra texlive-science cm-super dvipng latexmk"]
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-g", "paper.tex"]
    env = {**os.environ, "max_print_line": "100000"}  # unwrapped log lines, so that names are read whole
    done = subprocess.run(command, cwd=paper_dir, capture_output=True, text=True, env=env)
    log_path = paper_dir / "paper.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    problems = []
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        problems.append(f"latexmk failed (exit {done.returncode}); see {log_path}:\n{tail}")
    problems += [f"undefined: {m}" for m in sorted(set(re.findall(r"(?:Reference|Citation) `([^']+)' on page", log)))]
    problems += [f"missing result: {m}" for m in sorted(set(re.findall(r"Package statphys Warning: no result for (\S+)", log)))]
    if "[no results]" in log or re.search(r"File `[^']+' not found", log):
        problems.append(f"a figure file or results.tex is missing; see {log_path}")
    if not problems:
        echo(f"paper: {paper_dir / 'paper.pdf'}")
    return problems


def main(out="results", profile: str = "default", figures_dir=DEFAULT_FIGURES, *, allow_missing: bool = False,
         pdf: bool = False, **kwargs) -> int:
    """Exit status 0 when every figure was made (or, with allow_missing, every figure whose results exist) and,
    with pdf, the PDF compiled without problems; 1 otherwise, with what is missing named."""
    rows = build(out, profile, figures_dir, **kwargs)
    failed = [r for r in rows if r.status == "failed"]
    missing = [r for r in rows if r.status in ("missing", "no study")]
    if missing and not allow_missing:
        print(f"statphys paper: {len(missing)} figure(s) without results: " + ", ".join(r.figure for r in missing)
              + f". Run `statphys reproduce --profile {profile}` (or pass --allow-missing)", file=sys.stderr)
    if pdf and not failed and (not missing or allow_missing):
        problems = compile_pdf(PAPER_DIR)
        for problem in problems:
            print(f"statphys paper: {problem}", file=sys.stderr)
        if problems:
            return 1
    return 1 if failed or (missing and not allow_missing) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
