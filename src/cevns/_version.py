"""The package version (one place; pyproject.toml's ``version`` must agree, tests/test_cli.py checks it).

A leaf module, so that every layer can record the version in its outputs without importing the
package's top level.
"""

__version__ = "0.1.0"
