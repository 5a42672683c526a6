import _CMath
import Glibc
import Synchronization

/// swiftprop's own threads. OpenBLAS always runs on one thread inside swiftprop; a large product is
/// instead cut into one slab of C per thread here, each slab a single-threaded GEMM. Measured on a
/// 2-core machine: two 128×784×128 halves side by side reach ~115 GFLOP/s where OpenBLAS's own two
/// threads reach ~97 on the whole 128×784×256, and 66 against 85 at 32 rows (its threads share
/// packed panels and synchronise inside the product; separate slabs do not).
///
/// The workers spin briefly between jobs (the GEMMs of a training step follow each other within
/// microseconds), then sleep on a condition variable, so an idle pool costs nothing.
final class WorkerPool: @unchecked Sendable {
    /// Threads besides the caller.
    let workers: Int
    private let generation = Atomic<Int>(0)
    /// (job number << 32) | (part count << 16) | next unclaimed part
    private let claim = Atomic<UInt64>(0)
    /// Parts of the current job completed.
    private let done = Atomic<Int>(0)
    /// Jobs run so far (written by the caller holding `busy`).
    private var jobNumber: UInt32 = 0
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// The current job; written by the caller before it publishes the job in `claim`.
    private var job: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [pthread_t] = []
    /// The process that started the threads: a forked child has none of them.
    let owner: pid_t

    /// Spins of a waiting worker before it sleeps (4000 pause instructions: 52 µs on a Xeon with AVX-512).
    private static let spinLimit = 4000

    /// nil if a thread cannot be started. workers ≥ 1.
    init?(workers: Int) {
        self.workers = workers
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        owner = getpid()
        for index in 1...max(1, workers) {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            guard pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.loop(index: context.index)
                return nil
            }, context) == 0 else {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
                shutdown()
                return nil
            }
            threads.append(thread)
        }
    }

    deinit {
        pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
        cond.deallocate(); mutex.deallocate()
    }

    /// Waits for the running job, then stops and joins the workers; later jobs run on the caller.
    func shutdown() {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
        stopping.store(true, ordering: .sequentiallyConsistent)
        publish()
        for t in threads { pthread_join(t, nil) }
        threads = []
    }

    private func publish() {
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    private func loop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                if spins < Self.spinLimit {
                    spins += 1
                    sp_cpu_relax()
                } else {
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(cond, mutex) }
                    pthread_mutex_unlock(mutex)
                }
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            participate()
        }
    }

    // The parts of a job are claimed one at a time from `claim`, which holds (job number, part count,
    // next part) in one word: a thread that wakes late finds the parts taken, or the word belonging to
    // a later job, and never touches a finished job. So the caller neither waits for a worker to wake
    // (tens of µs from sleep on a VM) nor for a slow part when it could take the next one itself.
    private func participate() {
        var word = claim.load(ordering: .acquiring)
        while true {
            let count = Int((word >> 16) & 0xffff), next = Int(word & 0xffff)
            guard next < count else { return }
            let (exchanged, original) = claim.compareExchange(
                expected: word, desired: word &+ 1, ordering: .acquiringAndReleasing)
            guard exchanged else { word = original; continue }
            job?(next)  // the job cannot end before this part is done
            done.wrappingAdd(1, ordering: .releasing)
            word = claim.load(ordering: .acquiring)
        }
    }

    /// Runs body(0), ..., body(parts − 1), shared between the caller and the workers; returns when
    /// all are done. If another thread is using the pool, runs them one after the other on the caller.
    func run(parts: Int, _ body: (Int) -> Void) {
        let parts = min(parts, 0xffff)
        guard parts > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            done.store(0, ordering: .relaxed)
            jobNumber &+= 1
            claim.store((UInt64(truncatingIfNeeded: jobNumber) << 32) | (UInt64(parts) << 16), ordering: .releasing)
            publish()
            participate()
            var spins = 0
            while done.load(ordering: .acquiring) < parts {
                spins += 1
                if spins < Self.spinLimit { sp_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }
}

private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}

/// The process-wide pool: nil when swiftprop runs on one thread.
private let sharedPool = Mutex<WorkerPool?>(nil)
private let requestedThreads = Atomic<Int>(1)

/// Threads swiftprop's products and optimizer passes use (the caller's included).
public func setThreadCount(_ n: Int) {
    let n = max(1, min(n, maxThreads))
    requestedThreads.store(n, ordering: .relaxed)
    let old: WorkerPool? = sharedPool.withLock { pool in
        let old = pool
        pool = nil
        if n > 1 { pool = WorkerPool(workers: n - 1) }
        return old
    }
    if let old, old.owner == getpid() { old.shutdown() }
}

public func threadCount() -> Int { requestedThreads.load(ordering: .relaxed) }

/// The pool to use now, or nil for one thread. After a fork the child starts its own workers.
func currentPool() -> WorkerPool? {
    sharedPool.withLock { pool in
        guard let p = pool else { return nil }
        if p.owner != getpid() { pool = WorkerPool(workers: p.workers) }  // the parent's threads are not here
        return pool
    }
}

/// Splits 0..<count into `parts` contiguous ranges whose bounds are multiples of `align`.
@inline(__always)
func partRange(_ part: Int, of parts: Int, count: Int, align: Int) -> Range<Int> {
    let units = (count + align - 1) / align
    let lo = min(count, (units * part / parts) * align)
    let hi = min(count, (units * (part + 1) / parts) * align)
    return lo..<hi
}

/// Runs body(part, range) on contiguous ranges covering 0..<count, one per thread of the pool, when
/// count ≥ minCount; else body(0, 0..<count) on the caller. part < maxThreads.
func parallelRanges(count: Int, minCount: Int, align: Int = 16, _ body: (Int, Range<Int>) -> Void) {
    guard count >= minCount, let pool = currentPool() else { body(0, 0..<count); return }
    let parts = pool.workers + 1
    pool.run(parts: parts) { part in
        let r = partRange(part, of: parts, count: count, align: align)
        if !r.isEmpty { body(part, r) }
    }
}

/// Whether body(range) is true for some part of 0..<count, the parts cut as by parallelRanges. Below
/// minCount (or on one thread) a single call on the caller: no per-part flags to clear and read, which
/// for a tiny array cost more than the pass itself.
func parallelAny(count: Int, minCount: Int, align: Int = 16, _ body: (Range<Int>) -> Bool) -> Bool {
    guard count >= minCount, let pool = currentPool() else { return body(0..<count) }
    let parts = pool.workers + 1
    return withUnsafeTemporaryAllocation(of: Bool.self, capacity: parts) { found in
        found.initialize(repeating: false)
        pool.run(parts: parts) { part in
            let r = partRange(part, of: parts, count: count, align: align)
            if !r.isEmpty { found[part] = body(r) }
        }
        return found.contains(true)
    }
}

/// The most threads setThreadCount accepts.
let maxThreads = 1024
