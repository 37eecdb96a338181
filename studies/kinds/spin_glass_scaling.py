"""SK along generation beyond enumeration: replica order parameters with the Monte-Carlo score, calibrated against
parallel-tempering equilibrium of the same couplings, and the finite-size scaling of both.

Question: as a diffusion model generates an SK spin glass at N = 16 … 256, how do the posterior's overlap q₁₂, the
replica overlaps q_ab and the spin-glass susceptibility χ_SG evolve along the trajectory, does the generated law
agree with equilibrium, and how do the curves scale with N next to the equilibrium transition (β_c = 1)?

For every size N in ``sizes`` and D disorder samples J_d (SherringtonKirkpatrick.random(N, β, seed=d); the
couplings do not depend on β):
* Generation (`physics.sk_generation.mc_replica_generation`): OU reverse run from T to
  t_min, ``batch`` particles with ``chains_per_x`` persistent heat-bath chains each (the Monte-Carlo score), at
  every β of ``betas``; at β > 1 (a glassy posterior at weak field) with ``posterior_replicas`` = R ≥ 2 the
  chains are parallel-tempered over the geometric ladder from β down to ``posterior_beta_min``
  (`physics.mc_score.tempering_ladder`; only the chains at β enter the score and the records); at β > 1 the
  chains run ``posterior_sweeps`` sweeps per step (per rung; 0: sweeps_per_step). Per sample and recorded time: [q₁₂], ⟨q_ab²⟩, U₄(q_ab) = 1 − ⟨q⁴⟩/(3⟨q²⟩²) over particles
  and chain pairs, χ_SG (four replicas). At t_min, the generated law: energy per spin ⟨H⟩/N and the overlap of
  independent generated configurations (particles b and b + B/2): ⟨q²⟩, U₄(q).
* AMP score (β < ``amp_max_beta``): the same reverse run (same prior draws per sample) with the TAP/AMP
  denoiser (`physics.amp.AMPDenoiser`, El Alaoui, Montanari & Sellke 2022): [q₁₂] = [|D|²/N] along the
  trajectory and the generated law sign(D) at t_min.
* Equilibrium (`physics.tempering_equilibrium.tempering_equilibrium`): parallel tempering on ``pt_num_betas`` β from
  pt_beta_min to pt_beta_max (each β of ``betas`` must be on that grid): ⟨H⟩/N, ⟨q²⟩, U₄(q) per sample.
* Calibration: per sample, generated − equilibrium at the same β and couplings (energy per spin, ⟨q²⟩),
  averaged over disorder with a jackknife error, z = [Δ]/error (|z| ≲ 2 when generation is exact); and the gap
  of U₄(q) of the disorder-averaged moments (a per-sample U₄ of B/2 generated pairs would carry an O(2/B) bias).
* Forward-law reference (`physics.sk_generation.forward_replica_posterior`): the law that generation with an exact
  score would show. Per sample, ``forward_batch`` equilibrium configurations s₀ at every β of the tempering grid
  (`tempering_references`: the final spins of independent parallel-tempering chains on the same β grid as the
  equilibrium below, after pt_burn_in + pt_sweeps sweeps), x_t = α_t s₀ + σ_t ξ on the same time grid, and the
  posterior P(s | x_t) (SK in the field α x_t/σ²) sampled by the same chains as generation (same sweeps, same
  tempering at β > 1, warm-started along t): [q₁₂], ⟨q_ab²⟩, U₄(q_ab), χ_SG per time, their disorder averages,
  the paired gap [χ_SG generated − χ_SG forward] and the forward crossing λ×_forward (same estimator as λ×).
* Theory: replica-symmetric [q₁₂](λ) and χ_SG(λ) for β < 1 (`rs_overlap`, `rs_spin_glass_susceptibility`),
  λ = α²/σ²; their λ → 0 limit χ_SG = 1/(1 − β²) is the equilibrium paramagnet.
* Finite-size scaling (`physics.scaling`): equilibrium crossing β× of [U₄(q)] between the smallest and largest N
  and the emcee collapse of [χ_SG] = N[⟨q²⟩] in (β − β_c) N^a, χ N^b over |β − 1| ≤ eq_collapse_window (mean
  field: β_c = 1, a = 1/3, b = −1/3);
  emcee power law [χ_SG] ~ N^x at the tempering β nearest 1 (mean field: x = 1/3);
  along generation at the largest β of ``betas`` (> 1 for a transition), the crossing λ× of χ_SG N^{−1/3}
  between the smallest and largest N, and the same crossing of the forward-law reference, which exact generation
  must match (no mean-field prediction computed: the replica-symmetric theory holds for β < 1 only, where χ_SG
  stays finite at every λ and there is no crossing). χ_SG along
  generation is not collapsed with free (λ_c, a, b): at N ≤ 64 the emcee posterior of a sits on its prior bound.
Cost: ``disorder_block`` > 1 runs that many disorder samples of the generation, the forward-law references and
the forward law as one vmapped program (`physics.sk_generation`'s *_samples functions; the same numbers up to
floating-point rounding) and checkpoints them as one stage: on a GPU, where a run of a few thousand chains is bound
by the latency of its sequential spin updates, a block of 16 costs what 5–10 samples one by one do; on a CPU, 1 (the
default) keeps the stages per sample (a block gains nothing there: benchmarks/RESULTS.md, 2026-12-04).
All disorder errors are jackknife over the D samples (`physics.disorder.disorder_average`), which contain each
sample's thermal error.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import disorder as dis
from statphys.physics import replica_symmetric as rs
from statphys.physics import scaling as sc
from statphys.physics import sk_generation as skg
from statphys.physics import tempering_equilibrium as pte
from statphys.physics.amp import AMPDenoiser
from statphys.physics.mc_score import tempering_ladder
from statphys.physics.schedules import make_schedule, noise_levels
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample
from statphys.studies import checkpoints, progress

DESCRIPTION = ("SK along Monte-Carlo-score (and AMP) generation at N beyond enumeration: [q12], [q_ab^2], U4(q), "
               "chi_SG, the generated law against parallel tempering, finite-size scaling")
PARAMS = {
    "sizes": (list, [16, 32, 64]),
    "betas": (list, [0.5, 1.5]),
    "num_disorder": (int, 8),
    "batch": (int, 32),
    "chains_per_x": (int, 4),
    "sweeps_per_step": (int, 2),
    "burn_in": (int, 50),
    "posterior_replicas": (int, 1),
    "posterior_beta_min": (float, 0.3),
    "posterior_sweeps": (int, 0),
    "forward_batch": (int, 16),
    "num_steps": (int, 40),
    "t_max": (float, 3.0),
    "t_min": (float, 0.01),
    "amp_max_beta": (float, 1.0),
    "pt_beta_min": (float, 0.5),
    "pt_beta_max": (float, 1.5),
    "pt_num_betas": (int, 6),
    "pt_chains": (int, 4),
    "pt_sweeps": (int, 500),
    "pt_burn_in": (int, 500),
    "eq_collapse_window": (float, 0.3),
    "emcee_steps": (int, 400),
    "disorder_block": (int, 1),
}
SWEEP = ()
_GEN = "along Monte-Carlo-score generation, "
VARIABLES = {
    "n": ("number of spins N", "1"),
    "beta": ("inverse temperature of the generated SK target", "1"),
    "tempered_beta": ("the betas whose posterior chains are parallel-tempered (beta > 1, posterior_replicas > 1)",
                      "1"),
    "amp_beta": ("inverse temperature of the targets generated with the AMP score (beta < amp_max_beta)", "1"),
    "pt_beta": ("inverse temperature of the parallel-tempering replica", "1"),
    "rs_beta": ("the betas below 1, where the replica-symmetric theory rs_q12, rs_chi_sg is given", "1"),
    "time": ("diffusion time t of the record (OU: alpha = exp(-t), sigma^2 = 1 - exp(-2t))", "1"),
    "lam": ("signal-to-noise ratio lambda = alpha^2/sigma^2 at the recorded time", "1"),
    "disorder": ("disorder sample index d (couplings seed)", "1"),
    "gen_q12": (_GEN + "per sample: q12 = |E[s|x_t]|^2/N from the chain means, averaged over particles", "1"),
    "gen_q2": (_GEN + "per sample: <q_ab^2> over particles and chain pairs", "1"),
    "gen_binder_q": (_GEN + "per sample: U4(q_ab) = 1 - <q^4>/(3<q^2>^2)", "1"),
    "gen_chi_sg": (_GEN + "per sample: four-replica spin-glass susceptibility (1/N) sum_ij c_ij^2", "1"),
    "gen_energy": ("generated law at t_min, per sample: energy per spin <H>/N, H = -s.Js/2", "1"),
    "gen_q2_end": ("generated law at t_min, per sample: <q^2> of independent generated configurations", "1"),
    "gen_binder_end": ("generated law at t_min, per sample: U4(q) of independent generated configurations", "1"),
    "gen_acceptance": ("mean heat-bath acceptance of the posterior chains over the run", "1"),
    "gen_swap_min": ("smallest replica-exchange acceptance over neighbouring rungs of the tempered posterior chains, "
                     "averaged over the run, at each tempered_beta", "1"),
    "amp_q12": ("along AMP-score generation, per sample: |D_AMP(x_t)|^2/N averaged over particles", "1"),
    "amp_energy": ("AMP-score generated law sign(D) at t_min, per sample: energy per spin", "1"),
    "amp_q2_end": ("AMP-score generated law at t_min, per sample: <q^2> of independent generated configurations",
                   "1"),
    "pt_energy": ("parallel-tempering equilibrium, per sample: energy per spin <H>/N", "1"),
    "pt_energy_err": ("standard error of pt_energy (multi-chain ESS, autocorrelation-aware)", "1"),
    "pt_q2": ("parallel-tempering equilibrium, per sample: <q^2> of pairs of independent chains", "1"),
    "pt_q2_err": ("standard error of pt_q2 (multi-chain ESS, autocorrelation-aware)", "1"),
    "pt_binder_q": ("parallel-tempering equilibrium, per sample: U4(q)", "1"),
    "pt_chi_sg": ("parallel-tempering equilibrium, per sample: chi_SG = N <q^2>", "1"),
    "pt_rhat": ("split R-hat of q^2 over the pairs of chains (1 when equilibrated)", "1"),
    "pt_swap_min": ("smallest replica-exchange acceptance over neighbouring pairs, per sample", "1"),
    "rs_q12": ("replica-symmetric theory for beta < 1: q = E tanh(lam + beta^2 q + sqrt(lam + beta^2 q) G)", "1"),
    "rs_chi_sg": ("replica-symmetric theory for beta < 1: chi_SG = a/(1 - beta^2 a), a = E sech^4", "1"),
    "eq_crossing_beta": ("beta where [U4(q)] of the smallest and largest N cross (mean field: 1)", "1"),
    "eq_crossing_u4": ("[U4(q)] at the equilibrium crossing", "1"),
    "eq_collapse_mean_square": ("<r^2> of the pairwise collapse residuals of [chi_SG] at the free fit's medians "
                                "(about 1: a collapse within the errors)", "1"),
    "eq_collapse_mf_c_c": ("beta_c of the collapse of [chi_SG] with the mean-field exponents held fixed "
                           "(1/nu-bar = 1/3, b = -1/3), minimising <r^2> in the collapse window", "1"),
    "eq_collapse_mf_mean_square": ("<r^2> of that fixed-exponent collapse at eq_collapse_mf_c_c", "1"),
    "gen_crossing_lam": ("lambda where chi_SG N^(-1/3) of the smallest and largest N cross along generation, at "
                         "fss_beta", "1"),
    "fss_beta": ("the beta of the generative finite-size scaling (the largest of betas)", "1"),
}
_FWD = ("forward-law reference (what exact generation would show), per sample: the posterior P(s | x_t) at "
        "x_t = alpha_t s0 + sigma_t xi, s0 = forward_batch parallel-tempering equilibrium configurations of the same "
        "couplings, sampled by the generation's posterior chains (same sweeps and tempering, warm-started along t); ")
VARIABLES.update({
    "forward_q12": (_FWD + "q12 = |E[s|x_t]|^2/N from the chain means, averaged over particles", "1"),
    "forward_q2": (_FWD + "<q_ab^2> over particles and chain pairs", "1"),
    "forward_binder_q": (_FWD + "U4(q_ab) = 1 - <q^4>/(3<q^2>^2)", "1"),
    "forward_chi_sg": (_FWD + "four-replica spin-glass susceptibility (1/N) sum_ij c_ij^2", "1"),
    "forward_swap_min": ("smallest replica-exchange acceptance of the tempered posterior chains of the forward-law "
                         "reference, averaged over the run, at each tempered_beta", "1"),
    "forward_reference_swap_min": ("smallest replica-exchange acceptance of the parallel tempering that draws the "
                                   "forward-law configurations s0, per sample", "1"),
    "gen_minus_forward_chi_sg": ("[chi_SG along Monte-Carlo-score generation - chi_SG of the forward-law reference], "
                                 "paired per sample at the same couplings, beta and time (zero for exact generation)",
                                 "1"),
    "gen_minus_forward_chi_sg_err": ("jackknife error over disorder samples of gen_minus_forward_chi_sg", "1"),
    "forward_crossing_snr": ("lambda where chi_SG N^(-1/3) of the forward-law reference crosses between the smallest "
                             "and largest N, at fss_beta (the value exact generation must reproduce; same estimator "
                             "as gen_crossing_lam; at fss_beta < 1 chi_SG stays finite, replica-symmetric theory "
                             "rs_chi_sg, and no crossing is expected)", "1"),
    "forward_crossing_snr_err": ("parametric-bootstrap error of forward_crossing_snr from the jackknife errors over "
                                 "disorder", "1"),
})
for _name in ("gen_q12", "gen_q2", "gen_binder_q", "gen_chi_sg", "gen_energy", "gen_q2_end", "gen_binder_end",
              "forward_q12", "forward_q2", "forward_binder_q", "forward_chi_sg", "amp_q12", "amp_energy", "amp_q2_end",
              "pt_energy", "pt_q2", "pt_binder_q", "pt_chi_sg"):
    _long, _units = VARIABLES[_name]
    _avg = _long.replace("per sample: ", "disorder average [.]: ")
    VARIABLES[f"{_name}_avg"] = (_avg, _units)
    VARIABLES[f"{_name}_avg_err"] = ("jackknife error over disorder samples of " + _name + "_avg", _units)
for _name, _what in (("energy", "energy per spin"), ("q2", "<q^2>")):
    for _prefix, _method in (("diff", "Monte-Carlo"), ("amp_diff", "AMP")):
        VARIABLES[f"{_prefix}_{_name}"] = (f"[{_what} generated ({_method} score) - {_what} parallel tempering], "
                                           "paired per sample at the same beta", "1")
        VARIABLES[f"{_prefix}_{_name}_err"] = (f"jackknife error over disorder samples of {_prefix}_{_name}", "1")
        VARIABLES[f"{_prefix}_{_name}_z"] = (f"{_prefix}_{_name} / its error", "1")
VARIABLES["eq_chi_exponent"] = ("exponent x of [chi_SG] ~ N^x at eq_chi_exponent_beta, emcee median (mean field at "
                                "beta_c = 1: 1/3)", "1")
VARIABLES["eq_chi_exponent_lo"] = ("16% quantile of eq_chi_exponent", "1")
VARIABLES["eq_chi_exponent_hi"] = ("84% quantile of eq_chi_exponent", "1")
VARIABLES["eq_chi_exponent_beta"] = ("the tempering beta nearest 1, where eq_chi_exponent is fitted", "1")
VARIABLES["diff_binder"] = ("U4(q) of the disorder-averaged moments, 1 - [q^4]/(3[q^2]^2): generated (Monte-Carlo "
                             "score) minus parallel tempering at the same beta", "1")
VARIABLES["diff_binder_err"] = ("jackknife error over disorder samples of diff_binder", "1")
VARIABLES["diff_binder_z"] = ("diff_binder / its error", "1")
for _name in ("eq_crossing_beta", "eq_crossing_u4", "gen_crossing_lam"):
    VARIABLES[f"{_name}_err"] = ("parametric-bootstrap error of " + _name, "1")
for _par, _meaning in (("c_c", "critical beta (mean field: 1)"), ("a", "1/nu-bar (mean field: 1/3)"),
                       ("b", "chi exponent b in chi N^b (mean field: -1/3)")):
    VARIABLES[f"eq_collapse_{_par}"] = (f"emcee collapse of equilibrium [chi_SG] in beta: {_meaning}, median", "1")
    VARIABLES[f"eq_collapse_{_par}_lo"] = (f"16% quantile of eq_collapse_{_par}", "1")
    VARIABLES[f"eq_collapse_{_par}_hi"] = (f"84% quantile of eq_collapse_{_par}", "1")


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    sizes, betas = params["sizes"], params["betas"]
    if len(sizes) < 2 or any(not isinstance(n, int) or n < 4 for n in sizes) or sorted(set(sizes)) != list(sizes):
        raise ValueError(f"[params] sizes must be at least two increasing integers >= 4, got {sizes}")
    if not betas or any(not b > 0 for b in betas) or sorted(set(betas)) != list(betas):
        raise ValueError(f"[params] betas must be increasing values > 0, got {betas}")
    if params["forward_batch"] < 1:
        raise ValueError(f"[params] forward_batch must be >= 1, got {params['forward_batch']}")
    for name in ("num_disorder", "batch", "pt_num_betas"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if params["batch"] % 2:
        raise ValueError(f"[params] batch must be even (pairs of particles give the generated overlaps), "
                         f"got {params['batch']}")
    if params["chains_per_x"] < 4:
        raise ValueError(f"[params] chains_per_x must be >= 4 (chi_SG needs four replicas), "
                         f"got {params['chains_per_x']}")
    if params["pt_chains"] < 4 or params["pt_chains"] % 2:
        raise ValueError(f"[params] pt_chains must be even and >= 4, got {params['pt_chains']}")
    if params["posterior_sweeps"] < 0:
        raise ValueError(f"[params] posterior_sweeps must be >= 0 (0: sweeps_per_step), got {params['posterior_sweeps']}")
    if params["posterior_replicas"] < 1:
        raise ValueError(f"[params] posterior_replicas must be >= 1 (1: no tempering), got {params['posterior_replicas']}")
    if params["posterior_replicas"] > 1 and not 0 < params["posterior_beta_min"] < min([b for b in betas if b > 1],
                                                                                      default=np.inf):
        raise ValueError(f"[params] posterior_beta_min must lie in (0, the smallest beta > 1), got "
                         f"{params['posterior_beta_min']}")
    for name in ("sweeps_per_step", "num_steps", "pt_burn_in", "emcee_steps", "disorder_block"):
        if params[name] < 1:
            raise ValueError(f"[params] {name} must be >= 1, got {params[name]}")
    if params["pt_sweeps"] < 4 or params["burn_in"] < 0:
        raise ValueError(f"[params] need pt_sweeps >= 4 and burn_in >= 0, got {params['pt_sweeps']}, "
                         f"{params['burn_in']}")
    grid_near = np.abs(_pt_betas(params) - 1.0) <= params["eq_collapse_window"] + 1e-12
    if grid_near.sum() < 3:
        raise ValueError(f"[params] the equilibrium collapse needs >= 3 tempering betas within eq_collapse_window = "
                         f"{params['eq_collapse_window']} of beta_c = 1; widen it or add pt_num_betas")
    if not 0 < params["t_min"] < params["t_max"]:
        raise ValueError(f"[params] need 0 < t_min < t_max, got {params['t_min']}, {params['t_max']}")
    grid = _pt_betas(params)
    missing = [b for b in betas if not np.any(np.isclose(grid, b, rtol=0, atol=1e-9))]
    if missing or not 0 <= params["pt_beta_min"] < params["pt_beta_max"]:
        raise ValueError(f"[params] every beta of betas must lie on the tempering grid linspace(pt_beta_min, "
                         f"pt_beta_max, pt_num_betas) = {np.round(grid, 6).tolist()}; missing {missing}")


def _pt_betas(params: dict) -> np.ndarray:
    return np.linspace(params["pt_beta_min"], params["pt_beta_max"], params["pt_num_betas"])


def _overlap_moments(q: np.ndarray) -> dict:
    """⟨q²⟩, ⟨q⁴⟩, U₄ over the last two axes of q (..., particles, pairs)."""
    q2, q4 = np.mean(q**2, axis=(-2, -1)), np.mean(q**4, axis=(-2, -1))
    return {"q2": q2, "q4": q4, "binder": _binder(q2, q4)}


def _binder(q2: np.ndarray, q4: np.ndarray) -> np.ndarray:
    """U₄ = 1 − ⟨q⁴⟩/(3⟨q²⟩²)."""
    return 1.0 - q4 / (3.0 * q2**2)


class TrajectorySummary(NamedTuple):
    """What the study keeps of a `physics.sk_generation.ReplicaTrajectory`, and what a stage stores: the
    particle averages along t and the generated configurations as int8 (a block of 16 samples at N = 128 pickles to
    0.53 MB instead of 17.6 MB, so that the stages of a GPU run come back from a lent machine; the study's result is
    unchanged, bit for bit)."""
    times: np.ndarray  # (K + 1,)
    q12: np.ndarray  # (K + 1,) q12 averaged over particles
    q2: np.ndarray  # (K + 1,) <q_ab^2> over particles and chain pairs
    q4: np.ndarray  # (K + 1,) <q_ab^4> over particles and chain pairs
    chi_sg: np.ndarray  # (K + 1,) chi_SG averaged over particles
    generated: np.ndarray  # (batch, n) int8 spins of chain 0 after the last step
    acceptance: np.ndarray  # (K + 1,)
    swap_acceptance: np.ndarray | None  # (K + 1, R − 1) with a ladder


def _summary(trajectory) -> TrajectorySummary:
    """The `TrajectorySummary` of a ReplicaTrajectory."""
    moments = _overlap_moments(np.asarray(trajectory.q_pairs))
    swaps = trajectory.swap_acceptance
    return TrajectorySummary(np.asarray(trajectory.times), np.asarray(trajectory.q12).mean(-1), moments["q2"],
                             moments["q4"], np.asarray(trajectory.chi_sg).mean(-1),
                             np.asarray(trajectory.generated).astype(np.int8), np.asarray(trajectory.acceptance),
                             None if swaps is None else np.asarray(swaps))


def _generated_law(spins: np.ndarray, couplings: np.ndarray) -> dict:
    """Energy per spin and overlap moments of generated configurations spins (D, B, n), pairs (b, b + B/2)."""
    n = spins.shape[-1]
    energy = np.mean(-0.5 * np.einsum("dbi,dij,dbj->db", spins, couplings, spins) / n, axis=-1)
    half = spins.shape[1] // 2
    q = np.mean(spins[:, :half] * spins[:, half:2 * half], -1)
    moments = _overlap_moments(q[..., None])
    return {"energy": energy, "q2": moments["q2"], "q4": moments["q4"], "binder": moments["binder"]}


def _binder_gap(avg: dict) -> dict:
    """combine for `disorder_average`: U₄ of the averaged moments, generated minus tempering,
    (1 − [q⁴]_gen/(3[q²]_gen²)) − (1 − [q⁴]_PT/(3[q²]_PT²))."""
    return {"gap": avg["p4"] / (3.0 * avg["p2"] ** 2) - avg["g4"] / (3.0 * avg["g2"] ** 2)}


def _average(per_sample: dict) -> dict:
    """name -> Estimate of the disorder average (jackknife), per-sample arrays (D, ...)."""
    return dis.disorder_average(per_sample)


@functools.partial(jax.jit, static_argnames=("num_sizes", "num"))
def _run_keys(key, *, num_sizes: int, num: int) -> dict:
    """Every key of `run`: k_gen, k_pt, k_amp = split(key, 3), k_fwd_ref, k_fwd = split(fold_in(key, 3)); per size
    i and disorder sample d fold_in(fold_in(k, i), d) of k_gen, k_amp, k_fwd_ref, k_fwd (num_sizes, num, ...), and
    fold_in(k_pt, i) (num_sizes, ...)."""
    k_gen, k_pt, k_amp = jax.random.split(key, 3)
    k_fwd_ref, k_fwd = jax.random.split(jax.random.fold_in(key, 3))  # the forward-law reference's own keys
    sizes, samples = jnp.arange(num_sizes), jnp.arange(num)

    def per_sample(k):
        return jax.vmap(lambda i: jax.vmap(lambda d: jax.random.fold_in(jax.random.fold_in(k, i), d))(samples))(sizes)

    return {"gen": per_sample(k_gen), "amp": per_sample(k_amp), "fwd_ref": per_sample(k_fwd_ref),
            "fwd": per_sample(k_fwd), "pt": jax.vmap(lambda i: jax.random.fold_in(k_pt, i))(sizes)}


def run(params: dict, key) -> xr.Dataset:
    sizes, betas = [int(n) for n in params["sizes"]], [float(b) for b in params["betas"]]
    amp_betas = [b for b in betas if b < params["amp_max_beta"]]
    num = params["num_disorder"]
    schedule = make_schedule("ou", T=params["t_max"], t_min=params["t_min"])
    pt_betas = _pt_betas(params)
    pt_index = [int(np.argmin(np.abs(pt_betas - b))) for b in betas]
    gen_kw = {k: params[k] for k in ("num_steps", "batch", "chains_per_x", "sweeps_per_step", "burn_in")}

    def chain_options(beta):
        """The posterior chains' options at β: posterior_sweeps per step at β > 1, tempered over
        posterior_replicas rungs when > 1."""
        kw = dict(gen_kw)
        if beta > 1:
            kw["sweeps_per_step"] = params["posterior_sweeps"] or params["sweeps_per_step"]
            if params["posterior_replicas"] > 1:
                kw["ladder"] = tempering_ladder(beta, params["posterior_beta_min"], params["posterior_replicas"])
        return kw

    tempered_betas = [b for b in betas if "ladder" in chain_options(b)]

    def stack(runs):
        return jax.tree_util.tree_map(lambda *a: np.stack([np.asarray(v) for v in a]), *runs)

    block = params["disorder_block"]
    blocks = [range(start, min(start + block, num)) for start in range(0, num, block)]

    def per_block(stage, single, stacked):
        """single(d) for every disorder sample (block = 1), or stacked(samples) per block of ``disorder_block``
        samples (one vmapped program, `physics.sk_generation`'s *_samples), concatenated on axis 0; each sample
        or block a stage of the chunk (`studies.checkpoints`)."""
        if block == 1:
            return [checkpoints.stored(f"{stage} sample={d}", functools.partial(single, d)) for d in range(num)]
        return [run for b in blocks for run in checkpoints.stored(
            f"{stage} samples={b[0]}-{b[-1]}", functools.partial(stacked, np.asarray(b)))]

    def generate(keys, couplings, beta):
        """The `TrajectorySummary` of mc_replica_generation for every disorder sample (one compilation per N and
        block size), stacked on axis 0."""
        kw = chain_options(beta)
        return stack(per_block(
            f"generation summary N={couplings.shape[-1]} beta={beta}",
            lambda d: _summary(skg.mc_replica_generation(keys[d], couplings[d], 0.0, beta, schedule, **kw)),
            lambda b: [_summary(t) for t in skg.mc_replica_generation_samples(keys[b], couplings[b], 0.0, beta,
                                                                              schedule, **kw)]))

    def forward(keys, couplings, beta, references):
        """forward_replica_posterior for every disorder sample with the chains of `generate`, references
        (D, B, n)."""
        kw = chain_options(beta)
        kw.pop("batch")
        return stack(per_block(
            f"forward law summary N={couplings.shape[-1]} beta={beta}",
            lambda d: _summary(skg.forward_replica_posterior(keys[d], couplings[d], 0.0, beta, schedule, references[d],
                                                             **kw)),
            lambda b: [_summary(t) for t in skg.forward_replica_posterior_samples(
                keys[b], couplings[b], 0.0, beta, schedule, references[b], **kw)]))

    def forward_references(keys, couplings):
        """tempering_references for every disorder sample: (spins (pt_beta, B, n), swap acceptance) per sample."""
        kw = {"num_chains": params["forward_batch"], "num_sweeps": params["pt_burn_in"] + params["pt_sweeps"]}

        def stacked(b):
            spins, swaps = skg.tempering_references_samples(keys[b], couplings[b], pt_betas, **kw)
            return list(zip(spins, swaps))

        return per_block(f"forward-law references N={couplings.shape[-1]}",
                         lambda d: skg.tempering_references(keys[d], couplings[d], pt_betas, **kw), stacked)

    run_keys = {name: np.asarray(k) for name, k in _run_keys(key, num_sizes=len(sizes), num=num).items()}
    swap = ("swap_min",) if tempered_betas else ()  # a smallest swap acceptance per tempered β
    fwd_names = ("q12", "q2", "binder_q", "chi_sg") + swap
    fwd = {name: [] for name in fwd_names + ("reference_swap_min",)}
    out = {name: [] for name in ("q12", "q2", "binder_q", "chi_sg", "energy", "q2_end", "q4_end", "binder_end",
                                 "acceptance", "swap_min", "amp_q12", "amp_energy", "amp_q2_end", "pt")}
    times = None
    for i, n in progress.track(list(enumerate(sizes)), "sizes N"):
        couplings = np.stack([np.asarray(SherringtonKirkpatrick.random(n, 1.0, seed=d).couplings) for d in range(num)])
        keys = jax.device_put(run_keys["gen"][i])
        per_beta = {name: [] for name in ("q12", "q2", "binder_q", "chi_sg", "energy", "q2_end", "q4_end",
                                          "binder_end", "acceptance") + swap}
        for beta in betas:
            traj = generate(keys, couplings, beta)
            times = traj.times[0]
            law = _generated_law(traj.generated.astype(float), couplings)
            for name, value in (("q12", traj.q12), ("q2", traj.q2), ("binder_q", _binder(traj.q2, traj.q4)),
                                ("chi_sg", traj.chi_sg), ("energy", law["energy"]), ("q2_end", law["q2"]),
                                ("q4_end", law["q4"]),
                                ("binder_end", law["binder"]), ("acceptance", traj.acceptance.mean(-1))):
                per_beta[name].append(value)
            if beta in tempered_betas:
                per_beta["swap_min"].append(np.nanmean(traj.swap_acceptance, axis=1).min(-1))
        for name, values in per_beta.items():
            out[name].append(np.stack(values, 1))  # (D, beta, ...)
        refs = forward_references(jax.device_put(run_keys["fwd_ref"][i]), couplings)
        fwd["reference_swap_min"].append(np.array([float(np.min(np.asarray(sw))) for _, sw in refs]))
        references = np.stack([np.asarray(r) for r, _ in refs])  # (D, pt_beta, B, n)
        fwd_keys = jax.device_put(run_keys["fwd"][i])
        per_beta = {name: [] for name in fwd_names}
        for beta, j in zip(betas, pt_index):
            traj = forward(fwd_keys, couplings, beta, references[:, j])
            for name, value in (("q12", traj.q12), ("q2", traj.q2), ("binder_q", _binder(traj.q2, traj.q4)),
                                ("chi_sg", traj.chi_sg)):
                per_beta[name].append(value)
            if beta in tempered_betas:
                per_beta["swap_min"].append(np.nanmean(traj.swap_acceptance, axis=1).min(-1))
        for name, values in per_beta.items():
            fwd[name].append(np.stack(values, 1))  # (D, beta, ...)
        amp = {"amp_q12": [], "amp_energy": [], "amp_q2_end": []}
        for beta in amp_betas:
            q12, energy, q2 = [], [], []
            for d in range(num):
                def amp_run():
                    result = reverse_sample(jax.device_put(run_keys["amp"][i, d]),
                                            ExactScore(AMPDenoiser(jax.device_put(couplings[d]), beta), schedule),
                                            schedule, num_steps=params["num_steps"], batch=params["batch"], n=n,
                                            sampler="ddpm", spacing="log", record_every=1,
                                            observables={"q12": _amp_overlap})
                    return result.observables["q12"], result.denoised

                amp_q12, denoised = checkpoints.stored(f"AMP N={n} beta={beta} sample={d}", amp_run)
                q12.append(amp_q12.mean(-1))
                law = _generated_law(np.sign(denoised)[None], couplings[d:d + 1])
                energy.append(law["energy"][0])
                q2.append(law["q2"][0])
            amp["amp_q12"].append(np.stack(q12))
            amp["amp_energy"].append(np.array(energy))
            amp["amp_q2_end"].append(np.array(q2))
        for name, values in amp.items():
            out[name].append(np.stack(values, 1) if values else np.zeros((num, 0) + ((len(times),) if name == "amp_q12"
                                                                                    else ())))
        out["pt"].append(checkpoints.stored(f"equilibrium N={n}", lambda: pte.tempering_equilibrium(
            jax.device_put(run_keys["pt"][i]), couplings, pt_betas, num_chains=params["pt_chains"],
            num_sweeps=params["pt_sweeps"], burn_in=params["pt_burn_in"])))

    alpha, sigma = (np.asarray(a) for a in noise_levels(schedule, times))
    lam = alpha**2 / sigma**2
    data: dict = {}
    dims_t = ("n", "disorder", "beta", "time")

    def put(name, values, dims):
        """Per-sample values (n, D, ...) and the disorder average name_avg ± name_avg_err (n, ...)."""
        values = np.stack(values) if isinstance(values, list) else values
        data[name] = (dims, values)
        avg = [_average({name: v})[name] for v in values]
        data[f"{name}_avg"] = ((dims[0],) + dims[2:], np.stack([a.value for a in avg]))
        data[f"{name}_avg_err"] = ((dims[0],) + dims[2:], np.stack([a.error for a in avg]))

    for name in ("q12", "q2", "binder_q", "chi_sg"):
        put(f"gen_{name}", out[name], dims_t)
    for name in ("energy", "q2_end", "binder_end"):
        put(f"gen_{name}", out[name], ("n", "disorder", "beta"))
    data["gen_acceptance"] = (("n", "disorder", "beta"), np.stack(out["acceptance"]))
    if tempered_betas:
        data["gen_swap_min"] = (("n", "disorder", "tempered_beta"), np.stack(out["swap_min"]))
        data["forward_swap_min"] = (("n", "disorder", "tempered_beta"), np.stack(fwd["swap_min"]))
    for name in ("q12", "q2", "binder_q", "chi_sg"):
        put(f"forward_{name}", fwd[name], dims_t)
    data["forward_reference_swap_min"] = (("n", "disorder"), np.stack(fwd["reference_swap_min"]))
    gap = [_average({"x": g - f})["x"] for g, f in zip(np.stack(out["chi_sg"]), np.stack(fwd["chi_sg"]))]
    data["gen_minus_forward_chi_sg"] = (("n", "beta", "time"), np.stack([a.value for a in gap]))
    data["gen_minus_forward_chi_sg_err"] = (("n", "beta", "time"), np.stack([a.error for a in gap]))
    if amp_betas:
        put("amp_q12", out["amp_q12"], ("n", "disorder", "amp_beta", "time"))
        put("amp_energy", out["amp_energy"], ("n", "disorder", "amp_beta"))
        put("amp_q2_end", out["amp_q2_end"], ("n", "disorder", "amp_beta"))

    pt = out["pt"]
    pt_dims = ("n", "disorder", "pt_beta")
    pt_binder = np.stack([_binder(e.q2, e.q4) for e in pt])
    put("pt_energy", [e.energy for e in pt], pt_dims)
    put("pt_q2", [e.q2 for e in pt], pt_dims)
    put("pt_binder_q", pt_binder, pt_dims)
    put("pt_chi_sg", np.stack([n * e.q2 for n, e in zip(sizes, pt)]), pt_dims)
    data["pt_energy_err"] = (pt_dims, np.stack([e.energy_err for e in pt]))
    data["pt_q2_err"] = (pt_dims, np.stack([e.q2_err for e in pt]))
    data["pt_rhat"] = (pt_dims, np.stack([e.rhat for e in pt]))
    data["pt_swap_min"] = (("n", "disorder"), np.stack([e.swap_acceptance.min(-1) for e in pt]))

    # calibration: generated − equilibrium, paired per sample at the same β
    pt_e = np.stack([e.energy[:, pt_index] for e in pt])  # (n, D, beta)
    pt_q2 = np.stack([e.q2[:, pt_index] for e in pt])
    amp_index = [betas.index(b) for b in amp_betas]
    pairs = [("diff", "beta", np.stack(out["energy"]), np.stack(out["q2_end"]), slice(None))]
    if amp_betas:
        pairs.append(("amp_diff", "amp_beta", np.stack(out["amp_energy"]), np.stack(out["amp_q2_end"]), amp_index))
    for prefix, dim, energy, q2, index in pairs:
        for name, gen, eq in (("energy", energy, pt_e[:, :, index]), ("q2", q2, pt_q2[:, :, index])):
            est = [_average({"x": g - e})["x"] for g, e in zip(gen, eq)]
            value, error = np.stack([a.value for a in est]), np.stack([a.error for a in est])
            data[f"{prefix}_{name}"] = (("n", dim), value)
            data[f"{prefix}_{name}_err"] = (("n", dim), error)
            data[f"{prefix}_{name}_z"] = (("n", dim), value / error)

    pt_q4 = np.stack([e.q4[:, pt_index] for e in pt])
    gap = [dis.disorder_average({"g2": g2, "g4": g4, "p2": p2, "p4": p4}, _binder_gap)["gap"]
           for g2, g4, p2, p4 in zip(np.stack(out["q2_end"]), np.stack(out["q4_end"]), pt_q2, pt_q4)]
    data["diff_binder"] = (("n", "beta"), np.stack([a.value for a in gap]))
    data["diff_binder_err"] = (("n", "beta"), np.stack([a.error for a in gap]))
    data["diff_binder_z"] = (("n", "beta"), data["diff_binder"][1] / data["diff_binder_err"][1])

    # replica-symmetric theory along the trajectory, β < 1
    rs_betas = [b for b in betas if b < 1]
    if rs_betas:
        data["rs_q12"] = (("rs_beta", "time"), np.stack([rs.rs_overlap(b, lam) for b in rs_betas]))
        data["rs_chi_sg"] = (("rs_beta", "time"),
                             np.stack([rs.rs_spin_glass_susceptibility(b, lam) for b in rs_betas]))

    # finite-size scaling: equilibrium in β, generation in λ at the largest β
    sizes_arr = np.array(sizes, float)
    eq_u4 = [sc.Estimate(data["pt_binder_q_avg"][1][j], data["pt_binder_q_avg_err"][1][j]) for j in (0, -1)]
    beta_x, u_x = sc.binder_crossing_estimate(pt_betas, *eq_u4)
    steps = params["emcee_steps"]
    kw = {"num_steps": steps, "burn": steps // 3}
    near = np.abs(pt_betas - 1.0) <= params["eq_collapse_window"] + 1e-12
    lo_b, hi_b = pt_betas[near][0], pt_betas[near][-1]
    eq_fit = sc.fit_collapse(pt_betas[near], sizes_arr, data["pt_chi_sg_avg"][1][:, near],
                             data["pt_chi_sg_avg_err"][1][:, near], start=(1.0, 1 / 3, -1 / 3),
                             bounds=((lo_b, hi_b), (0.05, 1.0), (-1.0, 0.0)), seed=0, **kw)
    at_one = int(np.argmin(np.abs(pt_betas - 1.0)))
    power = sc.fit_power_law(sizes_arr, data["pt_chi_sg_avg"][1][:, at_one], data["pt_chi_sg_avg_err"][1][:, at_one],
                             num_steps=steps, burn=steps // 3)
    data["eq_chi_exponent"] = ((), power.get("x")[0])
    data["eq_chi_exponent_lo"] = ((), power.get("x")[1])
    data["eq_chi_exponent_hi"] = ((), power.get("x")[2])
    data["eq_chi_exponent_beta"] = ((), float(pt_betas[at_one]))
    fss_beta = betas[-1]
    order = np.argsort(lam)
    lam_sorted = lam[order]
    scale = sizes_arr[:, None] ** (-1 / 3)

    def chi_crossing(prefix):
        """λ where [χ_SG] N^{−1/3} of the smallest and largest N cross at the largest β."""
        chi = data[f"{prefix}_chi_sg_avg"][1][:, -1][:, order]
        chi_err = data[f"{prefix}_chi_sg_avg_err"][1][:, -1][:, order]
        return sc.binder_crossing_estimate(lam_sorted, sc.Estimate(chi[0] * scale[0], chi_err[0] * scale[0]),
                                           sc.Estimate(chi[-1] * scale[-1], chi_err[-1] * scale[-1]))[0]

    lam_x = chi_crossing("gen")
    lam_forward = chi_crossing("forward")
    for par in ("c_c", "a", "b"):
        med, lo, hi = eq_fit.get(par)
        data[f"eq_collapse_{par}"] = ((), med)
        data[f"eq_collapse_{par}_lo"] = ((), lo)
        data[f"eq_collapse_{par}_hi"] = ((), hi)
    collapse_data = (pt_betas[near], sizes_arr, data["pt_chi_sg_avg"][1][:, near],
                     data["pt_chi_sg_avg_err"][1][:, near])
    data["eq_collapse_mean_square"] = ((), sc.collapse_mean_square([eq_fit.get(par)[0] for par in ("c_c", "a", "b")],
                                                                   *collapse_data))
    mf_c_c, mf_mean_square = sc.collapse_at_fixed_exponents(*collapse_data, a=1 / 3, b=-1 / 3, bounds=(lo_b, hi_b))
    data["eq_collapse_mf_c_c"] = ((), mf_c_c)
    data["eq_collapse_mf_mean_square"] = ((), mf_mean_square)
    data.update({
        "eq_crossing_beta": ((), float(beta_x.value)), "eq_crossing_beta_err": ((), float(beta_x.error)),
        "eq_crossing_u4": ((), float(u_x.value)), "eq_crossing_u4_err": ((), float(u_x.error)),
        "gen_crossing_lam": ((), float(lam_x.value)), "gen_crossing_lam_err": ((), float(lam_x.error)),
        "forward_crossing_snr": ((), float(lam_forward.value)),
        "forward_crossing_snr_err": ((), float(lam_forward.error)),
        "fss_beta": ((), fss_beta),
    })
    coords = {"n": sizes, "disorder": np.arange(num), "beta": betas, "time": times, "lam": (("time",), lam),
              "pt_beta": pt_betas}
    if amp_betas:
        coords["amp_beta"] = amp_betas
    if tempered_betas:
        coords["tempered_beta"] = tempered_betas
    if rs_betas:
        coords["rs_beta"] = rs_betas
    return xr.Dataset(data, coords=coords, attrs={
        "disorder_error": "jackknife",
        "score": "Monte Carlo (persistent heat-bath chains; parallel-tempered over posterior_replicas rungs from beta "
                 "down to posterior_beta_min at beta > 1), AMP for beta < amp_max_beta",
        "generated_configuration": "chain 0 after the last step (Monte Carlo); sign of the AMP denoiser (AMP)"})


def _amp_overlap(x, denoised, t):
    return jnp.sum(denoised * denoised, -1) / x.shape[-1]
