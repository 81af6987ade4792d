"""The base of every error the pipeline reports to its user as a message rather than a traceback."""


class PipelineError(Exception):
    """Something the user can fix: bad params, missing or corrupt data, an untrusted model."""


class ModelLoadError(PipelineError):
    """A model file that is missing, corrupt, of an unknown format or asks to run untrusted code."""


class ArtifactError(PipelineError):
    """An input artifact that exists but cannot be read: truncated, corrupt or not what its stage wrote."""
