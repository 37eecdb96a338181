"""The lag of Monte-Carlo-score generation behind the forward law against the number of ddpm steps at fixed sweeps
per unit time: SK generation with the chains of `spin_glass_scaling`'s default profile (batch 128 × 4 chains,
burn-in 200, tempered over a geometric ladder of 16 rungs from β to 0.3 at β > 1), K steps with S sweeps per step,
disorder samples d = 0 … D−1 (`SherringtonKirkpatrick.random(N, seed=d)`, the study's couplings) in one vmapped
program (`physics.sk_generation.mc_replica_generation_samples`).

    run (any machine; no emcee, netket or xarray needed):
        python scripts/mc_step_lag.py run --n 128 --beta 1.5 --steps 200 --sweeps 24 --num-disorder 16 --out lag.npz
    compare with the study's result (its generated and forward-law q₁₂ and χ_SG per sample, at 100 steps):
        .venv/bin/python scripts/mc_step_lag.py compare lag.npz docs/results/spin_glass_scaling_default.nc

`compare` prints, at the study's recorded times (a geometric grid of k·100 steps contains them), the disorder
average of [q₁₂ − forward law] and [χ_SG − forward law] of this run and of the study's generation, paired per sample,
with jackknife-free standard errors over samples.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def run(args) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    from statphys.models.sk import SherringtonKirkpatrick
    from statphys.physics import sk_generation as skg
    from statphys.physics.mc_score import tempering_ladder
    from statphys.physics.schedules import make_schedule

    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    couplings = np.stack([np.asarray(SherringtonKirkpatrick.random(args.n, 1.0, seed=d).couplings)
                          for d in range(args.num_disorder)])
    keys = jax.vmap(lambda d: jax.random.fold_in(jax.random.key(args.seed), d))(np.arange(args.num_disorder))
    ladder = tempering_ladder(args.beta, 0.3, args.rungs) if args.beta > 1 and args.rungs > 1 else None
    print(f"{jax.devices()[0]}: N = {args.n}, beta = {args.beta}, {args.steps} steps x {args.sweeps} sweeps, "
          f"{args.num_disorder} samples", flush=True)
    start = time.perf_counter()
    runs = skg.mc_replica_generation_samples(keys, couplings, 0.0, args.beta, schedule, num_steps=args.steps,
                                             batch=128, chains_per_x=4, sweeps_per_step=args.sweeps, burn_in=200,
                                             ladder=ladder)
    seconds = time.perf_counter() - start
    print(f"{seconds:.1f} s (compilation included)", flush=True)
    np.savez(args.out, times=np.asarray(runs[0].times), q12=np.stack([np.asarray(r.q12).mean(-1) for r in runs]),
             chi_sg=np.stack([np.asarray(r.chi_sg).mean(-1) for r in runs]),
             settings=json.dumps({**vars(args), "seconds": seconds, "device": str(jax.devices()[0])}))


def compare(args) -> None:
    import xarray as xr

    lag = np.load(args.lag)
    settings = json.loads(str(lag["settings"]))
    study = xr.open_dataset(args.result).sel(n=settings["n"], beta=settings["beta"])
    num = lag["q12"].shape[0]
    study = study.isel(disorder=slice(0, num))
    times = study.time.values
    at = np.array([int(np.argmin(np.abs(lag["times"] - t))) for t in times])
    if np.max(np.abs(lag["times"][at] - times)) > 1e-9 * times.max():
        raise SystemExit("the run's time grid does not contain the study's: use a multiple of its steps")
    lam = study.lam.values
    picks = [int(np.argmin(np.abs(lam - target))) for target in args.lams]
    print(f"N = {settings['n']}, beta = {settings['beta']}, {num} samples: [run - forward law] and [study's "
          f"generation ({study.sizes['time'] - 1} steps) - forward law], paired per sample")
    for name in ("q12", "chi_sg"):
        forward = study[f"forward_{name}"].values
        for label, values in ((f"{settings['steps']} steps x {settings['sweeps']} sweeps", lag[name][:, at]),
                              ("study", study[f"gen_{name}"].values)):
            gap = values - forward
            mean, err = gap.mean(0), gap.std(0, ddof=1) / np.sqrt(num)
            valid = err > 1e-9 * np.abs(forward).max()
            mean_z = f"{np.mean(mean[valid] / err[valid]):+.2f}" if valid.any() else "— (no spread)"
            print(f"  {name:6s} {label:22s} " + "  ".join(f"lam={lam[i]:.2g}: {mean[i]:+.4f} ± {err[i]:.4f}"
                                                          for i in picks) + f"  mean z over times {mean_z}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, default=128)
    r.add_argument("--beta", type=float, default=1.5)
    r.add_argument("--steps", type=int, default=200)
    r.add_argument("--sweeps", type=int, default=24)
    r.add_argument("--rungs", type=int, default=16)
    r.add_argument("--num-disorder", type=int, default=16)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("lag")
    c.add_argument("result")
    c.add_argument("--lams", type=float, nargs="+", default=[0.03, 0.1, 0.3, 1.0, 3.0])
    args = parser.parse_args(argv)
    run(args) if args.command == "run" else compare(args)


if __name__ == "__main__":
    main()
