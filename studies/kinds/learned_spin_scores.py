"""Learned scores on spin targets against the exact score: where along the trajectory does learning err?

Targets (``targets``, a list; the results run along a dimension ``target``, Curie–Weiss with the study's key,
the others with fold_in(key, index in TARGETS)), each with an exact sampler, an exact denoiser and an exact ln p_t
(`studies.spin_targets`; ``pattern_seed`` draws the quenched disorder, Hopfield patterns or EA bonds):
  "curie_weiss"       P(s) ∝ exp(β M²/(2N)) (Hubbard–Stratonovich denoiser, any N); m = mean_i s_i.
  "hopfield2"         Hopfield with K = 2 random patterns (two Curie–Weiss groups in a gauge, any N); m the Mattis
                      overlap ξ¹·s/N; speciation along the top covariance eigenvector.
  "edwards_anderson"  the ±J EA spin glass on the periodic L × L square lattice, n = L² ∈ {9, 16}, by enumeration
                      of the 2ᴺ states; m = mean_i s_i (its exact P(m) is measured, but it is no order parameter
                      here), speciation along the top eigenvector of ⟨s_i s_j⟩, t_S = ½ ln λ_max; and the
                      generated law also on the energy per spin (the ⟨m²⟩ split below repeated on it), the overlap
                      law P(q) and all 2ᴺ states (variables energy_*, tv_overlap_*, tv_states_*, present only for
                      this target; it runs alone, its n grid being the squares).
                      The "conv" network (`physics.networks`) reads the sample's bonds and is translation
                      equivariant in (s, J) jointly; it runs on this target only.
Below, "m" is the target's order parameter (the sign of each x_i in place of s_i for generated states).
OU noising (α = e^{−t}, σ² = 1 − e^{−2t}), diffusion times t (generation runs T → t_min).

For each N in ``n``, each training-set size P in ``train_sizes`` and each seed (``seeds``; the seed draws the data
set, the validation set, the initialisation, the minibatches and the noise of every measurement), the networks of
``networks`` ("architecture:head", `physics.networks`: "mlp" or "equivariant" (DeepSets), heads "spin"
D = tanh(αx/σ² + h) or "tanh" D = tanh(h)) are trained by denoising score matching (λ = σ², Song et al. 2021,
eq. 7) on the same P exact samples, with early stopping on a held-out set (`physics.dsm_training.train_dsm`).
The data sets are nested: the set of size P is the first P rows of the largest one. Then, against the exact score:

  - ε(t) = σ_t² E‖s_θ − s‖²/N on exact samples of p_t at ``num_times`` times geometric in (t_min, T);
  - memorisation: the same ε between s_θ and the empirical score of its training set (`models.dataset.DataSet`),
    and between the exact empirical and population scores, on the same samples (fresh population draws);
  - the score part of the Girsanov path KL over exact forward samples (Gauss–Legendre, ``kl_nodes``) and along
    the learned reverse paths (`physics.learned_vs_exact.forward_path_kl`, `generate`);
  - the generated law of m = mean sign(x) at t_min (``num_paths`` reverse-SDE paths of ``num_steps`` steps,
    ``sampler``): TV against the exact P(m), and the same with the exact score and the same sampler (the
    discretisation and prior part), and the TV of ``num_paths`` exact samples (the finite-sample floor);
  - the generated-law error split by changing one ingredient at a time, in the signed error of ⟨m²⟩ (additive,
    no positive finite-sample floor, unlike the TV): (a) learned score, ``num_steps`` steps, start N(0, σ_T² I);
    (b) exact score, same steps, start and noise; (c) exact score, ``fine_factor`` × ``num_steps`` steps;
    (d) exact score, fine steps, start x_T drawn from the exact p_T (exact samples noised to T). Score part
    (a) − (b) (paired paths), discretisation part (b) − (c), prior part (c) − (d) (paired paths); (d) itself is
    the sampling error of the paths, zero within its error bar if the fine steps are fine enough;
  - collapse times (memorisation): the time below which the learned score follows the empirical score of its
    training set (memorisation index ε_pop/(ε_pop + ε_emp) falls below ½ scanning up in t, on the ``num_times``
    grid where the exact empirical and population scores differ), and the collapse time of the exact empirical
    score (the mean posterior weight of the training point a forward path starts from falls below ½; Biroli
    et al., arXiv 2402.18491), both per seed. On a discrete target the population law's own posterior also
    concentrates on one configuration as t → 0, so that crossing marks memorisation only where P ≪ 2ᴺ (N = 24
    here); where the data set covers most configurations (N = 8, P = 512) it is the time at which x_t
    identifies its configuration;
  - the speciation time measured from the class information of the denoiser magnetisation along those paths
    (`physics.transitions.speciation_time`, bootstrap error over paths), learned and exact, and t_S = ½ ln N⟨m²⟩
    (Biroli et al., arXiv 2402.18491);
  - the integral fluctuation theorem of the generation (`physics.generative_fluctuations`): ``num_paths`` paths of
    ``ift_steps`` log-spaced steps of ``ift_sampler`` (a Gaussian kernel per step), with the exact and with the
    learned score (same start and step noise), and Σ = ln Q[X]/P†[X] of the generative path law Q against the
    forward process read backward (exact transitions, ln p_{t_min} exact): ⟨e^{−Σ}⟩ = 1 at any step for any
    score (Seifert, Rep. Prog. Phys. 75, 126001 (2012), eq. 48), ⟨Σ⟩ = KL(Q ‖ P†) = prior KL + discretisation
    with the exact score, and the learned score's excess ⟨Σ⟩ − ⟨Σ⟩_exact → E_Q ∫ ½ g² |s_θ − s|² dt (its
    Girsanov path KL along the learned paths) as the step vanishes, next to the discrete Girsanov KL
    Σ_k b_k²/(2V_k) E|s_θ − s|², exact at any step.
Training curves (held-out and training DSM loss at each evaluation) are stored flat along ``record`` with the run
they belong to as coordinates (their lengths differ with early stopping); the kept parameters of every trained
network flat along ``weight`` (`physics.dsm_training.flatten_params`, located by network_weight_offset and
network_weight_count), so that `trained_network(ds, target=…, n=…, network=…, train_size=…, seed=…)` gives the
network back.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import xarray as xr

from statphys.models.dataset import DataSet
from statphys.physics import dsm_training as dsm
from statphys.physics import generative_fluctuations as gf
from statphys.physics import learned_vs_exact as lve
from statphys.physics import transitions as tr
from statphys.physics.networks import ARCHITECTURES, HEADS, LATTICE_ARCHITECTURES, NetworkScore
from statphys.physics.samplers import STOCHASTIC
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.total_variation import histogram_tv
from statphys.studies.compilation import release_compiled_code
from statphys.studies.spin_targets import LATTICE_TARGETS, TARGETS, check_target_size, make_target

DESCRIPTION = ("DSM-trained MLP, DeepSets and lattice-convolutional scores on Curie–Weiss, Hopfield K = 2 or a 2-D ±J "
               "Edwards–Anderson sample vs the exact score: ε(t), path KL, generated-law error split, t_S, "
               "memorisation, IFT")
PARAMS = {
    "targets": (list, ["curie_weiss"]),
    "pattern_seed": (int, 0),
    "n": (list, [8, 24]),
    "beta": (float, 1.5),
    "networks": (list, ["mlp:spin", "equivariant:spin", "mlp:tanh"]),
    "train_sizes": (list, [32, 512]),
    "seeds": (int, 3),
    "validation_size": (int, 256),
    "train_steps": (int, 800),
    "batch": (int, 64),
    "lr": (float, 3e-3),
    "hidden": (int, 32),
    "depth": (int, 2),
    "num_freq": (int, 4),
    "eval_every": (int, 50),
    "patience": (int, 4),
    "T": (float, 5.0),
    "t_min": (float, 1e-3),
    "num_times": (int, 10),
    "eval_samples": (int, 512),
    "kl_nodes": (int, 12),
    "kl_samples": (int, 512),
    "num_steps": (int, 100),
    "record_every": (int, 2),
    "num_paths": (int, 500),
    "sampler": (str, "euler_maruyama"),
    "fine_factor": (int, 4),
    "bootstrap": (int, 100),
    "ift_steps": (int, 100),
    "ift_sampler": (str, "ddpm"),
}
SWEEP = ()
SEED_AVERAGED = ("t_speciation_learned", "t_speciation_exact", "path_kl_forward", "path_kl_reverse", "tv_learned",
                 "tv_exact", "tv_exact_fine", "tv_exact_start", "tv_floor", "m2_error_learned", "m2_split_score",
                 "m2_split_discretisation", "m2_split_prior", "m2_error_exact_start", "t_collapse_learned",
                 "t_collapse_empirical", "score_error", "score_error_empirical", "memorisation_index", "best_step",
                 "ift_exact", "ift_learned", "entropy_production_exact", "entropy_production_learned",
                 "entropy_production_excess", "girsanov_kl_ift", "prior_kl")
#: seed averages of the lattice (Edwards–Anderson) target only
LATTICE_SEED_AVERAGED = ("energy_error_learned", "energy_split_score", "energy_split_discretisation",
                         "energy_split_prior", "energy_error_exact_start", "tv_states_learned", "tv_states_exact",
                         "tv_states_exact_start", "tv_states_floor", "tv_overlap_learned", "tv_overlap_exact",
                         "tv_overlap_floor")
#: seed averages that can be NaN (every seed NaN) and say so in their long names.
_MAY_BE_NAN = ("t_speciation_learned", "t_collapse_learned", "t_collapse_empirical", "memorisation_index")


def _unit(name: str) -> str:
    return "nat" if ("kl" in name or "entropy" in name) else "1"


#: the learned collapse time is read where the exact empirical and population scores differ, σ²E|s_emp − s|²/N
#: above this (elsewhere the memorisation index compares two vanishing errors).
DISTINCT = 1e-2
VARIABLES = {
    "score_error": ("relative score error sigma_t^2 E|s_theta - s|^2 / N against the exact population score", "1"),
    "score_error_err": ("standard error of score_error over the evaluation samples", "1"),
    "path_kl_forward_err": ("standard error of path_kl_forward over the samples", "nat"),
    "path_kl_reverse_err": ("standard error of path_kl_reverse over the paths", "nat"),
    "t_speciation_learned_err": ("bootstrap standard error of t_speciation_learned over paths; NaN where "
                                 "t_speciation_learned is NaN or where a bootstrap resample's class information "
                                 "never reaches its threshold", "1"),
    "t_speciation_exact_err": ("bootstrap standard error of t_speciation_exact over paths; NaN where "
                               "t_speciation_exact is NaN or where a bootstrap resample's class information never "
                               "reaches its threshold", "1"),
    "best_step": ("optimiser steps done when the kept (lowest held-out loss) parameters were reached", "1"),
    "stopped_early": ("1 where early stopping ended training before train_steps, else 0", "1"),
    "score_error_empirical": ("sigma_t^2 E|s_theta - s_emp|^2 / N against the exact empirical score of the "
                              "training set", "1"),
    "memorisation_index": ("memorisation index eps_pop/(eps_pop + eps_emp) of score_error (eps_pop) and "
                           "score_error_empirical (eps_emp): 0 where s_theta follows the population score, 1 where it "
                           "follows its training set; NaN where empirical_score_gap <= 1e-2 (the two exact scores "
                           "do not differ)", "1"),
    "empirical_score_gap": ("sigma_t^2 E|s_emp - s|^2 / N between the exact empirical and population scores", "1"),
    "path_kl_forward": ("score part of the Girsanov path KL, int 1/2 g^2 E_{p_t}|s_theta - s|^2 dt (exact forward "
                        "samples)", "nat"),
    "path_kl_reverse": ("int 1/2 g^2 E_{q_t}|s_theta - s|^2 dt along the learned reverse paths", "nat"),
    "tv_learned": ("total variation of the generated P(m) (learned score) from the exact P(m)", "1"),
    "tv_exact": ("total variation of the generated P(m) with the exact score, same sampler and steps", "1"),
    "tv_floor": ("total variation of num_paths exact samples' P(m) from the exact P(m)", "1"),
    "t_speciation_learned": ("speciation time from the class information of the learned generation; NaN where "
                             "the class information never reaches its threshold", "1"),
    "t_speciation_exact": ("speciation time measured the same way with the exact score; NaN where the class "
                           "information never reaches its threshold", "1"),
    "t_speciation_theory": ("t_S = 1/2 ln of the top covariance eigenvalue (Biroli et al.): 1/2 ln N<m^2> for "
                            "Curie-Weiss", "1"),
    "m2_error_learned": ("<m^2> of the generated law (learned score, num_steps steps, start N(0, sigma_T^2 I)) "
                         "minus the exact <m^2>; m = mean_i sign(x_i) at t_min", "1"),
    "m2_error_learned_err": ("standard error of m2_error_learned over the paths", "1"),
    "m2_error_exact": ("<m^2> error as m2_error_learned with the exact score (same sampler, steps, start and "
                       "noise)", "1"),
    "m2_error_exact_err": ("standard error of m2_error_exact over the paths", "1"),
    "m2_error_exact_fine": ("<m^2> error with the exact score and fine_factor * num_steps steps, start "
                            "N(0, sigma_T^2 I)", "1"),
    "m2_error_exact_fine_err": ("standard error of m2_error_exact_fine over the paths", "1"),
    "m2_error_exact_start": ("<m^2> error with the exact score, fine_factor * num_steps steps and x_T drawn "
                             "from the exact p_T: the sampling error of the paths", "1"),
    "m2_error_exact_start_err": ("standard error of m2_error_exact_start over the paths", "1"),
    "m2_split_score": ("score part of the <m^2> error: m2_error_learned - m2_error_exact (paired paths)", "1"),
    "m2_split_score_err": ("standard error of m2_split_score over the paired paths", "1"),
    "m2_split_discretisation": ("discretisation part of the <m^2> error: m2_error_exact - m2_error_exact_fine",
                                "1"),
    "m2_split_discretisation_err": ("standard error of m2_split_discretisation over the paths (independent "
                                    "runs)", "1"),
    "m2_split_prior": ("prior part of the <m^2> error: m2_error_exact_fine - m2_error_exact_start (paired paths)",
                       "1"),
    "m2_split_prior_err": ("standard error of m2_split_prior over the paired paths", "1"),
    "tv_exact_fine": ("total variation of the generated P(m) from the exact P(m): exact score, fine_factor * "
                      "num_steps steps", "1"),
    "tv_exact_start": ("total variation of the generated P(m) from the exact P(m): exact score, fine steps, exact "
                       "start x_T ~ p_T (compare tv_floor)", "1"),
    "t_collapse_learned": ("time below which the learned score follows its training set: the memorisation index "
                           "falls below 1/2 scanning up in t (linear in ln t, at times where "
                           "empirical_score_gap > 1e-2); NaN where the index is below 1/2 at the first such time "
                           "or never falls below it", "1"),
    "empirical_collapse_weight": ("mean posterior weight, under the empirical law of the training set, of the "
                                  "training configuration a forward path x_t = alpha_t s0 + sigma_t xi starts "
                                  "from", "1"),
    "empirical_collapse_weight_err": ("standard error of empirical_collapse_weight over the training points", "1"),
    "t_collapse_empirical": ("collapse time of the exact empirical score: empirical_collapse_weight falls below "
                             "1/2 scanning up in t (linear in ln t); NaN where it never does on the time grid",
                             "1"),
    **{f"{name}_seed_mean": (f"mean of {name} over training seeds" + ("; NaN where no seed gives a finite value"
                                                                      if name in _MAY_BE_NAN else ""),
                             _unit(name))
       for name in SEED_AVERAGED + LATTICE_SEED_AVERAGED},
    **{f"{name}_seed_sem": (f"standard error of {name} over training seeds (s/sqrt(seeds)); NaN where fewer than two "
                            "seeds give a finite value", _unit(name))
       for name in SEED_AVERAGED + LATTICE_SEED_AVERAGED},
    "ift_exact": ("<exp(-Sigma)> over the generative paths with the exact score (integral fluctuation theorem: 1 "
                  "at any step); Sigma = ln Q[X]/P[X] of the generative path law Q (ift_sampler, ift_steps "
                  "log-spaced steps) against the forward process read backward", "1"),
    "ift_exact_err": ("standard error of ift_exact over the paths", "1"),
    "ift_exact_ess": ("Kish effective sample size of the weights exp(-Sigma) of ift_exact", "1"),
    "ift_learned": ("<exp(-Sigma)> as ift_exact with the learned score (same start and step noise)", "1"),
    "ift_learned_err": ("standard error of ift_learned over the paths", "1"),
    "ift_learned_ess": ("Kish effective sample size of the weights exp(-Sigma) of ift_learned", "1"),
    "entropy_production_exact": ("<Sigma> = KL(Q || P) with the exact score: prior KL plus discretisation", "nat"),
    "entropy_production_exact_err": ("standard error of entropy_production_exact over the paths", "nat"),
    "entropy_production_learned": ("<Sigma> = KL(Q || P) with the learned score", "nat"),
    "entropy_production_learned_err": ("standard error of entropy_production_learned over the paths", "nat"),
    "entropy_production_excess": ("entropy_production_learned - entropy_production_exact (paired paths); tends to "
                                  "the Girsanov path KL along the learned paths as the step vanishes", "nat"),
    "entropy_production_excess_err": ("standard error of entropy_production_excess over the paired paths", "nat"),
    "girsanov_kl_ift": ("discrete Girsanov KL(Q_learned || Q_exact) = sum_k b_k^2/(2 V_k) E|s_theta - s|^2 along "
                        "the learned paths of ift_learned (exact at any step)", "nat"),
    "girsanov_kl_ift_err": ("standard error of girsanov_kl_ift over the paths", "nat"),
    "prior_kl": ("<ln pi(x_0) - ln p_T(x_0)> over the start states of ift_exact: KL(N(0, sigma_T^2 I) || p_T)",
                 "nat"),
    "prior_kl_err": ("standard error of prior_kl over the paths", "nat"),
    "energy_exact": ("exact <H>/N of the Edwards-Anderson sample (enumeration), H = -sum_<ij> J_ij s_i s_j", "1"),
    "energy_error_learned": ("<H>/N of the generated spins sign(x) at t_min (learned score, num_steps steps, start "
                             "N(0, sigma_T^2 I)) minus energy_exact", "1"),
    "energy_error_learned_err": ("standard error of energy_error_learned over the paths", "1"),
    "energy_error_exact": ("energy error as energy_error_learned with the exact score (same sampler, steps, start "
                           "and noise)", "1"),
    "energy_error_exact_err": ("standard error of energy_error_exact over the paths", "1"),
    "energy_error_exact_fine": ("energy error with the exact score and fine_factor * num_steps steps", "1"),
    "energy_error_exact_fine_err": ("standard error of energy_error_exact_fine over the paths", "1"),
    "energy_error_exact_start": ("energy error with the exact score, fine steps and x_T drawn from the exact p_T: "
                                 "the sampling error of the paths", "1"),
    "energy_error_exact_start_err": ("standard error of energy_error_exact_start over the paths", "1"),
    "energy_split_score": ("score part of the energy error: energy_error_learned - energy_error_exact (paired "
                           "paths)", "1"),
    "energy_split_score_err": ("standard error of energy_split_score over the paired paths", "1"),
    "energy_split_discretisation": ("discretisation part of the energy error: energy_error_exact - "
                                    "energy_error_exact_fine", "1"),
    "energy_split_discretisation_err": ("standard error of energy_split_discretisation (independent runs)", "1"),
    "energy_split_prior": ("prior part of the energy error: energy_error_exact_fine - energy_error_exact_start "
                           "(paired paths)", "1"),
    "energy_split_prior_err": ("standard error of energy_split_prior over the paired paths", "1"),
    "tv_states_learned": ("total variation over all 2^N states between the generated law (learned score) and the "
                          "exact Boltzmann law", "1"),
    "tv_states_exact": ("total variation over all 2^N states with the exact score, same sampler and steps", "1"),
    "tv_states_exact_fine": ("total variation over all 2^N states: exact score, fine_factor * num_steps steps", "1"),
    "tv_states_exact_start": ("total variation over all 2^N states: exact score, fine steps, exact start", "1"),
    "tv_states_floor": ("total variation over all 2^N states of num_paths exact samples (the finite-sample floor)",
                        "1"),
    "tv_overlap_learned": ("total variation of P(q) of num_paths/2 independent pairs of generated states (learned "
                           "score) from the exact P(q)", "1"),
    "tv_overlap_exact": ("total variation of P(q) of generated pairs with the exact score, same sampler and steps",
                         "1"),
    "tv_overlap_floor": ("total variation of P(q) of num_paths/2 pairs of exact samples from the exact P(q)", "1"),
    "network_weights": ("parameters of every trained network (the kept, lowest held-out loss ones), one vector per "
                        "run (physics.dsm_training.flatten_params) concatenated; reload with trained_network", "1"),
    "network_weight_offset": ("index in network_weights of the run's first parameter", "1"),
    "network_weight_count": ("number of parameters of the run's network", "1"),
    "curve_val_loss": ("held-out DSM loss (frozen times and noise) at each evaluation", "1"),
    "curve_train_loss": ("mean training DSM loss over the steps before each evaluation", "1"),
    "target": ("target: curie_weiss, hopfield2 (Hopfield, K = 2 random patterns) or edwards_anderson (2-D +-J "
               "sample, pattern_seed)", "1"),
    "n": ("number of spins N", "1"),
    "network": ("score network 'architecture:head' (physics.networks) trained by denoising score matching", "1"),
    "train_size": ("training-set size P (nested: the first P rows of the largest set)", "1"),
    "seed": ("training seed index: draws the data set, validation set, initialisation, minibatches and measurement "
             "noise", "1"),
    "time": ("diffusion time t of the score-error grid, geomspace(t_min, T, num_times) (OU: alpha = exp(-t))", "1"),
    "curve_step": ("optimiser steps done at the evaluation of the training-curve record", "1"),
    "weight_target": ("target of the run each entry of network_weights belongs to", "1"),
}
for _name in ("target", "n", "network", "train_size", "seed"):
    VARIABLES[f"curve_{_name}"] = (f"{_name} of the run the training-curve record belongs to", "1")


def _networks(params: dict) -> list[tuple[str, str]]:
    out = []
    for name in params["networks"]:
        kind, _, head = str(name).partition(":")
        if kind not in ARCHITECTURES or head not in HEADS:
            raise ValueError(f"[params] networks entries are 'architecture:head' with an architecture in "
                             f"{list(ARCHITECTURES)} and a head in {list(HEADS)}, got {name!r}")
        out.append((kind, head))
    return out


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    targets = params["targets"]
    if not targets or any(t not in TARGETS for t in targets) or len(set(targets)) != len(targets):
        raise ValueError(f"[params] targets must be a non-empty list of distinct names in {list(TARGETS)}, got "
                         f"{targets!r}")
    if not params["n"] or any(not isinstance(v, int) or v < 2 for v in params["n"]):
        raise ValueError(f"[params] n must be a non-empty list of integers >= 2, got {params['n']}")
    lattice = [t for t in targets if t in LATTICE_TARGETS]
    if lattice and len(lattice) != len(targets):
        others = sorted(set(targets) - set(lattice))
        raise ValueError(f"[params] the lattice target(s) {lattice} run alone: their n are the squares L^2 and their "
                         f"results include lattice-only variables, so mixing them with {others} "
                         "would pad the (target, n) grid with NaN; run them in a study of their own "
                         "(studies/learned_ea_scores.toml)")
    for target in lattice:
        for n in params["n"]:
            try:
                check_target_size(target, n)
            except ValueError as err:
                raise ValueError(f"[params] n: {err}") from None
    if not params["networks"]:
        raise ValueError("[params] networks must name at least one 'architecture:head'")
    for kind, head in _networks(params):
        if kind in LATTICE_ARCHITECTURES and not lattice:
            raise ValueError(f"[params] networks: {kind}:{head} is a lattice network (it reads the bonds of a square "
                             f"lattice), but the targets {targets} have no lattice; use it with "
                             f"{list(LATTICE_TARGETS)}")
    if not params["train_sizes"] or any(not isinstance(v, int) or v < 1 for v in params["train_sizes"]):
        raise ValueError(f"[params] train_sizes must be a non-empty list of integers >= 1, got {params['train_sizes']}")
    if params["seeds"] < 2:
        raise ValueError(f"[params] seeds must be >= 2 (error bars over training seeds), got {params['seeds']}")
    for name in ("validation_size", "train_steps", "batch", "hidden", "depth", "num_freq", "eval_every", "patience",
                 "num_times", "eval_samples", "kl_nodes", "kl_samples", "num_steps", "record_every", "num_paths",
                 "fine_factor", "bootstrap", "ift_steps"):
        if params[name] < 1:
            raise ValueError(f"[params] {name} must be >= 1, got {params[name]}")
    if params["train_steps"] % params["eval_every"]:
        raise ValueError(f"[params] eval_every = {params['eval_every']} must divide train_steps = "
                         f"{params['train_steps']}")
    if params["num_paths"] < 4:
        raise ValueError(f"[params] num_paths must be >= 4 (standard errors over paths, overlaps of pairs), got "
                         f"{params['num_paths']}")
    if params["num_steps"] % params["record_every"]:
        raise ValueError(f"[params] record_every = {params['record_every']} must divide num_steps = "
                         f"{params['num_steps']}")
    if not params["beta"] >= 0 or not params["lr"] > 0:
        raise ValueError(f"[params] need beta >= 0 and lr > 0, got {params['beta']}, {params['lr']}")
    if params["sampler"] not in STOCHASTIC:
        raise ValueError(f"[params] sampler must be a reverse SDE {sorted(STOCHASTIC)} (the Girsanov KL and the "
                         f"generated law assume one), got {params['sampler']!r}")
    if params["ift_sampler"] not in gf.KERNEL_SAMPLERS:
        raise ValueError(f"[params] ift_sampler must be one of {list(gf.KERNEL_SAMPLERS)} (a Gaussian kernel per "
                         f"step), got {params['ift_sampler']!r}")
    make_schedule("ou", T=params["T"], t_min=params["t_min"])


def _speciation(times, m_denoiser, m2, params, seed):
    est = tr.speciation_time(times, m_denoiser, lambda s: tr.class_information(s, m2), seed=seed,
                             num_resamples=params["bootstrap"])
    return est.value, est.error


def run(params: dict, key) -> xr.Dataset:
    validate(params)
    parts = [_run_target(params, name, key if name == "curie_weiss" else jax.random.fold_in(key, TARGETS.index(name)))
             for name in params["targets"]]
    return _merge(parts, list(params["targets"]))


def _run_target(params: dict, target_name: str, key) -> xr.Dataset:
    """The study on one target (module docstring), without the seed averages."""
    schedule = make_schedule("ou", T=params["T"], t_min=params["t_min"])
    networks = _networks(params)
    sizes = sorted(params["train_sizes"])
    n_list, seeds = list(params["n"]), params["seeds"]
    times = np.geomspace(params["t_min"], params["T"], params["num_times"])
    shape = (len(n_list), len(networks), len(sizes), seeds)
    run_vars = {name: np.zeros(shape) for name in (
        "path_kl_forward", "path_kl_forward_err", "path_kl_reverse", "path_kl_reverse_err", "tv_learned",
        "t_speciation_learned", "t_speciation_learned_err", "best_step", "stopped_early", "m2_error_learned",
        "m2_error_learned_err", "m2_split_score", "m2_split_score_err", "t_collapse_learned", "ift_learned",
        "ift_learned_err", "ift_learned_ess", "entropy_production_learned", "entropy_production_learned_err",
        "entropy_production_excess", "entropy_production_excess_err", "girsanov_kl_ift", "girsanov_kl_ift_err",
        "network_weight_offset", "network_weight_count")}
    curves = {name: np.zeros(shape + (len(times),)) for name in ("score_error", "score_error_err",
                                                                 "score_error_empirical", "memorisation_index")}
    per_set = {name: np.zeros((len(n_list), len(sizes), seeds, len(times))) for name in (
        "empirical_score_gap", "empirical_collapse_weight", "empirical_collapse_weight_err")}
    t_collapse_empirical = np.zeros((len(n_list), len(sizes), seeds))
    per_n = {name: np.zeros((len(n_list), seeds)) for name in (
        "tv_exact", "tv_exact_fine", "tv_exact_start", "tv_floor", "t_speciation_exact", "t_speciation_exact_err",
        "m2_error_exact", "m2_error_exact_err", "m2_error_exact_fine", "m2_error_exact_fine_err",
        "m2_error_exact_start", "m2_error_exact_start_err", "m2_split_discretisation",
        "m2_split_discretisation_err", "m2_split_prior", "m2_split_prior_err", "ift_exact", "ift_exact_err",
        "ift_exact_ess", "entropy_production_exact", "entropy_production_exact_err", "prior_kl", "prior_kl_err")}
    theory = np.zeros(len(n_list))
    lattice = target_name in LATTICE_TARGETS
    lattice_run = {name: np.zeros(shape) for name in (
        "energy_error_learned", "energy_error_learned_err", "energy_split_score", "energy_split_score_err",
        "tv_states_learned", "tv_overlap_learned")} if lattice else {}
    lattice_n = {name: np.zeros((len(n_list), seeds)) for name in (
        "energy_error_exact", "energy_error_exact_err", "energy_error_exact_fine", "energy_error_exact_fine_err",
        "energy_error_exact_start", "energy_error_exact_start_err", "energy_split_discretisation",
        "energy_split_discretisation_err", "energy_split_prior", "energy_split_prior_err", "tv_states_exact",
        "tv_states_exact_fine", "tv_states_exact_start", "tv_states_floor", "tv_overlap_exact",
        "tv_overlap_floor")} if lattice else {}
    energy_exact = np.zeros(len(n_list))
    flat = {key_: [] for key_ in ("n", "network", "train_size", "seed", "step", "val", "train")}
    weights = []
    ift_run = dict(batch=params["num_paths"], num_steps=params["ift_steps"], sampler=params["ift_sampler"])
    generate = dict(batch=params["num_paths"], num_steps=params["num_steps"], record_every=params["record_every"],
                    sampler=params["sampler"])
    fine = dict(batch=params["num_paths"], num_steps=params["fine_factor"] * params["num_steps"],
                sampler=params["sampler"])
    for a, n in enumerate(n_list):
        release_compiled_code()  # the small profile holds 184 programs, 19 000 memory mappings, at its end
        spin = make_target(target_name, n, params["beta"], params["pattern_seed"])
        lat = spin.lattice
        target, p_m, m2, gauge = spin.model, spin.p_m, spin.m2, spin.gauge
        exact = ExactScore(target, schedule)
        theory[a] = spin.t_theory
        direction = None if target_name == "curie_weiss" else spin.direction
        for r in range(seeds):
            k_seed = jax.random.fold_in(jax.random.fold_in(key, a), r)
            data_all = target.sample(jax.random.fold_in(k_seed, 0), sizes[-1])
            validation = target.sample(jax.random.fold_in(k_seed, 1), params["validation_size"])
            k_eval, k_kl, k_gen = (jax.random.fold_in(k_seed, i) for i in (2, 3, 4))
            gen = lve.generate(k_gen, exact, schedule, n, direction=direction, **generate)
            per_n["tv_exact"][a, r] = histogram_tv(lve.magnetization_histogram(gen.x * gauge, n), p_m)
            floor = target.sample(jax.random.fold_in(k_seed, 5), params["num_paths"])
            per_n["tv_floor"][a, r] = histogram_tv(lve.magnetization_histogram(floor * gauge, n), p_m)
            per_n["t_speciation_exact"][a, r], per_n["t_speciation_exact_err"][a, r] = _speciation(
                gen.times, gen.m_denoiser, spin.m2_class, params, r)
            x_exact = gen.x * gauge
            x_fine = lve.final_states(k_gen, exact, schedule, n, **fine) * gauge
            start = lve.exact_start(jax.random.fold_in(k_seed, 6), target, schedule, params["num_paths"])
            x_start = lve.final_states(k_gen, exact, schedule, n, x_init=start, **fine) * gauge
            for name, x in (("exact", x_exact), ("exact_fine", x_fine), ("exact_start", x_start)):
                per_n[f"m2_error_{name}"][a, r], per_n[f"m2_error_{name}_err"][a, r] = lve.second_moment_error(x, m2)
            for name, x in (("tv_exact_fine", x_fine), ("tv_exact_start", x_start)):
                per_n[name][a, r] = histogram_tv(lve.magnetization_histogram(x, n), p_m)
            per_n["m2_split_discretisation"][a, r] = per_n["m2_error_exact"][a, r] - per_n["m2_error_exact_fine"][a, r]
            per_n["m2_split_discretisation_err"][a, r] = np.hypot(per_n["m2_error_exact_err"][a, r],
                                                                  per_n["m2_error_exact_fine_err"][a, r])
            per_n["m2_split_prior"][a, r], per_n["m2_split_prior_err"][a, r] = lve.paired_difference(x_fine, x_start)
            k_ift = jax.random.fold_in(k_seed, 500)
            entropy_exact = gf.generative_entropy(k_ift, exact, schedule, spin.density.marginal_log_prob, n=n,
                                                  **ift_run)
            _store_ift(per_n, (a, r), "exact", entropy_exact)
            per_n["prior_kl"][a, r], per_n["prior_kl_err"][a, r] = gf.mean_and_error(entropy_exact.prior)
            if lattice:
                energy_exact[a] = lat.energy
                _lattice_exact(lattice_n, (a, r), lat, x_exact, x_fine, x_start, floor)
            for c, size in enumerate(sizes):
                empirical = ExactScore(DataSet(data_all[:size]), schedule)
                weight, weight_err = lve.empirical_collapse(jax.random.fold_in(k_seed, 7 + c), data_all[:size],
                                                           schedule, times)
                per_set["empirical_collapse_weight"][a, c, r] = weight
                per_set["empirical_collapse_weight_err"][a, c, r] = weight_err
                t_collapse_empirical[a, c, r] = lve.collapse_crossing(times, weight)
                for b, (kind, head) in enumerate(networks):
                    res = dsm.train_dsm(jax.random.fold_in(k_seed, 1000 + 100 * c + b), data_all, validation, schedule,
                                       size=size,
                                       kind=kind, head=head, steps=params["train_steps"], batch=params["batch"],
                                       lr=params["lr"], hidden=params["hidden"], depth=params["depth"],
                                       num_freq=params["num_freq"], eval_every=params["eval_every"],
                                       patience=params["patience"],
                                       couplings=lat.couplings if kind in LATTICE_ARCHITECTURES else None)
                    learned = NetworkScore(res.params, schedule, kind, head)
                    idx = (a, b, c, r)
                    run_vars["best_step"][idx], run_vars["stopped_early"][idx] = res.best_step, res.stopped_early
                    for key_, values in (("n", n), ("network", f"{kind}:{head}"), ("train_size", size), ("seed", r)):
                        flat[key_].extend([values] * len(res.steps))
                    vector = dsm.flatten_params(res.params)
                    run_vars["network_weight_offset"][idx] = sum(w.size for w in weights)
                    run_vars["network_weight_count"][idx] = vector.size
                    weights.append(vector)
                    flat["step"].extend(res.steps.tolist())
                    flat["val"].extend(res.val_loss.tolist())
                    flat["train"].extend(res.train_loss.tolist())
                    pairs = [(learned, exact), (learned, empirical)] + ([(empirical, exact)] if b == 0 else [])
                    mean, err = lve.relative_score_distance(k_eval, pairs, target, schedule, times,
                                                           params["eval_samples"])
                    curves["score_error"][idx], curves["score_error_err"][idx] = mean[0], err[0]
                    curves["score_error_empirical"][idx] = mean[1]
                    if b == 0:
                        per_set["empirical_score_gap"][a, c, r] = mean[2]
                    distinct = per_set["empirical_score_gap"][a, c, r] > DISTINCT
                    index = lve.memorisation_index(mean[0], mean[1])
                    curves["memorisation_index"][idx] = np.where(distinct, index, np.nan)
                    run_vars["t_collapse_learned"][idx] = lve.collapse_crossing(times, index, valid=distinct)
                    (run_vars["path_kl_forward"][idx], run_vars["path_kl_forward_err"][idx]) = lve.forward_path_kl(
                        k_kl, learned, exact, target, schedule, num_samples=params["kl_samples"],
                        num_nodes=params["kl_nodes"])
                    gen = lve.generate(k_gen, learned, schedule, n, exact_fn=exact, direction=direction, **generate)
                    x_learned = gen.x * gauge
                    run_vars["path_kl_reverse"][idx] = gen.path_kl
                    run_vars["path_kl_reverse_err"][idx] = gen.path_kl_err
                    run_vars["tv_learned"][idx] = histogram_tv(lve.magnetization_histogram(x_learned, n), p_m)
                    run_vars["m2_error_learned"][idx], run_vars["m2_error_learned_err"][idx] = (
                        lve.second_moment_error(x_learned, m2))
                    run_vars["m2_split_score"][idx], run_vars["m2_split_score_err"][idx] = lve.paired_difference(
                        x_learned, x_exact)
                    if lattice:
                        _lattice_learned(lattice_run, idx, lat, x_learned, x_exact)
                    (run_vars["t_speciation_learned"][idx],
                     run_vars["t_speciation_learned_err"][idx]) = _speciation(gen.times, gen.m_denoiser, spin.m2_class,
                                                                           params, r)
                    entropy = gf.generative_entropy(k_ift, learned, schedule, spin.density.marginal_log_prob, n=n,
                                                    exact_fn=exact, **ift_run)
                    _store_ift(run_vars, idx, "learned", entropy)
                    (run_vars["entropy_production_excess"][idx],
                     run_vars["entropy_production_excess_err"][idx]) = gf.mean_and_error(entropy.sigma
                                                                                         - entropy_exact.sigma)
                    run_vars["girsanov_kl_ift"][idx], run_vars["girsanov_kl_ift_err"][idx] = gf.mean_and_error(
                        entropy.girsanov)
    run_dims = ("n", "network", "train_size", "seed")
    names = [f"{kind}:{head}" for kind, head in networks]
    for count in ("network_weight_offset", "network_weight_count"):
        run_vars[count] = run_vars[count].astype(np.int64)
    return xr.Dataset(
        {
            **{key_: (run_dims, value) for key_, value in run_vars.items()},
            **{key_: (run_dims + ("time",), value) for key_, value in curves.items()},
            **{key_: (("n", "train_size", "seed", "time"), value) for key_, value in per_set.items()},
            "t_collapse_empirical": (("n", "train_size", "seed"), t_collapse_empirical),
            **{key_: (("n", "seed"), value) for key_, value in per_n.items()},
            "t_speciation_theory": (("n",), theory),
            **{key_: (run_dims, value) for key_, value in lattice_run.items()},
            **{key_: (("n", "seed"), value) for key_, value in lattice_n.items()},
            **({"energy_exact": (("n",), energy_exact)} if lattice else {}),
            "curve_val_loss": (("record",), np.array(flat["val"])),
            "curve_train_loss": (("record",), np.array(flat["train"])),
            "network_weights": (("weight",), np.concatenate(weights)),
        },
        coords={"n": np.array(n_list), "network": names, "train_size": np.array(sizes), "seed": np.arange(seeds),
                "time": times, "curve_n": (("record",), np.array(flat["n"])),
                "curve_network": (("record",), np.array(flat["network"])),
                "curve_train_size": (("record",), np.array(flat["train_size"])),
                "curve_seed": (("record",), np.array(flat["seed"])),
                "curve_step": (("record",), np.array(flat["step"]))},
    )


def _lattice_exact(store: dict, idx: tuple, lat, x_exact, x_fine, x_start, floor) -> None:
    """Energy error split (exact-score parts) and the TVs over P(q) and the 2ᴺ states of the exact-score runs and
    of exact samples, for a lattice target (module docstring)."""
    energies = {name: lve.energy_per_spin(x, lat.couplings) for name, x in (
        ("exact", x_exact), ("exact_fine", x_fine), ("exact_start", x_start))}
    for name, values in energies.items():
        store[f"energy_error_{name}"][idx], store[f"energy_error_{name}_err"][idx] = lve.statistic_error(
            values, lat.energy)
    store["energy_split_discretisation"][idx] = store["energy_error_exact"][idx] - store["energy_error_exact_fine"][idx]
    store["energy_split_discretisation_err"][idx] = np.hypot(store["energy_error_exact_err"][idx],
                                                             store["energy_error_exact_fine_err"][idx])
    store["energy_split_prior"][idx], store["energy_split_prior_err"][idx] = lve.paired_statistic_difference(
        energies["exact_fine"], energies["exact_start"])
    for name, x in (("exact", x_exact), ("exact_fine", x_fine), ("exact_start", x_start), ("floor", floor)):
        store[f"tv_states_{name}"][idx] = histogram_tv(lve.state_histogram(x), lat.state_law)
    for name, x in (("exact", x_exact), ("floor", floor)):
        store[f"tv_overlap_{name}"][idx] = histogram_tv(lve.overlap_histogram(x), lat.q_law)


def _lattice_learned(store: dict, idx: tuple, lat, x_learned, x_exact) -> None:
    """Energy error, its score part and the TVs over P(q) and the 2ᴺ states of a learned run (lattice target)."""
    energy = lve.energy_per_spin(x_learned, lat.couplings)
    store["energy_error_learned"][idx], store["energy_error_learned_err"][idx] = lve.statistic_error(
        energy, lat.energy)
    store["energy_split_score"][idx], store["energy_split_score_err"][idx] = lve.paired_statistic_difference(
        energy, lve.energy_per_spin(x_exact, lat.couplings))
    store["tv_states_learned"][idx] = histogram_tv(lve.state_histogram(x_learned), lat.state_law)
    store["tv_overlap_learned"][idx] = histogram_tv(lve.overlap_histogram(x_learned), lat.q_law)


def _store_ift(store: dict, idx: tuple, label: str, entropy: gf.GenerativeEntropy) -> None:
    """⟨e^{−Σ}⟩ (error, ESS) and ⟨Σ⟩ (error) of a generative run into store[...][idx]."""
    ift = entropy.ift
    store[f"ift_{label}"][idx], store[f"ift_{label}_err"][idx], store[f"ift_{label}_ess"][idx] = (
        ift.mean, ift.stderr, ift.ess)
    (store[f"entropy_production_{label}"][idx],
     store[f"entropy_production_{label}_err"][idx]) = gf.mean_and_error(entropy.sigma)


_FLAT = {"record": "curve_", "weight": "network_"}


def _merge(parts: list[xr.Dataset], names: list[str]) -> xr.Dataset:
    """The targets' results along a new leading dimension ``target``; the flat records (training curves, network
    weights) are concatenated with their target as a coordinate (curve_target, weight_target) and the weight
    offsets shifted to the concatenated vector; then the seed averages."""
    flat = [v for v in parts[0].variables if any(d in _FLAT for d in parts[0][v].dims)]
    main = xr.concat([p.drop_vars(flat).expand_dims(target=[name]) for p, name in zip(parts, names)], dim="target")
    shift = np.cumsum([0] + [p.sizes["weight"] for p in parts[:-1]])
    main["network_weight_offset"] = main.network_weight_offset + xr.DataArray(shift, dims="target")
    records = {v: (parts[0][v].dims, np.concatenate([p[v].values for p in parts])) for v in flat}
    for dim in _FLAT:
        records[f"{'curve' if dim == 'record' else 'weight'}_target"] = (
            (dim,), np.concatenate([[name] * p.sizes[dim] for p, name in zip(parts, names)]))
    coords = {v: records.pop(v) for v in list(records) if v in parts[0].coords or v.endswith("_target")}
    ds = main.assign(**{v: xr.Variable(*value) for v, value in records.items()})
    ds = ds.assign_coords(**{v: xr.Variable(*value) for v, value in coords.items()})
    return ds.assign(seed_averages(ds))


def seed_averages(ds: xr.Dataset) -> dict:
    """<v>_seed_mean and <v>_seed_sem (standard error over training seeds, s/√seeds) of the per-seed results."""
    out = {}
    for name in SEED_AVERAGED + tuple(v for v in LATTICE_SEED_AVERAGED if v in ds):
        values = ds[name]
        count = values.count("seed")
        out[name + "_seed_mean"] = values.mean("seed")
        out[name + "_seed_sem"] = values.std("seed", ddof=1) / np.sqrt(count)
    return out


def trained_network(ds: xr.Dataset, *, target: str, n: int, network: str, train_size: int, seed: int) -> NetworkScore:
    """The trained score network of one run of a result dataset (its kept parameters, `network_weights`), as the
    `physics.networks.NetworkScore` the study measured; the schedule and architecture settings come from the
    dataset's ``config`` attribute (the study's parameters)."""
    config = json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else None
    if config is None:
        raise ValueError("the dataset has no 'config' attribute (the study's parameters); read a result file of "
                         "`statphys run`")
    params = {**{k: v[1] for k, v in PARAMS.items()}, **config}
    where = dict(target=target, n=n, network=network, train_size=train_size, seed=seed)
    offset = int(ds.network_weight_offset.sel(**where))
    count = int(ds.network_weight_count.sel(**where))
    kind, _, head = network.partition(":")
    weights = dsm.unflatten_params(ds.network_weights.values[offset:offset + count], kind, n, hidden=params["hidden"],
                                   depth=params["depth"], num_freq=params["num_freq"])
    return NetworkScore(weights, make_schedule("ou", T=params["T"], t_min=params["t_min"]), kind, head)

