"""MNIST classification as a reproducible DVC pipeline: the importable library.

Stage scripts in ``stages/`` do the file I/O and wiring; everything that computes
lives here and is tested without touching the pipeline's files.
"""
