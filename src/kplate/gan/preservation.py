# Old name of kplate.gan.edge_score, kept until io/generate imports the new name.
from kplate.gan.edge_score import edge_correlation  # noqa: F401
