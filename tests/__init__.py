"""The test suite as a package, so that every folder imports shared code as `from tests.helpers import ...`."""
