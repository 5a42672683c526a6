/// Where each layer's W^i and B^i live in the one flat parameter buffer; the gradient buffer has the
/// same layout. Layer i: W^i (sizes[i+1], sizes[i]) row-major at weightOffsets[i], then B^i at biasOffsets[i].
public struct ParameterLayout: Sendable {
    public let weightOffsets: [Int]
    public let biasOffsets: [Int]
    public let count: Int

    /// nil when a size is < 1 or the total overflows Int.
    public init?(sizes: [Int]) {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 >= 1 }) else { return nil }
        var w: [Int] = [], b: [Int] = [], offset = 0
        for i in 0..<(sizes.count - 1) {
            let (nW, o1) = sizes[i + 1].multipliedReportingOverflow(by: sizes[i])
            let (afterW, o2) = offset.addingReportingOverflow(nW)
            let (afterB, o3) = afterW.addingReportingOverflow(sizes[i + 1])
            guard !o1, !o2, !o3 else { return nil }
            w.append(offset); b.append(afterW); offset = afterB
        }
        weightOffsets = w; biasOffsets = b; count = offset
    }
}

/// Per-layer S_in, S_out and δ for a block of rows, plus one dcost/dS_out scratch block, allocated
/// once per row capacity.
final class Workspace<T: Scalar> {
    let rows: Int
    let buffer: Buffer<T>
    private let offsets: [Int]  // layer i: S_in at offsets[i], S_out, then δ, each rows × n_i
    private let widths: [Int]
    private let scratch: Int    // dcost/dS_out of the layer being differentiated: rows × max n_i
    private let dropOffsets: [Int?]  // hidden layer i with dropout: its mask, then its dropped S_out
    private let transposed: Int?     // a small W transposed for the forward product (linearForward)

    /// transposeCount: values of the scratch for a transposed W (0: none).
    init?(rows: Int, widths: [Int], dropout: [Bool] = [], transposeCount: Int = 0) {
        var offsets: [Int] = [], total = 0
        for n in widths {
            let (block, o1) = rows.multipliedReportingOverflow(by: n)
            let (three, o2) = block.multipliedReportingOverflow(by: 3)
            let (next, o3) = total.addingReportingOverflow(three)
            guard !o1, !o2, !o3 else { return nil }
            offsets.append(total); total = next
        }
        let (extra, o4) = rows.multipliedReportingOverflow(by: widths.max() ?? 0)
        var (all, o5) = total.addingReportingOverflow(extra)
        guard !o4, !o5 else { return nil }
        var drops: [Int?] = []
        for (i, n) in widths.enumerated() {
            guard i < dropout.count, dropout[i] else { drops.append(nil); continue }
            let (two, o6) = (2 * rows).multipliedReportingOverflow(by: n)
            let (next, o7) = all.addingReportingOverflow(two)
            guard !o6, !o7 else { return nil }
            drops.append(all); all = next
        }
        let (withT, o8) = all.addingReportingOverflow(max(0, transposeCount))
        guard !o8, let buffer = Buffer<T>(count: withT) else { return nil }
        self.rows = rows; self.buffer = buffer; self.offsets = offsets; self.widths = widths; scratch = total
        dropOffsets = drops
        transposed = transposeCount > 0 ? all : nil
    }

    /// Layer i's S_in (S_out) from row `row` of the block on.
    @inline(__always) func sIn(_ i: Int, row: Int = 0) -> UnsafeMutablePointer<T> { buffer.base + offsets[i] + row * widths[i] }
    @inline(__always) func sOut(_ i: Int, row: Int = 0) -> UnsafeMutablePointer<T> {
        buffer.base + offsets[i] + (rows + row) * widths[i]
    }
    @inline(__always) func delta(_ i: Int) -> UnsafeMutablePointer<T> { buffer.base + offsets[i] + 2 * rows * widths[i] }
    @inline(__always) func dSOut() -> UnsafeMutablePointer<T> { buffer.base + scratch }
    /// Layer i's dropout mask and dropped output, if it has dropout.
    @inline(__always) func mask(_ i: Int) -> UnsafeMutablePointer<T>? { dropOffsets[i].map { buffer.base + $0 } }
    @inline(__always) func dropped(_ i: Int) -> UnsafeMutablePointer<T>? {
        dropOffsets[i].map { buffer.base + $0 + rows * widths[i] }
    }
    /// Scratch for Wᵀ of a layer whose W has at most transposeLimit values.
    @inline(__always) func weightsT() -> UnsafeMutablePointer<T>? { transposed.map { buffer.base + $0 } }
}

/// An n-layer feedforward network: S_in^i = W^i S_out^(i-1) + B^i, S_out^i = f^i(S_in^i).
/// On a batch (samples as rows) S_in^i = S_out^(i-1) · W^iᵀ + B^iᵀ. Not thread-safe: callers serialise.
public final class Network<T: Scalar> {
    public let sizes: [Int]
    public let activations: [Activation]
    public let loss: Loss
    public let layout: ParameterLayout
    let paramBuffer: Buffer<T>
    let gradBuffer: Buffer<T>
    var workspace: Workspace<T>?
    var batchBuffer: BatchBuffer<T>?
    var sparseBatch: SparseBatch<T>?
    var sparseScratch: SparseScratch<T>?
    /// Dropout rate of each hidden layer's output, applied only while training (`train`).
    public private(set) var dropout: [Double]
    /// The generator of the dropout masks; `train` callers seed it for reproducible runs.
    public var rng = SplitMix64(seed: 0)

    /// Rows per block when a call streams through a large batch: bounds the workspace to about
    /// `workspaceBudget` scalars while keeping GEMMs large.
    static var workspaceBudget: Int { 1 << 22 }
    public var rowsPerBlock: Int { max(64, Self.workspaceBudget / max(1, 3 * sizes.dropFirst().reduce(0, +))) }

    public var layerCount: Int { sizes.count - 1 }
    public var params: UnsafeMutablePointer<T> { paramBuffer.base }
    public var grads: UnsafeMutablePointer<T> { gradBuffer.base }

    /// nil for an invalid architecture or when the buffers cannot be allocated (`create` says why).
    public static func make(sizes: [Int], activations: [Activation], loss: Loss) -> Network<T>? {
        guard let arch = try? Architecture(sizes: sizes, activations: activations, loss: loss) else { return nil }
        return try? create(arch)
    }

    init(sizes: [Int], activations: [Activation], loss: Loss, layout: ParameterLayout, params: Buffer<T>, grads: Buffer<T>) {
        self.sizes = sizes; self.activations = activations; self.loss = loss
        self.layout = layout; paramBuffer = params; gradBuffer = grads
        dropout = Array(repeating: 0, count: sizes.count - 2)
    }

    /// Sets the dropout rate of each hidden layer (count: layers − 1, each in [0, 1)); throws, and
    /// changes nothing, otherwise.
    public func setDropout(_ rates: [Double]) throws(CoreError) {
        guard rates.count == layerCount - 1 else {
            throw CoreError(.argument, "dropout needs \(layerCount - 1) rates (one per hidden layer), got \(rates.count)")
        }
        if let bad = rates.first(where: { !($0 >= 0 && $0 < 1) }) {
            throw CoreError(.argument, "dropout rates must be in [0, 1), got \(pythonRepr(bad))")
        }
        if rates != dropout { workspace = nil }  // the workspace holds masks for the layers that drop
        dropout = rates
    }

    /// Whether hidden layer i drops units in a training pass.
    @inline(__always) func drops(_ i: Int, training: Bool) -> Bool {
        training && i < layerCount - 1 && dropout[i] > 0
    }

    @inline(__always) func w(_ i: Int) -> UnsafeMutablePointer<T> { params + layout.weightOffsets[i] }
    @inline(__always) func b(_ i: Int) -> UnsafeMutablePointer<T> { params + layout.biasOffsets[i] }
    @inline(__always) func dW(_ i: Int) -> UnsafeMutablePointer<T> { grads + layout.weightOffsets[i] }
    @inline(__always) func dB(_ i: Int) -> UnsafeMutablePointer<T> { grads + layout.biasOffsets[i] }

    /// The workspace for blocks of `rows`, reusing the current one when it is large enough.
    func workspace(rows: Int) -> Workspace<T>? {
        if let ws = workspace, ws.rows >= rows { return ws }
        workspace = nil  // free the old one before allocating its successor
        let smallW = (0..<layerCount).map { sizes[$0] * sizes[$0 + 1] }.filter { $0 <= transposeLimit }
        workspace = Workspace<T>(rows: rows, widths: Array(sizes.dropFirst()), dropout: dropout.map { $0 > 0 },
                                 transposeCount: smallW.max() ?? 0)
        return workspace
    }

    // x is (rows, n_0); fills S_in^i and S_out^i of every layer, the last S_out into `out` if given.
    /// What layer i ≥ 1 reads: the previous layer's S_out (after dropout, when training with it).
    @inline(__always) func layerInput(_ ws: Workspace<T>, _ i: Int, training: Bool) -> UnsafePointer<T> {
        if drops(i - 1, training: training), let d = ws.dropped(i - 1) { return UnsafePointer(d) }
        return UnsafePointer(ws.sOut(i - 1))
    }

    func forwardBlock(_ ws: Workspace<T>, _ x: Input<T>, rows: Int, out: UnsafeMutablePointer<T>? = nil,
                      training: Bool = false) {
        for i in 0..<layerCount {
            // S_in = S_out_prev · Wᵀ + Bᵀ, S_out = f(S_in): the GEMM (sparse × dense on a CSR X), then bias
            // and f fused in one pass
            if i == 0 {
                inputForward(ws.sIn(0), x, rows: rows, wT: ws.weightsT())
            } else {
                linearForward(ws.sIn(i), layerInput(ws, i, training: training), w(i), rows: rows, nIn: sizes[i],
                              nOut: sizes[i + 1], wT: ws.weightsT())
            }
            let dst = (i == layerCount - 1 ? out : nil) ?? ws.sOut(i)
            activationForward(dst, ws.sIn(i), bias: b(i), rows: rows, n: sizes[i + 1], activations[i])
            if drops(i, training: training), let m = ws.mask(i), let d = ws.dropped(i) {
                dropoutForward(d, m, ws.sOut(i), count: rows * sizes[i + 1], rate: dropout[i], rng: &rng)
            }
        }
    }

    // Inference only (no dropout): rows row..<row+rows of the block, through every layer, in that
    // part of the workspace; the products are single-threaded when the caller runs on the pool.
    func inferRows(_ ws: Workspace<T>, _ x: UnsafePointer<T>, row: Int, rows: Int, out: UnsafeMutablePointer<T>) {
        for i in 0..<layerCount {
            let prev = i == 0 ? x + row * sizes[0] : UnsafePointer(ws.sOut(i - 1, row: row))
            linearForward(ws.sIn(i, row: row), prev, w(i), rows: rows, nIn: sizes[i], nOut: sizes[i + 1])
            let dst = i == layerCount - 1 ? out + row * sizes[layerCount] : ws.sOut(i, row: row)
            activationForward(dst, ws.sIn(i, row: row), bias: b(i), rows: rows, n: sizes[i + 1], activations[i])
        }
    }

    /// Forward pass. x is (batch, n_0), out is (batch, n_L). false if the workspace cannot be allocated.
    /// The rows of a block are shared out among the pool's threads, each taking its rows through every
    /// layer: no synchronisation between layers, and the element-wise passes are split too.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func forward(_ out: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, batch: Int) -> Bool {
        forward(out, .dense(x), batch: batch)
    }

    /// Forward pass on dense or CSR rows (see the dense form).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func forward(_ out: UnsafeMutablePointer<T>, _ x: Input<T>, batch: Int) -> Bool {
        let block = min(batch, rowsPerBlock)
        guard let ws = workspace(rows: block) else { return false }
        guard prepareInput(x, rows: batch) else { return false }
        let n0 = sizes[0], nL = sizes[layerCount]
        let work = sizes.indices.dropLast().reduce(0) { $0 + sizes[$1] * sizes[$1 + 1] }  // multiply-adds per row
        for start in stride(from: 0, to: batch, by: block) {
            let rows = min(block, batch - start), outs = out + start * nL
            guard case .dense(let x) = x else {  // CSR rows: block by block, the products share the threads
                forwardBlock(ws, x.advanced(by: start, n: n0), rows: rows, out: outs)
                continue
            }
            let xs = x + start * n0
            parallelRanges(count: rows, minCount: max(32, 4 * workPerThread / max(1, work)), align: 8) { _, r in
                inferRows(ws, xs, row: r.lowerBound, rows: r.count, out: outs)
            }
        }
        return true
    }

    /// Sum of the sample weights (the cost's normaliser), or the batch size without weights.
    static func weightSum(_ weights: UnsafePointer<T>?, batch: Int) -> Double {
        guard let weights else { return Double(batch) }
        var s = 0.0
        for r in 0..<batch { s += Double(weights[r]) }
        return s
    }

    /// Mean cost over the batch (weighted by `weights` if given) without touching the gradients.
    /// nil if the workspace cannot be allocated.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func cost(_ x: UnsafePointer<T>, _ y: Target<T>, weights: UnsafePointer<T>? = nil, batch: Int) -> Double? {
        cost(.dense(x), y, weights: weights, batch: batch)
    }

    /// Mean cost on dense or CSR rows (see the dense form).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func cost(_ x: Input<T>, _ y: Target<T>, weights: UnsafePointer<T>? = nil, batch: Int) -> Double? {
        let block = min(batch, rowsPerBlock)
        guard let ws = workspace(rows: block) else { return nil }
        guard prepareInput(x, rows: batch) else { return nil }
        let n0 = sizes[0], nL = sizes[layerCount], last = layerCount - 1
        var total = 0.0
        for start in stride(from: 0, to: batch, by: block) {
            let rows = min(block, batch - start)
            forwardBlock(ws, x.advanced(by: start, n: n0), rows: rows)
            total += lossForward(loss, ws.sIn(last), ws.sOut(last), y.advanced(by: start, n: nL),
                                 weights: weights.map { $0 + start }, rows: rows, n: nL)
        }
        return total / Self.weightSum(weights, batch: batch)
    }

    /// Forward and backward pass: fills the gradient buffer with dcost/dW^i, dcost/dB^i of the mean
    /// cost over the batch (`accumulate`: adds them to what the buffer holds) and returns that cost. `wholeBatch` keeps every row's S_in, S_out and δ in
    /// the workspace (for tracing) instead of streaming blocks. nil if the workspace cannot be allocated,
    /// in which case nothing was written.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func backward(_ x: UnsafePointer<T>, _ y: Target<T>, weights: UnsafePointer<T>? = nil,
                         batch: Int, wholeBatch: Bool = false, training: Bool = false,
                         accumulate: Bool = false) -> Double? {
        backward(.dense(x), y, weights: weights, batch: batch, wholeBatch: wholeBatch, training: training,
                 accumulate: accumulate)
    }

    /// Forward and backward pass on dense or CSR rows (see the dense form). `accumulate` adds this batch's
    /// gradient to the gradient buffer instead of overwriting it.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func backward(_ x: Input<T>, _ y: Target<T>, weights: UnsafePointer<T>? = nil,
                         batch: Int, wholeBatch: Bool = false, training: Bool = false,
                         accumulate: Bool = false) -> Double? {
        let block = wholeBatch ? batch : min(batch, rowsPerBlock)
        guard let ws = workspace(rows: block) else { return nil }
        guard prepareInput(x, rows: batch) else { return nil }
        let n0 = sizes[0], nL = sizes[layerCount], last = layerCount - 1
        let norm = Self.weightSum(weights, batch: batch)
        var total = 0.0
        for start in stride(from: 0, to: batch, by: block) {
            let rows = min(block, batch - start), xs = x.advanced(by: start, n: n0), ys = y.advanced(by: start, n: nL)
            let wRows = weights.map { $0 + start }
            forwardBlock(ws, xs, rows: rows, training: training)
            total += lossForward(loss, ws.sIn(last), ws.sOut(last), ys, weights: wRows, rows: rows, n: nL)
            // dcost/dS_in^n, per loss
            lossBackward(ws.delta(last), loss, activations[last], ws.sIn(last), ws.sOut(last), ys,
                         weights: wRows, rows: rows, n: nL, norm: T(norm))
            for i in stride(from: last, through: 0, by: -1) {
                if i == 0 {  // (2) and (3) on X, dense or sparse: no input gradient
                    inputBackward(xs, delta: ws.delta(0), rows: rows, accumulate: accumulate || start > 0)
                } else {
                    // (2), (3), and dcost/dS_out^(i-1) = (W^i)ᵀ δ^i, the matrix half of (1) for the layer below
                    linearBackward(dx: ws.dSOut(), dW: dW(i), dB: dB(i), delta: ws.delta(i),
                                   x: layerInput(ws, i, training: training), w: w(i),
                                   rows: rows, nIn: sizes[i], nOut: sizes[i + 1], accumulate: accumulate || start > 0)
                    if drops(i - 1, training: training), let m = ws.mask(i - 1) {
                        dropoutBackward(ws.dSOut(), m, count: rows * sizes[i])
                    }
                    // (1) δ^(i-1) = (W^i)ᵀ δ^i ⊙ f'(S_in^(i-1))
                    activationBackward(ws.delta(i - 1), ws.dSOut(), ws.sIn(i - 1), ws.sOut(i - 1),
                                       rows: rows, n: sizes[i], activations[i - 1])
                }
            }
        }
        return total / norm
    }

    public enum Quantity: Int32, Sendable { case sIn = 0, sOut, delta }

    /// Layer i's S_in, S_out or δ from the last call, as rows × n_(i+1) starting at row 0 of the workspace.
    public func workspaceValues(_ q: Quantity, layer i: Int) -> UnsafePointer<T>? {
        guard let ws = workspace, i >= 0, i < layerCount else { return nil }
        switch q {
        case .sIn: return UnsafePointer(ws.sIn(i))
        case .sOut: return UnsafePointer(ws.sOut(i))
        case .delta: return UnsafePointer(ws.delta(i))
        }
    }
}

extension Network {
    /// Rows held by the current workspace (nil before the first call).
    public var workspaceRows: Int? { workspace?.rows }
}
