/* swiftprop._core: the CPython / NumPy C-API layer over the Swift core's C ABI (swiftprop.h).
 *
 * It only validates (type, dtype, byte order, ndim, shape, C-contiguity, alignment, writeability),
 * passes data pointers straight to Swift (zero-copy) with the GIL released, and turns a status into
 * the precise exception. Friendly argument checks (names, NaN, label values) live in Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>
#include <string.h>
#include <time.h>

#include "swiftprop.h"

/* ---- status → exception ------------------------------------------------------------------- */

static PyObject *
raise_status(int32_t status, const char *what)
{
    switch (status) {
    case SP_ERR_SIZE:
        PyErr_Format(PyExc_ValueError, "%s: a size does not match the network or is too large", what);
        break;
    case SP_ERR_ARG:
        PyErr_Format(PyExc_ValueError, "%s: invalid argument code", what);
        break;
    case SP_ERR_LABEL:
        PyErr_Format(PyExc_ValueError, "%s: Y contains a class label outside [0, n_outputs)", what);
        break;
    case SP_ERR_MEMORY:
        PyErr_Format(PyExc_MemoryError, "%s: could not allocate the network's buffers or workspace", what);
        break;
    case SP_ERR_ARCH:
        PyErr_Format(PyExc_ValueError,
                     "%s: softmax is only allowed on the last layer; cross_entropy needs a softmax "
                     "output and binary_cross_entropy a sigmoid output", what);
        break;
    case SP_ERR_TARGET:
        PyErr_Format(PyExc_ValueError, "%s: integer labels are only accepted with the cross_entropy loss", what);
        break;
    case SP_ERR_NONFINITE:
        PyErr_Format(PyExc_FloatingPointError,
                     "%s: NaN or infinity in the loss, the gradients or the updated parameters; nothing was changed", what);
        break;
    default:
        PyErr_Format(PyExc_RuntimeError, "%s: unexpected status %d from the Swift core", what, (int)status);
    }
    return NULL;
}

/* ---- array validation --------------------------------------------------------------------- */

static const char *
dtype_name(int typenum)
{
    return typenum == NPY_FLOAT32 ? "float32" : typenum == NPY_FLOAT64 ? "float64" : typenum == NPY_INT64 ? "int64" : "?";
}

/* Checks that obj is an ndarray of `typenum`, native byte order, `ndim` dims with the given sizes
 * (-1: any, but >= 1), C-contiguous, aligned, and writeable if asked. Sets the exception. */
static PyArrayObject *
check_array(PyObject *obj, const char *name, int typenum, int ndim, npy_intp d0, npy_intp d1, int writeable)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray, got %.100s", name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    PyArray_Descr *d = PyArray_DESCR(a);
    if (PyArray_TYPE(a) != typenum) {
        PyErr_Format(PyExc_TypeError, "%s must have dtype %s, got %S", name, dtype_name(typenum), (PyObject *)d);
        return NULL;
    }
    if (!PyArray_ISNBO(d->byteorder)) {
        PyErr_Format(PyExc_TypeError, "%s must be in native byte order, got dtype %S", name, (PyObject *)d);
        return NULL;
    }
    if (PyArray_NDIM(a) != ndim) {
        PyErr_Format(PyExc_ValueError, "%s must be %d-D, got a %d-D array", name, ndim, PyArray_NDIM(a));
        return NULL;
    }
    npy_intp want[2] = {d0, d1};
    for (int k = 0; k < ndim; k++) {
        npy_intp got = PyArray_DIM(a, k);
        if (got < 1) {
            PyErr_Format(PyExc_ValueError, "%s must not be empty (axis %d has length 0)", name, k);
            return NULL;
        }
        if (want[k] >= 0 && got != want[k]) {
            PyErr_Format(PyExc_ValueError, "%s has %zd %s, expected %zd", name, (Py_ssize_t)got,
                         k == 0 ? "rows" : "columns", (Py_ssize_t)want[k]);
            return NULL;
        }
    }
    if (!PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be C-contiguous (use numpy.ascontiguousarray)", name);
        return NULL;
    }
    if (!PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be aligned for its dtype", name);
        return NULL;
    }
    if (writeable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable", name);
        return NULL;
    }
    return a;
}

/* True if the contiguous array a shares a byte with the n bytes at b. */
static int
overlaps_bytes(PyArrayObject *a, const char *b, size_t n)
{
    const char *a0 = PyArray_BYTES(a);
    return a0 < b + n && b < a0 + PyArray_NBYTES(a);
}

/* True if two C-contiguous arrays share any byte. */
static int
overlap(PyArrayObject *a, PyArrayObject *b)
{
    return overlaps_bytes(a, PyArray_BYTES(b), (size_t)PyArray_NBYTES(b));
}

/* 1 if every value of the (validated, float) array is finite; else sets ValueError naming it. */
static int
check_finite(PyArrayObject *a, const char *name)
{
    npy_intp n = PyArray_SIZE(a);
    int32_t ok;
    Py_BEGIN_ALLOW_THREADS
    ok = PyArray_TYPE(a) == NPY_FLOAT32 ? sp_all_finite_f32(PyArray_DATA(a), n) : sp_all_finite_f64(PyArray_DATA(a), n);
    Py_END_ALLOW_THREADS
    if (!ok) PyErr_Format(PyExc_ValueError, "%s contains NaN or infinity", name);
    return ok;
}

/* ---- the Net type ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    void *handle;
    int typenum;              /* NPY_FLOAT32 or NPY_FLOAT64 */
    Py_ssize_t n_layers;
    npy_intp *sizes;          /* n_layers + 1 */
    PyThread_type_lock lock;  /* serialises calls into Swift on this network */
} NetObject;

#define F32(self) ((self)->typenum == NPY_FLOAT32)

static PyTypeObject NetType;

/* Takes the network's lock without holding the GIL while waiting. */
static void
net_lock(NetObject *self)
{
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

static void
Net_dealloc(NetObject *self)
{
    if (self->handle) {
        if (F32(self)) sp_network_destroy_f32(self->handle);
        else sp_network_destroy_f64(self->handle);
    }
    if (self->lock) PyThread_free_lock(self->lock);
    PyMem_Free(self->sizes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Net_init(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"sizes", "activations", "loss", "dtype", NULL};
    PyObject *sizes_obj, *acts_obj;
    int loss;
    PyArray_Descr *descr = NULL;
    if (self->handle) {
        PyErr_SetString(PyExc_RuntimeError, "Net is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOiO&", kwlist, &sizes_obj, &acts_obj, &loss,
                                     PyArray_DescrConverter, &descr))
        return -1;
    int typenum = descr->type_num;
    Py_DECREF(descr);
    if (typenum != NPY_FLOAT32 && typenum != NPY_FLOAT64) {
        PyErr_SetString(PyExc_TypeError, "dtype must be float32 or float64");
        return -1;
    }
    PyObject *sizes_seq = PySequence_Fast(sizes_obj, "sizes must be a sequence of ints");
    if (!sizes_seq) return -1;
    PyObject *acts_seq = PySequence_Fast(acts_obj, "activations must be a sequence of ints");
    if (!acts_seq) { Py_DECREF(sizes_seq); return -1; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sizes_seq);
    int ok = 0;
    intptr_t *sizes = NULL;
    int32_t *acts = NULL;
    if (n < 2) {
        PyErr_SetString(PyExc_ValueError, "sizes must have at least 2 entries (inputs and outputs)");
        goto done;
    }
    if (PySequence_Fast_GET_SIZE(acts_seq) != n - 1) {
        PyErr_Format(PyExc_ValueError, "activations must have %zd entries (one per layer), got %zd", n - 1,
                     PySequence_Fast_GET_SIZE(acts_seq));
        goto done;
    }
    sizes = PyMem_Malloc(n * sizeof(intptr_t));
    acts = PyMem_Malloc((n - 1) * sizeof(int32_t));
    self->sizes = PyMem_Malloc(n * sizeof(npy_intp));
    if (!sizes || !acts || !self->sizes) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t v = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(sizes_seq, i), PyExc_OverflowError);
        if (v == -1 && PyErr_Occurred()) goto done;
        if (v < 1) {
            PyErr_Format(PyExc_ValueError, "sizes[%zd] must be >= 1, got %zd", i, v);
            goto done;
        }
        sizes[i] = (intptr_t)v;
        self->sizes[i] = (npy_intp)v;
    }
    for (Py_ssize_t i = 0; i < n - 1; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(acts_seq, i));
        if (v == -1 && PyErr_Occurred()) goto done;
        acts[i] = (int32_t)v;
    }
    self->typenum = typenum;
    self->n_layers = n - 1;
    int32_t status;
    void *handle = NULL;
    Py_BEGIN_ALLOW_THREADS
    status = typenum == NPY_FLOAT32 ? sp_network_create_f32(&handle, sizes, n, acts, (int32_t)loss)
                                    : sp_network_create_f64(&handle, sizes, n, acts, (int32_t)loss);
    Py_END_ALLOW_THREADS
    if (status != SP_OK) { raise_status(status, "Net"); goto done; }
    self->handle = handle;
    self->lock = PyThread_allocate_lock();
    if (!self->lock) { PyErr_NoMemory(); goto done; }
    ok = 1;
done:
    PyMem_Free(sizes);
    PyMem_Free(acts);
    Py_DECREF(sizes_seq);
    Py_DECREF(acts_seq);
    return ok ? 0 : -1;
}

static int
check_ready(NetObject *self)
{
    if (!self->handle || !self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "Net is not initialised");
        return 0;
    }
    return 1;
}

/* A 1-D ndarray viewing the network's parameter or gradient buffer; it keeps the network alive. */
static PyObject *
buffer_view(NetObject *self, int grads)
{
    if (!check_ready(self)) return NULL;
    intptr_t count = 0;
    void *data = F32(self) ? (void *)(grads ? sp_network_grads_f32(self->handle, &count) : sp_network_params_f32(self->handle, &count))
                           : (void *)(grads ? sp_network_grads_f64(self->handle, &count) : sp_network_params_f64(self->handle, &count));
    npy_intp dims[1] = {(npy_intp)count};
    PyObject *arr = PyArray_SimpleNewFromData(1, dims, self->typenum, data);
    if (!arr) return NULL;
    Py_INCREF(self);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)self) < 0) { Py_DECREF(arr); return NULL; }
    return arr;
}

static PyObject *Net_get_params(NetObject *self, void *c) { return buffer_view(self, 0); }
static PyObject *Net_get_grads(NetObject *self, void *c) { return buffer_view(self, 1); }

static PyObject *
Net_get_offsets(NetObject *self, void *c)
{
    if (!check_ready(self)) return NULL;
    Py_ssize_t n = 2 * self->n_layers;
    intptr_t *off = PyMem_Malloc(n * sizeof(intptr_t));
    if (!off) return PyErr_NoMemory();
    int32_t status = F32(self) ? sp_network_offsets_f32(self->handle, off, n) : sp_network_offsets_f64(self->handle, off, n);
    if (status != SP_OK) { PyMem_Free(off); return raise_status(status, "offsets"); }
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t && i < n; i++) {
        PyObject *v = PyLong_FromSsize_t((Py_ssize_t)off[i]);
        if (!v) { Py_CLEAR(t); break; }
        PyTuple_SET_ITEM(t, i, v);
    }
    PyMem_Free(off);
    return t;
}

static PyObject *
Net_get_dtype(NetObject *self, void *c)
{
    return (PyObject *)PyArray_DescrFromType(self->typenum);
}

/* True if the array shares a byte with the network's parameter or gradient buffer. */
static int
overlaps_buffers(NetObject *self, PyArrayObject *a)
{
    intptr_t count = 0;
    const char *params = F32(self) ? (const char *)sp_network_params_f32(self->handle, &count)
                                   : (const char *)sp_network_params_f64(self->handle, &count);
    const char *grads = F32(self) ? (const char *)sp_network_grads_f32(self->handle, &count)
                                  : (const char *)sp_network_grads_f64(self->handle, &count);
    size_t nbytes = (size_t)count * (F32(self) ? 4 : 8);
    return overlaps_bytes(a, params, nbytes) || overlaps_bytes(a, grads, nbytes);
}

/* Inputs of calls that write the gradient (and, in training, the parameter) buffer must not view
 * them: they would change while being read. 1 if a is separate; else sets ValueError naming it. */
static int
check_not_network(NetObject *self, PyArrayObject *a, const char *name)
{
    if (!overlaps_buffers(self, a)) return 1;
    PyErr_Format(PyExc_ValueError, "%s must not share memory with the network's parameters or gradients "
                 "(pass a copy)", name);
    return 0;
}

/* forward(X, out=None) -> out: X (n, sizes[0]) of the network's dtype; out (n, sizes[-1]) if given. */
static PyObject *
Net_forward(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "out", "check_finite", NULL};
    PyObject *x_obj, *out_obj = Py_None;
    int finite = 1;
    if (!check_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Op", kwlist, &x_obj, &out_obj, &finite)) return NULL;
    npy_intp n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    PyArrayObject *x = check_array(x_obj, "X", self->typenum, 2, -1, n_in, 0);
    if (!x || (finite && !check_finite(x, "X"))) return NULL;
    npy_intp batch = PyArray_DIM(x, 0);
    PyArrayObject *out;
    if (out_obj == Py_None) {
        npy_intp dims[2] = {batch, n_out};
        out = (PyArrayObject *)PyArray_SimpleNew(2, dims, self->typenum);
        if (!out) return NULL;
    } else {
        out = check_array(out_obj, "out", self->typenum, 2, batch, n_out, 1);
        if (!out) return NULL;
        if (overlap(out, x)) {
            PyErr_SetString(PyExc_ValueError, "out must not share memory with X");
            return NULL;
        }
        if (overlaps_buffers(self, out)) {
            PyErr_SetString(PyExc_ValueError, "out must not share memory with the network's parameters or gradients");
            return NULL;
        }
        Py_INCREF(out);
    }
    int32_t status;
    net_lock(self);
    Py_BEGIN_ALLOW_THREADS
    status = F32(self) ? sp_forward_f32(self->handle, PyArray_DATA(out), PyArray_DATA(x), batch, n_in, n_out)
                       : sp_forward_f64(self->handle, PyArray_DATA(out), PyArray_DATA(x), batch, n_in, n_out);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    if (status != SP_OK) { Py_DECREF(out); return raise_status(status, "forward"); }
    return (PyObject *)out;
}

/* Validates X and Y for a loss call. Y is (n, sizes[-1]) of the network's dtype, or int64 labels (n,).
 * Returns 1 with *labels set when Y is labels, 0 when dense, -1 with an exception. */
static int
check_xy_named(NetObject *self, PyObject *x_obj, PyObject *y_obj, int finite, PyArrayObject **x, PyArrayObject **y,
               const char *x_name, const char *y_name)
{
    npy_intp n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    *x = check_array(x_obj, x_name, self->typenum, 2, -1, n_in, 0);
    if (!*x || (finite && !check_finite(*x, x_name)) || !check_not_network(self, *x, x_name)) return -1;
    npy_intp batch = PyArray_DIM(*x, 0);
    if (PyArray_Check(y_obj) && PyArray_NDIM((PyArrayObject *)y_obj) == 1) {
        char label_name[64];
        PyOS_snprintf(label_name, sizeof label_name, "%s (labels)", y_name);
        *y = check_array(y_obj, label_name, NPY_INT64, 1, batch, -1, 0);
        return (*y && check_not_network(self, *y, y_name)) ? 1 : -1;
    }
    *y = check_array(y_obj, y_name, self->typenum, 2, batch, n_out, 0);
    if (!*y || (finite && !check_finite(*y, y_name)) || !check_not_network(self, *y, y_name)) return -1;
    return 0;
}

static int
check_xy(NetObject *self, PyObject *x_obj, PyObject *y_obj, int finite, PyArrayObject **x, PyArrayObject **y)
{
    return check_xy_named(self, x_obj, y_obj, finite, x, y, "X", "Y");
}

/* check(X, Y, x_name="X", y_name="Y", check_finite=True): validate a data pair as backward would,
 * computing nothing. */
static PyObject *
Net_check(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "Y", "x_name", "y_name", "check_finite", NULL};
    PyObject *x_obj, *y_obj;
    const char *x_name = "X", *y_name = "Y";
    int finite = 1;
    PyArrayObject *x, *y;
    if (!check_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|ssp", kwlist, &x_obj, &y_obj, &x_name, &y_name, &finite))
        return NULL;
    int labels = check_xy_named(self, x_obj, y_obj, finite, &x, &y, x_name, y_name);
    if (labels < 0) return NULL;
    if (labels) {  /* the range check the Swift core would do */
        const int64_t *l = PyArray_DATA(y);
        npy_intp n = PyArray_DIM(y, 0), classes = self->sizes[self->n_layers];
        for (npy_intp i = 0; i < n; i++) {
            if (l[i] < 0 || l[i] >= classes) {
                PyErr_Format(PyExc_ValueError, "%s contains label %lld outside [0, %zd)", y_name, (long long)l[i],
                             (Py_ssize_t)classes);
                return NULL;
            }
        }
    }
    Py_RETURN_NONE;
}

/* Validates optional per-sample weights: (n,) of the network's dtype, finite. NULL when w_obj is None. */
static int
check_weights(NetObject *self, PyObject *w_obj, npy_intp n, PyArrayObject **w)
{
    *w = NULL;
    if (w_obj == Py_None) return 1;
    *w = check_array(w_obj, "sample_weight", self->typenum, 1, n, -1, 0);
    return *w && check_finite(*w, "sample_weight") && check_not_network(self, *w, "sample_weight");
}

/* Runs backward (grads != 0) or cost on validated arrays, with the GIL released. */
static int32_t
run_loss(NetObject *self, int grads, int whole, PyArrayObject *x, PyArrayObject *y, int labels, PyArrayObject *w,
         double *cost)
{
    npy_intp batch = PyArray_DIM(x, 0), n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    const void *xd = PyArray_DATA(x), *yd = labels ? NULL : PyArray_DATA(y);
    const int64_t *ld = labels ? PyArray_DATA(y) : NULL;
    const void *wd = w ? PyArray_DATA(w) : NULL;
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = F32(self) ? sp_backward_f32(self->handle, cost, xd, yd, ld, wd, batch, n_in, n_out, grads, whole)
                       : sp_backward_f64(self->handle, cost, xd, yd, ld, wd, batch, n_in, n_out, grads, whole);
    Py_END_ALLOW_THREADS
    return status;
}

static PyObject *
loss_call(NetObject *self, PyObject *args, PyObject *kwds, int grads, const char *what)
{
    static char *kwlist[] = {"X", "Y", "check_finite", "sample_weight", NULL};
    PyObject *x_obj, *y_obj, *w_obj = Py_None;
    PyArrayObject *x, *y, *w;
    int finite = 1;
    if (!check_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO", kwlist, &x_obj, &y_obj, &finite, &w_obj)) return NULL;
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y);
    if (labels < 0 || !check_weights(self, w_obj, PyArray_DIM(x, 0), &w)) return NULL;
    double cost = 0.0;
    net_lock(self);
    int32_t status = run_loss(self, grads, 0, x, y, labels, w, &cost);
    PyThread_release_lock(self->lock);
    if (status == SP_ERR_ARG && w) {
        PyErr_SetString(PyExc_ValueError, "sample_weight must be >= 0 with a positive sum");
        return NULL;
    }
    if (status != SP_OK) return raise_status(status, what);
    return PyFloat_FromDouble(cost);
}

/* backward(X, Y) -> float: fills the gradient buffer, returns the mean cost. */
static PyObject *
Net_backward(NetObject *self, PyObject *args, PyObject *kwds) { return loss_call(self, args, kwds, 1, "backward"); }

/* cost(X, Y) -> float: the mean cost, gradients untouched. */
static PyObject *
Net_cost(NetObject *self, PyObject *args, PyObject *kwds) { return loss_call(self, args, kwds, 0, "cost"); }

/* trace(X, Y) -> (cost, S_in, S_out, deltas, grads): a whole-batch backward, then copies of every
 * layer's S_in, S_out and delta (lists of (n, sizes[i+1]) arrays) and of the gradient buffer. */
static PyObject *
Net_trace(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "Y", "check_finite", "sample_weight", NULL};
    PyObject *x_obj, *y_obj, *w_obj = Py_None;
    PyArrayObject *x, *y, *w;
    int finite = 1;
    if (!check_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO", kwlist, &x_obj, &y_obj, &finite, &w_obj)) return NULL;
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y);
    if (labels < 0 || !check_weights(self, w_obj, PyArray_DIM(x, 0), &w)) return NULL;
    npy_intp batch = PyArray_DIM(x, 0);
    PyObject *lists[3] = {PyList_New(self->n_layers), PyList_New(self->n_layers), PyList_New(self->n_layers)};
    PyObject *result = NULL, *grads = NULL;
    if (!lists[0] || !lists[1] || !lists[2]) goto done;
    intptr_t n_params = 0;
    void *grad_src = F32(self) ? (void *)sp_network_grads_f32(self->handle, &n_params) : (void *)sp_network_grads_f64(self->handle, &n_params);
    npy_intp gdims[1] = {(npy_intp)n_params};
    grads = PyArray_SimpleNew(1, gdims, self->typenum);
    if (!grads) goto done;
    for (int q = 0; q < 3; q++) {
        for (Py_ssize_t i = 0; i < self->n_layers; i++) {
            npy_intp dims[2] = {batch, self->sizes[i + 1]};
            PyObject *a = PyArray_SimpleNew(2, dims, self->typenum);
            if (!a) goto done;
            PyList_SET_ITEM(lists[q], i, a);
        }
    }
    double cost = 0.0;
    net_lock(self);
    int32_t status = run_loss(self, 1, 1, x, y, labels, w, &cost);
    Py_BEGIN_ALLOW_THREADS
    for (int q = 0; status == SP_OK && q < 3; q++) {
        for (Py_ssize_t i = 0; status == SP_OK && i < self->n_layers; i++) {
            void *dst = PyArray_DATA((PyArrayObject *)PyList_GET_ITEM(lists[q], i));
            status = F32(self) ? sp_workspace_copy_f32(self->handle, dst, q, i, batch, self->sizes[i + 1])
                               : sp_workspace_copy_f64(self->handle, dst, q, i, batch, self->sizes[i + 1]);
        }
    }
    if (status == SP_OK)  /* dW, dB of this call, copied before another call can overwrite them */
        memcpy(PyArray_DATA((PyArrayObject *)grads), grad_src, (size_t)PyArray_NBYTES((PyArrayObject *)grads));
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    if (status != SP_OK) { raise_status(status, "trace"); goto done; }
    result = Py_BuildValue("(dOOOO)", cost, lists[0], lists[1], lists[2], grads);
done:
    Py_XDECREF(grads);
    Py_XDECREF(lists[0]);
    Py_XDECREF(lists[1]);
    Py_XDECREF(lists[2]);
    return result;
}

/* ---- the Optimizer type ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    void *handle;
    NetObject *net;  /* strong reference: the optimizer's state has the network's layout */
    int typenum;
} OptObject;

static PyTypeObject OptType;

/* hyper: a sequence of 7 floats {lr, momentum, nesterov, weight_decay, beta1, beta2, eps}. */
static int
parse_hyper(PyObject *obj, double hyper[7])
{
    PyObject *seq = PySequence_Fast(obj, "hyper must be a sequence of 7 floats");
    if (!seq) return 0;
    if (PySequence_Fast_GET_SIZE(seq) != 7) {
        PyErr_SetString(PyExc_ValueError, "hyper must have 7 entries");
        Py_DECREF(seq);
        return 0;
    }
    for (int k = 0; k < 7; k++) {
        hyper[k] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, k));
        if (hyper[k] == -1.0 && PyErr_Occurred()) { Py_DECREF(seq); return 0; }
    }
    Py_DECREF(seq);
    return 1;
}

static int
Opt_init(OptObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"net", "kind", "hyper", NULL};
    NetObject *net;
    int kind;
    PyObject *hyper_obj;
    double hyper[7];
    if (self->handle) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!iO", kwlist, &NetType, &net, &kind, &hyper_obj)) return -1;
    if (!check_ready(net) || !parse_hyper(hyper_obj, hyper)) return -1;
    if (kind < 0 || kind > 2) {
        PyErr_Format(PyExc_ValueError, "kind must be 0 (sgd), 1 (adam) or 2 (adamw), got %d", kind);
        return -1;
    }
    void *handle = NULL;
    int32_t status = net->typenum == NPY_FLOAT32 ? sp_optimizer_create_f32(&handle, net->handle, kind, hyper)
                                                 : sp_optimizer_create_f64(&handle, net->handle, kind, hyper);
    if (status != SP_OK) { raise_status(status, "Optimizer"); return -1; }
    self->handle = handle;
    self->typenum = net->typenum;
    Py_INCREF(net);
    self->net = net;
    return 0;
}

static void
Opt_dealloc(OptObject *self)
{
    if (self->handle) {
        if (self->typenum == NPY_FLOAT32) sp_optimizer_destroy_f32(self->handle);
        else sp_optimizer_destroy_f64(self->handle);
    }
    Py_XDECREF(self->net);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
opt_ready(OptObject *self)
{
    if (!self->handle) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer is not initialised");
        return 0;
    }
    return 1;
}

static PyObject *
Opt_set(OptObject *self, PyObject *hyper_obj)
{
    double hyper[7];
    if (!opt_ready(self) || !parse_hyper(hyper_obj, hyper)) return NULL;
    net_lock(self->net);
    int32_t status = self->typenum == NPY_FLOAT32 ? sp_optimizer_set_f32(self->handle, hyper) : sp_optimizer_set_f64(self->handle, hyper);
    PyThread_release_lock(self->net->lock);
    if (status != SP_OK) return raise_status(status, "Optimizer.set");
    Py_RETURN_NONE;
}

/* step(): one update of the network's parameters from its gradient buffer. */
static PyObject *
Opt_step(OptObject *self, PyObject *unused)
{
    if (!opt_ready(self)) return NULL;
    int32_t status;
    net_lock(self->net);
    Py_BEGIN_ALLOW_THREADS
    status = self->typenum == NPY_FLOAT32 ? sp_optimizer_step_f32(self->handle, self->net->handle)
                                          : sp_optimizer_step_f64(self->handle, self->net->handle);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->net->lock);
    if (status != SP_OK) return raise_status(status, "Optimizer.step");
    Py_RETURN_NONE;
}

static PyObject *
Opt_get_state(OptObject *self, void *c)
{
    if (!opt_ready(self)) return NULL;
    intptr_t count = 0;
    void *data = self->typenum == NPY_FLOAT32 ? (void *)sp_optimizer_state_f32(self->handle, &count)
                                              : (void *)sp_optimizer_state_f64(self->handle, &count);
    npy_intp dims[1] = {(npy_intp)count};
    PyObject *arr = PyArray_SimpleNewFromData(1, dims, self->typenum, data);
    if (!arr) return NULL;
    Py_INCREF(self);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)self) < 0) { Py_DECREF(arr); return NULL; }
    return arr;
}

static PyObject *
Opt_get_t(OptObject *self, void *c)
{
    if (!opt_ready(self)) return NULL;
    return PyLong_FromLongLong(self->typenum == NPY_FLOAT32 ? sp_optimizer_steps_f32(self->handle, -1)
                                                            : sp_optimizer_steps_f64(self->handle, -1));
}

static int
Opt_set_t(OptObject *self, PyObject *value, void *c)
{
    if (!opt_ready(self)) return -1;
    if (!value) { PyErr_SetString(PyExc_TypeError, "t cannot be deleted"); return -1; }
    long long t = PyLong_AsLongLong(value);
    if (t == -1 && PyErr_Occurred()) return -1;
    if (t < 0 || t > (1LL << 53)) {  /* beyond any real run; keeps t + 1 and β^t well defined */
        PyErr_SetString(PyExc_ValueError, "t must be between 0 and 2**53");
        return -1;
    }
    net_lock(self->net);
    if (self->typenum == NPY_FLOAT32) sp_optimizer_steps_f32(self->handle, t);
    else sp_optimizer_steps_f64(self->handle, t);
    PyThread_release_lock(self->net->lock);
    return 0;
}

static PyMethodDef Opt_methods[] = {
    {"set", (PyCFunction)Opt_set, METH_O, "set(hyper): update the hyper-parameters."},
    {"step", (PyCFunction)Opt_step, METH_NOARGS, "step(): update the network's parameters from its gradients."},
    {NULL}
};

static PyGetSetDef Opt_getset[] = {
    {"state", (getter)Opt_get_state, NULL, "1-D view of the optimizer state (zero-copy).", NULL},
    {"t", (getter)Opt_get_t, (setter)Opt_set_t, "Number of steps taken.", NULL},
    {NULL}
};

static PyTypeObject OptType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "swiftprop._core.Optimizer",
    .tp_basicsize = sizeof(OptObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Optimizer(net, kind, hyper)\n\nLow-level optimizer state in Swift (use swiftprop.optim).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Opt_init,
    .tp_dealloc = (destructor)Opt_dealloc,
    .tp_methods = Opt_methods,
    .tp_getset = Opt_getset,
};

/* True if the array shares a byte with the optimizer's state buffer. */
static int
overlaps_state(OptObject *opt, PyArrayObject *a)
{
    intptr_t count = 0;
    const char *s = opt->typenum == NPY_FLOAT32 ? (const char *)sp_optimizer_state_f32(opt->handle, &count)
                                                : (const char *)sp_optimizer_state_f64(opt->handle, &count);
    return overlaps_bytes(a, s, (size_t)count * (opt->typenum == NPY_FLOAT32 ? 4 : 8));
}

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* train(opt, X, Y, sample_weight=None, order=None, batch_size=32, alpha=0.0, check_finite=True, seed=None)
 *   -> (loss_sum, batches, penalty_sum)
 * One epoch of mini-batches in Swift. The GIL is taken back every ~50 ms to check for signals, so
 * Ctrl-C stops training promptly, after a completed step. A NaN/Inf loss raises FloatingPointError
 * with args (message, batch index); no step is taken for that batch. */
static PyObject *
Net_train(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"opt", "X", "Y", "sample_weight", "order", "batch_size", "alpha", "check_finite", "seed", NULL};
    OptObject *opt;
    PyObject *x_obj, *y_obj, *w_obj = Py_None, *order_obj = Py_None;
    Py_ssize_t batch_size = 32;
    double alpha = 0.0;
    int finite = 1;
    PyArrayObject *x, *y, *w = NULL, *order = NULL;
    if (!check_ready(self)) return NULL;
    unsigned long long seed = 0;
    PyObject *seed_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OO|OOndpO", kwlist, &OptType, &opt, &x_obj, &y_obj, &w_obj,
                                     &order_obj, &batch_size, &alpha, &finite, &seed_obj))
        return NULL;
    if (seed_obj != Py_None) {
        seed = PyLong_AsUnsignedLongLongMask(seed_obj);
        if (PyErr_Occurred()) return NULL;
    }
    if (!opt_ready(opt)) return NULL;
    if (opt->net != self) {
        PyErr_SetString(PyExc_ValueError, "opt belongs to another network");
        return NULL;
    }
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y);
    if (labels < 0) return NULL;
    if (overlaps_state(opt, x) || overlaps_state(opt, y)) {  /* the steps would rewrite the data */
        PyErr_SetString(PyExc_ValueError, "X and Y must not share memory with the optimizer's state (pass a copy)");
        return NULL;
    }
    npy_intp n = PyArray_DIM(x, 0);
    if (!check_weights(self, w_obj, n, &w)) return NULL;
    if (w && overlaps_state(opt, w)) {
        PyErr_SetString(PyExc_ValueError, "sample_weight must not share memory with the optimizer's state");
        return NULL;
    }
    if (order_obj != Py_None) {
        order = check_array(order_obj, "order", NPY_INT64, 1, n, -1, 0);
        if (!order || !check_not_network(self, order, "order")) return NULL;
    }
    if (batch_size < 1 || batch_size > n) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %zd], got %zd", (Py_ssize_t)n, batch_size);
        return NULL;
    }
    Py_ssize_t n_batches = (n + batch_size - 1) / batch_size, first = 0, chunk = 1;
    double loss_sum = 0.0, penalty_sum = 0.0;
    const void *xd = PyArray_DATA(x), *yd = labels ? NULL : PyArray_DATA(y), *ld = labels ? PyArray_DATA(y) : NULL;
    const void *wd = w ? PyArray_DATA(w) : NULL;
    const int64_t *od = order ? PyArray_DATA(order) : NULL;
    npy_intp n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    if (seed_obj != Py_None) {  /* the dropout masks of this call: reproducible from the seed */
        net_lock(self);
        if (F32(self)) sp_network_seed_f32(self->handle, seed);
        else sp_network_seed_f64(self->handle, seed);
        PyThread_release_lock(self->lock);
    }
    while (first < n_batches) {
        Py_ssize_t count = chunk < n_batches - first ? chunk : n_batches - first;
        intptr_t done = 0;
        int32_t status;
        double t0 = now_seconds();
        net_lock(self);
        Py_BEGIN_ALLOW_THREADS
        status = F32(self) ? sp_train_f32(self->handle, opt->handle, &loss_sum, &penalty_sum, &done, xd, yd, ld, wd, n, n_in, n_out, od, batch_size, first, count, alpha)
                           : sp_train_f64(self->handle, opt->handle, &loss_sum, &penalty_sum, &done, xd, yd, ld, wd, n, n_in, n_out, od, batch_size, first, count, alpha);
        Py_END_ALLOW_THREADS
        PyThread_release_lock(self->lock);
        first += done;
        if (status == SP_ERR_NONFINITE) {
            PyObject *exc_args = Py_BuildValue("(sn)", "the loss or a gradient became NaN or infinite", first);
            if (exc_args) { PyErr_SetObject(PyExc_FloatingPointError, exc_args); Py_DECREF(exc_args); }
            return NULL;
        }
        if (status != SP_OK) return raise_status(status, "train");
        if (PyErr_CheckSignals() < 0) return NULL;
        double elapsed = now_seconds() - t0;
        if (elapsed < 0.02 && chunk < (1 << 20)) chunk *= 2;
        else if (elapsed > 0.1 && chunk > 1) chunk /= 2;
    }
    return Py_BuildValue("(dnd)", loss_sum, first, penalty_sum);
}

/* set_dropout(rates): dropout rate of each hidden layer during training. */
static PyObject *
Net_set_dropout(NetObject *self, PyObject *rates_obj)
{
    if (!check_ready(self)) return NULL;
    PyObject *seq = PySequence_Fast(rates_obj, "rates must be a sequence of floats");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    double *rates = PyMem_Malloc((n ? n : 1) * sizeof(double));
    if (!rates) { Py_DECREF(seq); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        rates[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (rates[i] == -1.0 && PyErr_Occurred()) { PyMem_Free(rates); Py_DECREF(seq); return NULL; }
    }
    Py_DECREF(seq);
    net_lock(self);
    int32_t status = F32(self) ? sp_network_set_dropout_f32(self->handle, rates, n) : sp_network_set_dropout_f64(self->handle, rates, n);
    PyThread_release_lock(self->lock);
    PyMem_Free(rates);
    if (status != SP_OK) {
        PyErr_Format(PyExc_ValueError, "dropout needs %zd rates (one per hidden layer), each in [0, 1)", self->n_layers - 1);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* add_l2(alpha, norm) -> float: adds alpha·W/norm to the weight gradients, returns ½·alpha·Σ‖W‖²/norm. */
static PyObject *
Net_add_l2(NetObject *self, PyObject *args)
{
    double alpha, norm, penalty = 0.0;
    if (!check_ready(self) || !PyArg_ParseTuple(args, "dd", &alpha, &norm)) return NULL;
    if (!(alpha >= 0) || !(norm > 0)) {
        PyErr_SetString(PyExc_ValueError, "add_l2 needs alpha >= 0 and norm > 0");
        return NULL;
    }
    net_lock(self);
    int32_t status = F32(self) ? sp_add_l2_f32(self->handle, &penalty, alpha, norm) : sp_add_l2_f64(self->handle, &penalty, alpha, norm);
    PyThread_release_lock(self->lock);
    if (status != SP_OK) return raise_status(status, "add_l2");
    return PyFloat_FromDouble(penalty);
}

static PyMethodDef Net_methods[] = {
    {"set_dropout", (PyCFunction)Net_set_dropout, METH_O,
     "set_dropout(rates)\n\nDropout rate of each hidden layer's output during train()."},
    {"add_l2", (PyCFunction)Net_add_l2, METH_VARARGS,
     "add_l2(alpha, norm) -> float\n\nAdd the L2 penalty's gradient to the weight gradients; return the penalty."},
    {"check", (PyCFunction)(void (*)(void))Net_check, METH_VARARGS | METH_KEYWORDS,
     "check(X, Y, x_name='X', y_name='Y', check_finite=True)\n\nValidate a data pair as backward would, computing nothing."},
    {"train", (PyCFunction)(void (*)(void))Net_train, METH_VARARGS | METH_KEYWORDS,
     "train(opt, X, Y, sample_weight=None, order=None, batch_size=32, alpha=0.0) -> (loss_sum, batches, penalty_sum)"},
    {"forward", (PyCFunction)(void (*)(void))Net_forward, METH_VARARGS | METH_KEYWORDS,
     "forward(X, out=None) -> ndarray\n\nS_out of the last layer for X (n, sizes[0])."},
    {"backward", (PyCFunction)(void (*)(void))Net_backward, METH_VARARGS | METH_KEYWORDS,
     "backward(X, Y) -> float\n\nFill the gradient buffer; return the mean cost."},
    {"cost", (PyCFunction)(void (*)(void))Net_cost, METH_VARARGS | METH_KEYWORDS,
     "cost(X, Y) -> float\n\nThe mean cost; gradients untouched."},
    {"trace", (PyCFunction)(void (*)(void))Net_trace, METH_VARARGS | METH_KEYWORDS,
     "trace(X, Y) -> (cost, S_in, S_out, deltas, grads)\n\nWhole-batch backward and copies of every layer's quantities and of the gradient buffer."},
    {NULL}
};

static PyGetSetDef Net_getset[] = {
    {"params", (getter)Net_get_params, NULL, "1-D view of the parameter buffer (zero-copy).", NULL},
    {"grads", (getter)Net_get_grads, NULL, "1-D view of the gradient buffer (zero-copy).", NULL},
    {"offsets", (getter)Net_get_offsets, NULL, "(offset of W^0, offset of B^0, offset of W^1, ...).", NULL},
    {"dtype", (getter)Net_get_dtype, NULL, "The network's dtype.", NULL},
    {NULL}
};

static PyTypeObject NetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "swiftprop._core.Net",
    .tp_basicsize = sizeof(NetObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Net(sizes, activations, loss, dtype)\n\nLow-level handle on a Swift network (use swiftprop.Network).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Net_init,
    .tp_dealloc = (destructor)Net_dealloc,
    .tp_methods = Net_methods,
    .tp_getset = Net_getset,
};

/* ---- module functions --------------------------------------------------------------------- */

static PyObject *
mod_set_num_threads(PyObject *m, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1 || n > 1024) {
        PyErr_Format(PyExc_ValueError, "n must be between 1 and 1024, got %ld", n);
        return NULL;
    }
    sp_set_num_threads((int32_t)n);
    Py_RETURN_NONE;
}

static PyObject *
mod_get_num_threads(PyObject *m, PyObject *unused)
{
    return PyLong_FromLong(sp_get_num_threads());
}

static PyObject *
mod_blas_corename(PyObject *m, PyObject *unused)
{
    const char *name = sp_blas_corename();
    return PyUnicode_FromString(name ? name : "unknown");
}

static PyMethodDef module_methods[] = {
    {"set_num_threads", mod_set_num_threads, METH_O, "set_num_threads(n): threads of swiftprop's worker pool (OpenBLAS itself runs on one)."},
    {"get_num_threads", mod_get_num_threads, METH_NOARGS, "get_num_threads() -> int"},
    {"blas_corename", mod_blas_corename, METH_NOARGS, "blas_corename() -> str: the OpenBLAS kernel in use."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_core", "C extension over swiftprop's Swift core.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    import_array();
    if (PyType_Ready(&NetType) < 0 || PyType_Ready(&OptType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    Py_INCREF(&NetType);
    if (PyModule_AddObject(m, "Net", (PyObject *)&NetType) < 0) {
        Py_DECREF(&NetType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&OptType);
    if (PyModule_AddObject(m, "Optimizer", (PyObject *)&OptType) < 0) {
        Py_DECREF(&OptType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
