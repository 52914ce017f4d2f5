"""Stage 6: unpaired trainA/trainB/testA/testB folders for the GAN."""
