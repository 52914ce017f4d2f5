"""Stage 7: CUT and FastCUT unpaired translation of synthetic plates into realistic ones."""
