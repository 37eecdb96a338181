"""Study files: validation before compute, chunked runs, resume after a killed process, provenance."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from statphys.studies import cli, compilation, datasets, provenance, runner, study_file

TINY = """
kind = "generation"
description = "tiny"
seed = 3
[params]
n = 6
beta = {beta}
samplers = ["euler_maruyama"]
num_steps = 20
num_samples = 64
bootstrap = 20
"""


def write(tmp_path, text, name="tiny"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, match",
    [
        ('kind = "generation"\nkinds = 1\n', "unknown top-level key 'kinds'"),
        ('kind = "generatoin"\n', "unknown kind 'generatoin'; allowed kinds"),
        ('kind = "generation"\n[params]\nbetta = 1.0\n', "unknown key 'betta'.*allowed"),
        ('kind = "generation"\n[params]\nn = "64"\n', "n must be an integer"),
        ('kind = "generation"\n[params]\nsamplers = ["leapfrog"]\n', "unknown sampler 'leapfrog'"),
        ('kind = "generation"\n[params]\nbeta = -1.0\n', "beta must be >= 0"),
        ('kind = "generation"\n[params]\nschedule = "linear"\n', "unknown schedule"),
        ('kind = "generation"\n[params]\nspacing = "cubic"\n', "unknown time spacing"),
        ('kind = "generation"\nprecision = "float16"\n', "precision must be one of"),
        ('kind = "generation"\n[profiles.huge]\nn = 2\n', "unknown profile"),
        ('kind = "generation"\n[params\n', "not valid TOML"),
    ],
)
def test_bad_study_files_are_rejected_with_the_key_named(tmp_path, text, match):
    with pytest.raises(study_file.StudyError, match=match):
        study_file.load(str(write(tmp_path, text)))


def test_every_shipped_study_file_validates():
    for path in sorted(study_file.STUDIES_DIR.glob("*.toml")):
        for profile in study_file.PROFILES:
            study_file.load(str(path), profile)


def test_results_folder_that_cannot_be_written_is_refused_before_any_compute(tmp_path, monkeypatch, capsys):
    """--out below a file: a StudyError naming the folder before the first chunk runs (the study's run is never
    called), and `statphys run` exits 2 with the message instead of an OSError after the compute."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    study = runner.load(str(write(tmp_path, TINY.format(beta="1.0"))))
    monkeypatch.setattr(study.module, "run", lambda *args: pytest.fail("a chunk ran"))
    with pytest.raises(study_file.StudyError, match="cannot use the results folder"):
        runner.run(study, blocked / "out", progress=False)
    monkeypatch.undo()
    assert cli.main(["run", str(write(tmp_path, TINY.format(beta="1.0"))), "--out", str(blocked / "out")]) == 2
    assert "choose another with --out" in capsys.readouterr().err


def test_sweep_runs_in_chunks_with_provenance_and_reuses_them(tmp_path):
    study = runner.load(str(write(tmp_path, TINY.format(beta="[0.5, 1.5]"))))
    assert len(study.points()) == 2
    jax.clear_caches()  # functions traced by earlier tests in this process are traced again here (trace_s > 0)
    ds = runner.run(study, tmp_path / "out", progress=False)
    assert ds["tv"].dims == ("beta", "sampler") and list(ds["beta"].values) == [0.5, 1.5]
    for key in ("config", "package_version", "git_commit", "seed", "device", "wall_time_s", "finished"):
        assert key in ds.attrs
    chunks = sorted((tmp_path / "out" / "tiny" / "default" / "chunks").glob("*.nc"))
    chunk_times = [xr.load_dataset(c, engine="h5netcdf").attrs["chunk_wall_time_s"] for c in chunks]
    assert ds.attrs["wall_time_s"] == pytest.approx(sum(chunk_times), abs=2e-3)  # the chunks' own compute times
    assert (ds.attrs["chunks_computed"], ds.attrs["chunks_reused"]) == (2, 0)
    chunk_compile = [compilation.CompileTimes.from_attrs(xr.load_dataset(c, engine="h5netcdf").attrs, "chunk_")
                     for c in chunks]
    total = compilation.CompileTimes.from_attrs(ds.attrs)
    assert total == pytest.approx(tuple(a + b for a, b in zip(*chunk_compile)), abs=2e-3)  # by stage, summed
    assert ds.attrs["compile_time_s"] == pytest.approx(total.total_s, abs=5e-3) and total.trace_s > 0
    assert not any(name.startswith("chunk_") for name in ds.attrs)
    for name in ds.variables:  # CF attributes on every variable
        assert ds[name].attrs.get("long_name"), name
        assert ds[name].dtype.kind in "USO" or ds[name].attrs.get("units"), name
    stamps = [c.stat().st_mtime_ns for c in chunks]
    again = runner.run(study, tmp_path / "out", progress=False)
    assert [c.stat().st_mtime_ns for c in chunks] == stamps  # nothing recomputed
    assert (again.attrs["chunks_computed"], again.attrs["chunks_reused"]) == (0, 2)
    assert again.attrs["wall_time_s"] == ds.attrs["wall_time_s"]  # a rerun does not overwrite the compute time
    changed = runner.load(str(write(tmp_path, TINY.format(beta="[0.5, 1.5]").replace("seed = 3", "seed = 4"))))
    assert runner.status(changed, tmp_path / "out") == (0, 2)  # a changed config never reuses chunks

    # provenance names the code each chunk was computed with; a resume across a code change lists both
    assert ds.attrs["git_commit"] == provenance.source_revision()
    first = chunks[0]
    reread = xr.load_dataset(first, engine="h5netcdf")
    reread.attrs["chunk_git_commit"] = "0123abc+dirty"
    datasets.write_atomic(reread, first)
    mixed = runner.run(study, tmp_path / "out", progress=False)
    assert mixed.attrs["git_commit"] == ",".join(sorted({"0123abc+dirty", provenance.source_revision()}))
    assert "chunk_git_commit" not in mixed.attrs


def test_compile_times_split_tracing_lowering_and_compiling():
    """A new jitted function's first call traces, lowers and compiles (or loads) one module; its second call
    none, so a difference of compile_times() measures exactly the first call."""
    import jax

    x = jnp.arange(7.0)
    f = jax.jit(lambda x: jnp.cumsum(jnp.sin(x) * 3.25))
    before = compilation.compile_times()
    f(x).block_until_ready()
    first = compilation.compile_times() - before
    assert first.trace_s > 0 and first.lower_s > 0 and first.compile_s + first.cache_load_s > 0
    assert first.compiles + first.cache_hits == 1
    assert first.total_s == pytest.approx(sum(first[:4]))
    middle = compilation.compile_times()
    f(x).block_until_ready()
    assert compilation.compile_times() - middle == compilation.CompileTimes()


def test_compilation_cache_stays_off_when_the_environment_says_off(tmp_path, monkeypatch):
    """STATPHYS_JAX_CACHE=off (set by conftest for the whole suite): `enable_compilation_cache()` leaves JAX's
    cache directory as it was and returns None; an explicit directory still turns the cache on there."""
    monkeypatch.setenv("STATPHYS_JAX_CACHE", "off")
    before = jax.config.jax_compilation_cache_dir
    assert compilation.enable_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir == before
    try:
        assert compilation.enable_compilation_cache(tmp_path / "cache") == tmp_path / "cache"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cache")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_compilation_cache_directory_that_cannot_be_written(tmp_path, monkeypatch, capsys):
    """A cache directory that cannot be created (here: below a file): named by $STATPHYS_JAX_CACHE, a clear error
    and `statphys run` exits 2 before any compute; at the default location (a read-only home) a warning, the cache
    stays off, JAX's cache directory is left as it was."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv("STATPHYS_JAX_CACHE", str(blocked / "cache"))
    with pytest.raises(compilation.CacheDirectoryError, match="cannot be used"):
        compilation.enable_compilation_cache()
    assert cli.main(["run", "no_such_study.toml"]) == 2
    assert "STATPHYS_JAX_CACHE to a writable directory" in capsys.readouterr().err
    monkeypatch.delenv("STATPHYS_JAX_CACHE")
    monkeypatch.setenv("HOME", str(blocked))
    assert compilation.enable_compilation_cache() is None
    assert "running without the persistent compilation cache" in capsys.readouterr().err
    assert jax.config.jax_compilation_cache_dir == before


def test_release_compiled_code_gives_the_mappings_of_compiled_programs_back():
    """Compiled programs hold memory mappings until `release_compiled_code` drops them (above its share of the
    kernel's limit only); a dropped program compiles again at its next call and gives the same numbers."""
    mappings = compilation.memory_mappings()
    if mappings is None:
        pytest.skip("no /proc: the mappings cannot be counted here")
    x = jnp.linspace(0.0, 1.0, 16).reshape(4, 4)
    functions = [jax.jit(lambda y, k=k: jnp.tanh(k * y) @ y) for k in range(40)]
    first = [np.asarray(f(x)) for f in functions]
    held = compilation.memory_mappings()[0]
    assert held >= mappings[0] + 40  # several mappings per compiled program
    assert not compilation.release_compiled_code(share=1.0)  # below the limit: nothing dropped
    assert compilation.memory_mappings()[0] >= held - 5
    assert compilation.release_compiled_code(share=0.0)
    assert compilation.memory_mappings()[0] < held - 40
    for f, value in zip(functions, first):
        np.testing.assert_array_equal(np.asarray(f(x)), value)


@pytest.mark.slow
def test_second_run_compiles_nothing(tmp_path):
    """Two `statphys run`s of a study into fresh folders with one persistent cache: the second loads every
    module the first compiled, down to the smallest eagerly run primitive, and XLA compiles none (10 s on 2
    CPU cores, 35 s when they are shared by a dozen processes)."""
    path = write(tmp_path, TINY.format(beta="1.0"))
    env = {**os.environ, "STATPHYS_JAX_CACHE": str(tmp_path / "cache")}
    runs = []
    for out in (tmp_path / "first", tmp_path / "second"):
        subprocess.run([sys.executable, "-m", "statphys.studies.cli", "run", str(path), "--out", str(out), "--quiet"],
                       env=env, check=True, capture_output=True, timeout=300)
        runs.append(compilation.CompileTimes.from_attrs(xr.load_dataset(out / "tiny" / "default" / "tiny.nc").attrs))
    first, second = runs
    assert first.compiles > 0 and first.cache_hits == 0
    assert (second.compiles, second.cache_hits, second.compile_s) == (0, first.compiles, 0.0)


def test_swept_strings_of_different_lengths_survive_saving(tmp_path):
    """Chunks read back carry their string width as encoding; the combined file must not inherit the first
    chunk's (here 4 characters) and truncate "euler_maruyama"."""
    chunks = []
    for name in ("ddim", "euler_maruyama"):
        datasets.write_atomic(xr.Dataset({"tv": (("sampler",), [0.1])}, coords={"sampler": [name]}),
                              tmp_path / f"{name}.nc")
        chunks.append(xr.load_dataset(tmp_path / f"{name}.nc", engine="h5netcdf"))
    datasets.write_atomic(xr.combine_by_coords(chunks), tmp_path / "combined.nc")
    assert list(xr.load_dataset(tmp_path / "combined.nc")["sampler"].values) == ["ddim", "euler_maruyama"]


def test_killed_run_resumes_to_identical_results(tmp_path):
    """SIGKILL a `statphys run` after its first chunk; the rerun finishes and equals an uninterrupted run."""
    text = TINY.format(beta="[0.3, 0.6, 0.9, 1.2, 1.5, 1.8]")
    path = write(tmp_path, text)
    out = tmp_path / "killed"
    chunks = out / "tiny" / "default" / "chunks"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "statphys.studies.cli", "run", str(path), "--out", str(out), "--quiet"], env=env)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(chunks.glob("*.nc"))) < 1 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before, total = runner.status(runner.load(str(path)), out)
    assert 1 <= done_before < total  # a half-written temporary file is never counted as a chunk
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert not list(chunks.glob("*.tmp*"))
    resumed = xr.load_dataset(out / "tiny" / "default" / "tiny.nc")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "clean"), "--quiet"]) == 0
    clean = xr.load_dataset(tmp_path / "clean" / "tiny" / "default" / "tiny.nc")
    xr.testing.assert_identical(resumed.drop_attrs(), clean.drop_attrs())


def test_cli_list_and_status(capsys, tmp_path):
    assert cli.main(["list"]) == 0
    assert "curie_weiss_generation" in capsys.readouterr().out
    assert cli.main(["status", "curie_weiss_generation", "--out", str(tmp_path)]) == 0
    assert "0/1 chunks done" in capsys.readouterr().out
    assert cli.main(["run", "no_such_study"]) == 2


def _chunk(schedule, times, **variables):
    data = {name: (("schedule", "time") if np_values.ndim else ("schedule",), np_values[None])
            for name, np_values in ((k, __import__("numpy").asarray(v, dtype=float)) for k, v in variables.items())}
    return xr.Dataset(data, coords={"schedule": [schedule], "time": times})


def test_combine_keeps_per_chunk_time_grids_without_padding():
    """Two chunks on different time grids (as fluctuation_theorems' schedules): an outer join would pad half
    of every time-resolved variable with NaN; combine keeps each grid on a time_index dimension."""
    import numpy as np

    a = _chunk("ou", [0.0, 0.5, 1.0], rate=[1.0, 2.0, 3.0], flip=0.3)
    b = _chunk("cosine", [0.0, 0.2, 0.9], rate=[4.0, 5.0, 6.0], flip=0.7)
    combined = datasets.combine([a, b], ["schedule"])
    assert combined["rate"].dims == ("schedule", "time_index")
    assert not np.isnan(combined["rate"].values).any()
    np.testing.assert_array_equal(combined["time"].sel(schedule="cosine").values, [0.0, 0.2, 0.9])
    np.testing.assert_array_equal(combined["rate"].sel(schedule="cosine").values, [4.0, 5.0, 6.0])
    same = datasets.combine([a, _chunk("cosine", [0.0, 0.5, 1.0], rate=[4.0, 5.0, 6.0], flip=0.7)], ["schedule"])
    assert same["rate"].dims == ("schedule", "time")  # a shared grid stays a plain coordinate


@pytest.mark.parametrize("other, match", [
    (_chunk("cosine", [0.0, 0.2], rate=[4.0, 5.0], flip=0.7), "different lengths along 'time'"),
    (_chunk("cosine", [0.0, 0.5, 1.0], rate=[4.0, 5.0, 6.0]), "different variables"),
])
def test_combine_refuses_what_would_need_padding(other, match):
    a = _chunk("ou", [0.0, 0.5, 1.0], rate=[1.0, 2.0, 3.0], flip=0.3)
    with pytest.raises(datasets.CombineError, match=match):
        datasets.combine([a, other], ["schedule"])


def test_sizes_beyond_enumeration_are_refused_at_validation(tmp_path):
    path = write(tmp_path, 'kind = "spin_glass_generation"\n[params]\nn = 40\n', "sk40")
    with pytest.raises(study_file.StudyError, match=r"n = 40: .*exact enumeration .* n <= 20"):
        study_file.load(str(path))


def test_runtime_table_is_checked_and_listed(tmp_path, capsys):
    bad = write(tmp_path, 'kind = "generation"\n[runtime]\nhuge = "1 s"\n', "bad")
    with pytest.raises(study_file.StudyError, match=r"\[runtime\] maps a profile"):
        study_file.load(str(bad))
    good = study_file.load(str(write(tmp_path, 'kind = "generation"\n[runtime]\nsmall = "9 s"\n', "good")), "small")
    assert good.expected_runtime() == "9 s"
    assert cli.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert all("small:" in line for line in listed.splitlines()), listed  # every shipped study states its time


def test_list_into_a_closed_pipe_ends_quietly():
    command = f"{sys.executable} -c 'from statphys.studies.cli import entry_point; entry_point()' list | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stdout.splitlines()) == 1


def test_drift_instability_time_matches_yu_huang_and_maps_through_alpha():
    """OU: t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) (Yu & Huang eq. 31); a variance-preserving schedule reaches
    the same α_t = e^{−t_S} (the criterion depends on time only through α when g² = −2f)."""
    import numpy as np

    from statphys.physics.schedules import make_schedule
    from statphys.physics.transitions import gmm_drift_instability_time as drift_instability_time

    for mu, var in ((1.0, 1.0), (1.0, 0.1), (1.0, 0.4), (1.5, 0.5)):
        closed = 0.5 * np.log(mu**2 + np.sqrt(var**2 - 2 * var + mu**4 + 1))
        t_ou = drift_instability_time(make_schedule("ou", T=3.0, t_min=1e-3), mu, np.sqrt(var))
        assert t_ou == pytest.approx(closed, abs=1e-9)
        for name in ("cosine", "vp_linear"):
            schedule = make_schedule(name, T=3.0, t_min=1e-3)
            t = drift_instability_time(schedule, mu, np.sqrt(var))
            assert float(schedule.alpha(t)) == pytest.approx(np.exp(-closed), abs=1e-9)
    assert np.isnan(drift_instability_time(make_schedule("ou", T=3.0, t_min=1e-3), 0.5, 1.0))  # μ² ≤ σ² − σ⁴/2


def test_stages_are_stored_loaded_and_checked_by_name(tmp_path):
    """`checkpoints.stored` computes outside a run, stores and reloads inside one, reads a file written before the
    header, and refuses a foreign file."""
    import pickle

    import numpy as np

    from statphys.studies import checkpoints

    calls = []

    def compute():
        calls.append(1)
        return {"a": jax.numpy.arange(3.0), "b": (np.ones(2), None)}

    plain = checkpoints.stored("stage", compute)
    assert isinstance(plain["a"], np.ndarray) and len(calls) == 1
    with checkpoints.enabled(tmp_path / "stages") as counts:
        first = checkpoints.stored("stage", compute)
        again = checkpoints.stored("stage", compute)
    assert len(calls) == 2 and (counts.computed, counts.reused) == (1, 1)
    assert list(counts.wall_times) == ["stage"] and counts.wall_times["stage"] >= 0  # the computed stage only
    np.testing.assert_array_equal(again["a"], first["a"])
    assert again["b"][1] is None
    stage_file, = (tmp_path / "stages").glob("*.pkl")
    stage_file.rename(tmp_path / "stages" / checkpoints._stage_path(tmp_path / "stages", "other").name)
    with checkpoints.enabled(tmp_path / "stages"), pytest.raises(RuntimeError, match="holds 'stage', not 'other'"):
        checkpoints.stored("other", compute)
    old_format = tmp_path / "old"  # a stage file written before the header: pickle of (name, result)
    old_format.mkdir()
    checkpoints._stage_path(old_format, "stage").write_bytes(pickle.dumps(("stage", {"a": np.arange(2.0)})))
    with checkpoints.enabled(old_format) as counts:
        np.testing.assert_array_equal(checkpoints.stored("stage", compute)["a"], np.arange(2.0))
    assert counts.reused == 1 and checkpoints.finished_stages(old_format)[0][0] == "stage"


def test_chunk_stopped_between_stages_resumes_from_its_stored_stages(tmp_path, monkeypatch, capsys):
    """A chunk that stops after its first stage: `statphys status` shows the stored stage with its wall time, the
    rerun loads that stage instead of computing it (counted in the provenance), removes the stage directory, and
    gives the uninterrupted run's dataset."""
    from statphys.studies import checkpoints, cli

    path = write(tmp_path, TINY.format(beta="0.8"))
    study = runner.load(str(path))
    original = study.module.run
    computed, stop = [], [True]

    def staged_run(params, key):
        def first_stage():
            computed.append(1)
            return original(params, key)

        first = checkpoints.stored("first stage", first_stage)
        if stop[0]:
            raise KeyboardInterrupt
        return first

    monkeypatch.setattr(study.module, "run", staged_run)
    with pytest.raises(KeyboardInterrupt):
        runner.run(study, tmp_path / "out", progress=False)
    chunks = tmp_path / "out" / "tiny" / "default" / "chunks"
    stage_dirs = list(chunks.glob("*.stages"))
    assert len(stage_dirs) == 1 and len(list(stage_dirs[0].glob("*.pkl"))) == 1 and len(computed) == 1
    ((index, [(name, seconds)]),) = runner.unfinished_stages(study, tmp_path / "out").items()
    assert (index, name) == (0, "first stage") and seconds > 0
    capsys.readouterr()
    assert cli.main(["status", str(path), "--out", str(tmp_path / "out"), "--stages"]) == 0
    shown = capsys.readouterr().out
    assert "0/1 chunks done" in shown and "chunk 1/1: 1 stages finished" in shown and "s  first stage" in shown
    stop[0] = False
    resumed = runner.run(study, tmp_path / "out", progress=False)
    assert len(computed) == 1 and resumed.attrs["stages_reused"] == 1
    assert json.loads(resumed.attrs["stage_wall_times_s"]) == {}  # the loaded stage took no time in this run
    (reused_times,) = json.loads(resumed.attrs["reused_stage_wall_times_s"]).values()
    assert reused_times == {"first stage": seconds}  # as its header recorded it when computed
    device = f"{jax.devices()[0].platform}:{jax.devices()[0].device_kind} (jax {jax.__version__})"
    assert json.loads(resumed.attrs["stage_devices"]) == {device: 1}
    uninterrupted = runner.run(study, tmp_path / "uninterrupted", progress=False)
    (stage_times,) = json.loads(uninterrupted.attrs["stage_wall_times_s"]).values()
    assert list(stage_times) == ["first stage"] and stage_times["first stage"] > 0
    assert not list(chunks.glob("*.stages"))
    monkeypatch.setattr(study.module, "run", original)
    clean = runner.run(study, tmp_path / "clean", progress=False)
    assert clean.attrs["stages_reused"] == 0 and json.loads(clean.attrs["reused_stage_wall_times_s"]) == {}
    xr.testing.assert_identical(resumed.drop_attrs(), clean.drop_attrs())


TINY_SPIN_GLASS_SCALING = """
kind = "spin_glass_scaling"
description = "tiny"
seed = 1
precision = "float64"
[params]
sizes = [6, 8]
num_disorder = 2
batch = 4
num_steps = 4
burn_in = 4
posterior_replicas = 2
posterior_sweeps = 2
sweeps_per_step = 2
forward_batch = 4
pt_num_betas = 5
pt_chains = 4
pt_sweeps = 20
pt_burn_in = 20
emcee_steps = 40
"""

TINY_FRANZ_PARISI_SK = """
kind = "franz_parisi_sk"
description = "tiny"
seed = 0
precision = "float64"
[params]
n = 12
times = [0.3, 1.0]
num_disorder = 2
chains = 4
groups = 2
pt_sweeps = 50
sweeps = 20
"""


def test_spin_glass_scaling_without_tempered_posterior_chains_runs_and_draws(tmp_path):
    """posterior_replicas = 1 (no β with tempered posterior chains): no swap-acceptance variables, no error (the
    per-β lists of swap acceptances were stacked when empty)."""
    from statphys.paper import plots

    text = TINY_SPIN_GLASS_SCALING.replace("posterior_replicas = 2", "posterior_replicas = 1")
    ds = runner.run(runner.load(str(write(tmp_path, text))), tmp_path / "out", progress=False)
    assert "tempered_beta" not in ds.dims and "gen_swap_min" not in ds and "forward_swap_min" not in ds
    assert ds.gen_q12.sizes["beta"] == 2 and np.isfinite(ds.gen_q12.values).all()
    plots.plot("spin_glass_scaling", ds)


@pytest.mark.slow
def test_spin_glass_scaling_in_blocks_of_disorder_samples_is_the_per_sample_run(tmp_path):
    """disorder_block = 2 (both samples of the tiny study in one vmapped program and one stage per block) against
    the per-sample stages: the same dataset up to rounding (1e-9), one stage per block and task (5 per size)."""
    from statphys.studies import checkpoints

    results = {}
    for block in (1, 2):
        study = runner.load(str(write(tmp_path, TINY_SPIN_GLASS_SCALING + f"disorder_block = {block}\n",
                                      name=f"block{block}")))
        point, = study.points()
        with checkpoints.enabled(tmp_path / f"stages{block}") as counts:
            results[block] = study.module.run(dict(point), runner._chunk_key(study.seed, 0))
        stages = [name for name, _ in checkpoints.finished_stages(tmp_path / f"stages{block}")]
        blocked = [name for name in stages if "samples=0-1" in name]
        assert len(blocked) == (2 * 5 if block == 2 else 0) and counts.computed == len(stages)  # 2 sizes
    for name in results[1].data_vars:
        np.testing.assert_allclose(results[2][name].values, results[1][name].values, rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_chunk_id_is_the_same_from_the_uninstalled_source_tree(tmp_path):
    """The layout of scripts/run_study_on_gpu.sh (the layers linked into a folder on PYTHONPATH) in a process that
    finds no installed distribution gives the chunk id of the installed package: stages computed on a lent machine
    are reused here. (With the version taken from the installed distribution alone they were not: 'unknown' there.)"""
    study_path = write(tmp_path, TINY_SPIN_GLASS_SCALING)
    root = pathlib.Path(__file__).resolve().parents[1]
    package = tmp_path / "pkg" / "statphys"
    package.mkdir(parents=True)
    for layer in ("models", "physics", "studies", "paper"):
        (package / layer).symlink_to(root / layer)
    code = f"""import importlib.metadata as metadata
installed_version = metadata.version
def not_installed(name):
    if name == "statphys-diffusion":
        raise metadata.PackageNotFoundError(name)
    return installed_version(name)
metadata.version = not_installed
from statphys.studies import runner
study = runner.load({str(study_path)!r})
print(runner.__file__, runner.chunk_id(study, dict(study.points()[0])))"""
    printed = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(package.parent)},
                             cwd=tmp_path, check=True, capture_output=True, text=True, timeout=120).stdout.split()
    study = runner.load(str(study_path))
    assert printed[0].startswith(str(package)) and printed[1] == runner.chunk_id(study, dict(study.points()[0]))


@pytest.mark.slow
def test_gpu_script_archives_the_stages_of_a_stopped_run_and_statphys_run_finishes_from_them(tmp_path,
                                                                                         monkeypatch):
    """scripts/run_study_on_gpu.sh on the tiny spin_glass_scaling study under a 20 s limit (on 2 cores it stops
    mid-way; a faster machine may finish): the archive holds what was done, and `runner.run` on its contents reuses
    it (every stored stage, or the finished chunk: nothing computed again) and gives the uninterrupted run's
    dataset; and the script seeded (fifth argument) with the stages of a run stopped after three computes only the
    rest, to the same dataset."""
    import io
    import lzma
    import tarfile

    study_path = write(tmp_path, TINY_SPIN_GLASS_SCALING)
    parts = tmp_path / "parts"
    script = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "run_study_on_gpu.sh"
    subprocess.run(["bash", str(script), str(study_path), "default", str(parts), "20"], cwd=script.parents[1],
                   env={**os.environ, "PYTHON": sys.executable}, check=True, capture_output=True, timeout=300)

    def unpack(parts, folder):
        stream = b"".join(part.read_bytes() for part in sorted(parts.glob("stages.tar.xz.*")))
        with tarfile.open(fileobj=io.BytesIO(lzma.decompress(stream))) as tar:
            tar.extractall(folder, filter="data")

    restored = tmp_path / "restored"
    unpack(parts, restored)
    study = runner.load(str(study_path))
    stored = sum(len(stages) for stages in runner.unfinished_stages(study, restored).values())
    chunk_done = any(restored.rglob("*.nc"))
    assert stored >= 1 or chunk_done
    clean = runner.run(study, tmp_path / "clean", progress=False)
    finished = runner.run(study, restored, progress=False)
    if stored:
        assert finished.attrs["stages_reused"] == stored
    xr.testing.assert_identical(finished.drop_attrs(), clean.drop_attrs())

    # a second command seeded with stages brought back (here: three, from a run stopped after them) computes only
    # the rest
    from statphys.studies import checkpoints

    seed, store = tmp_path / "seed", checkpoints.stored

    def stop_after_three(name, compute):
        if len(list(seed.rglob("*.pkl"))) == 3:
            raise KeyboardInterrupt
        return store(name, compute)

    with monkeypatch.context() as patch:
        patch.setattr(checkpoints, "stored", stop_after_three)
        with pytest.raises(KeyboardInterrupt):
            runner.run(study, seed, progress=False)
    second = subprocess.run(["bash", str(script), str(study_path), "default", str(tmp_path / "parts2"), "300",
                             str(seed)], cwd=script.parents[1], env={**os.environ, "PYTHON": sys.executable},
                            check=True, capture_output=True, text=True, timeout=600)
    assert "seeded with 3 stored stages" in second.stdout
    unpack(tmp_path / "parts2", tmp_path / "restored2")
    seeded = xr.load_dataset(next((tmp_path / "restored2").rglob("tiny.nc")))
    assert seeded.attrs["stages_reused"] == 3
    xr.testing.assert_identical(seeded.drop_attrs(), clean.drop_attrs())


@pytest.mark.slow
@pytest.mark.parametrize("text", [TINY_SPIN_GLASS_SCALING, TINY_FRANZ_PARISI_SK], ids=["spin_glass_scaling",
                                                                                     "franz_parisi_sk"])
def test_chunk_resumed_from_its_stored_stages_is_the_uninterrupted_run(tmp_path, text):
    """Every stage of a small chunk of a staged kind stored, then the chunk run again from the stored stages alone
    (nothing computed): the same dataset, bit for bit (a late-bound key or sample, or state kept across stages
    outside them, would break it)."""
    from statphys.studies import checkpoints

    study = runner.load(str(write(tmp_path, text)))
    point, = study.points()
    key = runner._chunk_key(study.seed, 0)
    with checkpoints.enabled(tmp_path / "stages") as first:
        computed = study.module.run(dict(point), key)
    with checkpoints.enabled(tmp_path / "stages") as second:
        resumed = study.module.run(dict(point), key)
    assert first.computed >= 2 and (second.computed, second.reused) == (0, first.computed)
    xr.testing.assert_identical(resumed, computed)


def test_every_kind_describes_its_variables():
    """Every study kind has VARIABLES (name -> (long_name, units)) whose long names say more than the name (the
    fallback of `datasets.describe_variables`, the name with spaces, tells a reader of the dataset nothing)."""
    kinds = study_file.kind_names()
    assert len(kinds) >= 20
    for kind in kinds:
        variables = getattr(study_file.kind_module(kind), "VARIABLES", None)
        assert variables, f"{kind} has no VARIABLES"
        for name, entry in variables.items():
            assert isinstance(entry, tuple) and len(entry) == 2 and all(isinstance(s, str) and s for s in entry), \
                (kind, name, entry)
            assert entry[0] != name.replace("_", " "), (kind, name)
