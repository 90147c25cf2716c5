"""The build step pyproject.toml cannot express: the gRPC stubs are generated from protos/ while the package is built.

Nothing generated is checked in, and nothing is generated at import: `pip install` (build_py) runs protoc and
grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc, libprotobuf-dev) into the build tree.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_stubs import generate_stubs  # noqa: E402


class BuildPyWithStubs(build_py):
    """build_py, then the stubs into the same build directory (so they land in the wheel beside the package)."""

    def run(self) -> None:
        super().run()
        if not self.dry_run:
            generate_stubs(self.build_lib)


setup(cmdclass={"build_py": BuildPyWithStubs})
