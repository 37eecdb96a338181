"""SK order parameters along the exact generative trajectory, per disorder sample and disorder-averaged.

For D disorder samples J_d (SherringtonKirkpatrick.random(n, β, seed=d), the same J_d at every β) and
log-spaced times, trajectories are exact forward paths from exact end points s₀ (physics.disorder): denoiser
magnetisation m_D, end-point overlap q₀, replica overlap q₁₂ = |E[s|x_t]|²/N (exact conditional expectation)
and sampled replicas q_ab. Per sample: bootstrap over trajectories; disorder averages [·] with jackknife (or
bootstrap) errors over samples. χ(t) = N Var m_D, U₄(t) of m_D and of q_ab, both as [U₄] and as U₄ of averaged
moments. Checks against enumeration: as t grows, q_ab → the equilibrium P(q) of each sample (at t_max the
per-sample differences with the exact ⟨q²⟩ and U₄ are averaged over disorder: *_late_diff_avg); at t → 0,
χ(t) → N⟨m²⟩ and q₀, q₁₂ → 1; the end points have the equilibrium ⟨m²⟩ and ⟨q²⟩ (pairs of trajectories).
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import disorder as dis
from statphys.physics import scaling as sc
from statphys.physics.schedules import make_schedule

DESCRIPTION = "SK order parameters along generation: [q12], [q0], chi, U4 per disorder sample and averaged"
PARAMS = {
    "n": (int, 12),
    "beta": (float, 1.5),
    "num_disorder": (int, 32),
    "num_samples": (int, 1024),
    "t_min": (float, 0.01),
    "t_max": (float, 4.0),
    "num_times": (int, 16),
    "bootstrap": (int, 100),
    "method": (str, "jackknife"),
}
SWEEP = ("beta", "n")
_DIS = "error over disorder samples (jackknife; bootstrap with method = 'bootstrap') of "
VARIABLES = {
    "binder_m_of_avg": ("U4 of the disorder-averaged moments, 1 - [<m_D^4>]/(3[<m_D^2>]^2)", "1"),
    "binder_q_of_avg": ("U4 of the disorder-averaged moments, 1 - [<q_ab^4>]/(3[<q_ab^2>]^2)", "1"),
    "m2_exact": ("exact <m^2> by enumeration, per disorder sample", "1"),
    "binder_m_exact": ("exact U4(m) = 1 - <m^4>/(3<m^2>^2) by enumeration, per disorder sample", "1"),
    "q2_exact": ("exact <q^2> of two equilibrium replicas (P(q) by enumeration), per disorder sample", "1"),
    "binder_q_exact": ("exact U4(q) = 1 - <q^4>/(3<q^2>^2) by enumeration, per disorder sample", "1"),
    "q2_late_diff_avg": ("[q2 at t_max - q2_exact], disorder average of the per-sample differences (0 once q_ab "
                         "has the equilibrium law)", "1"),
    "binder_q_late_diff_avg": ("[binder_q at t_max - binder_q_exact], disorder average of the per-sample "
                               "differences (0 once q_ab has the equilibrium law)", "1"),
    "n_spins": ("number of spins N", "1"),
    "n": ("number of spins N", "1"),
    "beta": ("inverse temperature beta of the SK targets", "1"),
    "disorder": ("disorder sample index d (couplings seed; the same couplings at every beta)", "1"),
    "time": ("diffusion time t of the record, geomspace(t_min, t_max, num_times) (OU: alpha = exp(-t))", "1"),
}
for _name, _long in (
        ("q12", "<q12>, q12 = |E[s|x_t]|^2/N (exact posterior mean), over exact forward paths"),
        ("q0", "<q0>, q0 = s0.E[s|x_t]/N: overlap of the denoiser with the path's end point s0"),
        ("chi_m", "chi = N Var m_D over the paths, m_D = sum_i E[s_i|x_t]/N"),
        ("binder_m", "U4(m_D) = 1 - <m_D^4>/(3<m_D^2>^2) over the paths"),
        ("q2", "<q_ab^2>, q_ab = s_a.s_b/N of two exact posterior replicas s_a, s_b ~ P(s|x_t)"),
        ("binder_q", "U4(q_ab) = 1 - <q_ab^4>/(3<q_ab^2>^2)"),
        ("m2_end", "<m^2> of the end points s0 (exact equilibrium samples)"),
        ("q2_ends", "<q^2> of pairs of end points (paths b and b + num_samples/2)")):
    VARIABLES[_name] = (_long + ", per disorder sample", "1")
    VARIABLES[f"{_name}_err"] = ("bootstrap standard error over the paths of " + _name, "1")
    VARIABLES[f"{_name}_avg"] = (_long + ", disorder average [.]", "1")
    VARIABLES[f"{_name}_avg_err"] = (_DIS + f"{_name}_avg", "1")
for _name in ("binder_m_of_avg", "binder_q_of_avg"):
    VARIABLES[f"{_name}_err"] = (_DIS + _name, "1")
for _name in ("m2", "binder_m", "q2", "binder_q"):
    VARIABLES[f"{_name}_exact_avg"] = (f"disorder average [.] of {_name}_exact", "1")
    VARIABLES[f"{_name}_exact_avg_err"] = (_DIS + f"{_name}_exact_avg", "1")
for _name in ("q2_late_diff_avg", "binder_q_late_diff_avg"):
    VARIABLES[f"{_name}_err"] = (_DIS + _name, "1")


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for n in np.atleast_1d(params["n"]):
        if not 2 <= n <= 20:
            raise ValueError(f"[params] n must be in [2, 20] (exact enumeration of 2^n states), got {n}")
    if np.min(params["beta"]) < 0:
        raise ValueError(f"[params] beta must be >= 0, got {params['beta']}")
    for name in ("num_disorder", "num_samples", "num_times", "bootstrap"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if not 0 < params["t_min"] < params["t_max"]:
        raise ValueError(f"[params] need 0 < t_min < t_max, got t_min = {params['t_min']}, t_max = {params['t_max']}")
    if params["method"] not in dis.METHODS:
        raise ValueError(f"[params] method must be one of {list(dis.METHODS)}, got {params['method']!r}")


def _put(data: dict, name: str, est: dis.Hierarchical, key: str, dims: tuple) -> None:
    """Per-sample <name>(disorder, *dims) and average <name>_avg(*dims), each with _err."""
    data[name] = (("disorder",) + dims, est.per_sample[key].value)
    data[f"{name}_err"] = (("disorder",) + dims, est.per_sample[key].error)
    data[f"{name}_avg"] = (dims, est.average[key].value)
    data[f"{name}_avg_err"] = (dims, est.average[key].error)


def _sk_target(params: tuple) -> SherringtonKirkpatrick:
    """The SK target of one disorder sample, params = (couplings (n, n), β): module level, so that one compilation
    of the order parameters serves every β."""
    couplings, beta = params
    return SherringtonKirkpatrick(couplings, beta)


def run(params: dict, key) -> xr.Dataset:
    n, beta, num = params["n"], params["beta"], params["num_disorder"]
    times = np.geomspace(params["t_min"], params["t_max"], params["num_times"])
    couplings = np.stack([SherringtonKirkpatrick.random(n, beta, seed=d).couplings for d in range(num)])
    op = dis.disorder_order_parameters(key, _sk_target, (couplings, np.full(num, float(beta))), make_schedule("ou"),
                                       times, params["num_samples"])
    op = jax.tree_util.tree_map(np.asarray, op)
    kw = {"method": params["method"], "num_resamples": params["bootstrap"]}
    mags = lambda s: sc.magnetization_statistics(s, n)  # noqa: E731
    overlaps = lambda s: dis.replica_overlap_statistics(s, n)  # noqa: E731
    means = dis.hierarchical(np.stack([op.q_posterior, op.q_end], 1), lambda s: {"q12": s[:, 0].mean(-1),
                                                                                 "q0": s[:, 1].mean(-1)}, **kw)
    m_d = dis.hierarchical(op.m_denoiser, mags, dis.binder_of_averages("m"), **kw)
    q_ab = dis.hierarchical(op.q_replicas, overlaps, dis.binder_of_averages("q"), **kw)
    m_end = dis.hierarchical(op.m_end, mags, **kw)
    q_ends = dis.hierarchical(dis.end_point_pair_overlaps(op.end_points), overlaps, **kw)

    exact = []
    for J in couplings:
        th = equilibrium(SherringtonKirkpatrick(J, beta))
        q = dis.exact_replica_overlap_statistics(th.q_values, th.q_law, n)
        exact.append((th.m2, sc.exact_moments(th.m_values, th.m_law, n)["binder"], q["q2"], q["binder"]))
    exact = np.array(exact)
    exact_avg = dis.disorder_average(dict(zip(("m2", "binder_m", "q2", "binder_q"), exact.T)), method=params["method"])

    data = {}
    t = ("time",)
    _put(data, "q12", means, "q12", t)
    _put(data, "q0", means, "q0", t)
    _put(data, "chi_m", m_d, "chi", t)
    _put(data, "binder_m", m_d, "binder", t)
    _put(data, "q2", q_ab, "q2", t)
    _put(data, "binder_q", q_ab, "binder", t)
    _put(data, "m2_end", m_end, "m2", ())
    _put(data, "q2_ends", q_ends, "q2", ())
    for name, est in (("binder_m", m_d), ("binder_q", q_ab)):
        data[f"{name}_of_avg"] = (t, est.average["binder_of_averages"].value)
        data[f"{name}_of_avg_err"] = (t, est.average["binder_of_averages"].error)
    for i, name in enumerate(("m2", "binder_m", "q2", "binder_q")):
        data[f"{name}_exact"] = (("disorder",), exact[:, i])
        data[f"{name}_exact_avg"] = ((), exact_avg[name].value)
        data[f"{name}_exact_avg_err"] = ((), exact_avg[name].error)
    late_diff = {"q2": q_ab.per_sample["q2"].value[:, -1] - exact[:, 2],
                 "binder_q": q_ab.per_sample["binder"].value[:, -1] - exact[:, 3]}
    late = dis.disorder_average(late_diff, method=params["method"])
    for name, est in late.items():
        data[f"{name}_late_diff_avg"] = ((), est.value)
        data[f"{name}_late_diff_avg_err"] = ((), est.error)
    data["n_spins"] = ((), n)
    return xr.Dataset(data, coords={"disorder": np.arange(num), "time": times},
                      attrs={"disorder_error": params["method"], "sample_error": "bootstrap over trajectories"})
