"""Benchmark the hot kernels against straightforward NumPy implementations, side by side in one run.

    python benchmarks/bench.py                 # small sizes on CPU, full sizes on a GPU
    python benchmarks/bench.py --size full     # the issue's sizes everywhere
    python benchmarks/bench.py --only cwq      # sections: cw, fs, enum, mc, cwq, spec, gmm, cwsde, cwblock, mcscore, dispatch
    python benchmarks/bench.py --size tiny     # seconds: checks that every section runs (numbers meaningless)
    python benchmarks/bench.py --issue-rows    # issue 18's rows (cloning, mixture and Curie–Weiss N = 256, 1024
                                               # reverse SDE, enumeration) in one run, then a summary table
    python benchmarks/bench.py --only enum --enum-batches 16 64 256 --compilation-cache /tmp/c   # twice: the
                                               # second process loads the enumeration kernels from the cache

Kernels:
  cw_sde_step     one Euler–Maruyama reverse-SDE step of Curie–Weiss with the exact (Hubbard–Stratonovich)
                  score; NumPy reference: the same integral on a uniform grid of z (trapezoid, log-sum-exp)
  finite_support  the streamed softmax-attention denoiser over 2^k states; NumPy reference: chunked
                  matmul + softmax
  enumeration     the exact-enumeration denoiser (all 2^20 states, streamed) of an SK target at N = 20: the
                  matmul kernel with a generic and with a Quadratic ln w, and the element-wise fallback;
                  NumPy reference: the same sum over chunks of states, float64; the float32 matmul peak
                  (2048³) and the bare exponentials of batch × 2^N logits measured in the same run
  cw_quadrature   accuracy vs cost of the Curie–Weiss denoiser's Hubbard–Stratonovich quadrature (nodes per
                  saddle window, per gap, Newton steps), float32 at N = 1024: throughput of the jitted
                  posterior_mean and its max error against a float64 (64, 32, 32)-node reference over
                  β ∈ {0.5, 1, 1.2, 2}, h = 0, α²/σ² ∈ {1e-3, 0.05, 1, 20} (OU), x = α s0 + σ ε, s0 exact samples
  mc_metropolis   physics.montecarlo local-field Metropolis sweeps (O(N) per proposed flip), many chains,
                  SK couplings, N = 128 and 1024; reference: NetKet's MetropolisLocal (the generic sampler,
                  which re-evaluates ln P(s') = β sᵀJs/2 for every proposal, O(N²)) in the same run
  dispatch        µs per jitted call whose argument is a learned score (`PureScore(LearnedScore(params, OU))`,
                  8 leaves): the package's pytree registration (`models.base.pytree_dataclass`, flatten in
                  Python) against the same classes registered with jax.tree_util.register_dataclass (flatten
                  in C++; its tree structures compare equal across classes with equal fields, models.base)
  speciation      Biroli, Bonnaire, de Bortoli & Mézard's (arXiv 2402.18491) cloning experiment, d = 256,
                  centres ±1⃗, unit variance, OU T = 10, 1000 Euler–Maruyama steps, 19 branch times, 2 clones:
                  their algorithm ported to NumPy, this package per branch time as before (two compilations
                  per branch time), with traced times (one compilation), with the exact 1-D reduction
                  (physics.reduced), and the reduction at d = 16384; each curve φ(t_b) against the closed form
  reverse SDE     Euler–Maruyama with the exact score of the ±1⃗ mixture (d = 256) and of Curie–Weiss: this
                  package (and its scan with the former finiteness check after every step, which now runs only
                  to name the first non-finite step; mixture: also with rbg and unsafe_rbg keys, the opt-in PRNG
                  implementations, and bare loops drawing the noise per step and 10 steps at a time), the exact
                  reduction (one compiled function; a second call with another step count compiles nothing),
                  the exact path sampler (physics.exact_paths: the continuous-time law at every grid time, no
                  discretisation error), and diffrax (Euler + UnsafeBrownianPath, same score) when importable
                  (not a dependency); law check: z-score of ⟨(Σx)²⟩/n against reverse_sample
  cw_blocking     cost per particle·spin·step of the Curie–Weiss Euler–Maruyama step (N = 1024) from 1e5 to 1e7
                  particle·spins, Hubbard–Stratonovich quadrature blocked in cache-sized row blocks (the CPU
                  default) vs one block, timed in rounds over the two; compile time (ahead of time) apart;
                  on a GPU both settings are one block
  mc_score        cost of generation with the Monte-Carlo score (physics.mc_score.mc_reverse_sample, SK couplings,
                  heat bath, ddpm, log spacing) at N = 32 … 256 with batch, chains per particle, sweeps per step and
                  steps fixed: compile time (first call minus the best warm call), wall time per step, proposed
                  spin flips per second, and the fitted cost model time ≈ c · N² · chains · sweeps · batch · steps
                  (dense couplings: each proposed flip updates the local fields, O(N)); c by least squares on the
                  warm times, and the free exponent of N for comparison
For each: throughput (particle·spin·steps/s, particles/s, or proposed spin flips/s), compile time (first
call minus a warm call), the reference time measured in the same run, the ratio, the max difference
between the two results where they compute the same numbers (Monte Carlo: the mean energy per spin of
both samplers after equilibration, statistical), and on a GPU the fraction of a device limit:
  limit = peak FP32 FLOP/s (table below, by device kind) for the arithmetic kernels, with the FLOP count
          per unit of work stated next to each kernel (a transcendental counts as one FLOP, so this is a
          rough upper bound on achievable, not a roofline);
  limit = memory bandwidth / (8 N bytes) proposed flips/s for Monte Carlo: each flip reads and writes the
          chain's coupling field g (N floats) and reads a row of J (shared between chains, ideally cached).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models import CurieWeiss, FiniteSupport, GaussianMixture
from statphys.models.base import spins_from_index
from statphys.physics import ExactScore, get_sampler, make_schedule, reverse_sample
from statphys.physics import cloning, trajectory
from statphys.physics.integrator import as_score
from statphys.physics.normal_draws import standard_normal
from statphys.physics.exact_paths import exact_reverse_paths
from statphys.physics.reduced import reduced_reverse_sample, reduction_of
from statphys.studies.compilation import compile_times

SIZES = {  # (N, batch), (log2 states, batch), batch at N = 20, [(N, chains, sweeps, NetKet chains, NetKet sweep)],
    # cloning (d, samples, dt), reverse SDE of the ±1⃗ mixture (d, batch, steps), of Curie–Weiss (N, batch, steps),
    # Curie–Weiss step cost vs size (N, batches)
    "tiny": {"cw": (256, 64), "fs": (10, 64), "enum": 16, "mc": [(64, 32, 4, 16, 16)],
             "mcscore": ((16, 32), 4, 2, 2, 5),
             "spec": (32, 20, 0.05), "gmm": (64, 128, 100), "cwsde": (64, 64, 50), "cwblock": (256, (16, 256))},
    "small": {"cw": (1024, 256), "fs": (12, 512), "enum": 16,
              "mc": [(128, 256, 20, 64, 128), (1024, 64, 4, 16, 32)], "mcscore": ((32, 64, 128, 256), 16, 8, 2, 20),
              "spec": (256, 100, 0.01), "gmm": (256, 1024, 1000), "cwsde": (256, 256, 200),
              "cwblock": (1024, (32, 64, 100, 256, 1000, 4000, 10000))},
    "full": {"cw": (1024, 8192), "fs": (16, 4096), "enum": 1024,
             "mc": [(128, 4096, 100, 1024, 128), (1024, 1024, 10, 256, 64)],
             "mcscore": ((32, 64, 128, 256, 512, 1024), 256, 16, 4, 100),
             "spec": (256, 1000, 0.01), "gmm": (256, 1024, 1000), "cwsde": (1024, 256, 200),
             "cwblock": (1024, (100, 1000, 4000, 10000))},
}

#: Peak FP32 (non-tensor-core) FLOP/s and memory bandwidth (B/s) by device kind (vendor data sheets).
DEVICE_LIMITS = {
    "H100": (67e12, 3.35e12),  # SXM5
    "H200": (67e12, 4.8e12),
    "A100": (19.5e12, 2.0e12),
}
#: FLOPs per unit of work (module docstring): CW: 2 saddles × 16 Newton steps × ~8 + 5 × 24 nodes × ~10.
FLOPS_PER_UNIT = {"cw": 2 * 16 * 8 + 5 * 24 * 10, "fs": None, "enum": None}


def device_limit(kind: str) -> tuple[float, float] | None:
    for name, limits in DEVICE_LIMITS.items():
        if name in kind:
            return limits
    return None


def timed(fn, *args, repeats=3):
    """(first-call seconds, best warm-call seconds, result)."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return first, best, out


def numpy_cw_denoiser(u: np.ndarray, beta: float, n: int, grid_points: int = 256) -> np.ndarray:
    """E[sᵢ|x] = ∫ w(z) tanh(z+uᵢ)/∫ w on a uniform grid of z ∈ [−β − 8√(β/N), β + 8√(β/N)]."""
    margin = 8 * np.sqrt(beta / n)
    z = np.linspace(-beta - margin, beta + margin, grid_points)
    log_w = np.empty((u.shape[0], grid_points))
    for k, zk in enumerate(z):
        a = np.abs(zk + u)
        log_w[:, k] = -n * zk**2 / (2 * beta) + np.sum(a + np.log1p(np.exp(-2 * a)), axis=1)
    w = np.exp(log_w - log_w.max(1, keepdims=True))
    out = np.zeros_like(u)
    for k, zk in enumerate(z):
        out += w[:, k : k + 1] * np.tanh(zk + u)
    return out / w.sum(1, keepdims=True)


def bench_cw(n: int, batch: int) -> dict:
    target = CurieWeiss(n, 1.2)
    schedule = make_schedule("ou")
    score = ExactScore(target, schedule)
    step = get_sampler("euler_maruyama")
    t, s = 1.0, 0.99
    x = (schedule.alpha(t) * target.sample(jax.random.PRNGKey(0), batch)
         + schedule.sigma(t) * jax.random.normal(jax.random.PRNGKey(1), (batch, n))).astype(jnp.float32)
    fn = jax.jit(lambda key, x: step(key, x, t, s, score, schedule)[0])
    first, warm, out = timed(fn, jax.random.PRNGKey(2), x)
    xn = np.asarray(x, np.float64)
    alpha, sigma = float(schedule.alpha(t)), float(schedule.sigma(t))
    start = time.perf_counter()
    denoised = numpy_cw_denoiser(alpha * xn / sigma**2, 1.2, n)
    numpy_score = (alpha * denoised - xn) / sigma**2
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(2), x.shape, x.dtype), np.float64)
    f, g2 = float(schedule.drift(t)), float(schedule.diffusion2(t))
    numpy_out = xn - (f * xn - g2 * numpy_score) * (t - s) + np.sqrt(g2 * (t - s)) * noise
    numpy_time = time.perf_counter() - start
    work = batch * n
    return {
        "kernel": f"cw_sde_step N={n} batch={batch}",
        "unit": "particle·spin·steps/s",
        "jax": work / warm,
        "compile_s": first - warm,
        "numpy": work / numpy_time,
        "max_diff": float(np.max(np.abs(np.asarray(out, np.float64) - numpy_out))),
        "flops": FLOPS_PER_UNIT["cw"],
    }

#: (nodes per saddle window, nodes per gap, Newton steps) compared by bench_cw_quadrature; the first is the default.
CW_QUADRATURE_SETTINGS = [(24, 12, 16), (24, 12, 12), (24, 12, 10), (16, 8, 16), (12, 8, 16), (12, 8, 10), (8, 6, 10)]
CW_QUADRATURE_REFERENCE = (64, 32, 32)  # evaluated in float64
CW_QUADRATURE_BETAS = (0.5, 1.0, 1.2, 2.0)
CW_QUADRATURE_SNRS = (1e-3, 0.05, 1.0, 20.0)  # α²/σ² of the OU process: α = e^{-t}, σ² = 1 − e^{-2t}
CW_QUADRATURE_TOLERANCE = 1e-5  # max|D − D_ref| / max|D_ref| (issue 7)


def bench_cw_quadrature(n: int, batch: int, repeats: int = 20) -> dict:
    """Accuracy and cost of the CW denoiser per quadrature setting (float32), against a float64 reference.

    One compilation per setting (the target is a pytree argument, β a leaf; α, σ arguments) serves every
    case. Throughput: the β = 1.2, α²/σ² = 1 case, best of `repeats` warm calls taken in rounds over the
    settings (so load from other jobs hits all settings alike); compile = first call − best warm call."""
    def denoise(target, x, alpha, sigma):
        return target.posterior_mean(x, alpha, sigma)

    cases = []  # (β, α²/σ², α, σ, x float32 as NumPy)
    key = jax.random.PRNGKey(11)
    with jax.enable_x64(False):
        for beta in CW_QUADRATURE_BETAS:
            for snr in CW_QUADRATURE_SNRS:
                key, k_s, k_e = jax.random.split(key, 3)
                alpha = float(np.sqrt(snr / (1 + snr)))
                sigma = float(np.sqrt(1 / (1 + snr)))
                s0 = CurieWeiss(n, beta).sample(k_s, batch)
                x = (alpha * s0 + sigma * jax.random.normal(k_e, (batch, n), jnp.float32)).astype(jnp.float32)
                cases.append((beta, snr, alpha, sigma, np.asarray(x)))

    start = time.perf_counter()
    with jax.enable_x64(True):  # the reference, float64 throughout
        ref_fn = jax.jit(denoise)
        refs, check = [], 0.0
        for beta, snr, alpha, sigma, x in cases:
            q, g, k = CW_QUADRATURE_REFERENCE
            d_ref = np.asarray(ref_fn(CurieWeiss(n, np.float64(beta), 0.0, q, g, k), jnp.asarray(x, jnp.float64),
                                      np.float64(alpha), np.float64(sigma)))
            assert d_ref.dtype == np.float64
            # self-check of the reference: 1.5× the nodes and Newton steps
            d_fine = np.asarray(ref_fn(CurieWeiss(n, np.float64(beta), 0.0, 96, 48, 48), jnp.asarray(x, jnp.float64),
                                       np.float64(alpha), np.float64(sigma)))
            check = max(check, float(np.max(np.abs(d_fine - d_ref)) / np.max(np.abs(d_fine))))
            refs.append(d_ref)
        reference_s = time.perf_counter() - start
        # the same settings evaluated in float64: their quadrature (and Newton) error alone, without float32 rounding
        quadrature_only = []
        for q, g, k in CW_QUADRATURE_SETTINGS:
            worst = 0.0
            for (beta, snr, alpha, sigma, x), d_ref in zip(cases, refs):
                d = np.asarray(ref_fn(CurieWeiss(n, np.float64(beta), 0.0, q, g, k), jnp.asarray(x, jnp.float64),
                                      np.float64(alpha), np.float64(sigma)))
                worst = max(worst, float(np.max(np.abs(d - d_ref)) / np.max(np.abs(d_ref))))
            quadrature_only.append(worst)

    rows = []
    with jax.enable_x64(False):  # the settings under test, float32 throughout
        timing_case = next(c for c in cases if c[0] == 1.2 and c[1] == 1.0)
        fns, firsts, warms = [], [], []
        for q, g, k in CW_QUADRATURE_SETTINGS:
            fn = jax.jit(denoise)
            target = CurieWeiss(n, 1.2, 0.0, q, g, k)
            x = jnp.asarray(timing_case[4])
            args = (target, x, jnp.float32(timing_case[2]), jnp.float32(timing_case[3]))
            t0 = time.perf_counter()
            out = jax.block_until_ready(fn(*args))
            firsts.append(time.perf_counter() - t0)
            assert out.dtype == jnp.float32, out.dtype
            fns.append((fn, args))
            warms.append(np.inf)
        for _ in range(repeats):
            for i, (fn, args) in enumerate(fns):
                t0 = time.perf_counter()
                jax.block_until_ready(fn(*args))
                warms[i] = min(warms[i], time.perf_counter() - t0)
        for (q, g, k), (fn, _), first, warm, rel64 in zip(CW_QUADRATURE_SETTINGS, fns, firsts, warms, quadrature_only):
            worst_rel, worst_abs, worst_case = 0.0, 0.0, None
            per_beta = {beta: 0.0 for beta in CW_QUADRATURE_BETAS}
            for (beta, snr, alpha, sigma, x), d_ref in zip(cases, refs):
                out = fn(CurieWeiss(n, beta, 0.0, q, g, k), jnp.asarray(x), jnp.float32(alpha), jnp.float32(sigma))
                assert out.dtype == jnp.float32, out.dtype
                err = np.abs(np.asarray(out, np.float64) - d_ref)
                rel = float(np.max(err) / np.max(np.abs(d_ref)))
                worst_abs = max(worst_abs, float(np.max(err)))
                per_beta[beta] = max(per_beta[beta], rel)
                if rel >= worst_rel:
                    worst_rel, worst_case = rel, (beta, snr)
            rows.append({"setting": (q, g, k), "passes": 2 * q + 3 * g, "newton": 2 * k,
                         "throughput": batch * n / warm, "compile_s": first - warm,
                         "rel": worst_rel, "abs": worst_abs, "worst_case": worst_case,
                         "per_beta": per_beta, "rel64": rel64})
    default = rows[0]["throughput"]
    for r in rows:
        r["speedup"] = r["throughput"] / default
    return {"n": n, "batch": batch, "rows": rows, "reference_s": reference_s, "reference_check": check,
            "cases": len(cases)}


def print_cw_quadrature(result: dict) -> None:
    q, g, k = CW_QUADRATURE_REFERENCE
    print(f"\ncw_quadrature N={result['n']} batch={result['batch']} float32 (x64 off), {result['cases']} cases "
          f"β ∈ {CW_QUADRATURE_BETAS} × α²/σ² ∈ {CW_QUADRATURE_SNRS}, h = 0; reference float64 ({q}, {g}, {k}) "
          f"({result['reference_s']:.1f} s; vs (96, 48, 48): {result['reference_check']:.1e} relative)")
    print("| (window, gap, Newton) | node passes/spin | Newton updates/spin | particle·spin/s | vs default | "
          "compile (s) | worst max|D − D_ref| / max|D_ref| | worst max |D − D_ref| | worst case (β, α²/σ²) | ≤ 1e-5 | "
          "worst rel. per β " + "/".join(map(str, CW_QUADRATURE_BETAS)) + " | same nodes in float64 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['setting']} | {r['passes']} | {r['newton']} | {r['throughput']:.3g} | {r['speedup']:.2f} | "
              f"{r['compile_s']:.2f} | {r['rel']:.1e} | {r['abs']:.1e} | {r['worst_case']} | "
              f"{'yes' if r['rel'] <= CW_QUADRATURE_TOLERANCE else 'no'} | "
              f"{' / '.join(f'{v:.1e}' for v in r['per_beta'].values())} | {r['rel64']:.1e} |")
    meeting = [r for r in result["rows"] if r["rel"] <= CW_QUADRATURE_TOLERANCE]
    if meeting:
        best = max(meeting, key=lambda r: r["speedup"])
        print(f"fastest setting meeting 1e-5: {best['setting']}, {best['speedup']:.2f}× the default's throughput")
    else:
        print("no setting meets 1e-5 in float32")
    meeting64 = [r for r in result["rows"] if r["rel64"] <= CW_QUADRATURE_TOLERANCE]
    if meeting64:
        best = max(meeting64, key=lambda r: r["speedup"])
        print(f"fastest setting whose quadrature alone (float64) meets 1e-5: {best['setting']}, "
              f"{best['speedup']:.2f}× the default's float32 throughput")


def numpy_attention(x, states, log_prior, scale, chunk=4096):
    logits = np.concatenate([log_prior[a : a + chunk] + scale * x @ states[a : a + chunk].T for a in range(0, len(states), chunk)], 1)
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p @ states) / p.sum(1, keepdims=True)


def bench_finite_support(log2_states: int, batch: int) -> dict:
    n = 20
    states = spins_from_index(jax.random.randint(jax.random.PRNGKey(3), (2**log2_states,), 0, 2**n), n).astype(jnp.float32)
    log_weights = jax.random.normal(jax.random.PRNGKey(4), (2**log2_states,))
    target = FiniteSupport(states, log_weights)
    x = jax.random.normal(jax.random.PRNGKey(5), (batch, n), jnp.float32)
    fn = jax.jit(lambda target, x: target.posterior_mean(x, 0.5, 0.8))
    first, warm, out = timed(fn, target, x)
    start = time.perf_counter()
    ref = numpy_attention(np.asarray(x), np.asarray(states), np.asarray(log_weights), 0.5 / 0.8**2)
    numpy_time = time.perf_counter() - start
    return {
        "kernel": f"finite_support 2^{log2_states} states batch={batch}",
        "unit": "particles/s",
        "jax": batch / warm,
        "compile_s": first - warm,
        "numpy": batch / numpy_time,
        "max_diff": float(np.max(np.abs(np.asarray(out) - ref))),
        "flops": 4 * n * 2**log2_states,  # logits 2n and weighted sum 2n per state
    }


def bench_monte_carlo(n: int, chains: int, sweeps: int, nk_chains: int, nk_sweep: int) -> dict:
    """Proposed single-spin flips per second: local-field kernel vs NetKet MetropolisLocal (same target)."""
    from statphys.models.base import import_netket
    from statphys.models.sk import sk_couplings
    from statphys.physics import montecarlo

    beta = 0.5  # paramagnet: short equilibration, so both mean energies can be compared
    J32 = jnp.asarray(sk_couplings(n, seed=1), jnp.float32)
    state = montecarlo.init(J32, jax.random.rademacher(jax.random.PRNGKey(7), (chains, n), dtype=jnp.float32))

    def ours(key, state):
        return montecarlo.run_chains(key, J32, 0.0, beta, state, num_sweeps=sweeps)

    first, warm, (final, records, _) = timed(ours, jax.random.PRNGKey(8), state, repeats=2)
    ours_energy = float(np.mean(np.asarray(records["energy"])[sweeps // 2 :]))

    nk = import_netket()
    hilbert = nk.hilbert.Spin(0.5, n)

    def log_psi(variables, s):  # |ψ|² = P: ln ψ = ½ ln P = β sᵀJs/4
        s = s.astype(J32.dtype)
        return 0.25 * beta * jnp.einsum("...i,ij,...j->...", s, variables["J"], s)

    sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=nk_chains, sweep_size=nk_sweep, dtype=jnp.float32)
    params = {"J": J32}
    length = 4
    sampler_state = sampler.init_state(log_psi, params, seed=0)

    def netket_run():
        samples, _ = sampler.sample(log_psi, params, state=sampler_state, chain_length=length)
        return samples

    start = time.perf_counter()
    jax.block_until_ready(netket_run())
    nk_first = time.perf_counter() - start
    nk_warm = np.inf
    for _ in range(2):
        start = time.perf_counter()
        samples = jax.block_until_ready(netket_run())
        nk_warm = min(nk_warm, time.perf_counter() - start)
    del samples
    return {
        "kernel": f"mc_metropolis SK N={n} chains={chains} (NetKet chains={nk_chains})",
        "unit": "proposed flips/s",
        "jax": chains * n * sweeps / warm,
        "compile_s": first - warm,
        "numpy": nk_chains * nk_sweep * length / nk_warm,
        "ref_compile_s": nk_first - nk_warm,
        "max_diff": float("nan"),
        "note": f"ours ⟨sᵀJs⟩/2N = {-ours_energy:.3f} (annealed β/2 = {beta / 2:.3f})",
        "bytes_per_unit": 8 * n,
    }


# ---- peers: cloning (Biroli et al.), reverse SDE (diffrax), compile counts ---------------------------------
compile_times()  # registers the listener: XLA compilations and persistent-cache loads counted apart


def load_average() -> str:
    try:
        return "/".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def clock(fn):
    """(seconds, XLA compilations (persistent-cache loads left out), result) of one call of fn()."""
    before = compile_times()
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - start, (compile_times() - before).compiles, out


def biroli_numpy_cloning(d: int, num_samples: int, T: float, num_steps: int, branch_times, seed: int = 232):
    """Faithful NumPy port of Biroli, Bonnaire, de Bortoli & Mézard's cloning experiment (arXiv 2402.18491; the
    algorithm of their public Gaussian-mixture speciation script, re-written from its description): centres
    ±μ*, μ* = 1⃗, unit variance, OU, exact score [tanh(μ_t·x/Γ_t) μ_t − x]/Γ_t, Euler–Maruyama
    x ← x + dt (x + 2 score) + √(2dt) z on the grid t = T − dt, …, 0, starting from N(0, I); at the first
    t ≤ t_b the state is copied into two clones that are run on independently; classes sign(μ*·x).
    float32 like their torch default. Returns (φ per branch time, same-class indicators (B, samples), particle·steps)."""
    rng = np.random.default_rng(seed)
    dt = T / num_steps
    times = np.arange(0, T, dt)
    mu = np.ones(d, np.float32)

    def score(x, t):
        gamma = np.float32(1 - np.exp(-2 * t) + np.exp(-2 * t))
        mu_t = (mu * np.exp(-t)).astype(np.float32)
        return np.tanh((mu_t @ x) / gamma) * mu_t[:, None] / gamma - x / gamma

    def backward(x, t):
        z = rng.standard_normal(x.shape, dtype=np.float32)
        return x + dt * (x + 2 * score(x, t)) + np.float32(np.sqrt(2 * dt)) * z

    same, work = [], 0
    for t_b in branch_times:
        x = rng.standard_normal((d, num_samples), dtype=np.float32)
        clones = None
        for t in times[::-1]:
            if t > t_b:
                x = backward(x, t)
                work += num_samples
            else:
                if clones is None:
                    clones = [x.copy(), x.copy()]
                clones = [backward(c, t) for c in clones]
                work += 2 * num_samples
        same.append(np.sign(mu @ clones[0]) == np.sign(mu @ clones[1]))
    same = np.asarray(same, dtype=np.float64)
    return same.mean(1), same, work


def before_cloning(key, score, schedule, branch_times, batch, n, dt, classify):
    """The cloning flow before this change: reverse_sample to t_b (schedule with t_min = t_b) and from t_b (schedule
    with T = t_b), T, t_min and the step count being compile-time constants: two compilations per branch time."""
    out = []
    for b, t_b in enumerate(branch_times):
        k = jax.random.fold_in(key, b)
        x = schedule.sigma(schedule.T) * jax.random.normal(jax.random.fold_in(k, 2), (batch, n), jnp.float32)
        steps_before = int(round((schedule.T - t_b) / dt))
        if steps_before:
            to_branch = dataclasses.replace(schedule, t_min=float(t_b))
            x = reverse_sample(jax.random.fold_in(k, 0), score, to_branch, num_steps=steps_before, x_init=x).x
        from_branch = dataclasses.replace(schedule, T=float(t_b))
        clones = reverse_sample(jax.random.fold_in(k, 1), score, from_branch, x_init=jnp.repeat(x, 2, axis=0),
                                num_steps=max(int(round((t_b - schedule.t_min) / dt)), 1))
        out.append(cloning.same_class_fraction(classify(clones.x, clones.denoised).reshape(batch, 2)))
    return jnp.stack(out)


def bench_speciation(d: int, samples: int, dt: float, d_large: int = 16384, before: bool = True) -> dict:
    """Biroli et al.'s cloning experiment: d, centres ±1⃗, unit variance, OU T = 10, Euler–Maruyama step dt,
    19 branch times 1, 1.5, …, 10, two clones. Rows: NumPy port, this package full-d before (per-branch
    compilations; left out with before=False) and after (one compilation), the exact 1-D reduction, the
    reduction at d_large."""
    T = 10.0
    branch_times = np.arange(1.0, T + 0.5, 0.5)
    schedule = make_schedule("ou", T=T, t_min=dt)
    mix = GaussianMixture(jnp.array([0.5, 0.5]), jnp.stack([jnp.ones(d), -jnp.ones(d)]).astype(jnp.float32), 1.0)
    red = reduction_of(mix)
    steps_before = np.rint((T - branch_times) / dt)
    steps_after = np.maximum(np.rint((branch_times - dt) / dt), 1)
    work = int(samples * np.sum(steps_before + 2 * steps_after))
    theory = cloning.two_class_cloning_probability(branch_times, float(d))
    rows = []

    def row(name, cold, compiles, warm, phi, work_done, note=""):
        rows.append({"name": name, "cold": cold, "warm": warm, "compiles": compiles, "phi": np.asarray(phi),
                     "rate": work_done / (warm if warm is not None else cold), "note": note})

    load_before = load_average()
    start = time.perf_counter()
    phi_np, _, work_np = biroli_numpy_cloning(d, samples, T, int(round(T / dt)), branch_times)
    row("Biroli et al. algorithm, NumPy port (float32)", time.perf_counter() - start, 0, None, phi_np, work_np)

    def ours(key, score, n):
        return lambda: cloning.cloning_curve(key, score, schedule, branch_times, batch=samples, n=n, dt=dt,
                                        classify=cloning.sign_class, dtype=jnp.float32).mean(1)

    full = ExactScore(mix, schedule)
    if before:
        cold, compiles, _ = clock(lambda: before_cloning(jax.random.PRNGKey(1), full, schedule, branch_times, samples,
                                                         d, dt, cloning.sign_class).mean(1))
        warm, _, phi = clock(lambda: before_cloning(jax.random.PRNGKey(1), full, schedule, branch_times, samples, d,
                                                    dt, cloning.sign_class).mean(1))
        row(f"full d = {d}, before: reverse_sample per branch time", cold, compiles, warm, phi, work)
    cold, compiles, _ = clock(ours(jax.random.PRNGKey(2), full, d))
    warm, _, phi = clock(ours(jax.random.PRNGKey(3), full, d))
    row(f"full d = {d}, after: cloning_curve (traced times)", cold, compiles, warm, phi, work)
    reduced = ExactScore(red.target, schedule)
    cold, compiles, _ = clock(ours(jax.random.PRNGKey(4), reduced, red.rank))
    warm, _, phi = clock(ours(jax.random.PRNGKey(5), reduced, red.rank))
    row(f"exact reduction (r = {red.rank}) of d = {d}", cold, compiles, warm, phi, work)
    big = reduction_of(GaussianMixture(jnp.array([0.5, 0.5]), jnp.stack([jnp.ones(d_large), -jnp.ones(d_large)]), 1.0))
    cold, compiles, phi_big = clock(ours(jax.random.PRNGKey(6), ExactScore(big.target, schedule), big.rank))
    row(f"exact reduction (r = {big.rank}) of d = {d_large}", cold, compiles, None, phi_big, work,
        note=f"max |φ − theory| / se = {_max_z(phi_big, cloning.two_class_cloning_probability(branch_times, float(d_large)), samples):.1f}")
    for r in rows[:-1]:
        r["note"] = f"max |φ − theory| / se = {_max_z(r['phi'], theory, samples):.1f}"
    return {"d": d, "samples": samples, "dt": dt, "branch_times": branch_times, "work": work, "rows": rows,
            "load": f"{load_before} → {load_average()}"}


def _max_z(phi, theory, samples):
    se = np.sqrt(np.clip(theory * (1 - theory), 1e-4, None) / samples)
    return float(np.max(np.abs(np.asarray(phi) - theory) / se))


def print_speciation(result: dict) -> None:
    ref = result["rows"][0]
    print(f"\nspeciation by cloning (Biroli et al.): d = {result['d']}, centres ±1⃗, unit variance, OU T = 10, "
          f"Euler–Maruyama dt = {result['dt']}, {len(result['branch_times'])} branch times, {result['samples']} "
          f"samples, 2 clones: {result['work']:.3g} particle·steps; load average {result['load']}")
    print("| implementation | particle·steps/s (warm) | end to end incl. compilation (s) | warm (s) | compilations | "
          "end-to-end speed-up vs NumPy port | curve vs theory |")
    print("|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        warm = f"{r['warm']:.2f}" if r["warm"] is not None else "—"
        print(f"| {r['name']} | {r['rate']:.3g} | {r['cold']:.2f} | {warm} | {r['compiles']} | "
              f"{ref['cold'] / r['cold']:.1f} | {r['note']} |")


def diffrax_reverse_sde(score, schedule, num_steps: int):
    """diffrax Euler + UnsafeBrownianPath for the same reverse SDE, in τ = T − t: dx = −(f x − g² S) dτ + g dW.
    None when diffrax is not installed (it is not a dependency)."""
    try:
        import diffrax
        import lineax
    except ImportError:
        return None
    T, t_min = float(schedule.T), float(schedule.t_min)

    def drift(tau, y, shape):
        t = T - tau
        x = y.reshape(shape)
        return (-(schedule.drift(t) * x - schedule.diffusion2(t) * score(x, t))).reshape(-1)

    def diffusion(tau, y, shape):
        return lineax.DiagonalLinearOperator(jnp.sqrt(schedule.diffusion2(T - tau)) * jnp.ones_like(y))

    @jax.jit
    def run(key, x_init):
        shape = x_init.shape
        brownian = diffrax.UnsafeBrownianPath(shape=(x_init.size,), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, brownian))
        sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, T - t_min, (T - t_min) / num_steps, x_init.reshape(-1),
                                  args=shape, saveat=diffrax.SaveAt(t1=True), max_steps=num_steps + 1,
                                  adjoint=diffrax.ForwardMode())
        return sol.ys[-1].reshape(shape)

    return run


def bare_euler_maruyama(score, schedule, num_steps: int, block: int, draw=jax.random.normal):
    """Benchmark-only Euler–Maruyama loop of the reverse SDE (no records, no checks) whose noise is drawn for
    ``block`` steps at once, (block, batch, n) from fold_in(key, j) for the j-th block, by ``draw`` (jax.random.normal,
    or the package's `physics.normal_draws.standard_normal`: the same numbers, Threefry written out): does a blocked
    draw make the noise, which bounds the full-d run on the CPU, cheaper?"""

    @jax.jit
    def run(key, x):
        times = schedule.time_grid(num_steps).astype(x.dtype)

        def outer(j, x):
            noise = draw(jax.random.fold_in(key, j), (block,) + x.shape, x.dtype)

            def inner(i, x):
                t, s = times[j * block + i], times[j * block + i + 1]
                drift = schedule.drift(t) * x - schedule.diffusion2(t) * score(x, t)
                return x - drift * (t - s) + jnp.sqrt(schedule.diffusion2(t) * (t - s)) * noise[i]

            return jax.lax.fori_loop(0, block, inner, x)

        return jax.lax.fori_loop(0, num_steps // block, outer, x)

    return run


def bench_reverse_sde(name: str, target, score, schedule, n: int, batch: int, num_steps: int, reduced=None,
                      key_impls: tuple[str, ...] = (), noise_blocks: tuple[int, ...] = (), rounds: int = 3,
                      per_step_check: bool = True, exact_paths: bool = False) -> dict:
    """Reverse SDE (Euler–Maruyama, exact score) of one target: reverse_sample, the same with keys of other PRNG
    implementations (opt-in through the key: ``jax.random.key(seed, impl=...)``; the default PRNGKey is
    threefry2x32), bare loops with the noise drawn per step (by jax.random.normal and by the package's
    `standard_normal`: the same numbers) and in blocks of steps (`bare_euler_maruyama`), the
    exact reduction when given (and a second reduced call with another step count: no compilation), with
    exact_paths the exact path sampler (`physics.exact_paths`: a posterior draw, then the forward bridge to every
    one of the num_steps grid times; the law of the continuous-time reverse SDE, which Euler–Maruyama approximates
    with its step), diffrax in the same run. End to end = the first call (compilations counted); warm = best of
    `rounds` calls taken in rounds over the implementations (so load from other jobs hits all alike). Law check:
    z-score of ⟨(Σx)²⟩/n between each row and reverse_sample. XLA temp: the compiled program's temporary buffers
    (`memory_analysis`), at num_steps and at num_steps / 10 for reverse_sample (flat in steps: nothing of size
    steps × batch × n)."""
    keys = [jax.random.PRNGKey(k) for k in range(4)]
    fns = [("reverse_sample (this package)",
            lambda: reverse_sample(keys[0], score, schedule, num_steps=num_steps, batch=batch, n=n,
                                   dtype=jnp.float32).x, num_steps)]
    settings = dict(schedule=schedule, sampler="euler_maruyama", spacing="uniform", observables=(), record_path=False,
                    keep_info=False, prior_shape=(batch, n), prior_dtype=jnp.dtype(jnp.float32))

    def run_temp(steps, check_every_step=False):
        compiled = trajectory._run.lower(keys[0], as_score(score), None, schedule.sigma(schedule.T), num_steps=steps,
                                         record_every=steps, check_every_step=check_every_step, **settings).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    temps = {fns[0][0]: (run_temp(num_steps), run_temp(max(num_steps // 10, 1)))}
    for impl in key_impls:
        typed = jax.random.key(0, impl=impl)
        fns.append((f"reverse_sample, {impl} key (opt-in)",
                    lambda typed=typed: reverse_sample(typed, score, schedule, num_steps=num_steps, batch=batch, n=n,
                                                       dtype=jnp.float32).x, num_steps))
    if reduced is not None:
        fns.append((f"reduced_reverse_sample (r = {reduced.rank}, exact orthogonal law)",
                    lambda: reduced_reverse_sample(keys[1], reduced, schedule, num_steps=num_steps, batch=batch,
                                                   dtype=jnp.float32).x, num_steps))
        other = max(num_steps // 2, 1)
        fns.append((f"reduced_reverse_sample, then {other} steps (same compiled function)",
                    lambda: reduced_reverse_sample(keys[2], reduced, schedule, num_steps=other, batch=batch,
                                                   dtype=jnp.float32).x, other))
    if exact_paths:
        fns.append(("exact_reverse_paths (all grid times; no discretisation error: the continuous-time law)",
                    lambda: exact_reverse_paths(keys[1], target, schedule, num_steps=num_steps, batch=batch,
                                                record_every=1, dtype=jnp.float32).x, num_steps))
    x_init = schedule.sigma(schedule.T) * jax.random.normal(jax.random.PRNGKey(2), (batch, n), jnp.float32)
    if per_step_check:
        label = ("reverse_sample's scan with a finiteness check after every step (before; now run only to name "
                 "the first non-finite step)")
        fns.append((label, lambda: trajectory._run(keys[0], as_score(score), None, schedule.sigma(schedule.T),
                                                   num_steps=num_steps, record_every=num_steps, check_every_step=True,
                                                   **settings)[0].x, num_steps))
        temps[label] = (run_temp(num_steps, True),)
    for block in noise_blocks:
        for draw, how in ((jax.random.normal, "jax.random.normal"), (standard_normal, "the package's standard_normal")):
            if block > 1 and draw is standard_normal:
                continue
            bare = bare_euler_maruyama(score, schedule, num_steps, block, draw)
            label = (f"bare Euler–Maruyama loop, noise drawn {block} step{'s' if block > 1 else ''} at a time by "
                     f"{how} (benchmark only)")
            fns.append((label, lambda bare=bare: bare(keys[0], x_init), num_steps))
            temps[label] = (bare.lower(keys[0], x_init).compile().memory_analysis().temp_size_in_bytes,)
    run = diffrax_reverse_sde(score, schedule, num_steps)
    if run is not None:
        label = "diffrax Euler + UnsafeBrownianPath (same score)"
        fns.append((label, lambda: run(keys[3], x_init), num_steps))
        temps[label] = (run.lower(keys[3], x_init).compile().memory_analysis().temp_size_in_bytes,)
    jax.clear_caches()  # the programs compiled for memory_analysis: the first calls below compile again
    load_before = load_average()
    rows = []
    for label, fn, steps in fns:
        cold, compiles, x = clock(fn)
        x = np.asarray(x, np.float64)
        rows.append({"name": label, "cold": cold, "compiles": compiles, "warm": np.inf, "stat": (x.sum(1) ** 2) / n,
                     "steps": steps, "temp": temps.get(label)})
    for _ in range(rounds):
        for row, (_, fn, _) in zip(rows, fns):
            row["warm"] = min(row["warm"], clock(fn)[0])
    ref = rows[0]["stat"]
    for r in rows:
        r["rate"] = batch * r["steps"] / r["warm"]
        r["z"] = float((r["stat"].mean() - ref.mean()) / np.sqrt(r["stat"].var() / batch + ref.var() / batch))
    return {"name": name, "rows": rows, "diffrax": run is not None, "load": f"{load_before} → {load_average()}",
            "batch": batch, "steps": num_steps}


def print_reverse_sde(result: dict) -> None:
    print(f"\nreverse SDE, {result['name']}, batch {result['batch']}, {result['steps']} Euler–Maruyama steps, float32; "
          f"load average {result['load']}" + ("" if result["diffrax"] else "; diffrax not installed: row skipped"))
    diffrax_row = next((r for r in result["rows"] if r["name"].startswith("diffrax")), None)
    own = result["rows"][0]
    print("| implementation | particle·steps/s (warm) | end to end incl. compilation (s) | compilations | vs diffrax "
          "(warm) | vs diffrax (end to end) | vs reverse_sample (end to end) | z of ⟨(Σx)²⟩/n vs reverse_sample | "
          f"XLA temp (MB){' at ' + str(result['steps']) + ' / ' + str(max(result['steps'] // 10, 1)) + ' steps'} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        vs = f"{r['rate'] / diffrax_row['rate']:.2f}" if diffrax_row else "—"
        vs_cold = f"{diffrax_row['cold'] / r['cold']:.2f}" if diffrax_row else "—"
        temp = " / ".join(f"{t / 2**20:.1f}" for t in r["temp"]) if r.get("temp") else "—"
        print(f"| {r['name']} | {r['rate']:.3g} | {r['cold']:.2f} | {r['compiles']} | {vs} | {vs_cold} | "
              f"{own['cold'] / r['cold']:.2f} | {r['z']:+.1f} | {temp} |")


def bench_cw_blocking(n: int, batches: tuple[int, ...], repeats: int = 5) -> dict:
    """Cost per particle·spin·step of one Euler–Maruyama step of Curie–Weiss (exact Hubbard–Stratonovich score,
    N = n, float32) against batch × n, with the quadrature in the CPU's default row blocks
    (`models.hubbard_stratonovich._cpu_block_rows`), in blocks of 128 KiB at every size (the default until
    2026-12-05), and unblocked (one block of the whole batch). Each setting is compiled ahead of time (compile =
    lower + compile, timed apart), run once untimed (first touch of the buffers), then timed in `repeats` rounds over
    the settings (so load from other jobs hits all alike): the best and the median call; max difference to the
    default's result."""
    from statphys.models import hubbard_stratonovich as hs

    target = CurieWeiss(n, 1.2)
    schedule = make_schedule("ou")
    score = ExactScore(target, schedule)
    step = get_sampler("euler_maruyama")
    t, s = 1.0, 0.99
    names = ("_CPU_SMALL_BYTES", "_CPU_SMALL_BLOCK_BYTES", "_CPU_BLOCK_BYTES")
    default = tuple(getattr(hs, name) for name in names)
    settings = [("default", default), ("128 KiB blocks", (2**17, 2**17, 2**17)), ("unblocked", (2**62,) * 3)]
    key = jax.random.PRNGKey(2)
    rows = []
    load_before = load_average()
    for batch in batches:
        x = (schedule.alpha(t) * target.sample(jax.random.PRNGKey(0), batch)
             + schedule.sigma(t) * jax.random.normal(jax.random.PRNGKey(1), (batch, n))).astype(jnp.float32)
        row, compiled, outs = {"batch": batch, "elements": batch * n}, [], []
        for label, sizes in settings:
            for name, size in zip(names, sizes):
                setattr(hs, name, size)
            jax.clear_caches()  # the quadrature is traced again with these block sizes
            try:
                start = time.perf_counter()
                fn = jax.jit(lambda key, x: step(key, x, t, s, score, schedule)[0]).lower(key, x).compile()
                row[label] = {"compile_s": time.perf_counter() - start, "calls": [],
                              "rows": hs._cpu_block_rows(batch, n, 4)}
            finally:
                for name, size in zip(names, default):
                    setattr(hs, name, size)
            outs.append(np.asarray(jax.block_until_ready(fn(key, x)), np.float64))
            compiled.append(fn)
        for _ in range(repeats):
            for (label, _), fn in zip(settings, compiled):
                start = time.perf_counter()
                jax.block_until_ready(fn(key, x))
                row[label]["calls"].append((time.perf_counter() - start) / (batch * n) * 1e9)
        for (label, _), out in zip(settings, outs):
            row[label]["ns"], row[label]["median_ns"] = min(row[label]["calls"]), float(np.median(row[label]["calls"]))
            row[label]["max_diff"] = float(np.max(np.abs(out - outs[0])))
        rows.append(row)
    jax.clear_caches()
    return {"n": n, "rows": rows, "settings": [label for label, _ in settings],
            "load": f"{load_before} → {load_average()}"}


def print_cw_blocking(result: dict) -> None:
    print(f"\nCurie–Weiss Euler–Maruyama step with the exact score, N = {result['n']}, float32: cost per "
          f"particle·spin·step (ns, best / median of the rounds) vs batch × N, quadrature in the default row blocks, "
          f"in 128 KiB blocks at every size, and unblocked (rows per block in brackets); ratios of the medians; load "
          f"average {result['load']}")
    labels = result["settings"]
    print("| batch | particle·spins | " + " | ".join(f"{label} (ns)" for label in labels) + " | "
          + " | ".join(f"{label} / default" for label in labels[1:]) + " | "
          + " | ".join(f"compile {label} (s)" for label in labels) + " | max |difference| to default |")
    print("|---" * (2 + 3 * len(labels)) + "|")
    for r in result["rows"]:
        base = r[labels[0]]["median_ns"]
        print(f"| {r['batch']} | {r['elements']:.2g} | "
              + " | ".join(f"{r[label]['ns']:.1f} / {r[label]['median_ns']:.1f} [{min(r[label]['rows'], r['batch'])}]"
                           for label in labels) + " | "
              + " | ".join(f"{r[label]['median_ns'] / base:.2f}" for label in labels[1:]) + " | "
              + " | ".join(f"{r[label]['compile_s']:.2f}" for label in labels) + " | "
              + f"{max(r[label]['max_diff'] for label in labels):.1e} |")


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matmul FLOP/s of this device (best of `repeats` warm calls of a size³ product)."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    fn = jax.jit(lambda a: a @ a)
    _, best, _ = timed(fn, a, repeats=repeats)
    return 2 * size**3 / best


def bench_enumeration(batch: int, n: int = 20) -> tuple[list, dict]:
    """Exact-enumeration denoiser of an SK target at N = 20: the matmul kernel with ln w evaluated state by state
    (`enumeration.posterior_mean` of the target's log_weight) and with the Quadratic form (ln w = ½ sᵀ(βJ)s + h·s
    from the couplings: the target's posterior_mean), each called as a user calls it (the fallback compiled only if a row range needs it), the Quadratic kernel inside jit (the
    fallback compiled too), the element-wise fallback kernel, each against the same NumPy reference, with the measured float32 matmul
    peak and the time of the bare exponentials of batch × 2ᴺ logits (the floor of any element-wise kernel)."""
    from statphys.models import SherringtonKirkpatrick, enumeration

    target = SherringtonKirkpatrick.random(n, 1.0, seed=0)
    x = jax.random.normal(jax.random.PRNGKey(6), (batch, n), jnp.float32)
    alpha, sigma = 0.6, 0.8
    J = np.asarray(target.couplings, np.float64)
    u = alpha / sigma**2 * np.asarray(x, np.float64)
    start = time.perf_counter()
    chunk = 2**14
    running_max, norm, weighted = np.full(batch, -np.inf), np.zeros(batch), np.zeros((batch, n))
    for a in range(0, 2**n, chunk):
        index = np.arange(a, a + chunk)
        s = 1.0 - 2.0 * ((index[:, None] >> np.arange(n - 1, -1, -1)) & 1)  # bit 1 → spin −1, MSB = spin 0
        log_w = 0.5 * float(target.beta) * np.einsum("ki,ij,kj->k", s, J, s, optimize=True) + float(target.h) * s.sum(1)
        logits = log_w[None] + u @ s.T
        new = np.maximum(running_max, logits.max(1))
        p = np.exp(logits - new[:, None])
        rescale = np.exp(running_max - new)
        norm, weighted, running_max = norm * rescale + p.sum(1), weighted * rescale[:, None] + p @ s, new
    ref = weighted / norm[:, None]
    numpy_time = time.perf_counter() - start

    quadratic = enumeration.Quadratic(target.beta * target.couplings, target.field)
    low_bits = enumeration._low_bits(min(enumeration.CHUNK_SIZE, 2**n), batch)

    def elementwise(target, x):
        def block(s_hi, s_lo):
            rows, low = s_hi.shape[0], s_lo.shape[0]
            s = jnp.concatenate([jnp.broadcast_to(s_hi[:, None], (rows, low, s_hi.shape[1])),
                                 jnp.broadcast_to(s_lo[None], (rows, low, s_lo.shape[1]))], -1)
            return target.log_weight(s.reshape(rows * low, n)).reshape(rows, low)

        small = enumeration.ELEMENTWISE_CHUNK
        return enumeration._elementwise_kernel(block, n, alpha / sigma**2 * x, small, 2**n // small,
                                               min(low_bits, int(np.log2(small))))

    kernels = [
        ("matmul kernel, generic ln w (posterior_mean of SK.log_weight, called as is)",
         lambda t, x: enumeration.posterior_mean(t.log_weight, n, x, alpha, sigma),
         4 * batch * 2**n + 2 * n * n * 2**n),
        ("matmul kernel, Quadratic ln w (SK.posterior_mean, called as is)",
         lambda t, x: t.posterior_mean(x, alpha, sigma), 4 * batch * 2**n + 2 * low_bits * 2**n),
        ("matmul kernel, Quadratic ln w inside jit (fallback compiled too, under lax.cond)",
         jax.jit(lambda t, x: enumeration.quadratic_posterior_mean(quadratic, x, alpha, sigma)),
         4 * batch * 2**n + 2 * low_bits * 2**n),
        ("element-wise kernel (fallback)", jax.jit(elementwise), 6 * batch * 2**n + 2 * n * n * 2**n),
    ]
    peak = matmul_peak()
    logits = jax.random.normal(jax.random.PRNGKey(7), (batch, 2**n), jnp.float32)
    _, exp_floor, _ = timed(jax.jit(lambda z: jnp.sum(jnp.exp(z), axis=1)), logits)
    rows, extra = [], {"peak": peak, "exp_floor": exp_floor, "numpy_s": numpy_time, "batch": batch, "n": n}
    for label, fn, kernel_flops in kernels:
        before = compile_times()
        first, warm, out = timed(fn, target, x, repeats=3)
        made = compile_times() - before
        rows.append({
            "first_s": first,
            "compiles": made.compiles,
            "cache_hits": made.cache_hits,
            "kernel": f"enumeration SK N={n} (2^{n} states) batch={batch}: {label}",
            "unit": "particles/s",
            "jax": batch / warm,
            "compile_s": first - warm,
            "numpy": batch / numpy_time,
            "max_diff": float(np.max(np.abs(np.asarray(out, np.float64) - ref))),
            "flops": 4 * n * 2**n,
            "dense_fraction": 4 * n * 2**n * batch / warm / peak,
            "kernel_fraction": kernel_flops / warm / peak,
            "exp_ratio": exp_floor / warm,
        })
    return rows, extra


def print_enumeration(rows: list, extra: dict) -> None:
    print(f"\nenumeration SK N={extra['n']}, batch {extra['batch']}: measured float32 matmul peak "
          f"{extra['peak'] / 1e9:.1f} GFLOP/s (2048³, same run); bare exp of batch × 2^N logits "
          f"{extra['exp_floor'] * 1e3:.1f} ms; NumPy reference {extra['numpy_s'] * 1e3:.0f} ms; load average {load_average()}")
    print("| kernel | particles/s | × NumPy | first call (s) | XLA compilations + persistent-cache loads | NumPy (s) | "
          "× NumPy end to end | "
          "dense-equivalent FLOP/s (4N per particle·state) / peak | own FLOP/s / peak | bare-exp time / kernel time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kernel'].split(': ', 1)[1]} | {r['jax']:.3g} | {r['jax'] / r['numpy']:.1f} | "
              f"{r['first_s']:.3f} | {r['compiles']} + {r['cache_hits']} | {extra['numpy_s']:.3f} | "
              f"{extra['numpy_s'] / r['first_s']:.2f} | "
              f"{100 * r['dense_fraction']:.0f}% | {100 * r['kernel_fraction']:.1f}% | {r['exp_ratio']:.2f} |")


def bench_mc_score(sizes: tuple[int, ...], batch: int, chains: int, sweeps: int, steps: int,
                   burn_in: int = 10, repeats: int = 2) -> dict:
    """Generation with the Monte-Carlo score at each N (module docstring): per N the compile time, the warm
    wall time per step, proposed flips per second; the cost model time ≈ c N² · chains · sweeps · batch · steps
    with c by least squares (through the origin) and the free exponent p of time ∝ N^p (log-log fit)."""
    from statphys.models.sk import sk_couplings
    from statphys.physics.mc_score import mc_reverse_sample

    schedule = make_schedule("ou", T=5.0, t_min=1e-2)
    rows = []
    for n in sizes:
        couplings = jnp.asarray(sk_couplings(n, seed=0), jnp.float32)

        def run(key, couplings=couplings):
            out = mc_reverse_sample(key, couplings, 0.0, 1.0, schedule, num_steps=steps, batch=batch,
                                    chains_per_x=chains, sweeps_per_step=sweeps, burn_in=burn_in)
            return out.x

        start = time.perf_counter()
        jax.block_until_ready(run(jax.random.PRNGKey(0)))
        first = time.perf_counter() - start
        warm = np.inf
        for r in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(run(jax.random.PRNGKey(r + 1)))
            warm = min(warm, time.perf_counter() - start)
        total_sweeps = sweeps * (steps + 1) + burn_in  # steps + the final estimate at t_min, plus the burn-in
        flips = batch * chains * n * total_sweeps
        rows.append({"n": n, "compile_s": first - warm, "warm_s": warm, "step_s": warm / (steps + 1),
                     "flips_per_s": flips / warm, "flips_per_particle_step": chains * sweeps * n,
                     "work": n**2 * chains * batch * total_sweeps})
    work = np.array([r["work"] for r in rows], float)
    times = np.array([r["warm_s"] for r in rows])
    c = float(work @ times / (work @ work))
    exponent = float(np.polyfit(np.log([r["n"] for r in rows]), np.log(times), 1)[0]) if len(rows) > 1 else np.nan
    return {"rows": rows, "c": c, "exponent": exponent, "batch": batch, "chains": chains, "sweeps": sweeps,
            "steps": steps, "burn_in": burn_in}


def print_mc_score(result: dict) -> None:
    print(f"\nMonte-Carlo score generation (mc_reverse_sample, SK, heat bath, ddpm): batch {result['batch']}, "
          f"chains per particle {result['chains']}, sweeps per step {result['sweeps']}, steps {result['steps']} "
          f"(+ final estimate), burn-in {result['burn_in']} sweeps; float32")
    print("| N | compile (s) | warm run (s) | wall time per step (ms) | proposed flips/s | flips per particle·step | "
          "c = time/(N²·chains·sweeps·batch·steps) (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['n']} | {r['compile_s']:.2f} | {r['warm_s']:.3f} | {1e3 * r['step_s']:.2f} | "
              f"{r['flips_per_s']:.3g} | {r['flips_per_particle_step']} | {r['warm_s'] / r['work']:.3g} |")
    print(f"cost model: time ≈ c · N² · chains · sweeps · batch · steps with c = {result['c']:.3g} s (least squares "
          f"over N); free fit time ∝ N^{result['exponent']:.2f}")


def bench_dispatch(calls: int = 2000, repeats: int = 7) -> dict:
    """µs per jitted call (best of ``repeats`` rounds of ``calls``, alternating) and per tree flatten of a learned
    score as `reverse_sample` receives it, registered as the package does and with jax's register_dataclass."""
    from statphys.physics.integrator import PureScore
    from statphys.physics.learned import LearnedScore, init_mlp

    @dataclasses.dataclass(frozen=True)
    class DataclassScore:  # LearnedScore's fields, registered with jax.tree_util.register_dataclass
        params: dict
        schedule: object

    @dataclasses.dataclass(frozen=True)
    class DataclassPure:
        fn: object

    jax.tree_util.register_dataclass(DataclassScore, data_fields=["params", "schedule"], meta_fields=[])
    jax.tree_util.register_dataclass(DataclassPure, data_fields=["fn"], meta_fields=[])
    schedule = make_schedule("ou", T=4.0, t_min=0.01)
    params = init_mlp(jax.random.PRNGKey(0), 1, 32, 2, 4, out=1)
    trees = {"package (register_pytree_with_keys)": PureScore(LearnedScore(params, schedule)),
             "jax register_dataclass": DataclassPure(DataclassScore(params, schedule))}
    call = jax.jit(lambda tree, x: x + 1.0)
    x = jnp.ones(4)
    best = {name: [np.inf, np.inf] for name in trees}
    for name, tree in trees.items():
        jax.block_until_ready(call(tree, x))
    for _ in range(repeats):
        for name, tree in trees.items():
            start = time.perf_counter()
            for _ in range(calls):
                call(tree, x)
            jax.block_until_ready(call(tree, x))
            best[name][0] = min(best[name][0], (time.perf_counter() - start) / (calls + 1))
            start = time.perf_counter()
            for _ in range(calls):
                jax.tree.flatten(tree)
            best[name][1] = min(best[name][1], (time.perf_counter() - start) / calls)
    return {"leaves": len(jax.tree.leaves(trees["jax register_dataclass"])), "best": best}


def print_dispatch(result: dict) -> None:
    print(f"\njit dispatch of a learned score ({result['leaves']} leaves), best of rounds, alternating")
    print("| registration | µs per jitted call | µs per tree flatten |")
    print("|---|---|---|")
    for name, (call_s, flatten_s) in result["best"].items():
        print(f"| {name} | {1e6 * call_s:.1f} | {1e6 * flatten_s:.2f} |")


SECTIONS = ["cw", "fs", "enum", "mc", "cwq", "spec", "gmm", "cwsde", "cwblock", "mcscore", "dispatch"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default=None, help="default: full on GPU, small on CPU")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=None, help="sections to run")
    parser.add_argument("--gmm-core", action="store_true",
                        help="mixture reverse SDE: only reverse_sample, the bare loops drawing per step and diffrax "
                             "(no opt-in keys, reduction, blocked draws or per-step check)")
    parser.add_argument("--issue-rows", action="store_true",
                        help="exactly the rows of issue 18 in one run: cloning in Biroli et al.'s setting (NumPy port, "
                             "full d, exact reduction), reverse SDE of the ±1⃗ mixture d = 256 (reverse_sample, "
                             "reduction, diffrax), of Curie–Weiss at N = 256 and 1024 (reverse_sample, diffrax), the "
                             "enumeration denoiser SK N = 20 (against NumPy), then a summary table")
    parser.add_argument("--enum-batches", type=int, nargs="+", default=None,
                        help="batches of the enumeration section (default: the size's one batch)")
    parser.add_argument("--compilation-cache", default=None, metavar="DIR",
                        help="turn on JAX's persistent compilation cache in DIR, as `statphys run` does: run twice and "
                             "the second process's first calls load what the first compiled")
    parser.add_argument("--rounds", type=int, default=None,
                        help="warm calls of each reverse-SDE row, in rounds (default 2 for the mixture, 3 for Curie–Weiss)")
    args = parser.parse_args()
    if args.compilation_cache:
        from statphys.studies.compilation import enable_compilation_cache

        print(f"# persistent compilation cache: {enable_compilation_cache(args.compilation_cache)}")
    device = jax.devices()[0]
    size = args.size or ("full" if device.platform == "gpu" else "small")
    only = {"spec", "gmm", "cwsde", "enum"} if args.issue_rows else set(args.only or SECTIONS)
    started = time.perf_counter()
    print(f"# load average at start {load_average()}")
    jax.block_until_ready(jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(0), 1), (2,)))  # process warm-up
    rows, printers = [], []
    if "cw" in only:
        rows.append(bench_cw(*SIZES[size]["cw"]))
    quadratic = bench_cw_quadrature(*SIZES[size]["cw"]) if "cwq" in only else None
    if "fs" in only:
        rows.append(bench_finite_support(*SIZES[size]["fs"]))
    enum_rows = []
    for batch in (args.enum_batches or [SIZES[size]["enum"]]) if "enum" in only else ():
        batch_rows, enum_extra = bench_enumeration(batch)
        enum_rows.extend(batch_rows)
        rows.extend(batch_rows)
        printers.append(lambda batch_rows=batch_rows, extra=enum_extra: print_enumeration(batch_rows, extra))
    if "mc" in only:
        rows.extend(bench_monte_carlo(*config) for config in SIZES[size]["mc"])
    if "spec" in only:
        spec = bench_speciation(*SIZES[size]["spec"], before=not args.issue_rows)
        printers.append(lambda: print_speciation(spec))
    if "gmm" in only:
        d, batch, steps = SIZES[size]["gmm"]
        mix = GaussianMixture(jnp.array([0.5, 0.5]), jnp.stack([jnp.ones(d), -jnp.ones(d)]).astype(jnp.float32), 1.0)
        schedule = make_schedule("ou", T=5.0, t_min=1e-3)
        core = args.gmm_core or args.issue_rows
        gmm = bench_reverse_sde(f"Gaussian mixture ±1⃗, d = {d}", mix, ExactScore(mix, schedule), schedule, d, batch,
                                steps, reduced=reduction_of(mix) if args.issue_rows or not core else None,
                                key_impls=() if core else ("rbg", "unsafe_rbg"),
                                noise_blocks=() if args.issue_rows else (1,) if core else (1, 10),
                                rounds=args.rounds or 2, per_step_check=not core, exact_paths=True)
        printers.append(lambda: print_reverse_sde(gmm))
    cwsdes = []
    if "cwsde" in only:
        n, batch, steps = SIZES[size]["cwsde"]
        for n in sorted({n, 1024}) if args.issue_rows else (n,):
            target = CurieWeiss(n, 1.2)
            schedule = make_schedule("ou", T=5.0, t_min=1e-3)
            cwsdes.append(bench_reverse_sde(f"Curie–Weiss N = {n}, β = 1.2", target, ExactScore(target, schedule),
                                            schedule, n, batch, steps, rounds=args.rounds or 3,
                                            per_step_check=not args.issue_rows, exact_paths=True))
            printers.append(lambda result=cwsdes[-1]: print_reverse_sde(result))
    if "mcscore" in only:
        mcscore = bench_mc_score(*SIZES[size]["mcscore"])
        printers.append(lambda: print_mc_score(mcscore))
    if "dispatch" in only:
        dispatch = bench_dispatch()
        printers.append(lambda: print_dispatch(dispatch))
    if "cwblock" in only:  # last: it clears JAX's caches between its settings
        blocking = bench_cw_blocking(*SIZES[size]["cwblock"], repeats=11)
        printers.append(lambda: print_cw_blocking(blocking))
    kind = getattr(device, "device_kind", "")
    limits = device_limit(kind) if device.platform == "gpu" else None
    print(f"# {datetime.date.today()}  device {device.platform}:{kind}  ({jax.device_count()} device(s))  "
          f"jax {jax.__version__}  python {platform.python_version()}  size {size}  float32  "
          f"total {time.perf_counter() - started:.0f} s  load average at end {load_average()}")
    if rows:
        print_table(rows, limits)
    if quadratic is not None:
        print_cw_quadrature(quadratic)
    for printer in printers:
        printer()
    if args.issue_rows:
        print_issue_summary(spec, gmm, cwsdes, enum_rows)


def print_issue_summary(spec: dict, gmm: dict, cwsdes: list, enum_rows: list) -> None:
    """The rows of issue 18 side by side: this package and the peer, end to end (first call, compilation included)
    and warm, their ratios (peer time / package time: > 1 means the package is ahead) and the compilations."""
    print("\nissue 18, one run: peer time / package time (> 1: the package is ahead); end to end = first call, "
          "compilation included; warm = best later call")
    print("| task | package | package end to end (s) | package warm (s) | compilations | peer | peer end to end (s) | "
          "peer warm (s) | peer compilations | ratio end to end | ratio warm |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def line(task, own_name, own_cold, own_warm, own_compiles, peer_name, peer_cold, peer_warm, peer_compiles):
        warm_ratio = f"{peer_warm / own_warm:.2f}" if own_warm and peer_warm else "—"
        print(f"| {task} | {own_name} | {own_cold:.3g} | {own_warm:.3g} | {own_compiles} | {peer_name} | {peer_cold:.3g} | "
              f"{peer_warm:.3g} | {peer_compiles} | {peer_cold / own_cold:.2f} | {warm_ratio} |")

    numpy_port = spec["rows"][0]
    task = (f"cloning, Biroli et al.'s setting (d = {spec['d']}, {len(spec['branch_times'])} branch times, "
            f"{spec['samples']} samples)")
    for r in spec["rows"][1:3]:
        line(task, r["name"], r["cold"], r["warm"], r["compiles"], "NumPy port of their algorithm",
             numpy_port["cold"], numpy_port["cold"], 0)
    for result in [gmm] + cwsdes:
        peer = next((r for r in result["rows"] if r["name"].startswith("diffrax")), None)
        if peer is None:
            print(f"| reverse SDE, {result['name']} | (diffrax not installed: `pip install -e \".[bench]\"`) |"
                  + " — |" * 9)
            continue
        task = f"reverse SDE, {result['name']}, batch {result['batch']}, {result['steps']} steps"
        for r in result["rows"]:
            if r is peer or "then" in r["name"]:
                continue
            line(task, r["name"], r["cold"], r["warm"], r["compiles"], "diffrax Euler + UnsafeBrownianPath",
                 peer["cold"], peer["warm"], peer["compiles"])
    for r in enum_rows[:2]:
        numpy_s = 1 / r["numpy"] * int(r["kernel"].split("batch=")[1].split(":")[0])
        line(r["kernel"].split(": ")[0].replace("enumeration", "enumeration denoiser"), r["kernel"].split(": ")[1],
             r["first_s"], r["first_s"] - r["compile_s"], r["compiles"], "NumPy (float64)", numpy_s, numpy_s, 0)


def print_table(rows: list, limits) -> None:
    print("| kernel | unit | JAX | reference | JAX/ref | compile (s) | ref compile (s) | max |JAX − ref| | % of device limit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fraction = "—"
        if limits is not None and r.get("flops"):
            fraction = f"{100 * r['jax'] * r['flops'] / limits[0]:.1f}% of FP32 peak"
        elif limits is not None and r.get("bytes_per_unit"):
            fraction = f"{100 * r['jax'] * r['bytes_per_unit'] / limits[1]:.1f}% of bandwidth"
        diff = r.get("note") or f"{r['max_diff']:.1e}"
        ref_compile = f"{r['ref_compile_s']:.2f}" if "ref_compile_s" in r else "—"
        print(f"| {r['kernel']} | {r['unit']} | {r['jax']:.3g} | {r['numpy']:.3g} | {r['jax'] / r['numpy']:.1f} | "
              f"{r['compile_s']:.2f} | {ref_compile} | {diff} | {fraction} |")
    print("reference: NumPy for cw/finite_support/enumeration, NetKet MetropolisLocal for mc_metropolis; "
          "end-to-end rows (cloning, reverse SDE) are printed below with compilations counted")


if __name__ == "__main__":
    main()
