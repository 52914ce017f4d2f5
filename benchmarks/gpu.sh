#!/usr/bin/env bash
# The GAN's GPU measurements in one command, under 8 minutes on one GPU (issue #17, item 5):
#
#   benchmarks/gpu.sh            # JSON under $OUT/gpu if $OUT is set, else benchmarks/results/gpu
#
# 1. training speed (benchmarks/train_speed.py --device cuda): lite and full, CUT and
#    FastCUT, at plate shape (64x288, batch 16) and 256x256 (batch 1), channels-last and
#    mixed precision as `kplate train` runs there; then the full CUT plate-shape row again with
#    torch.compile, to see whether it pays;
# 2. translation throughput (benchmarks/translate_speed.py adds its CUDA rows);
# 3. the text-preserving loss's cost per step on the GPU (benchmarks/text_loss_cost.py);
# 4. a 2-process DDP check: `torchrun --nproc_per_node 2 -m kplate train` on a tiny
#    dataroot, on two GPUs when there are two, else on the CPU with gloo (NCCL will not
#    put two ranks on one GPU), recorded as such.
#
# Every part has its own time limit and its own status in gpu.json, so one failure still
# leaves the others' numbers. Needs: kplate installed (or run from the repository root)
# and a CUDA build of torch. Writes nothing outside the result folder and a temp folder.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python; fi
RESULTS=${OUT:-benchmarks/results}/gpu
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONWARNINGS=ignore
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STATUS="$RESULTS/status.txt"
: >"$STATUS"
START=$(date +%s)

part() {  # part NAME SECONDS COMMAND...: run with a limit, log, record the exit status
    local name=$1 limit=$2
    shift 2
    local t0=$(date +%s)
    echo "== $name (limit ${limit}s)"
    timeout "$limit" "$@" >"$RESULTS/$name.log" 2>&1
    local rc=$?
    echo "$name $rc $(( $(date +%s) - t0 ))" >>"$STATUS"
    tail -n 25 "$RESULTS/$name.log"
}

"$PY" - >"$RESULTS/machine.json" <<'EOF'
import json, os, torch
cuda = torch.cuda.is_available()
print(json.dumps({
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
    "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
    "cpus": os.cpu_count(),
}, indent=1))
EOF
cat "$RESULTS/machine.json"
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [ "${GPUS:-0}" -lt 1 ]; then
    echo "gpu.sh: no CUDA GPU visible to torch; nothing to measure" >&2
    exit 2
fi

part train_speed 170 "$PY" benchmarks/train_speed.py --device cuda --quick \
    --json "$RESULTS/train_speed.json"
part train_speed_compile 100 "$PY" benchmarks/train_speed.py --device cuda --quick --compile \
    --only "full cut 64x288" --json "$RESULTS/train_speed_compile.json"
part translate_speed 50 "$PY" benchmarks/translate_speed.py --device cuda --plates 512 \
    --json "$RESULTS/translate_speed.json"
part text_loss_cost_lite 25 "$PY" benchmarks/text_loss_cost.py --device cuda --batch 16 \
    --rounds 20 --json "$RESULTS/text_loss_cost_lite.json"
part text_loss_cost_full 25 "$PY" benchmarks/text_loss_cost.py --device cuda --profile full \
    --batch 16 --rounds 20 --json "$RESULTS/text_loss_cost_full.json"

# A tiny dataroot (16 synthetic plates in A, darker noisy copies in B) for the DDP check.
"$PY" - "$WORK/data" <<'EOF'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
from kplate.render import render_plate
root = Path(sys.argv[1])
rng = np.random.default_rng(0)
for folder in ("trainA", "trainB"):
    (root / folder).mkdir(parents=True)
for i in range(16):
    image = render_plate(f"{10 + i}가{1000 + i * 37}", None, height=64).image
    Image.fromarray(image).save(root / "trainA" / f"{i:03d}.png")
    noisy = np.clip(image * 0.6 + rng.normal(0, 20, image.shape) + 30, 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(root / "trainB" / f"{i:03d}.png")
EOF
if [ "$GPUS" -ge 2 ]; then DDP_DEVICE=cuda; else DDP_DEVICE=cpu; fi
echo "ddp_device $DDP_DEVICE" >>"$STATUS"
part ddp 80 "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 -m kplate train \
    --dataroot "$WORK/data" --name ddp --checkpoints-dir "$WORK/ck" --device "$DDP_DEVICE" \
    --profile lite --batch-size 2 --steps 20 --log-every 5 --no-progress

"$PY" - "$RESULTS" "$WORK/ck/ddp" "$START" <<'EOF'
import json, sys, time
from pathlib import Path
results, ddp, start = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
status = {}
for line in (results / "status.txt").read_text().splitlines():
    name, *rest = line.split()
    status[name] = rest[0] if name == "ddp_device" else {"rc": int(rest[0]), "seconds": int(rest[1])}
def load(name):
    path = results / name
    return json.loads(path.read_text()) if path.is_file() else None
rows = [json.loads(l) for l in (ddp / "train.jsonl").read_text().splitlines()] if (ddp / "train.jsonl").is_file() else []
summary = {
    "machine": load("machine.json"),
    "status": status,
    "train_speed": load("train_speed.json"),
    "train_speed_compile": load("train_speed_compile.json"),
    "translate_speed": load("translate_speed.json"),
    "text_loss_cost": [load("text_loss_cost_lite.json"), load("text_loss_cost_full.json")],
    "ddp": {"device": status.get("ddp_device"), "steps_logged": [r["step"] for r in rows],
            "finite": all(all(v == v for v in r.values() if isinstance(v, float)) for r in rows)},
    "seconds": round(time.time() - start, 1),
}
(results / "gpu.json").write_text(json.dumps(summary, indent=1) + "\n")
print(f"wrote {results / 'gpu.json'} ({summary['seconds']} s)")
EOF
