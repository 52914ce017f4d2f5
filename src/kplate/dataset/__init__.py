"""Stage 6: unpaired trainA/trainB/testA/testB folders for the GAN.

Domain A is kplate's synthetic plates, domain B the user's real crops. `build_dataset`
writes `DATAROOT/{trainA,trainB,testA,testB}` and `DATAROOT/dataset.json`, which records
each file's source path, its label (or null), the counts, and the files that were skipped.

Why it works the way it does:

- The split is by plate text, not by file: the seeded hash of the text decides train or
  test, so two photos of one plate never straddle the split, the same text falls on the
  same side in both domains, and adding images never moves existing plates. Unlabelled
  images are split by content hash. Identical files (same SHA-256) are kept once. Small
  sets may therefore get a test share that differs from `--test-fraction` (even zero).
- `--max-images N` caps each domain at N images written (train + test, or the one phase
  named by `--type`), picked by a seeded shuffle of the file names, not the first N.
- Every image is decoded in full; empty, truncated, undecodable and oversized files
  (decompression bombs) are skipped, listed in `skipped.txt` and in dataset.json.
  Greyscale, palette, RGBA, CMYK and EXIF-rotated images are written as converted RGB PNGs.
- `--mode link` symlinks plain RGB files to their absolute source path, and copies where a
  link cannot be made; converted images are always written as files.
- Output names are `<split>/<NNNNNN>.<ext>`: labels and source names never become paths.
- Re-running with the same inputs (same files, sizes, mtimes) and options prints
  "up to date" and changes nothing. Anything else on an existing dataroot needs
  `--overwrite`, except `--type train|test` adding a phase the dataroot does not have yet
  (with the same --seed and --test-fraction), which keeps the other phase as it is.
  A folder that exists and holds anything but a kplate dataroot is never touched, nor is
  a dataroot holding files its dataset.json does not list; `--overwrite` removes only
  the files dataset.json lists. `--out` may not be, contain or lie inside an input.
- A build holds a lock beside the target (`.NAME.kplate.lock` in its parent, removed at
  the end), so a second build into the same `--out` is refused; the next build removes
  what a killed one left beside the target (`.NAME.building-*`, `.NAME.old-*`).
"""

from kplate.dataset.build import (
    DATASET_JSON,
    SKIPPED_TXT,
    SPLITS,
    BuildResult,
    DatasetOptions,
    Mode,
    build_dataset,
)
from kplate.dataset.check import MAX_PIXELS, CorruptImage, decode
from kplate.dataset.scan import IMAGE_SUFFIXES, scan_domain
from kplate.dataset.split import Phase, group_key, phase_of

__all__ = [
    "DATASET_JSON",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "SKIPPED_TXT",
    "SPLITS",
    "BuildResult",
    "CorruptImage",
    "DatasetOptions",
    "Mode",
    "Phase",
    "build_dataset",
    "decode",
    "group_key",
    "phase_of",
    "scan_domain",
]
