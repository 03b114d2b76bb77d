"""The repository's own test settings: pytester for plugin tests; nothing deployment-specific."""

pytest_plugins = ["pytester"]
