"""Finite-size scaling of the Hopfield model with K = 2 random patterns, per disorder sample and disorder-averaged.

The model splits exactly into two uncoupled Curie–Weiss groups (models.hopfield): N_A = #{i : ξ¹_i = ξ²_i}
spins at β_A = 2βN_A/N and N − N_A at β_B = 2β(N − N_A)/N. So every number here is exact at any N:
equilibrium moments from the two Curie–Weiss laws, trajectories with exact end points and the exact denoiser.
The order parameter is the overlap vector m_μ = ξ^μ·s/N, with ⟨|m|²⟩, χ = N(⟨|m|²⟩ − |⟨m⟩|²) and
U₄ = 1 − ⟨|m|⁴⟩/(3⟨|m|²⟩²) (physics.scaling.overlap_statistics).

Disorder: for random patterns N_A ~ Binomial(N, ½), so (β_A − 1)N_A^{½} → g/√2 with g ~ N(0, 1) at β = 1: the
disorder stays O(1) in the critical scaling variable at every N and the Binder cumulant does not self-average.
Each disorder sample d (patterns from seed d) gives its own curves; the disorder average [·] is their mean
with a jackknife error over samples (physics.disorder; the spread over samples contains each sample's thermal
error), both for [U₄] and for U₄ of the averaged moments. The exact
disorder average, Σ_{N_A} Binomial(N_A; N, ½)·(exact moments), is recorded as the reference.

* Equilibrium in β (t = 0): per sample, exact draws of the overlaps from the two Curie–Weiss laws (as in the
  Curie–Weiss calibration) with bootstrap errors; emcee collapse of [⟨|m|²⟩]^{½} and [χ] (mean
  field: β_c = 1, a = 1/ν̄ = ½, b_m = ¼, b_χ = −½); Binder crossing of [U₄] for the smallest and largest N against
  the large-N limits (physics.scaling.hopfield_pair_disorder_binder): [U₄] → 0.4876, and 0.4686 for
  orthogonal patterns (N_A = N/2, `hopfield_pair_binder(0)`).
* Generative trajectory at fixed β (default 1), control λ = α²/σ² of the OU process as in the Curie–Weiss study
  (critical_exponents): overlaps of the denoiser E[s | x_t] with the patterns along exact forward paths from exact
  samples, bootstrap over paths per sample, then the disorder average; collapse with λ_c = 0, a_λ = ½.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import scipy.stats
import xarray as xr

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.hopfield import Hopfield, group_beta, group_sample, pair_overlap_moments
from statphys.physics import disorder
from statphys.physics import scaling as sc
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule
from statphys.studies.kinds import critical_exponents

DESCRIPTION = "Hopfield (K = 2 random patterns) finite-size scaling of the overlaps, per disorder sample and averaged"
PARAMS = {**critical_exponents.PARAMS, "num_disorder": (int, 8)}
SWEEP = ()
NAMES = ("m2", "chi", "binder", "binder_of_averages")
#: Binomial weights below this are left out of the exact disorder average (their total is < 1e-9 at N ≤ 10⁵).
_BINOMIAL_CUT = 1e-13
_STATISTIC = {"m2": "<|m|^2>", "chi": "chi = N(<|m|^2> - |<m>|^2)", "binder": "U4 = 1 - <|m|^4>/(3<|m|^2>^2)"}
_AVERAGE = {"m2": "[<|m|^2>]", "chi": "[chi]", "binder": "[U4]"}
_EQ = "of m_mu = xi^mu.s/N in equilibrium, over eq_samples exact draws from the two Curie-Weiss laws"
_TRAJ = "of m_mu = xi^mu.E[s|x_t]/N over batch exact forward paths at trajectory_beta"
_OF_AVERAGES = "U4 of the disorder-averaged moments, 1 - [<|m|^4>]/(3[<|m|^2>]^2)"
VARIABLES = {
    "n": ("number of spins N", "1"),
    "disorder": ("disorder sample index d (the two patterns from Hopfield.random seed d)", "1"),
    "beta": ("inverse temperature beta of the equilibrium grid 1 +- beta_window (group couplings 2 beta N_G/N)", "1"),
    "lam": ("signal-to-noise ratio lambda = alpha^2/sigma^2 of the OU process (geometric grid lambda_min..lambda_max)",
            "1"),
    "time": ("diffusion time t = ln(1 + 1/lambda)/2 of each lambda (OU: alpha = exp(-t), sigma^2 = 1 - exp(-2t))", "1"),
    "size_a": ("N_A = #{i : xi^1_i = xi^2_i} of sample d: the size of Curie-Weiss group A (group B has N - N_A)",
               "1"),
    "eq_binder_of_averages": (_OF_AVERAGES + ", in equilibrium, from the per-sample moments of the eq_samples draws",
                              "1"),
    "traj_binder_of_averages": (_OF_AVERAGES + ", of the denoiser overlaps along the trajectory at trajectory_beta",
                                "1"),
    "eq_binder_of_averages_exact": ("exact " + _OF_AVERAGES + ", moments averaged with Binomial(N_A; N, 1/2)", "1"),
    "eq_m2_exact": ("exact [<|m|^2>]: sum over N_A of Binomial(N_A; N, 1/2) * exact <|m|^2> of the two Curie-Weiss "
                    "groups", "1"),
    "eq_chi_exact": ("exact [chi] = N [<|m|^2>] (<m> = 0), Binomial(N_A; N, 1/2) average of the exact moments", "1"),
    "eq_binder_exact": ("exact [U4]: Binomial(N_A; N, 1/2) average over N_A of the exact per-sample U4", "1"),
    "eq_m2_orthogonal": ("exact <|m|^2> for orthogonal patterns, N_A = floor(N/2)", "1"),
    "eq_chi_orthogonal": ("exact chi = N <|m|^2> for orthogonal patterns, N_A = floor(N/2)", "1"),
    "eq_binder_orthogonal": ("exact U4 = 1 - <|m|^4>/(3<|m|^2>^2) for orthogonal patterns, N_A = floor(N/2)", "1"),
    "eq_binder_crossing_beta": ("beta where eq_binder ([U4]) of the smallest and largest N cross (first sign change, "
                                "linear interpolation; NaN if none in the grid)", "1"),
    "eq_binder_crossing_beta_err": ("parametric-bootstrap standard error of eq_binder_crossing_beta ([U4] redrawn "
                                    "within its errors; NaN if < 2 redraws cross)", "1"),
    "eq_binder_crossing_u4": ("eq_binder of the smallest N at eq_binder_crossing_beta (NaN if no crossing; large N: "
                              "binder_limit_disorder_averaged)", "1"),
    "eq_binder_crossing_u4_err": ("parametric-bootstrap standard error of eq_binder_crossing_u4 (NaN if < 2 redraws "
                                  "cross)", "1"),
    "binder_limit_disorder_averaged": ("large-N [U4] at beta = 1 for random patterns: groups at scaling variables "
                                       "+-g/sqrt(2), g ~ N(0, 1), Gauss-Hermite over g (0.4876)", "1"),
    "binder_limit_of_averaged_moments": ("large-N U4 of the disorder-averaged moments at beta = 1 for random patterns "
                                         "(Gauss-Hermite over g)", "1"),
    "binder_limit_orthogonal": ("large-N U4 at beta = 1 for orthogonal patterns, N_A = N/2 (0.4686)", "1"),
    "eq_binder_at_beta_1_exact": ("eq_binder_exact (exact [U4]) at the grid beta nearest 1", "1"),
    "traj_u4_end": ("traj_binder ([U4] along the trajectory) at the largest lambda (lambda_max, smallest t)", "1"),
    "traj_u4_end_err": ("jackknife standard error over disorder samples of traj_u4_end", "1"),
    "trajectory_beta": ("inverse temperature of the Hopfield targets of the generative trajectory", "1"),
}
for _prefix, _where, _what in (("eq", _EQ, "eq_samples draws"), ("traj", _TRAJ, "batch paths")):
    VARIABLES[f"{_prefix}_binder_of_averages_err"] = (
        f"jackknife standard error over disorder samples of {_prefix}_binder_of_averages", "1")
    for _name in ("m2", "chi", "binder"):
        VARIABLES[f"{_prefix}_{_name}_sample"] = (f"per disorder sample: {_STATISTIC[_name]} {_where}", "1")
        VARIABLES[f"{_prefix}_{_name}_sample_err"] = (
            f"bootstrap standard error of {_prefix}_{_name}_sample (resampling its {_what})", "1")
        VARIABLES[f"{_prefix}_{_name}"] = (
            f"disorder average {_AVERAGE[_name]}: mean of {_prefix}_{_name}_sample over the num_disorder samples", "1")
        VARIABLES[f"{_prefix}_{_name}_err"] = (f"jackknife standard error over disorder samples of {_prefix}_{_name}",
                                               "1")
VARIABLES.update(sc.order_parameter_collapse_descriptions(
    "eq", "[<|m|^2>]^(1/2) (equilibrium)", "[chi] (equilibrium)", "beta", "beta_c", "1"))
VARIABLES.update(sc.order_parameter_collapse_descriptions(
    "traj", "[<|m|^2>]^(1/2) (trajectory)", "[chi] (trajectory)", "lambda", "lambda_c", "0"))


def validate(params: dict) -> None:
    """Impossible values, named, before any compute: the Curie–Weiss study's checks, and num_disorder >= 2."""
    critical_exponents.validate(params)
    if params["num_disorder"] < 2:
        raise ValueError(f"[params] num_disorder must be >= 2, got {params['num_disorder']}")


def _statistics(m2: np.ndarray, m4: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Exact ⟨|m|²⟩, χ = N⟨|m|²⟩ (⟨m⟩ = 0 at h = 0) and U₄ from exact moments."""
    return {"m2": m2, "chi": n * m2, "binder": 1 - m4 / (3 * m2**2)}


def exact_disorder_average(n: int, betas: np.ndarray) -> dict[str, np.ndarray]:
    """Σ_{N_A} Binomial(N_A; N, ½) of ⟨|m|²⟩, χ, U₄ (per-sample average [U₄]) and U₄ of the averaged moments."""
    sizes_a = np.arange(n + 1)
    weights = scipy.stats.binom.pmf(sizes_a, n, 0.5)
    keep = weights > _BINOMIAL_CUT
    sizes_a, weights = sizes_a[keep], weights[keep] / weights[keep].sum()
    moments = np.array([[pair_overlap_moments(int(k), n - int(k), float(b)) for k in sizes_a] for b in betas])
    per_sample = _statistics(moments[..., 0], moments[..., 1], n)
    out = {k: v @ weights for k, v in per_sample.items()}
    m2, m4 = moments[..., 0] @ weights, moments[..., 1] @ weights
    out["binder_of_averages"] = 1 - m4 / (3 * m2**2)
    return out


def _stack_samples(per_sample: list[dict[str, sc.Estimate]]) -> dict[str, sc.Estimate]:
    """Disorder samples' Estimates stacked on a leading axis."""
    return {k: sc.Estimate(np.stack([s[k].value for s in per_sample]), np.stack([s[k].error for s in per_sample]))
            for k in ("m2", "m4", "chi", "binder")}


def _disorder_average(per_sample: dict[str, sc.Estimate]) -> dict[str, sc.Estimate]:
    """[·] over disorder samples with jackknife errors (physics.disorder), plus U₄ of the averaged moments."""
    return disorder.disorder_average({k: e.value for k, e in per_sample.items()}, disorder.binder_of_averages("m"))


@functools.partial(jax.jit, static_argnames=("batch",))
def _trajectory_overlaps(key, index, target, times, *, batch: int):
    """Overlaps ξ^μ·E[s | x_t]/N along exact forward paths from `batch` exact end points, shape (times, batch, 2),
    with (k_data, k_path) = split(fold_in(key, index)); the target is an argument, so one compilation per N serves
    every disorder sample."""
    k_data, k_path = jax.random.split(jax.random.fold_in(key, index))
    s0 = group_sample(k_data, batch, target.patterns, target.beta)

    def overlaps(s0, x, denoised):
        return denoised @ target.patterns.T / target.n

    return tr.observe_along_path(k_path, target, s0, make_schedule("ou"), times, overlaps)


def _equilibrium_overlaps(rng, n: int, size_a: int, beta: float, num: int) -> np.ndarray:
    """Exact draws of (m₁, m₂) = ((N_A m_A + N_B m_B)/N, (N_A m_A − N_B m_B)/N) from the two Curie–Weiss laws."""
    group_m = []
    for size in (size_a, n - size_a):
        if size == 0:
            group_m.append(np.zeros(num))
            continue
        m, p = CurieWeiss(size, group_beta(beta, size, n)).magnetization_law()
        group_m.append(size * rng.choice(m, size=num, p=p))
    return np.stack([group_m[0] + group_m[1], group_m[0] - group_m[1]]) / n


def run(params: dict, key) -> xr.Dataset:
    sizes = np.array(params["sizes"])
    num_disorder, steps, boot = params["num_disorder"], params["emcee_steps"], params["bootstrap"]
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    betas = 1.0 + params["beta_window"] * np.linspace(-1, 1, params["num_betas"])
    lambdas = np.geomspace(params["lambda_min"], params["lambda_max"], params["num_lambdas"])
    times = 0.5 * np.log1p(1 / lambdas)  # decreasing

    eq_samples, eq_exact, eq_orthogonal, traj_samples, group_sizes = [], [], [], [], []
    for i, n in enumerate(sizes):
        n = int(n)
        per_sample_eq, per_sample_traj, size_a = [], [], []
        for d in range(num_disorder):
            target = Hopfield.random(n, 2, params["beta"], seed=d)
            patterns = np.asarray(target.patterns)
            size_a.append(int(np.sum(patterns[0] == patterns[1])))  # N_A of target.group_sizes, on the host
            draws = np.stack([_equilibrium_overlaps(rng, n, size_a[-1], float(b), params["eq_samples"]) for b in betas], 1)
            per_sample_eq.append(sc.overlap_bootstrap(draws, n, seed=d, num_resamples=boot))
            overlaps = _trajectory_overlaps(key, i * num_disorder + d, target, jax.device_put(times[::-1].copy()),
                                            batch=params["batch"])
            vector = np.moveaxis(np.asarray(overlaps)[::-1], -1, 0)  # (2, lambdas, batch)
            per_sample_traj.append(sc.overlap_bootstrap(vector, n, seed=d, num_resamples=boot))
        eq_samples.append(_stack_samples(per_sample_eq))
        traj_samples.append(_stack_samples(per_sample_traj))
        eq_exact.append(exact_disorder_average(n, betas))
        orthogonal = np.array([pair_overlap_moments(n // 2, n - n // 2, float(b)) for b in betas])
        eq_orthogonal.append(_statistics(orthogonal[:, 0], orthogonal[:, 1], n))
        group_sizes.append(size_a)

    # disorder averages
    eq_avg = sc.stack_estimates([_disorder_average(s) for s in eq_samples], NAMES)
    traj_avg = sc.stack_estimates([_disorder_average(s) for s in traj_samples], NAMES)
    w = params["beta_window"]
    eq_fit = sc.fit_order_parameter_collapse(
        betas, sizes, eq_avg, ((1.0, 0.5, 0.25), (1.0, 0.5, -0.5)),
        (((1 - w, 1 + w), (0.1, 1.0), (0.0, 0.6)), ((1 - w, 1 + w), (0.1, 1.0), (-1.0, 0.0))), steps, 0)
    lam_bound = 10 * params["lambda_min"]
    tr_fit = sc.fit_order_parameter_collapse(
        lambdas, sizes, traj_avg, ((0.0, 0.5, 0.25), (0.0, 0.5, -0.5)),
        (((-lam_bound, lam_bound), (0.1, 1.0), (0.0, 0.6)), ((-lam_bound, lam_bound), (0.1, 1.0), (-1.0, 0.0))), steps, 1)
    small, large = (sc.Estimate(eq_avg["binder"].value[j], eq_avg["binder"].error[j]) for j in (0, -1))
    beta_x, u_x = sc.binder_crossing_estimate(betas, small, large)
    limits = sc.hopfield_pair_disorder_binder()

    data = {"size_a": (("n", "disorder"), np.array(group_sizes))}
    for prefix, avg, dim in (("eq", eq_avg, "beta"), ("traj", traj_avg, "lam")):
        data[f"{prefix}_binder_of_averages"] = (("n", dim), avg["binder_of_averages"].value)
        data[f"{prefix}_binder_of_averages_err"] = (("n", dim), avg["binder_of_averages"].error)
    for name in ("m2", "chi", "binder"):
        data[f"eq_{name}_sample"] = (("n", "disorder", "beta"), np.stack([s[name].value for s in eq_samples]))
        data[f"eq_{name}_sample_err"] = (("n", "disorder", "beta"), np.stack([s[name].error for s in eq_samples]))
        data[f"eq_{name}"] = (("n", "beta"), eq_avg[name].value)
        data[f"eq_{name}_err"] = (("n", "beta"), eq_avg[name].error)
        data[f"eq_{name}_exact"] = (("n", "beta"), np.stack([e[name] for e in eq_exact]))
        data[f"eq_{name}_orthogonal"] = (("n", "beta"), np.stack([e[name] for e in eq_orthogonal]))
        data[f"traj_{name}_sample"] = (("n", "disorder", "lam"), np.stack([s[name].value for s in traj_samples]))
        data[f"traj_{name}_sample_err"] = (("n", "disorder", "lam"), np.stack([s[name].error for s in traj_samples]))
        data[f"traj_{name}"] = (("n", "lam"), traj_avg[name].value)
        data[f"traj_{name}_err"] = (("n", "lam"), traj_avg[name].error)
    data["eq_binder_of_averages_exact"] = (("n", "beta"), np.stack([e["binder_of_averages"] for e in eq_exact]))
    for prefix, fit in (("eq", eq_fit), ("traj", tr_fit)):
        for k, (med, lo, hi) in fit.items():
            data[f"{prefix}_{k}"] = ((), med)
            data[f"{prefix}_{k}_lo"] = ((), lo)
            data[f"{prefix}_{k}_hi"] = ((), hi)
    b1 = int(np.argmin(np.abs(betas - 1.0)))
    data.update({
        "eq_binder_crossing_beta": ((), float(beta_x.value)), "eq_binder_crossing_beta_err": ((), float(beta_x.error)),
        "eq_binder_crossing_u4": ((), float(u_x.value)), "eq_binder_crossing_u4_err": ((), float(u_x.error)),
        "binder_limit_disorder_averaged": ((), limits["sample_averaged"]),
        "binder_limit_of_averaged_moments": ((), limits["moment_averaged"]),
        "binder_limit_orthogonal": ((), sc.hopfield_pair_binder(0.0)),
        "eq_binder_at_beta_1_exact": (("n",), data["eq_binder_exact"][1][:, b1]),
        "traj_u4_end": (("n",), traj_avg["binder"].value[:, -1]),
        "traj_u4_end_err": (("n",), traj_avg["binder"].error[:, -1]),
        "trajectory_beta": ((), params["beta"]),
    })
    return xr.Dataset(data, coords={"n": sizes, "disorder": np.arange(num_disorder), "beta": betas, "lam": lambdas,
                                    "time": (("lam",), times)},
                      attrs={"control_trajectory": "lambda = alpha^2/sigma^2", "num_patterns": 2})
