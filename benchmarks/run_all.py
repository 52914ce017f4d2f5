"""`make bench`: run every benchmark script in turn; each prints its table and writes JSON."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "generate_speed.py",
    "scale_projection.py",
    "train_speed.py",
    "translate_speed.py",
    "recogniser_speed.py",
]

if __name__ == "__main__":
    extra = sys.argv[1:]
    for script in SCRIPTS:
        if (HERE / script).exists():
            print(f"== {script}", flush=True)
            subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
