"""Stage 7: CUT and FastCUT unpaired translation of synthetic plates into realistic ones.

`train(CUTConfig.for_mode("fastcut", "lite"), TrainOptions(dataroot, name))` trains;
`load_generator(run_dir)` returns the trained generator. See docs/gan.md.
"""

from kplate.gan.checkpoint import load_generator
from kplate.gan.config import CUTConfig, TrainOptions
from kplate.gan.train import TrainingInterrupted, TrainResult, train

__all__ = [
    "CUTConfig",
    "TrainOptions",
    "TrainResult",
    "TrainingInterrupted",
    "load_generator",
    "train",
]
