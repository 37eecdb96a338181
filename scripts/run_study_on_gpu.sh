#!/usr/bin/env bash
# Run a study's compute on a lent GPU machine that lacks emcee (and netket), and bring every finished stage back
# as one archive; finish the analysis (the emcee fits, the result file) on any machine with the package installed.
#
#   on the GPU machine, in the repository root (no install needed: the package is put on PYTHONPATH):
#       bash scripts/run_study_on_gpu.sh spin_glass_scaling default $OUT 540
#   then here, with the folder the files came back to:
#       mkdir -p results && cat <folder>/stages.tar.xz.* | tar -xJ -C results && .venv/bin/statphys run <study>
#
# The study runs under `timeout` (the last argument, seconds; default 540). Its results folder is archived every
# 30 s and at the end, so a run stopped by the time limit still brings back the stages it finished (a stage is a
# disorder sample or a block of `disorder_block` samples: `studies.checkpoints`); `statphys run` on the archive's
# contents reuses them and computes only what is missing. A lent machine returns files only two folders deep, each
# at most 16 MiB, 64 MiB in all: the archive is one xz stream split into flat parts of 15 MiB
# (stages.tar.xz.00, .01, ...), and the script warns when the parts pass 64 MiB. The run stops at the first fit
# when emcee is absent (expected there). PYTHON names the interpreter (default python3).
#
# A run longer than one command continues from the stages an earlier command brought back: unpack its parts into a
# folder of the repository that git ignores (e.g. results/), send it along (the device tool's carry) and name it as
# the fifth argument; its contents seed the results folder, so the study computes only the missing stages:
#       bash scripts/run_study_on_gpu.sh spin_glass_scaling full $OUT 540 results
set -u
study=${1:?study name}
profile=${2:-default}
parts=${3:?folder to write the archive parts in, e.g. \$OUT}
limit=${4:-540}
seed=${5:-}
mkdir -p "$parts"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
package=$(mktemp -d)/pkg
mkdir -p "$package/statphys"
for layer in models physics studies paper; do ln -s "$PWD/$layer" "$package/statphys/$layer"; done
export PYTHONPATH="$package${PYTHONPATH:+:$PYTHONPATH}"
results=$(mktemp -d)/results
mkdir -p "$results"
if [ -n "$seed" ]; then
  cp -r "$seed"/. "$results"/ || exit
  echo "seeded with $(find "$results" -name '*.pkl' | wc -l) stored stages from $seed"
fi
"$python" -c "import jax, sys; print('python', sys.version.split()[0], 'jax', jax.__version__, jax.devices())"

save() {
  tar -C "$results" -cf - . | xz -6 -T0 > "$results.tar.xz" || return
  rm -f "$parts"/stages.tar.xz.* && split -b 15M -d "$results.tar.xz" "$parts/stages.tar.xz."
}
(trap 'exit 0' TERM; while true; do sleep 30 & wait $!; save
  echo "$(date +%T) stages finished: $(find "$results" -name '*.pkl' | wc -l)"; done) &
saver=$!
start=$(date +%s)
timeout "$limit" "$python" -c "import sys; from statphys.studies.cli import main
sys.exit(main(['run', '$study', '--profile', '$profile', '--out', '$results', '--quiet']))"
echo "study exit status $? after $(( $(date +%s) - start )) s"
kill "$saver" 2>/dev/null
wait "$saver" 2>/dev/null
save
"$python" - "$results" <<'EOF'
import pathlib, sys
from statphys.studies import checkpoints
for folder in sorted(pathlib.Path(sys.argv[1]).rglob("*.stages")):
    stages = checkpoints.finished_stages(folder)
    for name, seconds in stages:
        print(f"{seconds:9.2f} s  {name}")
    print(f"{len(stages)} stages, {sum(s for _, s in stages):.1f} s summed ({folder.name})")
EOF
ls -la "$parts"/stages.tar.xz.*
total=$(stat -c %s "$results.tar.xz")
if (( total > 64 * 1024 * 1024 )); then
  echo "WARNING: the archive is $total bytes, more than the 64 MiB a lent machine returns from one command"
fi
