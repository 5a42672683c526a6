"""Build swiftprop: compile the Swift core into a static library with SwiftPM, then link it, with the
Swift runtime (static) and OpenBLAS from the PyPI package scipy-openblas32, into the extension module.

Needs a Swift toolchain (``swift`` on PATH, or SWIFT_EXEC / SWIFTPROP_SWIFT pointing at it) at build
time only: the installed module does not depend on it.

On x86-64 the core is built twice, for baseline x86-64 (SSE2) and for x86-64-v3 (AVX2, FMA, BMI2), each
linked into its own copy of the extension (``swiftprop/_core*.so`` and
``swiftprop/_cpu_x86_64_v3/_core*.so``, same module, same C sources); ``swiftprop/__init__.py`` loads
the one the CPU supports (SWIFTPROP_CPU=baseline forces the first). SWIFTPROP_CPU_BUILDS=baseline
builds only the baseline (quicker local builds).
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
# CPU level of the extra build -> the clang -march it is compiled for (Swift code included: the
# clang importer's target features are the module's).
CPU_BUILDS = {"x86-64-v3": "x86-64-v3"}


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
        cpu = getattr(ext, "swift_cpu", None)
        if cpu:  # its own build directory: both archives coexist, each rebuilt only when sources change
            config += ["--build-path", str(ROOT / ".build" / f"cpu-{cpu}"), "-Xcc", f"-march={CPU_BUILDS[cpu]}"]
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
            "-Wl,-rpath,$ORIGIN/" + "../" * ext.name.count(".") + "scipy_openblas32/lib",
        ]
        ext.depends = [str(archive), str(ROOT / "Sources" / PRODUCT / "swiftprop.h"), *CORE_HEADERS]
        # SwiftPM rebuilds the archive when Swift changes; make sure the extension is relinked too.
        self.force = True
        super().build_extension(ext)


# The extension module swiftprop._core, in files by area (see python/swiftprop/_core.h).
CORE_SOURCES = [f"python/swiftprop/_core_{area}.c" for area in ("module", "arrays", "net", "opt")]
CORE_HEADERS = ["python/swiftprop/_core.h"]


def _extension(name: str, cpu: str | None = None) -> Extension:
    ext = Extension(name, sources=CORE_SOURCES, depends=CORE_HEADERS, extra_compile_args=["-O2", "-std=c11", "-Wall"])
    ext.swift_cpu = cpu
    return ext


def _extensions() -> list:
    exts = [_extension("swiftprop._core")]
    import platform

    wanted = os.environ.get("SWIFTPROP_CPU_BUILDS", "all")
    if platform.machine().lower() in ("x86_64", "amd64") and wanted != "baseline":
        # same module name (PyInit__core) in a directory of its own: loaded by path, never both
        exts += [_extension("swiftprop._cpu_x86_64_v3._core", "x86-64-v3")]
    return exts


setup(
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildSwiftExt},
)
