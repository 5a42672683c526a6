"""Build swiftprop: compile the Swift core into a static library with SwiftPM, then link it, with the
Swift runtime (static) and OpenBLAS from the PyPI package scipy-openblas32, into the extension module.

Needs a Swift toolchain (``swift`` on PATH, or SWIFT_EXEC / SWIFTPROP_SWIFT pointing at it) at build
time only: the installed module does not depend on it.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PRODUCT = "SwiftPropABI"


def _swift() -> str:
    exe = os.environ.get("SWIFTPROP_SWIFT") or shutil.which("swift")
    if not exe:
        sys.exit("swiftprop: building needs the Swift toolchain (`swift` on PATH); see README.md")
    return exe


def _run(cmd, **kw) -> str:
    print("swiftprop:", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT, **kw).stdout


class BuildSwiftExt(build_ext):
    """Builds the Swift archive first and adds what linking it statically needs."""

    def build_extension(self, ext):
        import numpy
        import scipy_openblas32

        swift = _swift()
        swiftc = str(Path(swift).with_name("swiftc"))
        config = ["-c", "release", "--product", PRODUCT]
        bin_dir = Path(_run([swift, "build", *config, "--show-bin-path"]).strip())
        archive = bin_dir / f"lib{PRODUCT}.a"
        # SwiftPM updates an existing archive in place, keeping objects of deleted source files (whose
        # symbols then fail to link): always archive anew.
        archive.unlink(missing_ok=True)
        _run([swift, "build", *config])

        info = json.loads(_run([swiftc, "-print-target-info"]))
        resource = Path(info["paths"]["runtimeResourcePath"])  # .../usr/lib/swift
        static_dir = resource.parent / "swift_static" / info["target"]["platform"]
        arch = info["target"]["arch"]
        autolink = shutil.which("swift-autolink-extract", path=str(Path(swift).parent)) or "swift-autolink-extract"
        libs = _run([autolink, str(archive), "-o", "-"]).split()
        libs = list(dict.fromkeys(libs))  # keep order, drop repeats
        lnk = (static_dir / "static-stdlib-args.lnk").read_text().split()
        static_args, it = [], iter(lnk)
        for tok in it:  # the file is written for swiftc: -Xlinker X becomes -Wl,X for gcc
            if tok == "-Xlinker":
                tok = "-Wl," + next(it)
            if tok not in ("-Wl,-export-dynamic",):
                static_args.append(tok)

        blas_lib = scipy_openblas32.get_lib_dir()
        ext.include_dirs += [numpy.get_include(), str(ROOT / "Sources" / PRODUCT)]
        ext.extra_objects = [str(static_dir / arch / "swiftrt.o")]
        ext.extra_link_args = [
            # whole archive: protocol conformances are found by the runtime, not by symbol, so the
            # linker would otherwise drop the objects that hold them (Double: Scalar, ...)
            "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive",
            f"-L{static_dir}", f"-L{blas_lib}", *libs, *static_args,
            "-Wl,--exclude-libs,ALL", "-Wl,--strip-debug",
            # the installed extension finds OpenBLAS in site-packages/scipy_openblas32/lib
            "-Wl,-rpath,$ORIGIN/../scipy_openblas32/lib",
        ]
        ext.depends = [str(archive), str(ROOT / "Sources" / PRODUCT / "swiftprop.h"), *CORE_HEADERS]
        # SwiftPM rebuilds the archive when Swift changes; make sure the extension is relinked too.
        self.force = True
        super().build_extension(ext)


# The extension module swiftprop._core, in files by area (see python/swiftprop/_core.h).
CORE_SOURCES = [f"python/swiftprop/_core_{area}.c" for area in ("module", "arrays", "net", "opt")]
CORE_HEADERS = ["python/swiftprop/_core.h"]

setup(
    ext_modules=[
        Extension(
            "swiftprop._core",
            sources=CORE_SOURCES,
            depends=CORE_HEADERS,
            extra_compile_args=["-O2", "-std=c11", "-Wall"],
        )
    ],
    cmdclass={"build_ext": BuildSwiftExt},
)
