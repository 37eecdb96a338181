"""Test configuration: float64 reference checks on CPU, slow/GPU tests opt-in with --runslow."""

import os

os.environ["NETKET_ENABLE_X64"] = "1"  # tests run in float64; keep NetKet from changing it
os.environ["STATPHYS_JAX_CACHE"] = "off"  # `statphys run` inside a test leaves the user's compilation cache alone

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow or gpu")


def pytest_runtest_teardown(item, nextitem):
    """After each test file, give compiled programs back once the process holds half the kernel's limit on memory
    mappings (`studies.compilation.release_compiled_code`): the whole suite in one process (`pytest tests`, no -n)
    compiles more programs than that limit allows and crashed in XLA without it (one file added at most 7 800
    mappings, far from the other half)."""
    if nextitem is None or nextitem.path != item.path:
        from statphys.studies.compilation import release_compiled_code

        release_compiled_code()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow or GPU test: run with --runslow")
    for item in items:
        if "slow" in item.keywords or "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def run_tiny_study(tmp_path):
    """run_tiny_study(kind, params) -> the combined dataset of a tiny study of that kind, run through the runner
    (chunks saved, combined, read back from the .nc as `statphys run` leaves it); float64."""
    import json

    import xarray as xr

    from statphys.studies import runner

    def run(kind: str, params: dict):
        text = f'kind = "{kind}"\ndescription = "tiny"\nseed = 0\nprecision = "float64"\n[params]\n' + "".join(
            f"{name} = {json.dumps(value)}\n" for name, value in params.items())
        path = tmp_path / f"tiny_{kind}.toml"
        path.write_text(text)
        runner.run(runner.load(str(path)), tmp_path / "out", progress=False)
        return xr.load_dataset(tmp_path / "out" / f"tiny_{kind}" / "default" / f"tiny_{kind}.nc", engine="h5netcdf")

    return run


@pytest.fixture
def assert_no_padding():
    """assert_no_padding(ds, may_be_nan=()): no NaN in any variable of a result, except in the variables named in
    may_be_nan, and then only where the variable's long_name says when it is NaN (a value undefined there)."""
    import numpy as np

    def check(ds, may_be_nan=()):
        for name in ds.variables:
            if ds[name].dtype.kind != "f":
                continue
            nan = int(np.isnan(ds[name].values).sum())
            if nan:
                assert name in may_be_nan, f"{name}: {nan} NaN"
                assert "NaN" in ds[name].attrs.get("long_name", ""), f"{name}: NaN without a long_name saying why"

    return check


@pytest.fixture
def sk_posterior_draws():
    """sk_posterior_draws(n, beta, times, seeds, rows, stride) yields (seed, k, sk, alpha, sigma, x, exact) over
    SK couplings (one per seed) × OU times t_k: x_t = α s + σ ξ with `rows` exact draws s (keys stride·seed + k)
    and exact = E[s | x_t] by enumeration."""
    import jax
    import numpy as np

    from statphys.models.sk import SherringtonKirkpatrick

    def draws(n, beta, times, seeds, rows, stride):
        for seed in seeds:
            sk = SherringtonKirkpatrick.random(n, beta, seed=seed)
            for k, t in enumerate(times):
                alpha, sigma = np.exp(-t), np.sqrt(-np.expm1(-2 * t))
                s = np.asarray(sk.sample(jax.random.key(stride * seed + k), rows))
                x = alpha * s + sigma * np.random.default_rng(stride * seed + k).normal(size=s.shape)
                yield seed, k, sk, alpha, sigma, x, np.asarray(sk.posterior_mean(x, alpha, sigma))

    return draws
