"""Stage 5: output folders, image files and label manifests: reading and writing only
(run folders and their locks, file naming, shard merging, plate CSVs)."""
