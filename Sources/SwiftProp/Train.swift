/// The training loop: mini-batches of an epoch, each a backward pass, the L2 penalty and an optimizer
/// step, all in Swift. Shuffled batches are gathered into a buffer allocated once per batch size.

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

public enum TrainStatus: Equatable, Sendable {
    case ok
    /// The loss, a gradient or the updated parameters of this batch (index within the epoch) would be
    /// NaN or infinite; no step taken.
    case nonFinite(batch: Int)
    case memory
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

    /// Trains on mini-batches first..<first+count of an epoch over n samples. Batch b holds samples
    /// order[b·batchSize ..< min(n, (b+1)·batchSize)] (order nil: in place, no copy). Each batch:
    /// backward, L2, optimizer step. Adds batch loss (L2 included) × rows to lossSum, the L2 part × rows
    /// to penaltySum, and the batches completed to done.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func train(
        _ x: UnsafePointer<T>, _ y: Target<T>, weights: UnsafePointer<T>?, n: Int,
        order: UnsafePointer<Int64>?, batchSize: Int, first: Int, count: Int,
        optimizer: Optimizer<T>, alpha: T, lossSum: inout Double, penaltySum: inout Double, done: inout Int
    ) -> TrainStatus {
        let n0 = sizes[0], nL = sizes[layerCount]
        var gather: BatchBuffer<T>? = nil
        if order != nil {
            if let g = batchBuffer, g.rows >= batchSize {
                gather = g
            } else {
                batchBuffer = nil
                guard let g = BatchBuffer<T>(rows: batchSize, nIn: n0, nOut: nL) else { return .memory }
                batchBuffer = g; gather = g
            }
        }
        guard workspace(rows: min(batchSize, rowsPerBlock)) != nil else { return .memory }
        for b in first..<(first + count) {
            let start = b * batchSize, rows = min(batchSize, n - start)
            guard rows > 0 else { break }
            var xb = x + start * n0, yb = y.advanced(by: start, n: nL), wb = weights.map { $0 + start }
            if let order, let g = gather {
                let idx = order + start
                for r in 0..<rows {
                    let s = Int(idx[r])
                    (g.x.base + r * n0).update(from: x + s * n0, count: n0)
                }
                xb = UnsafePointer(g.x.base)
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
            let norm = wb.map { Self.weightSum($0, batch: rows) } ?? Double(rows)
            if norm == 0 {
                done += 1  // a batch of zero weight carries no cost and no gradient: no step
                continue
            }
            guard var loss = backward(xb, yb, weights: wb, batch: rows, training: true) else { return .memory }
            let penalty = alpha != 0 ? addL2(alpha: alpha, norm: T(norm)) : 0
            loss += penalty
            // (a NaN or infinite gradient makes its parameter's update non-finite: the step's own check
            // refuses it, so the gradients need no pass of their own)
            guard loss.isFinite, optimizer.step(params, grads) else { return .nonFinite(batch: b) }
            lossSum += loss * Double(rows)
            penaltySum += penalty * Double(rows)
            done += 1
        }
        return .ok
    }
}
