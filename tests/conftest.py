"""Test configuration: float64 reference checks on CPU, slow/GPU tests opt-in with --runslow."""

import os

os.environ["NETKET_ENABLE_X64"] = "1"  # tests run in float64; keep NetKet from changing it

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow or gpu")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow or GPU test: run with --runslow")
    for item in items:
        if "slow" in item.keywords or "gpu" in item.keywords:
            item.add_marker(skip)
