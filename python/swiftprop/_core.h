/* What the files of the swiftprop._core extension share (private: not installed).
 *
 * The extension is one module over the Swift core's C ABI (swiftprop.h), in files by area:
 * _core_module.c (module, name tables, threads), _core_arrays.c (array checks, aliasing, status →
 * exception), _core_net.c (the Net type), _core_opt.c (the Optimizer type). It checks only what the
 * core cannot see (Python types, dtype, byte order, ndim, shapes, layout, alignment, writeability,
 * aliasing, NaN/Inf), releases the GIL around the core and raises the core's own message. */
#ifndef SWIFTPROP_CORE_H
#define SWIFTPROP_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL swiftprop_core_ARRAY_API
#ifndef SWIFTPROP_CORE_MODULE
#define NO_IMPORT_ARRAY  /* import_array() runs once, in _core_module.c */
#endif
#include <numpy/arrayobject.h>

#include "swiftprop.h"

#define CORE_HIDDEN __attribute__((visibility("hidden")))

/* ---- arrays and errors (_core_arrays.c) ---- */

/* Raises the exception for a status with the core's message (sp_last_error) after `prefix`
 * (may be ""); returns NULL. */
CORE_HIDDEN PyObject *core_raise(int32_t status, const char *prefix);
CORE_HIDDEN int core_typenum(int32_t dtype);  /* sp_dtype → NPY_FLOAT32 / NPY_FLOAT64 */
CORE_HIDDEN int32_t core_dtype(int typenum);  /* and back */
/* obj as an ndarray of `typenum`, native byte order, `ndim` dims of sizes d0, d1 (-1: any, but >= 1),
 * C-contiguous, aligned, and writeable if asked; else NULL with the exception set. */
CORE_HIDDEN PyArrayObject *core_check_array(PyObject *obj, const char *name, int typenum, int ndim, npy_intp d0,
                                            npy_intp d1, int writeable);
/* True if the contiguous array a shares a byte with the n bytes at b (or with array b). */
CORE_HIDDEN int core_overlaps_bytes(PyArrayObject *a, const void *b, size_t n);
CORE_HIDDEN int core_overlap(PyArrayObject *a, PyArrayObject *b);
/* 1 if every value of the float array is finite; else 0 with ValueError naming it. */
CORE_HIDDEN int core_check_finite(PyArrayObject *a, const char *name);
/* A 1-D ndarray viewing count values at data, keeping owner alive. */
CORE_HIDDEN PyObject *core_view(PyObject *owner, void *data, intptr_t count, int typenum);

/* The input X of a call: a dense (n, sizes[0]) ndarray, or a CSR matrix passed from Python as the tuple
 * (data, indices, indptr, n_rows, n_cols) (swiftprop._sparse). */
typedef struct {
    PyArrayObject *x;                          /* dense X, or NULL for CSR */
    PyArrayObject *data, *indices, *indptr;    /* CSR arrays (borrowed from the tuple) */
    sp_csr csr;
    npy_intp rows;
} CoreInput;

/* obj as an input of width n_cols: checks types, dtypes (data: typenum; indices and indptr: both int32
 * or both int64), 1-D, C-contiguous, aligned; the CSR structure is the core's to check. 1, or 0 with the
 * exception set. */
CORE_HIDDEN int core_check_input(PyObject *obj, const char *name, int typenum, npy_intp n_cols, CoreInput *in);
/* True if any array of the input shares a byte with the n bytes at b. */
CORE_HIDDEN int core_input_overlaps(const CoreInput *in, const void *b, size_t n);
/* 1 if every value of the input is finite; else 0 with ValueError naming it. */
CORE_HIDDEN int core_input_finite(const CoreInput *in, const char *name);
/* A batch over the input (targets and weights NULL). in->csr must stay where it is while the batch is used. */
CORE_HIDDEN sp_batch core_input_batch(const CoreInput *in);

/* ---- the Net type (_core_net.c) ---- */

typedef struct {
    PyObject_HEAD
    void *handle;
    int typenum;              /* NPY_FLOAT32 or NPY_FLOAT64 */
    Py_ssize_t n_layers;
    npy_intp *sizes;          /* n_layers + 1 */
    PyThread_type_lock lock;  /* serialises calls into Swift on this network */
} NetObject;

extern CORE_HIDDEN PyTypeObject NetType;
CORE_HIDDEN void core_net_lock(NetObject *self);
CORE_HIDDEN int core_net_ready(NetObject *self);

/* ---- the Optimizer type (_core_opt.c) ---- */

typedef struct {
    PyObject_HEAD
    void *handle;
    NetObject *net;  /* strong reference: the optimizer's state has the network's layout */
    sp_hyper hyper;  /* the values last set (set() changes only the keywords it is given) */
} OptObject;

extern CORE_HIDDEN PyTypeObject OptType;
CORE_HIDDEN int core_opt_ready(OptObject *self);
/* True if the array shares a byte with the optimizer's state buffer. */
CORE_HIDDEN int core_overlaps_state(OptObject *opt, PyArrayObject *a);

#endif
