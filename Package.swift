// swift-tools-version:6.0
import PackageDescription

// BLAS comes from the PyPI package scipy-openblas32 (the OpenBLAS NumPy and SciPy ship).
// Link flags for `swift build` / `swift test`: `swift test $(python3 scripts/blas_flags.py)`.

let package = Package(
    name: "swiftprop",
    products: [
        // MARK: Products
        // The C ABI the Python extension links against (static: setup.py links it, with the
        // Swift runtime, straight into the extension module).
        .library(name: "SwiftPropABI", type: .static, targets: ["SwiftPropABI"]),
        .library(name: "SwiftProp", targets: ["SwiftProp"]),
    ],
    targets: [
        // MARK: BLAS
        // Declarations of the few prefixed CBLAS symbols we call; no header of the BLAS package
        // is included, so a system cblas.h cannot shadow it.
        .systemLibrary(name: "_CBLAS", path: "Sources/_CBLAS"),
        // An errno-free square root (header-only), so that loops over √x vectorise.
        .systemLibrary(name: "_CMath", path: "Sources/_CMath"),
        // The C ABI's hand-written header (Sources/SwiftPropABI/swiftprop.h) as a module: its structs
        // and enums are the ones the @_cdecl functions take.
        .systemLibrary(name: "_CSwiftProp", path: "Sources/_CSwiftProp"),

        // MARK: Core
        // Pure Swift numerics: layers, losses, network, optimizers. Knows nothing of Python or C.
        .target(
            name: "SwiftProp",
            dependencies: ["_CBLAS", "_CMath"]
        ),

        // MARK: C ABI
        // @_cdecl functions only: one per operation over handles that know their dtype; call the
        // core, return its status and keep its message for sp_last_error.
        .target(
            name: "SwiftPropABI",
            dependencies: ["SwiftProp", "_CSwiftProp"],
            exclude: ["swiftprop.h"]
        ),

        // MARK: Tests
        .testTarget(name: "SwiftPropTests", dependencies: ["SwiftProp", "SwiftPropABI", "_CSwiftProp"]),
    ]
)
