"""How a controlled error of the score propagates into the generated law: measured curves and the path-KL bound.

For each target (Curie–Weiss at any N, an SK instance by enumeration at small N) the exact score is perturbed
on the denoiser, D̂ = (1 − b) D + ε ζ with ζ ~ N(0, I) fresh at every step (`physics.score_error`), in two
one-parameter families: unbiased noise (b = 0, ε on ``noise``) and shrinkage (ε = 0, b on ``bias``). Every run
uses the same key, so the runs are coupled (the same prior draw and sampler noise; ζ has its own keys); every
level, zero included, runs through one compiled program per target (traced ε and b), so the level 0 run is the
exact-score run to float rounding (`physics.score_error.perturb`). Generated spins are sign(x_{t_min}), m = Σ sign(x)/N.

Per level, against the exact law (enumeration / the Curie–Weiss law of m):
  - TV of P(m) with its bootstrap standard error and the sampling floor (TV of the same number of exact draws:
    mean and sd over multinomial draws);
  - ⟨m²⟩ minus the exact value, with its standard error; for SK the energy per spin −sᵀJs/(2N) minus the exact,
    with its standard error.
Against the coupled exact-score run (the effect of the error alone, discretisation error removed):
  - Δ⟨m²⟩ = ⟨m²_error − m²_exact-score⟩ over the paired samples, standard error from the paired differences;
  - TV between the two empirical laws of m (bootstrap standard error), and the bound it must obey:
    √(KL/2) (Pinsker) with KL the path KL of the two chains, Σ_k a_k²/(2c_k)(ε² N + b² E|D_k|²), E|D_k|² recorded
    along the exact-score run (`physics.score_error.path_kl_bound`).
For SK also the paired energy difference to the exact-score run.
The exponent of |Δ⟨m²⟩| (and for SK of the paired energy difference) against ε and against b: y = A εˣ (emcee, `physics.scaling.fit_power_law`) over the
levels where |Δ⟨m²⟩| exceeds ``fit_min_z`` standard errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from statphys.models import CurieWeiss
from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick, pairwise_energy
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics import score_error as se
from statphys.physics.scaling import fit_power_law
from statphys.physics.schedules import TIME_SPACINGS
from statphys.physics.total_variation import histogram_tv

DESCRIPTION = "Score noise and score bias propagated into the generated law (CW, SK): TV, ⟨m²⟩, energy vs KL bound"
PARAMS = {
    "target": (str, "curie_weiss:64"),
    "beta": (float, 1.2),
    "sk_beta": (float, 1.5),
    "disorder_seed": (int, 0),
    "noise": (list, [0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6]),
    "bias": (list, [0.0, 0.01, 0.02, 0.05, 0.1, 0.2]),
    "schedule": (str, "ou"),
    "T": (float, 5.0),
    "t_min": (float, 1e-2),
    "num_steps": (int, 100),
    "sampler": (str, "ddpm"),
    "spacing": (str, "log"),
    "num_samples": (int, 4096),
    "batch_size": (int, 4096),
    "bootstrap": (int, 200),
    "fit_min_z": (float, 3.0),
}
SWEEP = ("target",)
MODELS = ("curie_weiss", "sk")
VARIABLES = {
    "noise_tv": ("TV of generated P(m) vs the exact law, unbiased denoiser noise epsilon", "1"),
    "noise_tv_err": ("bootstrap standard error of noise_tv", "1"),
    "bias_tv": ("TV of generated P(m) vs the exact law, shrunk denoiser (1 - b) D", "1"),
    "bias_tv_err": ("bootstrap standard error of bias_tv", "1"),
    "tv_floor": ("mean TV of num_samples exact draws of P(m) (sampling floor)", "1"),
    "tv_floor_sd": ("standard deviation of the sampling floor", "1"),
    "noise_dm2_exact": ("generated <m^2> minus the exact <m^2>, noise", "1"),
    "bias_dm2_exact": ("generated <m^2> minus the exact <m^2>, bias", "1"),
    "noise_dm2": ("<m^2> with noise minus <m^2> of the coupled exact-score run (paired)", "1"),
    "noise_dm2_err": ("paired standard error of noise_dm2", "1"),
    "bias_dm2": ("<m^2> with bias minus <m^2> of the coupled exact-score run (paired)", "1"),
    "bias_dm2_err": ("paired standard error of bias_dm2", "1"),
    "noise_de_exact": ("generated energy per spin minus the exact (SK; NaN for Curie-Weiss), noise", "1"),
    "bias_de_exact": ("generated energy per spin minus the exact (SK; NaN for Curie-Weiss), bias", "1"),
    "noise_de_err": ("standard error of noise_de_exact (SK; NaN for Curie-Weiss)", "1"),
    "bias_de_err": ("standard error of bias_de_exact (SK; NaN for Curie-Weiss)", "1"),
    "noise_de": ("energy per spin with noise minus that of the coupled exact-score run (SK; paired; NaN for "
                 "Curie-Weiss)", "1"),
    "bias_de": ("energy per spin with bias minus that of the coupled exact-score run (SK; paired; NaN for "
                "Curie-Weiss)", "1"),
    "noise_energy_exponent": ("exponent x of |noise_de| = A eps^x (SK; emcee median; NaN for Curie-Weiss or < 2 "
                              "resolved levels)", "1"),
    "bias_energy_exponent": ("exponent x of |bias_de| = A b^x (SK; emcee median; NaN for Curie-Weiss or < 2 resolved "
                             "levels)", "1"),
    "noise_tv_pair": ("TV between the empirical P(m) with noise and of the coupled exact-score run", "1"),
    "bias_tv_pair": ("TV between the empirical P(m) with bias and of the coupled exact-score run", "1"),
    "noise_kl_bound": ("path KL(exact-score chain || noisy chain), Girsanov sum", "nat"),
    "bias_kl_bound": ("path KL(exact-score chain || shrunk chain), Girsanov sum", "nat"),
    "noise_pinsker": ("Pinsker bound sqrt(KL/2) on noise_tv_pair (capped at 1)", "1"),
    "bias_pinsker": ("Pinsker bound sqrt(KL/2) on bias_tv_pair (capped at 1)", "1"),
    "noise_exponent": ("exponent x of |noise_dm2| = A eps^x (emcee median; NaN with < 2 resolved levels)", "1"),
    "noise_exponent_err": ("half width of the 68% interval of noise_exponent (NaN with < 2 resolved levels)", "1"),
    "bias_exponent": ("exponent x of |bias_dm2| = A b^x (emcee median; NaN with < 2 resolved levels)", "1"),
    "bias_exponent_err": ("half width of the 68% interval of bias_exponent (NaN with < 2 resolved levels)", "1"),
    "m2_exact": ("exact <m^2> of the target (Curie-Weiss law of m, or SK by enumeration)", "1"),
    "energy_exact": ("exact energy per spin <H>/N, H = -s.Js/2, by enumeration (SK; NaN for Curie-Weiss: the energy "
                     "is SK only)", "1"),
    "mean_denoiser2": ("E|D(x_k, t_k)|^2 (summed over spins, mean over samples) along the exact-score run at the "
                       "start of step k", "1"),
    "target": ("target '<model>:<n>': Curie-Weiss at beta or the SK instance (sk_beta, disorder_seed), n spins", "1"),
    "noise": ("denoiser noise level epsilon: D -> D + epsilon zeta, zeta ~ N(0, I) fresh at every step (b = 0)", "1"),
    "bias": ("denoiser shrinkage b: D -> (1 - b) D (epsilon = 0)", "1"),
    "step": ("sampler step k, t_k -> t_{k+1}, of the time grid from t_0 = T down to t_min", "1"),
}
for _family, _level in (("noise", "eps"), ("bias", "b")):
    VARIABLES[f"{_family}_m2"] = (f"<m^2> of the generated spins, {_family}; m = sum sign(x_{{t_min}})/N", "1")
    VARIABLES[f"{_family}_m2_err"] = (f"standard error of {_family}_m2 (sd of m^2 / sqrt(num_samples))", "1")
    VARIABLES[f"{_family}_tv_pair_err"] = (f"bootstrap standard error of {_family}_tv_pair (resampling the pairs)",
                                           "1")
    VARIABLES[f"{_family}_de_pair_err"] = (f"paired standard error of {_family}_de (SK; NaN for Curie-Weiss)", "1")
    VARIABLES[f"{_family}_ln_amplitude"] = (f"ln A of |{_family}_dm2| = A {_level}^x (emcee median; NaN with < 2 "
                                            "resolved levels)", "1")
    VARIABLES[f"{_family}_energy_exponent_err"] = (f"half width of the 68% interval of {_family}_energy_exponent "
                                                   "(SK; NaN for Curie-Weiss or < 2 resolved levels)", "1")
    VARIABLES[f"{_family}_energy_ln_amplitude"] = (f"ln A of |{_family}_de| = A {_level}^x (SK; emcee median; NaN "
                                                   "for Curie-Weiss or < 2 resolved levels)", "1")


def parse_target(name: str) -> tuple[str, int]:
    """'curie_weiss:64' -> ('curie_weiss', 64); the model must be one of MODELS."""
    model, _, size = name.partition(":")
    if model not in MODELS or not size.isdigit() or int(size) < 2:
        raise ValueError(f"[params] target must be '<model>:<n>' with model in {list(MODELS)} and n >= 2, got {name!r}")
    if model == "sk" and int(size) > 16:
        raise ValueError(f"[params] target {name!r}: SK is scored by exact enumeration here, n <= 16")
    return model, int(size)


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in np.atleast_1d(params["target"]):
        parse_target(str(name))
    for name, check in (("noise", lambda v: v >= 0), ("bias", lambda v: v < 1)):
        levels = params[name]
        if (len(levels) < 2 or any(not isinstance(v, (int, float)) or not np.isfinite(v) or not check(v) for v in levels)
                or sorted(levels) != list(levels) or levels[0] != 0 or len(set(levels)) != len(levels)):
            raise ValueError(f"[params] {name} must be an increasing list of >= 2 distinct levels starting at 0 "
                             f"({'eps >= 0' if name == 'noise' else 'b < 1'}), got {levels}")
    if params["bias"][0] < 0 or min(params["bias"]) < 0:
        raise ValueError(f"[params] bias levels must be >= 0, got {params['bias']}")
    for name in ("beta", "sk_beta"):
        if not params[name] >= 0:
            raise ValueError(f"[params] {name} must be >= 0, got {params[name]}")
    for name in ("num_steps", "num_samples", "batch_size", "bootstrap"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if params["sampler"] not in se.BOUND_SAMPLERS:
        raise ValueError(f"[params] sampler must be one of {list(se.BOUND_SAMPLERS)} (a Gaussian step, needed by "
                         f"the path-KL bound), got {params['sampler']!r}")
    if not params["fit_min_z"] > 0:
        raise ValueError(f"[params] fit_min_z must be > 0, got {params['fit_min_z']}")
    make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    if params["spacing"] not in TIME_SPACINGS:
        raise ValueError(f"[params] unknown time spacing {params['spacing']!r}; choose one of {list(TIME_SPACINGS)}")


def make_target(params: dict):
    """(target, n, exact m grid (n + 1,), exact P(m), exact ⟨m²⟩, exact energy per spin or NaN, couplings or None)."""
    model, n = parse_target(params["target"])
    if model == "curie_weiss":
        target = CurieWeiss(n, params["beta"])
        m_values, p = target.magnetization_law()
        return target, n, m_values, p, float(p @ m_values**2), float("nan"), None
    target = SherringtonKirkpatrick.random(n, params["sk_beta"], seed=params["disorder_seed"])
    eq = equilibrium(target)
    return target, n, eq.m_values, eq.m_law, eq.m2, eq.energy, np.asarray(target.couplings)


def _denoiser2(x, denoised, t):
    return jnp.sum(denoised**2, axis=-1)


def generate(key, score, schedule, params: dict, n: int, noise: float, bias: float) -> tuple[np.ndarray, np.ndarray]:
    """Spins sign(x_{t_min}) (num_samples, n) and E|D_k|² at the start of each step (num_steps,), batch by batch
    (batch b: key fold_in(key, b)); one compilation serves every (ε, b), zero included."""
    perturbed = se.perturb(score, schedule, noise, bias, exact_at_zero=False)
    spins, d2 = [], []
    num, size = params["num_samples"], params["batch_size"]
    for index, start in enumerate(range(0, num, size)):
        out = reverse_sample(jax.random.fold_in(key, index), perturbed, schedule, num_steps=params["num_steps"],
                             batch=min(size, num - start), n=n, sampler=params["sampler"], spacing=params["spacing"],
                             observables={"d2": _denoiser2}, record_every=1)
        spins.append(np.sign(np.asarray(out.x, np.float64)))
        d2.append(np.asarray(out.observables["d2"], np.float64)[:-1])
    return np.concatenate(spins), np.concatenate(d2, axis=1).mean(1)


def _counts(m: np.ndarray, n: int) -> np.ndarray:
    k = np.clip(np.round((m + 1) * n / 2).astype(int), 0, n)
    return np.bincount(k, minlength=n + 1)


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    return histogram_tv(a, b / b.sum())


def compare(spins: np.ndarray, reference: np.ndarray, n: int, p: np.ndarray, rng, num_boot: int) -> dict:
    """TV to the exact P(m) and to the paired reference run (bootstrap errors, resampling the pairs), ⟨m²⟩
    and its paired difference to the reference, with standard errors."""
    m, m_ref = spins.mean(1), reference.mean(1)
    c, c_ref = _counts(m, n), _counts(m_ref, n)
    boot_exact, boot_pair = [], []
    for _ in range(num_boot):
        i = rng.integers(0, m.size, m.size)
        boot_exact.append(_tv(_counts(m[i], n), p))
        boot_pair.append(_tv(_counts(m[i], n), _counts(m_ref[i], n)))
    diff = m**2 - m_ref**2
    return {"tv": _tv(c, p), "tv_err": float(np.std(boot_exact, ddof=1)), "m2": float(np.mean(m**2)),
            "m2_err": float(np.std(m**2, ddof=1) / np.sqrt(m.size)), "tv_pair": _tv(c, c_ref),
            "tv_pair_err": float(np.std(boot_pair, ddof=1)), "dm2": float(diff.mean()),
            "dm2_err": float(np.std(diff, ddof=1) / np.sqrt(m.size))}


def exponent(levels: np.ndarray, effect: np.ndarray, err: np.ndarray, min_z: float,
             seed: int) -> tuple[float, float, float]:
    """(x, its 68% half width, ln A) of |effect| = A levelˣ over the levels > 0 with |effect| > min_z · err;
    NaNs when fewer than 2 levels are resolved."""
    keep = (levels > 0) & (np.abs(effect) > min_z * err)
    if keep.sum() < 2:
        return float("nan"), float("nan"), float("nan")
    post = fit_power_law(levels[keep], np.abs(effect[keep]), err[keep], seed=seed)
    x, lo, hi = post.get("x")
    return x, 0.5 * (hi - lo), post.get("ln_A")[0]


def run(params: dict, key) -> xr.Dataset:
    target, n, m_values, p, m2_exact, energy_exact, couplings = make_target(params)
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    times = np.asarray(schedule.time_grid(params["num_steps"], params["spacing"]), np.float64)
    score = ExactScore(target, schedule)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    reference, d2 = generate(key, score, schedule, params, n, 0.0, 0.0)
    reference_energy = (np.asarray(pairwise_energy(couplings, reference)) / n if couplings is not None
                        else np.full(reference.shape[0], np.nan))
    floor = [_tv(rng.multinomial(params["num_samples"], p), p) for _ in range(params["bootstrap"])]
    data = {"tv_floor": float(np.mean(floor)), "tv_floor_sd": float(np.std(floor, ddof=1)),
            "m2_exact": m2_exact, "energy_exact": energy_exact, "mean_denoiser2": (("step",), d2)}
    for family in ("noise", "bias"):
        levels = np.asarray(params[family], np.float64)
        rows = []
        for level in levels:
            eps, b = (level, 0.0) if family == "noise" else (0.0, level)
            spins = reference if level == 0 else generate(key, score, schedule, params, n, eps, b)[0]
            row = compare(spins, reference, n, p, rng, params["bootstrap"])
            row["m2_exact_diff"] = row["m2"] - m2_exact
            energy = (np.asarray(pairwise_energy(couplings, spins)) / n if couplings is not None
                      else np.full(spins.shape[0], np.nan))
            row["de_exact"] = float(np.mean(energy)) - energy_exact
            row["de_err"] = float(np.std(energy, ddof=1) / np.sqrt(energy.size))
            paired = energy - reference_energy
            row["de"] = float(np.mean(paired))
            row["de_pair_err"] = float(np.std(paired, ddof=1) / np.sqrt(paired.size)) if couplings is not None else np.nan
            row["kl"] = se.path_kl_bound(schedule, times, params["sampler"], eps, b, n, d2)
            rows.append(row)
        col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        x, x_err, ln_a = exponent(levels, col["dm2"], col["dm2_err"], params["fit_min_z"], seed=len(family))
        xe, xe_err, ln_ae = (exponent(levels, col["de"], col["de_pair_err"], params["fit_min_z"], seed=len(family))
                             if couplings is not None else (float("nan"),) * 3)
        data.update({
            f"{family}_tv": ((family,), col["tv"]), f"{family}_tv_err": ((family,), col["tv_err"]),
            f"{family}_m2": ((family,), col["m2"]), f"{family}_m2_err": ((family,), col["m2_err"]),
            f"{family}_dm2_exact": ((family,), col["m2_exact_diff"]),
            f"{family}_dm2": ((family,), col["dm2"]), f"{family}_dm2_err": ((family,), col["dm2_err"]),
            f"{family}_de_exact": ((family,), col["de_exact"]), f"{family}_de_err": ((family,), col["de_err"]),
            f"{family}_tv_pair": ((family,), col["tv_pair"]), f"{family}_tv_pair_err": ((family,), col["tv_pair_err"]),
            f"{family}_kl_bound": ((family,), col["kl"]), f"{family}_pinsker": ((family,), se.pinsker(col["kl"])),
            f"{family}_de": ((family,), col["de"]), f"{family}_de_pair_err": ((family,), col["de_pair_err"]),
            f"{family}_exponent": x, f"{family}_exponent_err": x_err, f"{family}_ln_amplitude": ln_a,
            f"{family}_energy_exponent": xe, f"{family}_energy_exponent_err": xe_err,
            f"{family}_energy_ln_amplitude": ln_ae,
        })
    return xr.Dataset(data, coords={"noise": np.asarray(params["noise"], float),
                                    "bias": np.asarray(params["bias"], float), "step": np.arange(times.size - 1)})
