"""The toolkit's exception tree: one line of text each, shown to the user as is by the CLI.

`exit_code` 2 means the user's input (a file, a flag, a config, a model reference) is wrong;
1 means a runtime failure.
"""


class ToolkitError(Exception):
    """Base for every error the toolkit reports to a user."""

    exit_code = 1


class ConfigError(ToolkitError):
    """A config file or override is invalid."""

    exit_code = 2


class DataError(ToolkitError):
    """An input data file is missing, unreadable or unusable."""

    exit_code = 2


class ModelLoadError(ToolkitError):
    """A model reference does not exist, is not a model, or failed its integrity checks."""

    exit_code = 2


class MissingDependency(ToolkitError):
    """An optional dependency needed by the requested feature is not installed."""

    exit_code = 1


class TrackingError(ToolkitError):
    """The MLflow tracking store cannot be reached or used."""

    exit_code = 1
