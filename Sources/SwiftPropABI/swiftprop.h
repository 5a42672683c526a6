/* The C ABI of swiftprop's Swift core (written by hand: Swift's generated header hides @_cdecl
 * functions behind __OBJC__). One function per operation, over opaque handles that know their dtype.
 * Every function that can fail returns an sp_status and, on failure, leaves a message in
 * sp_last_error(); none traps. Swift Int is intptr_t. Arrays are C-contiguous, samples as rows, of the
 * handle's dtype (float or double) where typed `void *`. */
#ifndef SWIFTPROP_H
#define SWIFTPROP_H

#include <stdint.h>

typedef enum {
    SP_OK = 0,
    SP_ERR_SIZE = 1,       /* a size or shape does not match the network, or overflows */
    SP_ERR_ARG = 2,        /* an unknown code, a NULL pointer, a bad index or a value out of range */
    SP_ERR_LABEL = 3,      /* a class label is outside [0, n_outputs) */
    SP_ERR_MEMORY = 4,     /* an allocation failed */
    SP_ERR_ARCH = 5,       /* softmax before the last layer, or a loss without its output activation */
    SP_ERR_TARGET = 6,     /* labels given for a loss other than cross-entropy */
    SP_ERR_NONFINITE = 7,  /* a NaN/Inf loss, gradient or updated parameter; nothing was changed */
} sp_status;

typedef enum { SP_FLOAT32 = 0, SP_FLOAT64 = 1 } sp_dtype;

/* The core's codes; sp_activation_name etc. give their names (NULL past the last code). */
typedef enum {
    SP_IDENTITY = 0, SP_SIGMOID, SP_TANH, SP_RELU, SP_LEAKY_RELU, SP_ELU, SP_SOFTPLUS, SP_GELU, SP_SOFTMAX, SP_EXP,
} sp_activation;
typedef enum { SP_MSE = 0, SP_CROSS_ENTROPY, SP_BINARY_CROSS_ENTROPY, SP_POISSON } sp_loss;
typedef enum { SP_SGD = 0, SP_ADAM, SP_ADAMW, SP_RMSPROP } sp_optimizer_kind;
typedef enum { SP_S_IN = 0, SP_S_OUT, SP_DELTA } sp_quantity;
typedef enum {
    SP_PASS_COST = 0,      /* the cost only; gradients untouched */
    SP_PASS_BACKWARD = 1,  /* the cost and the gradient buffer */
    SP_PASS_TRACE = 2,     /* backward over the whole batch at once, keeping every row for sp_workspace_copy */
    SP_PASS_ACCUMULATE = 3,  /* backward adding the batch's gradient to the gradient buffer */
} sp_pass;

typedef enum { SP_INDEX_INT32 = 0, SP_INDEX_INT64 = 1 } sp_index_type;

/* A CSR matrix (as scipy.sparse holds it): row r's stored values are data[indptr[r] .. indptr[r+1]) in
 * columns indices[...]. data (nnz, the network's dtype) and indices (nnz) hold nnz entries, indptr
 * n_indptr, all of index_type (sp_index_type). The core checks the structure (n_indptr = rows + 1,
 * indptr[0] = 0, non-decreasing, indptr[rows] = nnz, indices in [0, n_cols), n_cols = n_in) in
 * O(rows + nnz) before computing anything, reading only within those lengths. */
typedef struct {
    const void *data;
    const void *indices;
    const void *indptr;
    int32_t index_type;
    intptr_t nnz, n_indptr, n_cols;
} sp_csr;

/* A batch of `rows` samples: x (rows, n_in) XOR csr (the same rows as a CSR matrix, first layer read
 * sparse); dense targets y (rows, n_out) XOR labels (rows) for cross-entropy (neither for sp_forward;
 * sp_check then checks x alone); weights (rows) >= 0 with a positive sum, or NULL. */
typedef struct {
    const void *x;
    const void *y;
    const int64_t *labels;
    const void *weights;
    intptr_t rows;
    const sp_csr *csr;
} sp_batch;

/* Optimizer hyper-parameters (each kind reads its own; ranges are the caller's). alpha: RMSprop's
 * smoothing constant; clip_norm > 0: every kind's step scales the gradient by min(1, clip_norm /
 * (‖g‖₂ + 1e-6)), ‖g‖₂ over the whole buffer (0: no clipping). */
typedef struct {
    double lr, momentum;
    int32_t nesterov;
    double weight_decay, beta1, beta2, eps, alpha, clip_norm;
} sp_hyper;

/* One epoch over a batch: mini-batch b is rows order[b*batch_size ...] (order NULL: in place), each a
 * backward + L2 penalty alpha (weights only, / batch rows or weight sum) + optimizer step. Training
 * starts at batch `first` and stops at the epoch's end or, if seconds > 0, once that many seconds have
 * passed after a completed batch. */
typedef struct {
    const int64_t *order;
    intptr_t batch_size, first;
    double alpha, seconds;
} sp_epoch;

/* loss_sum += batch loss (L2 included) * rows; penalty_sum += its L2 part * rows; next = the batch
 * after the last completed one (on SP_ERR_NONFINITE: the batch that failed, which changed nothing);
 * batches = the epoch's batch count. A batch whose weights sum to 0 is skipped (no step). */
typedef struct {
    double loss_sum, penalty_sum;
    intptr_t next, batches;
} sp_progress;

/* The message of the last call that failed on this thread ("" if none); valid until the next failure. */
const char *sp_last_error(void);
const char *sp_activation_name(int32_t code);
const char *sp_loss_name(int32_t code);
const char *sp_optimizer_name(int32_t code);

/* Networks. sizes[0..n_sizes), activations[0..n_activations) (one per layer); *out receives the handle. */
int32_t sp_network_create(void **out, int32_t dtype, const intptr_t *sizes, intptr_t n_sizes,
                          const int32_t *activations, intptr_t n_activations, int32_t loss);
void sp_network_destroy(void *net);
int32_t sp_network_dtype(const void *net);  /* sp_dtype, or -1 for NULL */
/* The flat parameter and gradient buffers (owned by the network) and their length. */
void *sp_network_params(void *net, intptr_t *count);
void *sp_network_grads(void *net, intptr_t *count);
/* offsets[2i] = offset of W^i, offsets[2i+1] = offset of B^i; n_offsets must be 2 * n_layers. */
int32_t sp_network_offsets(const void *net, intptr_t *offsets, intptr_t n_offsets);
/* Dropout rate of each hidden layer's output during sp_train: n_layers - 1 rates in [0, 1). */
int32_t sp_network_set_dropout(void *net, const double *rates, intptr_t n);
/* The generator of the dropout masks. */
void sp_network_seed(void *net, uint64_t seed);

/* out (batch->rows, n_out) = network(batch's x or csr); the batch's targets and weights are not read. */
int32_t sp_forward(void *net, void *out, const sp_batch *batch);
/* *cost = Σ w·c / Σ w over the batch (weights NULL: the mean); pass: sp_pass. Nothing is written
 * unless the status is SP_OK. */
int32_t sp_backward(void *net, double *cost, const sp_batch *batch, int32_t pass);
/* The checks sp_backward makes of the input (rows, CSR structure), labels, targets and weights, computing
 * nothing (a batch without y and labels: the input's checks alone). */
int32_t sp_check(const void *net, const sp_batch *batch);
/* Copy layer `layer`'s quantity (sp_quantity) of the last SP_PASS_TRACE: out is (rows, n_(layer+1)). */
int32_t sp_workspace_copy(const void *net, void *out, int32_t quantity, intptr_t layer, intptr_t rows);
/* 1 if every one of the count values (of dtype) is finite, else 0. */
int32_t sp_all_finite(int32_t dtype, const void *x, intptr_t count);
/* Adds alpha·W/norm (weights only) to the gradient buffer; *penalty = ½·alpha·Σ‖W‖²/norm. */
int32_t sp_add_l2(void *net, double *penalty, double alpha, double norm);

/* Optimizers of one network (kind: sp_optimizer_kind). The state buffer (SGD: velocity; Adam/AdamW:
 * m then v; RMSprop: mean square then momentum buffer) has the parameters' layout. step: one update of net's params from its grads
 * (SP_ERR_NONFINITE, nothing changed, if a parameter would become NaN/Inf). */
int32_t sp_optimizer_create(void **out, void *net, int32_t kind, const sp_hyper *hyper);
void sp_optimizer_destroy(void *opt);
int32_t sp_optimizer_set(void *opt, const sp_hyper *hyper);
void *sp_optimizer_state(void *opt, intptr_t *count);
int64_t sp_optimizer_steps(const void *opt);           /* steps taken, or -1 for NULL */
int32_t sp_optimizer_set_steps(void *opt, int64_t t);  /* t in [0, 2**53] */
int32_t sp_optimizer_step(void *opt, void *net);
int32_t sp_train(void *net, void *opt, const sp_batch *batch, const sp_epoch *epoch, sp_progress *progress);

/* Threads: swiftprop's pool (OpenBLAS from scipy-openblas32 itself runs on one). */
void sp_set_num_threads(int32_t n);
int32_t sp_get_num_threads(void);
const char *sp_blas_corename(void);

#endif
