"""kplate: labelled synthetic South Korean licence plates for plate recognisers.

The pipeline stages are sub-packages, each importing only the stages before it:
spec -> numbers -> render -> augment -> io -> dataset -> gan -> evaluate.
"""

__version__ = "0.1.0"
