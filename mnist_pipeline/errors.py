"""The base of every error the pipeline reports to its user as a message rather than a traceback."""


class PipelineError(Exception):
    """Something the user can fix: bad params, missing or corrupt data, an untrusted model."""
