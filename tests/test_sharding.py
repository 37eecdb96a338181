"""Sharding of the trajectory batch over devices (4 fake CPU devices in a subprocess), multi-host helper,
and study sweeps split over processes."""

import os
import subprocess
import sys
import textwrap

import pytest
import xarray as xr

from statphys.studies import runner

# XLA_FLAGS must be set before jax is imported, hence a fresh interpreter.
SHARDED_VS_UNSHARDED = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    from statphys.models import CurieWeiss
    from statphys.physics import ExactScore, make_schedule
    from statphys.physics.trajectory import reverse_sample, magnetization
    from statphys.physics.sharding import batch_mesh, sharded_reverse_sample, shard_leading_axis, initialize_distributed

    assert jax.device_count() == 4
    assert initialize_distributed() == (0, 1)  # no cluster variables: nothing to start
    schedule = make_schedule("ou")
    score = ExactScore(CurieWeiss(32, 1.3, quadrature_points=8), schedule)
    key = jax.random.PRNGKey(7)
    for sampler in ("euler_maruyama", "ddpm", "pf_heun"):
        kw = dict(num_steps=20, batch=64, n=32, sampler=sampler, observables={"m": magnetization},
                  record_every=5, record_path=True)
        a = reverse_sample(key, score, schedule, **kw)
        b = sharded_reverse_sample(key, score, schedule, **kw)
        assert len(b.x.sharding.device_set) == 4 and b.x.sharding.spec[0] == "batch", b.x.sharding
        assert b.x.addressable_shards[0].data.shape == (16, 32)
        # the prior and the noise are drawn for the whole batch from the same keys: equal to the last bit
        assert np.array_equal(a.path[0], b.path[0]), sampler
        for got, want in ((b.path, a.path), (b.x, a.x), (b.denoised, a.denoised), (b.observables["m"], a.observables["m"])):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=1e-9, err_msg=sampler)
    # one step from the same state: bit-identical (row-local kernels, no cross-device reduction)
    x = schedule.sigma(schedule.start_time) * jax.random.normal(jax.random.PRNGKey(3), (64, 32))
    for d in (2, 4):
        one = dict(num_steps=1, sampler="euler_maruyama")
        a = reverse_sample(key, score, schedule, x_init=x, **one)
        b = sharded_reverse_sample(key, score, schedule, x_init=x, mesh=batch_mesh(jax.devices()[:d]), **one)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.denoised, b.denoised), d
    # a batch that 4 does not divide uses the largest divisor of it; disorder samples along the leading axis
    assert batch_mesh(batch=6).size == 3 and batch_mesh(batch=7).size == 1
    couplings = shard_leading_axis(jnp.ones((8, 5, 5)))
    assert len(couplings.sharding.device_set) == 4
    print("OK")
    """
)


@pytest.mark.slow
def test_sharded_reverse_sample_matches_unsharded_on_four_cpu_devices():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    for name in ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "SLURM_NTASKS"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", SHARDED_VS_UNSHARDED], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


TINY = """
kind = "generation"
description = "tiny"
seed = 3
[params]
n = 6
beta = [0.5, 1.5, 2.0]
samplers = ["euler_maruyama"]
num_steps = 20
num_samples = 64
bootstrap = 20
"""


def test_process_split_from_arguments_and_environment(monkeypatch):
    monkeypatch.delenv("JAX_PROCESS_INDEX", raising=False)
    monkeypatch.delenv("JAX_NUM_PROCESSES", raising=False)
    assert runner.process_split() == (0, 1)
    assert runner.process_split(2, 3) == (2, 3)
    monkeypatch.setenv("JAX_PROCESS_INDEX", "1")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "4")
    assert runner.process_split() == (1, 4)
    assert runner.process_split(process_index=3) == (3, 4)
    for index, count in ((4, 4), (-1, 2), (0, 0)):
        with pytest.raises(runner.StudyError, match="process index"):
            runner.process_split(index, count)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(runner.StudyError, match="JAX_NUM_PROCESSES"):
        runner.process_split()


def test_sweep_split_over_processes_equals_a_single_process_run(tmp_path, monkeypatch):
    monkeypatch.delenv("JAX_PROCESS_INDEX", raising=False)
    monkeypatch.delenv("JAX_NUM_PROCESSES", raising=False)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    study = runner.load(str(path))
    single = runner.run(study, tmp_path / "single", progress=False)
    split = tmp_path / "split"
    # process 0 of 2 owns chunks 0 and 2; chunk 1 is missing, so it does not combine
    assert runner.run(study, split, progress=False, process_index=0, num_processes=2) is None
    assert runner.status(study, split) == (2, 3)
    assert not (runner.output_dir(study, split) / "tiny.nc").exists()
    # process 1 computes chunk 1 and never combines
    monkeypatch.setenv("JAX_PROCESS_INDEX", "1")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    assert runner.run(study, split, progress=False) is None
    assert runner.status(study, split) == (3, 3)
    # process 0 again (or a later single-process run): nothing to compute, combines
    combined = runner.run(study, split, progress=False, process_index=0)
    assert combined is not None and (runner.output_dir(study, split) / "tiny.nc").exists()
    xr.testing.assert_identical(combined.drop_attrs(), single.drop_attrs())
    monkeypatch.delenv("JAX_PROCESS_INDEX")
    monkeypatch.delenv("JAX_NUM_PROCESSES")
    again = runner.run(study, split, progress=False)
    xr.testing.assert_identical(again.drop_attrs(), single.drop_attrs())
