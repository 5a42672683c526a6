import Glibc

/// A 64-byte aligned, zero-filled heap buffer that reports allocation failure instead of trapping,
/// so an absurd size from the caller becomes a status, not a crash.
final class Buffer<T> {
    let base: UnsafeMutablePointer<T>
    let count: Int

    init?(count: Int) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !overflow else { return nil }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else { return nil }
        memset(raw, 0, max(bytes, 64))
        base = raw.bindMemory(to: T.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(UnsafeMutableRawPointer(base)) }
}
