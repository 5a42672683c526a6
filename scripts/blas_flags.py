"""Print the SwiftPM flags that link scipy-openblas32's OpenBLAS: `swift test $(python3 scripts/blas_flags.py)`."""
import scipy_openblas32

lib = scipy_openblas32.get_lib_dir()
print(f"-Xlinker -L{lib} -Xlinker -rpath -Xlinker {lib}")
