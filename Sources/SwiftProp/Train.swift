/// The training loop: mini-batches of an epoch, each a backward pass, the L2 penalty and an optimizer
/// step, all in Swift. Shuffled batches are gathered into a buffer allocated once per batch size.

import Glibc

/// Rows of one shuffled mini-batch.
final class BatchBuffer<T: Scalar> {
    let rows: Int
    let x: Buffer<T>
    let y: Buffer<T>
    let labels: Buffer<Int64>
    let weights: Buffer<T>

    init?(rows: Int, nIn: Int, nOut: Int) {
        let (nx, o1) = rows.multipliedReportingOverflow(by: nIn)
        let (ny, o2) = rows.multipliedReportingOverflow(by: nOut)
        guard !o1, !o2, let x = Buffer<T>(count: nx), let y = Buffer<T>(count: ny),
              let labels = Buffer<Int64>(count: rows), let weights = Buffer<T>(count: rows)
        else { return nil }
        self.rows = rows; self.x = x; self.y = y; self.labels = labels; self.weights = weights
    }
}

/// Seconds on a monotonic clock (the training loop's time budget).
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + 1e-9 * Double(ts.tv_nsec)
}

extension Network {
    /// Adds the gradient of ½·alpha·Σ‖W^i‖²/norm (weights only: scikit-learn's alpha; norm is the
    /// batch's rows, or its weight sum with sample weights) to the gradient buffer; returns the penalty.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func addL2(alpha: T, norm: T) -> Double {
        let c = alpha / norm
        var sum = 0.0
        for i in 0..<layerCount {
            let w = self.w(i), g = dW(i), count = sizes[i] * sizes[i + 1]
            for j in 0..<count { g[j] += c * w[j] }
            // four partial sums: independent chains the compiler can vectorise (one sum is serial)
            var s = (T(0), T(0), T(0), T(0)), j = 0
            while j + 4 <= count {
                s.0 += w[j] * w[j]; s.1 += w[j + 1] * w[j + 1]; s.2 += w[j + 2] * w[j + 2]; s.3 += w[j + 3] * w[j + 3]
                j += 4
            }
            while j < count { s.0 += w[j] * w[j]; j += 1 }
            sum += Double(s.0 + s.1 + s.2 + s.3)
        }
        return 0.5 * Double(c) * sum
    }

    /// Mini-batches of an epoch over n samples with batches of batchSize rows.
    public static func batchCount(n: Int, batchSize: Int) -> Int { batchSize >= 1 ? (n + batchSize - 1) / batchSize : 0 }

    /// Trains on the mini-batches of an epoch over n samples from batch `first` on, until the epoch
    /// ends or, if seconds > 0, that many seconds have passed after a completed batch (so a caller can
    /// check for interrupts between calls). Batch b holds samples order[b·batchSize ..< min(n, (b+1)·batchSize)]
    /// (order nil: in place, no copy). Each batch: backward, L2, optimizer step. Adds batch loss (L2
    /// included) × rows to lossSum, the L2 part × rows to penaltySum; `next` is the batch after the last
    /// one completed (on an error: the batch that failed, which changed nothing). A batch whose
    /// weights sum to 0 is skipped (no step). Labels, weights and order entries are checked batch by
    /// batch, before the batch's step.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func train(
        _ x: UnsafePointer<T>, _ y: Target<T>, weights: UnsafePointer<T>?, n: Int,
        order: UnsafePointer<Int64>?, batchSize: Int, first: Int, seconds: Double = 0,
        optimizer: Optimizer<T>, alpha: T, lossSum: inout Double, penaltySum: inout Double, next: inout Int
    ) throws(CoreError) {
        try train(.dense(x), y, weights: weights, n: n, order: order, batchSize: batchSize, first: first,
                  seconds: seconds, optimizer: optimizer, alpha: alpha, lossSum: &lossSum, penaltySum: &penaltySum,
                  next: &next)
    }

    /// Training on dense or CSR rows (see the dense form; a CSR X must have passed `checkInput`). Shuffled
    /// CSR mini-batches are gathered row by row into a reused CSR buffer: X is never made dense.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func train(
        _ x: Input<T>, _ y: Target<T>, weights: UnsafePointer<T>?, n: Int,
        order: UnsafePointer<Int64>?, batchSize: Int, first: Int, seconds: Double = 0,
        optimizer: Optimizer<T>, alpha: T, lossSum: inout Double, penaltySum: inout Double, next: inout Int
    ) throws(CoreError) {
        next = first
        try checkRows(n)
        guard batchSize >= 1, batchSize <= n else {
            throw CoreError(.size, "batch_size must be in [1, \(n)], got \(batchSize)")
        }
        let batches = Self.batchCount(n: n, batchSize: batchSize)
        guard first >= 0, first <= batches else {
            throw CoreError(.argument, "first batch \(first) is not in [0, \(batches)]")
        }
        guard optimizer.count == layout.count else {
            throw CoreError(.size, "the optimizer has \(optimizer.count) parameters, the network \(layout.count)")
        }
        let n0 = sizes[0], nL = sizes[layerCount]
        var gather: BatchBuffer<T>? = nil, sparseGather: SparseBatch<T>? = nil
        let xIn: Int  // input values per row of the dense gather buffer (none for CSR rows)
        if case .dense = x { xIn = n0 } else { xIn = 0 }
        if order != nil, xIn == 0 {
            if let g = sparseBatch, g.rows >= batchSize {
                sparseGather = g
            } else {
                sparseBatch = nil
                guard let g = SparseBatch<T>(rows: batchSize) else {
                    throw CoreError(.memory, "could not allocate a mini-batch of \(batchSize) rows")
                }
                sparseBatch = g; sparseGather = g
            }
        }
        if order != nil {
            if let g = batchBuffer, g.rows >= batchSize, g.x.count >= batchSize * xIn {
                gather = g
            } else {
                batchBuffer = nil
                guard let g = BatchBuffer<T>(rows: batchSize, nIn: xIn, nOut: nL) else {
                    throw CoreError(.memory, "could not allocate a mini-batch of \(batchSize) rows")
                }
                batchBuffer = g; gather = g
            }
        }
        guard workspace(rows: min(batchSize, rowsPerBlock)) != nil else {
            throw CoreError(.memory, "could not allocate the workspace for \(min(batchSize, rowsPerBlock)) rows")
        }
        let start0 = seconds > 0 ? monotonicSeconds() : 0
        for b in first..<batches {
            let start = b * batchSize, rows = min(batchSize, n - start)
            var xb = x.advanced(by: start, n: n0), yb = y.advanced(by: start, n: nL), wb = weights.map { $0 + start }
            if let order, let g = gather {
                let idx = order + start
                for r in 0..<rows {
                    let s = Int(idx[r])
                    guard s >= 0, s < n else {
                        throw CoreError(.argument, "order contains index \(s); indices must be in [0, \(n))")
                    }
                }
                switch x {
                case .dense(let xd):
                    for r in 0..<rows { (g.x.base + r * n0).update(from: xd + Int(idx[r]) * n0, count: n0) }
                    xb = .dense(UnsafePointer(g.x.base))
                case .csr32(let c):
                    guard let sg = sparseGather, sg.gather(c, order: idx, rows: rows) else {
                        throw CoreError(.memory, "could not allocate a sparse mini-batch of \(rows) rows")
                    }
                    xb = .csr64(sg.csr)
                case .csr64(let c):
                    guard let sg = sparseGather, sg.gather(c, order: idx, rows: rows) else {
                        throw CoreError(.memory, "could not allocate a sparse mini-batch of \(rows) rows")
                    }
                    xb = .csr64(sg.csr)
                }
                switch y {
                case .dense(let yd):
                    for r in 0..<rows { (g.y.base + r * nL).update(from: yd + Int(idx[r]) * nL, count: nL) }
                    yb = .dense(UnsafePointer(g.y.base))
                case .labels(let l):
                    for r in 0..<rows { g.labels.base[r] = l[Int(idx[r])] }
                    yb = .labels(UnsafePointer(g.labels.base))
                }
                if let weights {
                    for r in 0..<rows { g.weights.base[r] = weights[Int(idx[r])] }
                    wb = UnsafePointer(g.weights.base)
                }
            }
            try check(yb, weights: wb, rows: rows, positiveSum: false)
            let norm = wb.map { Self.weightSum($0, batch: rows) } ?? Double(rows)
            if norm > 0 {  // a batch of zero weight carries no cost and no gradient: no step
                guard var loss = backward(xb, yb, weights: wb, batch: rows, training: true) else {
                    throw CoreError(.memory, "could not allocate the workspace for \(rows) rows")
                }
                // The L2 penalty's gradient is added inside the step, which also sums ‖W‖² (as addL2 would).
                // A NaN or infinite gradient makes its parameter's update non-finite: the step's own check
                // refuses it, so the gradients need no pass of their own.
                let c = alpha / T(norm)
                guard loss.isFinite,
                      let squares = optimizer.step(params, grads, penalty: alpha != 0 ? .init(c: c, layout: layout) : nil)
                else {
                    throw CoreError(.nonFinite, "the loss or a gradient became NaN or infinite")
                }
                let penalty = 0.5 * Double(c) * squares
                loss += penalty
                lossSum += loss * Double(rows)
                penaltySum += penalty * Double(rows)
            }
            next = b + 1
            if seconds > 0, monotonicSeconds() - start0 >= seconds { break }
        }
    }
}
