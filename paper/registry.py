"""The paper's headline figures: one Figure per result of the paper, in the order of the paper, each with the
study that makes its results and the headline numbers (Headline) that paper.tex quotes as \\headline{<figure>.<label>}.

To register a figure, append a Figure to FIGURES:

    Figure("<name>", "<study>", "<what the figure shows>", (
        Headline("<label>", "<variable>", "<error variable or None>", {"<dim>": <value>, ...}),
    )),

<study> is a study file studies/<study>.toml whose kind has a figure paper/plots/<kind>.py; `statphys reproduce`
runs every study named here, `statphys paper` draws <figures>/<name>.png and .pdf from
<out>/<study>/<profile>/<study>.nc, and paper.tex shows it with \\headlinefigure{<name>}{<caption>}.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Mapping

PAPER_DIR = pathlib.Path(__file__).resolve().parent
DEFAULT_FIGURES = PAPER_DIR / "figures"


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
               Headline("tv_exact", "tv", "tv_err", {"sampler": "exact_paths", "beta": 1.2}),
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
    Figure("spin_glass_scaling", "spin_glass_scaling",
           "SK along generation beyond enumeration: Monte-Carlo and AMP scores vs parallel tempering, FSS", (
               Headline("n", "n", None, {"n": "last"}),
               Headline("de_mc_low", "diff_energy", "diff_energy_err", {"n": "last", "beta": 0.5}),
               Headline("dq2_mc_low", "diff_q2", "diff_q2_err", {"n": "last", "beta": 0.5}),
               Headline("de_amp_low", "amp_diff_energy", "amp_diff_energy_err", {"n": "last"}),
               Headline("dq2_amp_low", "amp_diff_q2", "amp_diff_q2_err", {"n": "last"}),
               Headline("de_mc_high", "diff_energy", "diff_energy_err", {"n": "last", "beta": 1.5}),
               Headline("dq2_mc_high", "diff_q2", "diff_q2_err", {"n": "last", "beta": 1.5}),
               Headline("eq_crossing", "eq_crossing_beta", "eq_crossing_beta_err"),
               Headline("eq_beta_c", "eq_collapse_c_c"),
               Headline("eq_chi_exponent", "eq_chi_exponent"),
               Headline("gen_crossing", "gen_crossing_lam", "gen_crossing_lam_err"),
               Headline("forward_crossing", "forward_crossing_snr", "forward_crossing_snr_err"),
           )),
    Figure("score_error_propagation", "score_error_propagation",
           "a controlled denoiser error (noise epsilon, shrinkage b) propagated into the generated law", (
               Headline("noise_exponent", "noise_exponent", "noise_exponent_err", {"target": "curie_weiss:64"}),
               Headline("bias_exponent", "bias_exponent", "bias_exponent_err", {"target": "curie_weiss:64"}),
               Headline("noise_energy_exponent", "noise_energy_exponent", "noise_energy_exponent_err",
                        {"target": "sk:12"}),
               Headline("bias_energy_exponent", "bias_energy_exponent", "bias_energy_exponent_err", {"target": "sk:12"}),
               Headline("bias_tv", "bias_tv_pair", "bias_tv_pair_err", {"target": "curie_weiss:16", "bias": 0.01}),
               Headline("bias_pinsker", "bias_pinsker", None, {"target": "curie_weiss:16", "bias": 0.01}),
           )),
    Figure("learned_spin_scores", "learned_spin_scores",
           "DSM-trained scores on Curie-Weiss and Hopfield K = 2 against the exact score: score error, path KL, P(m), "
           "speciation, fluctuation theorem", (
               Headline("n", "n", None, {"target": "curie_weiss", "n": "last"}),
               Headline("ts_equivariant", "t_speciation_learned_seed_mean", "t_speciation_learned_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("ts_mlp", "t_speciation_learned_seed_mean", "t_speciation_learned_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("ts_exact", "t_speciation_exact_seed_mean", "t_speciation_exact_seed_sem",
                        {"target": "curie_weiss", "n": "last"}),
               Headline("ts_theory", "t_speciation_theory", None, {"target": "curie_weiss", "n": "last"}),
               Headline("kl_equivariant", "path_kl_forward_seed_mean", "path_kl_forward_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("kl_mlp", "path_kl_forward_seed_mean", "path_kl_forward_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("tv_equivariant", "tv_learned_seed_mean", "tv_learned_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("tv_exact", "tv_exact_seed_mean", "tv_exact_seed_sem", {"target": "curie_weiss", "n": "last"}),
               Headline("split_discretisation", "m2_split_discretisation_seed_mean",
                        "m2_split_discretisation_seed_sem", {"target": "curie_weiss", "n": "last"}),
               Headline("split_prior", "m2_split_prior_seed_mean", "m2_split_prior_seed_sem",
                        {"target": "curie_weiss", "n": "last"}),
               Headline("split_rest", "m2_error_exact_start_seed_mean", "m2_error_exact_start_seed_sem",
                        {"target": "curie_weiss", "n": "last"}),
               Headline("split_score_equivariant", "m2_split_score_seed_mean", "m2_split_score_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("split_score_mlp", "m2_split_score_seed_mean", "m2_split_score_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("p_small", "train_size", None, {"target": "curie_weiss"}),
               Headline("p_large", "train_size", None, {"target": "curie_weiss", "train_size": "last"}),
               Headline("t_collapse_small", "t_collapse_empirical_seed_mean", "t_collapse_empirical_seed_sem",
                        {"target": "curie_weiss", "n": "last"}),
               Headline("t_collapse_large", "t_collapse_empirical_seed_mean", "t_collapse_empirical_seed_sem",
                        {"target": "curie_weiss", "n": "last", "train_size": "last"}),
               Headline("ift_exact", "ift_exact_seed_mean", "ift_exact_seed_sem",
                        {"target": "curie_weiss", "n": "last"}),
               Headline("excess_equivariant", "entropy_production_excess_seed_mean",
                        "entropy_production_excess_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("girsanov_equivariant", "girsanov_kl_ift_seed_mean", "girsanov_kl_ift_seed_sem",
                        {"target": "curie_weiss", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
           )),
    Figure("learned_ea_scores", "learned_ea_scores",
           "DSM-trained lattice-convolutional, MLP and DeepSets scores on a 2-D +-J Edwards-Anderson sample against "
           "the exact score: score error, path KL, energy, P(q) and state-law errors, fluctuation theorem", (
               Headline("n", "n", None, {"target": "edwards_anderson", "n": "last"}),
               Headline("p_large", "train_size", None, {"target": "edwards_anderson", "train_size": "last"}),
               Headline("kl_conv", "path_kl_forward_seed_mean", "path_kl_forward_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("tv_conv", "tv_states_learned_seed_mean", "tv_states_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("energy_conv", "energy_split_score_seed_mean", "energy_split_score_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("q_conv", "tv_overlap_learned_seed_mean", "tv_overlap_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("kl_mlp", "path_kl_forward_seed_mean", "path_kl_forward_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("tv_mlp", "tv_states_learned_seed_mean", "tv_states_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("energy_mlp", "energy_split_score_seed_mean", "energy_split_score_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("q_mlp", "tv_overlap_learned_seed_mean", "tv_overlap_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "mlp:spin", "train_size": "last"}),
               Headline("kl_equivariant", "path_kl_forward_seed_mean", "path_kl_forward_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("tv_equivariant", "tv_states_learned_seed_mean", "tv_states_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("energy_equivariant", "energy_split_score_seed_mean", "energy_split_score_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("q_equivariant", "tv_overlap_learned_seed_mean", "tv_overlap_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "equivariant:spin", "train_size": "last"}),
               Headline("tv_exact", "tv_states_exact_seed_mean", "tv_states_exact_seed_sem",
                        {"target": "edwards_anderson", "n": "last"}),
               Headline("tv_floor", "tv_states_floor_seed_mean", "tv_states_floor_seed_sem",
                        {"target": "edwards_anderson", "n": "last"}),
               Headline("q_floor", "tv_overlap_floor_seed_mean", "tv_overlap_floor_seed_sem",
                        {"target": "edwards_anderson", "n": "last"}),
               Headline("ift_exact", "ift_exact_seed_mean", "ift_exact_seed_sem",
                        {"target": "edwards_anderson", "n": "last"}),
               Headline("ift_conv", "ift_learned_seed_mean", "ift_learned_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("excess_conv", "entropy_production_excess_seed_mean", "entropy_production_excess_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
               Headline("girsanov_conv", "girsanov_kl_ift_seed_mean", "girsanov_kl_ift_seed_sem",
                        {"target": "edwards_anderson", "n": "last", "network": "conv:spin", "train_size": "last"}),
           )),
    Figure("speciation", "speciation", "speciation time vs theory", (
        Headline("t_s", "t_s", "t_s_err", {"n": "last", "beta": 1.5}),
        Headline("t_s_theory", "t_s_theory", None, {"n": "last", "beta": 1.5}),
        Headline("n", "n", None, {"n": "last"}),
    )),
    Figure("collapse", "collapse", "collapse time vs theory"),
)
