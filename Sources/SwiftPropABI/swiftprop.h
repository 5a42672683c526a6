/* The C ABI of swiftprop's Swift core (written by hand: Swift's generated header hides @_cdecl
 * functions behind __OBJC__). Every function checks its sizes and returns a status; none traps.
 * Swift Int is intptr_t. Arrays are C-contiguous, samples as rows. The network handle is opaque. */
#ifndef SWIFTPROP_H
#define SWIFTPROP_H

#include <stdint.h>

enum {
    SP_OK = 0,
    SP_ERR_SIZE = 1,       /* a size or shape does not match the network, or overflows */
    SP_ERR_ARG = 2,        /* an unknown code (activation, loss, dtype, quantity) or a bad layer index */
    SP_ERR_LABEL = 3,      /* a class label is outside [0, n_classes) */
    SP_ERR_MEMORY = 4,     /* an allocation failed */
    SP_ERR_ARCH = 5,       /* softmax before the last layer, or a loss without its output activation */
    SP_ERR_TARGET = 6,     /* labels given for a loss other than cross-entropy */
    SP_ERR_NONFINITE = 7,  /* a NaN/Inf loss, gradient or updated parameter; no step was taken */
};

/* Activation codes: identity 0, sigmoid 1, tanh 2, relu 3, leaky_relu 4, elu 5, softplus 6, gelu 7, softmax 8.
 * Loss codes: mse 0, cross_entropy 1, binary_cross_entropy 2. Quantity codes: S_in 0, S_out 1, delta 2. */

/* Architecture: sizes[0..n_sizes), activations[0..n_sizes-1). *out receives the handle. */
int32_t sp_network_create_f32(void **out, const intptr_t *sizes, intptr_t n_sizes, const int32_t *activations, int32_t loss);
int32_t sp_network_create_f64(void **out, const intptr_t *sizes, intptr_t n_sizes, const int32_t *activations, int32_t loss);
void sp_network_destroy_f32(void *net);
void sp_network_destroy_f64(void *net);

/* The flat parameter and gradient buffers (owned by the network) and their length. */
float *sp_network_params_f32(void *net, intptr_t *count);
double *sp_network_params_f64(void *net, intptr_t *count);
float *sp_network_grads_f32(void *net, intptr_t *count);
double *sp_network_grads_f64(void *net, intptr_t *count);
/* offsets[2i] = offset of W^i, offsets[2i+1] = offset of B^i; n_offsets must be 2 * n_layers. */
int32_t sp_network_offsets_f32(void *net, intptr_t *offsets, intptr_t n_offsets);
int32_t sp_network_offsets_f64(void *net, intptr_t *offsets, intptr_t n_offsets);

/* out (batch, n_out) = network(x (batch, n_in)). */
int32_t sp_forward_f32(void *net, float *out, const float *x, intptr_t batch, intptr_t n_in, intptr_t n_out);
int32_t sp_forward_f64(void *net, double *out, const double *x, intptr_t batch, intptr_t n_in, intptr_t n_out);

/* *cost = the cost over the batch: Σ w·c / Σ w (weights NULL: the mean). y is (batch, n_out) dense targets
 * XOR labels (batch) for cross-entropy; weights (batch) >= 0 with a positive sum, or NULL. grads != 0: also
 * fill the gradient buffer with dcost/dparams (backward); whole_batch != 0 keeps every row's S_in, S_out,
 * delta for sp_workspace_copy. Nothing is written unless the status is SP_OK. */
int32_t sp_backward_f32(void *net, double *cost, const float *x, const float *y, const int64_t *labels, const float *weights,
                        intptr_t batch, intptr_t n_in, intptr_t n_out, int32_t grads, int32_t whole_batch);
int32_t sp_backward_f64(void *net, double *cost, const double *x, const double *y, const int64_t *labels, const double *weights,
                        intptr_t batch, intptr_t n_in, intptr_t n_out, int32_t grads, int32_t whole_batch);

/* Copy layer `layer`'s S_in / S_out / delta of the last whole-batch backward: out is (rows, n_(layer+1)). */
int32_t sp_workspace_copy_f32(void *net, float *out, int32_t quantity, intptr_t layer, intptr_t rows, intptr_t n);
int32_t sp_workspace_copy_f64(void *net, double *out, int32_t quantity, intptr_t layer, intptr_t rows, intptr_t n);

/* 1 if every one of the count values is finite, else 0. */
int32_t sp_all_finite_f32(const float *x, intptr_t count);
int32_t sp_all_finite_f64(const double *x, intptr_t count);

/* Optimizers (kind: sgd 0, adam 1, adamw 2), hyper = {lr, momentum, nesterov 0/1, weight_decay, beta1, beta2, eps}.
 * The state buffer (SGD: velocity; Adam/AdamW: m then v) has the parameters' layout. steps(opt, set):
 * set >= 0 sets the step count; returns it. step(opt, net): one update of net's params from its grads
 * (SP_ERR_NONFINITE, nothing changed, if a parameter would become NaN/Inf).
 * train: mini-batches first..first+count-1 of an epoch over n samples (batch b: rows
 * order[b*batch_size ...], or in place when order is NULL; y dense or labels; weights may be NULL),
 * each backward + L2 penalty alpha (weights only, / batch rows or batch weight sum) + step.
 * *loss_sum += batch loss (L2 included) * rows, *penalty_sum += its L2 part * rows,
 * *done = batches completed. SP_ERR_NONFINITE: batch first + *done had a NaN/Inf loss or gradient, or
 * its step would have made a parameter NaN/Inf; nothing was changed by that batch. A batch whose sample
 * weights sum to 0 is skipped (counted as done, no step). */
int32_t sp_optimizer_create_f32(void **out, void *net, int32_t kind, const double *hyper);
void sp_optimizer_destroy_f32(void *opt);
int32_t sp_optimizer_set_f32(void *opt, const double *hyper);
float *sp_optimizer_state_f32(void *opt, intptr_t *count);
int64_t sp_optimizer_steps_f32(void *opt, int64_t set);
int32_t sp_optimizer_step_f32(void *opt, void *net);
int32_t sp_train_f32(void *net, void *opt, double *loss_sum, double *penalty_sum, intptr_t *done, const float *x, const float *y,
                      const int64_t *labels, const float *weights, intptr_t n, intptr_t n_in, intptr_t n_out,
                      const int64_t *order, intptr_t batch_size, intptr_t first, intptr_t count, double alpha);

int32_t sp_optimizer_create_f64(void **out, void *net, int32_t kind, const double *hyper);
void sp_optimizer_destroy_f64(void *opt);
int32_t sp_optimizer_set_f64(void *opt, const double *hyper);
double *sp_optimizer_state_f64(void *opt, intptr_t *count);
int64_t sp_optimizer_steps_f64(void *opt, int64_t set);
int32_t sp_optimizer_step_f64(void *opt, void *net);
int32_t sp_train_f64(void *net, void *opt, double *loss_sum, double *penalty_sum, intptr_t *done, const double *x, const double *y,
                      const int64_t *labels, const double *weights, intptr_t n, intptr_t n_in, intptr_t n_out,
                      const int64_t *order, intptr_t batch_size, intptr_t first, intptr_t count, double alpha);

/* Adds the L2 penalty's gradient alpha·W/norm (weights only) to the gradient buffer; *penalty = ½·alpha·Σ‖W‖²/norm. */
int32_t sp_add_l2_f32(void *net, double *penalty, double alpha, double norm);
int32_t sp_add_l2_f64(void *net, double *penalty, double alpha, double norm);

/* Dropout rate of each hidden layer's output during training (sp_train), n = n_layers - 1 rates in [0, 1);
 * SP_ERR_ARG otherwise. seed: the generator of the dropout masks. */
int32_t sp_network_set_dropout_f32(void *net, const double *rates, intptr_t n);
int32_t sp_network_set_dropout_f64(void *net, const double *rates, intptr_t n);
void sp_network_seed_f32(void *net, uint64_t seed);
void sp_network_seed_f64(void *net, uint64_t seed);

/* BLAS threads (OpenBLAS from scipy-openblas32). */
void sp_set_num_threads(int32_t n);
int32_t sp_get_num_threads(void);
const char *sp_blas_corename(void);

#endif
