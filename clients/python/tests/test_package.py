"""The installed package: typed, its stubs made at build time (none in the source tree or in git), nothing made at
import, and dependency ranges that Debian 12's python3-grpcio and python3-protobuf satisfy."""

import glob
import os
import re
import subprocess
import sys

import rtudp

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_it_is_the_installed_package_not_the_source_tree():
    assert not rtudp.__file__.startswith(os.path.join(SOURCE, "src")), rtudp.__file__


def test_the_stubs_are_built_not_checked_in():
    installed = os.path.dirname(rtudp.__file__)
    for module in ("v1/packet_pb2.py", "v1/packet_pb2_grpc.py", "v1/packet_pb2.pyi", "_rpc/error_details_pb2.py", "_vendor/google/api/annotations_pb2.py"):
        assert os.path.isfile(os.path.join(installed, module)), module
    assert os.path.isfile(os.path.join(installed, "py.typed"))
    assert glob.glob(os.path.join(SOURCE, "src", "**", "*_pb2*.py"), recursive=True) == []
    tracked = subprocess.run(["git", "-C", SOURCE, "ls-files", "--", "."], capture_output=True, text=True).stdout.split()
    if tracked:  # a git checkout
        assert [f for f in tracked if "_pb2" in f] == []


def test_importing_runs_no_code_generator():
    # grpc imports subprocess itself; what must not happen is protoc being found and run, or files written.
    code = ("import shutil, subprocess\n"
            "def refuse(*a, **k): raise AssertionError('a process was started at import: %r' % (a,))\n"
            "subprocess.Popen = refuse; shutil.which = refuse\n"
            "import rtudp, rtudp.aio, rtudp.v1.packet_pb2_grpc\n"
            "print('imported', 'grpc_tools' in __import__('sys').modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "imported False", result.stdout + result.stderr


def test_debians_grpcio_and_protobuf_satisfy_the_declared_ranges():
    from importlib.metadata import requires, version

    declared = {}
    for requirement in requires("rtudp"):
        match = re.fullmatch(r"(\w+) \(<(\d+),>=([\d.]+)\)", requirement) or re.fullmatch(r"(\w+)<(\d+),>=([\d.]+)", requirement)
        assert match, requirement
        declared[match.group(1)] = (int(match.group(2)), tuple(int(p) for p in match.group(3).split(".")))
    assert set(declared) == {"grpcio", "protobuf"}
    for name, (below, at_least) in declared.items():
        have = tuple(int(p) for p in version(name).split(".")[:len(at_least)])
        assert at_least <= have and have[0] < below, f"{name} {version(name)} outside >={at_least},<{below}"
