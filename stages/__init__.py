"""The pipeline's stage scripts, run by DVC as ``python -m stages.<name>`` (see dvc.yaml)."""
