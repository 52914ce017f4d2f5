"""Stage 5: dataset writers and readers (images plus label manifests)."""
