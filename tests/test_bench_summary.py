"""The issue-18 summary of benchmarks/bench.py: peer rows are skipped, with a line saying so, when the optional
peer (diffrax) is not installed, and ratios are peer time / package time otherwise."""

import importlib.util
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("statphys_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(with_diffrax: bool):
    spec = {"d": 256, "branch_times": [0.1] * 19, "samples": 100,
            "rows": [{"name": "NumPy port", "cold": 9.0}, {"name": "full d", "cold": 3.0, "warm": 2.0, "compiles": 3},
                     {"name": "reduction", "cold": 1.0, "warm": 0.1, "compiles": 1}]}
    rows = [{"name": "reverse_sample (this package)", "cold": 2.0, "warm": 1.0, "compiles": 4}]
    if with_diffrax:
        rows.append({"name": "diffrax Euler + UnsafeBrownianPath (same score)", "cold": 3.0, "warm": 1.5,
                     "compiles": 3})
    gmm = {"name": "Gaussian mixture", "batch": 1024, "steps": 1000, "rows": rows}
    enum_rows = [{"kernel": "enumeration SK N=20 batch=16: matmul kernel", "numpy": 40.0, "first_s": 0.5,
                  "compile_s": 0.45, "compiles": 1}]
    return spec, gmm, [], enum_rows


def test_summary_skips_an_absent_peer_and_says_so(bench, capsys):
    bench.print_issue_summary(*_inputs(with_diffrax=False))
    out = capsys.readouterr().out
    assert "diffrax not installed" in out
    assert "| 3.00 | 4.50 |" in out  # cloning, full d: the port's 9.0 s against 3.0 end to end and 2.0 warm


def test_summary_ratio_is_peer_over_package(bench, capsys):
    bench.print_issue_summary(*_inputs(with_diffrax=True))
    out = capsys.readouterr().out
    assert "diffrax not installed" not in out
    line = next(row for row in out.splitlines() if row.startswith("| reverse SDE, Gaussian mixture"))
    assert line.endswith("| 1.50 | 1.50 |")  # 3.0 / 2.0 end to end, 1.5 / 1.0 warm
