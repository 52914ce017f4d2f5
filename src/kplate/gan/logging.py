"""What a run shows and leaves behind: tqdm bar, train.jsonl, TensorBoard, loss.png, grids.

No visdom or other server: everything is a file under the run folder. Losses are kept
on the device and fetched every `log_every` steps (one sync, not one per step); each step
still gets its own line in train.jsonl. Only rank 0 constructs a logger.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kplate.gan.data import to_uint8_image
from kplate.io.files import atomic_save_image, atomic_write_bytes

JSONL = "train.jsonl"


def read_history(path: Path, up_to_step: int) -> list[dict[str, Any]]:
    """Logged steps <= up_to_step (a resumed run drops steps logged after its checkpoint)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a hard kill
        if isinstance(row, dict) and row.get("step", 0) <= up_to_step:
            rows.append(row)
    return rows


class RunLogger:
    def __init__(
        self,
        run_dir: Path,
        names: tuple[str, ...],
        start_step: int,
        total_steps: int,
        progress: bool,
        tensorboard: bool,
    ) -> None:
        self.run_dir = run_dir
        self.names = names
        self.history = read_history(run_dir / JSONL, start_step)
        # Rewrite the log so it ends at the checkpoint we resume from.
        text = "".join(json.dumps(row) + "\n" for row in self.history)
        atomic_write_bytes(run_dir / JSONL, text.encode("utf-8"))
        self._jsonl = (run_dir / JSONL).open("a", encoding="utf-8")
        self._pending: list[tuple[int, int, float, torch.Tensor]] = []
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(
                log_dir=str(run_dir / "tensorboard"), purge_step=start_step + 1
            )
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total_steps,
                initial=start_step,
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
            )

    def record(self, step: int, epoch: int, lr: float, losses: torch.Tensor) -> None:
        self._pending.append((step, epoch, lr, losses))
        if self.bar is not None:
            self.bar.update(1)

    def flush(self, seconds_per_step: float | None = None) -> dict[str, float] | None:
        """Write pending steps to train.jsonl and TensorBoard; returns the latest losses."""
        if not self._pending:
            return None
        values = torch.stack([p[3] for p in self._pending]).float().cpu().tolist()
        latest: dict[str, float] = {}
        for (step, epoch, lr, _), row in zip(self._pending, values, strict=True):
            latest = dict(zip(self.names, row, strict=True))
            record = {
                "step": step,
                "epoch": epoch,
                "lr": lr,
                **{k: round(v, 6) for k, v in latest.items()},
            }
            self.history.append(record)
            self._jsonl.write(json.dumps(record) + "\n")
            if self.writer is not None:
                for name, value in latest.items():
                    self.writer.add_scalar(f"loss/{name}", value, step)
                self.writer.add_scalar("lr", lr, step)
        self._jsonl.flush()
        if seconds_per_step is not None and self.writer is not None:
            self.writer.add_scalar("speed/seconds_per_step", seconds_per_step, self._pending[-1][0])
        if self.bar is not None:
            self.bar.set_postfix(
                {k: f"{latest[k]:.3f}" for k in ("D", "G_GAN", "NCE")}, refresh=False
            )
        self._pending.clear()
        return latest

    def save_grid(
        self, step: int, real_A: torch.Tensor, fake_B: torch.Tensor, real_B: torch.Tensor
    ) -> Path:
        """images/step_NNNNNNN.png: one row per sample, real A | fake B | real B."""
        rows = []
        for i in range(min(4, real_A.shape[0])):
            tiles = [to_uint8_image(t[i]) for t in (real_A, fake_B, real_B)]
            gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
            rows.append(np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=1))
            rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
        grid = np.concatenate(rows[:-1], axis=0)
        path = self.run_dir / "images" / f"step_{step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        atomic_save_image(grid, path)
        if self.writer is not None:
            self.writer.add_image("real_A|fake_B|real_B", grid, step, dataformats="HWC")
        return path

    def plot_losses(self) -> Path | None:
        """loss.png: every logged loss against the step (Agg backend, no display needed)."""
        if not self.history:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = [r["step"] for r in self.history]
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        for name in ("D", "G_GAN", "NCE", "NCE_Y", "TEXT"):
            if name not in self.names:  # TEXT: only a run with the text-preserving loss
                continue
            values = [r.get(name, float("nan")) for r in self.history]
            if any(v != 0 for v in values):
                ax.plot(steps, values, label=name, linewidth=0.8)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        path = self.run_dir / "loss.png"
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        self._jsonl.close()
        if self.writer is not None:
            self.writer.close()
        if self.bar is not None:
            self.bar.close()
