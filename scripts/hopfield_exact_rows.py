"""Every Hopfield row of docs/spin_glasses_at_scale.md against the exact ⟨q²⟩, U₄(q) and ⟨max |m|⟩.

The rows are those of the note's ⟨Σ m²⟩ table ("An exact reference for Hopfield at any N"), found in the note's
run tables by their generated and PT ⟨Σ m²⟩ entries; for each, the generated and PT ⟨q²⟩, U₄ and ⟨max |m|⟩ of the
same table block are compared with the exact values of the D pattern draws `Hopfield.random(N, K, seed=d)`:
`exact_observables` (⟨q²⟩ from the quadrature, U₄ and ⟨max |m|⟩ from 2 × 100000 independent configurations per draw,
seed d). Errors of the average over draws √(Σ_d err_d²)/D, added in quadrature in the z; "error < 0.00005" entries
count as 0.00005.

    python scripts/hopfield_exact_rows.py [--note docs/spin_glasses_at_scale.md]
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from statphys.models.hopfield import Hopfield
from statphys.models.hopfield_equilibrium import exact_observables

#: K, N, β, D, the PT and the generated ⟨Σ m²⟩ entries that identify the run table of each row.
ROWS = [
    (3, 64, 0.8, 4, "0.1735 ± 0.0004", "0.1575 ± 0.0072"), (3, 64, 1.5, 4, "0.7072 ± 0.0008", "0.7028 ± 0.0081"),
    (4, 64, 0.8, 2, "0.2286 ± 0.0007", "0.2332 ± 0.0121"), (4, 64, 1.5, 2, "0.7428 ± 0.0008", "0.7580 ± 0.0105"),
    (5, 64, 0.8, 2, "0.2645 ± 0.0008", "0.2682 ± 0.0112"), (5, 64, 1.5, 2, "0.7421 ± 0.0009", "0.7352 ± 0.0107"),
    (3, 128, 0.8, 2, "0.0943 ± 0.0004", "0.1011 ± 0.0064"), (3, 128, 1.5, 2, "0.7014 ± 0.0010", "0.7087 ± 0.0101"),
    (5, 128, 0.8, 2, "0.1520 ± 0.0005", "0.1532 ± 0.0077"), (5, 128, 1.5, 2, "0.6895 ± 0.0009", "0.6890 ± 0.0096"),
    (3, 256, 0.8, 2, "0.0547 ± 0.0003", "0.0513 ± 0.0035"), (3, 256, 1.5, 2, "0.7320 ± 0.0005", "0.7279 ± 0.0061"),
    (5, 256, 0.8, 2, "0.0927 ± 0.0005", "0.0917 ± 0.0053"), (5, 256, 1.5, 2, "0.6919 ± 0.0008", "0.6929 ± 0.0062"),
    (3, 1024, 0.8, 2, "0.0142 ± 0.0001", "0.0149 ± 0.0010"), (5, 1024, 0.8, 2, "0.0235 ± 0.0001", "0.0231 ± 0.0012"),
    (5, 512, 1.5, 2, "0.7300 ± 0.0004", "0.7301 ± 0.0047")]
OBSERVABLES = {"<q^2>": "q2", "U4(q)": "binder", "<max \\|m_mu\\|>": "mattis_max"}
LABELS = {"q2": "⟨q²⟩", "binder": "U₄(q)", "mattis_max": "⟨max \\|m\\|⟩"}


def cells(line):
    """The cells of a Markdown table line (an escaped "\\|" stays inside its cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def value_error(text):
    if "error <" in text:
        return float(text.split()[0]), 0.00005
    value, error = text.split("±")
    return float(value), float(error)


def table_entries(lines, k, n, beta, pt, generated):
    """(generated, PT) of ⟨q²⟩, U₄, ⟨max |m|⟩ in the run table whose ⟨Σ m²⟩ line has these entries."""
    prefix = f"| Hopfield K={k} | {n} | {beta} |"
    for i, line in enumerate(lines):
        if line.startswith(prefix) and cells(line)[3:6] == ["<sum m_mu^2>", generated, pt]:
            block = [cells(other) for other in lines[max(0, i - 6):i + 6] if other.startswith(prefix)]
            found = {}
            for row in block:
                if row[3] in OBSERVABLES:
                    found.setdefault(OBSERVABLES[row[3]], (value_error(row[4]), value_error(row[5])))
            return found
    raise LookupError(f"no run table of Hopfield K={k}, N={n}, beta={beta} with <sum m_mu^2> {generated} / {pt}")


def exact_values(k, n, beta, num_draws):
    """Per observable (value, error) averaged over the draws (`exact_observables`), with "sampled_mattis2" the
    sampled ⟨Σ m²⟩ to check against the quadrature's "mattis2"."""
    per = [exact_observables(np.asarray(Hopfield.random(n, k, 1.0, seed=d).patterns, float), beta,
                             num_pairs=100_000, seed=d)[1] for d in range(num_draws)]
    return {name: (np.mean([values[name][0] for values in per]),
                   np.sqrt(np.sum([values[name][1] ** 2 for values in per])) / num_draws) for name in per[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--note", default="docs/spin_glasses_at_scale.md")
    args = parser.parse_args(argv)
    lines = open(args.note, encoding="utf8").read().splitlines()
    print("| K | N | β | D | observable | exact (error) | PT (table) | z PT | generated (table) | z generated |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    z_pt, z_gen, check = {name: [] for name in LABELS}, {name: [] for name in LABELS}, []
    start = time.time()
    for k, n, beta, num_draws, pt, generated in ROWS:
        entries = table_entries(lines, k, n, beta, pt, generated)
        exact = exact_values(k, n, beta, num_draws)
        for name, label in LABELS.items():
            value, error = exact[name]
            (gen, gen_err), (eq, eq_err) = entries[name]
            z_pt[name].append((eq - value) / np.hypot(eq_err, error))
            z_gen[name].append((gen - value) / np.hypot(gen_err, error))
            print(f"| {k} | {n} | {beta} | {num_draws} | {label} | {value:.6f} ({error:.1g}) | {eq} ± {eq_err} | "
                  f"{z_pt[name][-1]:+.2f} | {gen} ± {gen_err} | {z_gen[name][-1]:+.2f} |", flush=True)
        (sampled, sampled_err), (quadrature, _) = exact["sampled_mattis2"], exact["mattis2"]
        check.append((sampled - quadrature) / sampled_err)
    for label, z in (("PT", z_pt), ("generated", z_gen)):
        every = np.concatenate([np.array(v) for v in z.values()])
        print(f"{label}: {len(every)} comparisons, mean z² {np.mean(every**2):.2f}, largest |z| "
              f"{np.max(np.abs(every)):.2f}; per observable mean z² " + ", ".join(
                  f"{name} {np.mean(np.array(v)**2):.2f}" for name, v in z.items()))
    check = np.array(check)
    print(f"sampled ⟨Σ m²⟩ against the quadrature: mean z² {np.mean(check**2):.2f}, largest |z| "
          f"{np.max(np.abs(check)):.2f} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
