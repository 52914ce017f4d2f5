"""Stage 8: realism and recognition metrics for generated data."""
