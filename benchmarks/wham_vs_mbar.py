"""WHAM (`physics.umbrella.wham_log_probs`) against pymbar's MBAR on the umbrella histograms of franz_parisi_sk.

    python benchmarks/wham_vs_mbar.py            # needs pymbar (pip install pymbar); skips cleanly without it

Problem: the small profile of the study franz_parisi_sk (SK, N = 16, β = 1.5, couplings seed 1, t ∈ {0.3, 1.0},
3 disorder draws (s′, x_t) by parallel tempering, 17 windows × 8 chains, 100 counted sweeps after 50 of burn-in,
2 rounds), with the study's keys, so the histograms are exactly those behind its stored potential. For every draw
the final round's histograms C_w(K) (every proposal counted) and biases b_w(K) go to
  * WHAM on the discrete levels K (Kumar et al., J. Comput. Chem. 13, 1011 (1992)), and
  * MBAR (Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008); pymbar 4) with one sample per count, reduced
    potentials u_w = −b_w(K) (the unbiased −ln P(s) is common to all windows and cancels) and an extra unbiased
    state with no samples, whose weights give P(K) = Σ_n W_n,unbiased 1[K_n = K].
For discrete levels both solve the same self-consistent equations, so they must agree to solver tolerance;
accuracy is measured against the enumeration of ln P(K | x_t, s′) of the same draw (2¹⁶ states), as
max_K |V − V_exact| with V = −ln P/N over the levels, and time as the best of 3 calls (solve only; the histograms
are computed once).
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np


def _best_of(fn, repeats=3):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def mbar_log_probs(counts: np.ndarray, log_bias: np.ndarray) -> np.ndarray:
    """ln P(K) by pymbar's MBAR from histograms counts (W, L) sampled under P(K) e^{log_bias} (W, L) -> (L,)."""
    import pymbar

    windows, levels = counts.shape
    counts = counts.astype(int)
    level_of_sample = np.concatenate([np.repeat(np.arange(levels), counts[w]) for w in range(windows)])
    u_kn = np.vstack([-log_bias[:, level_of_sample], np.zeros((1, level_of_sample.size))])
    n_k = np.append(counts.sum(1), 0)
    mbar = pymbar.MBAR(u_kn, n_k)
    weights = mbar.weights()[:, -1]
    with np.errstate(divide="ignore"):
        return np.log(np.bincount(level_of_sample, weights=weights, minlength=levels))


def main() -> int:
    try:
        import pymbar
    except ImportError:
        print("skipped: pymbar is not installed (pip install pymbar to run this comparison)")
        return 0
    jax.config.update("jax_enable_x64", True)
    from statphys.models.sk import SherringtonKirkpatrick
    from statphys.physics.franz_parisi_spins import enumerated_overlap_log_probs, ou_noise
    from statphys.physics.quenched import sample_disorder, tempering_reference_sampler
    from statphys.physics.umbrella import umbrella_overlap_potential, wham_log_probs

    n, beta, times, draws = 16, 1.5, (0.3, 1.0), 3
    options = dict(chains_per_window=8, num_groups=4, num_sweeps=100, burn_in=50)
    target = SherringtonKirkpatrick.random(n, beta, seed=1)
    sampler = tempering_reference_sampler(target, 8, 500)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(0), 0), 10_000)  # the study's key
    print(f"pymbar {pymbar.__version__}; SK N = {n}, beta = {beta}; 17 windows x 8 chains x 100 sweeps "
          f"(every proposal counted)\n")
    print("| t | draw | samples | max abs(V_WHAM - V_exact) | max abs(V_MBAR - V_exact) | max abs(V_WHAM - V_MBAR) "
          "| umbrella error (median) | WHAM time | MBAR time |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = np.zeros(2)
    for i, t in enumerate(times):
        alpha, sigma = ou_noise(t)
        k_disorder, k_mc = jax.random.split(jax.random.fold_in(key, i))  # as quenched_umbrella_potential
        refs, x = sample_disorder(k_disorder, target, alpha, sigma, draws, sampler)
        exact = np.asarray(enumerated_overlap_log_probs(target, refs, x, alpha, sigma))
        for d in range(draws):
            run = umbrella_overlap_potential(jax.random.fold_in(k_mc, d), target, refs[d], x[d], alpha, sigma,
                                             **options)
            wham, t_wham = _best_of(lambda: wham_log_probs(run.counts, run.log_bias))
            mbar, t_mbar = _best_of(lambda: mbar_log_probs(run.counts, run.log_bias))
            totals += (t_wham, t_mbar)
            v_exact, v_wham, v_mbar = (-np.asarray(a) / n for a in (exact[d], wham, mbar))
            print(f"| {t} | {d} | {int(run.counts.sum())} | {np.max(np.abs(v_wham - v_exact)):.2e} | "
                  f"{np.max(np.abs(v_mbar - v_exact)):.2e} | {np.max(np.abs(v_wham - v_mbar)):.1e} | "
                  f"{np.median(run.potential.error):.1e} | {t_wham * 1e3:.1f} ms | {t_mbar * 1e3:.0f} ms |")
    print(f"\ntotal solve time over {len(times) * draws} draws: WHAM {totals[0]:.3f} s, MBAR {totals[1]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
