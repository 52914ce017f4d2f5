"""Stage 4: camera and wear effects that keep labels and boxes exact."""
