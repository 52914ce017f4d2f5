"""Stage 8 ("generate"): the pipeline that draws, augments, optionally translates and
writes a dataset.

(The package is `pipeline`, not `generate`, so that `kplate.generate` can be the function
that users import: a sub-package of that name would shadow it once imported.)

`generate(config)` is an iterator, so `for image, entry in generate(config)` works from
Python; `write_dataset(config, options)` is what `kplate generate` runs: deterministic
per image, on one core or many (`pool`), resumable and safe against interruption
(`write`). Translation comes in as a step that `kplate.gan` provides, so the stages below
never import the GAN.
"""

from kplate.io.layout import Layout
from kplate.io.naming import FileNaming, ImageFormat
from kplate.numbers import NumberPrior
from kplate.pipeline.config import MAX_SEED, GenerateConfig
from kplate.pipeline.factory import PlateFactory, Sample, generate, plate_seed, random_type
from kplate.pipeline.pool import MAX_WORKERS
from kplate.pipeline.write import RunSummary, Step, WriteOptions, shard_indices, write_dataset

__all__ = [
    "MAX_SEED",
    "MAX_WORKERS",
    "FileNaming",
    "GenerateConfig",
    "ImageFormat",
    "Layout",
    "NumberPrior",
    "PlateFactory",
    "RunSummary",
    "Sample",
    "Step",
    "WriteOptions",
    "generate",
    "plate_seed",
    "random_type",
    "shard_indices",
    "write_dataset",
]
