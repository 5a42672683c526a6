/* swiftprop._core: the Net type, a handle on a Swift network of one dtype. */
#include "_core.h"

#include <string.h>

/* Seconds of training per call into Swift: between calls the GIL is taken back and signals are
 * checked, so Ctrl-C stops training promptly, after a completed step. */
#define TRAIN_SLICE_SECONDS 0.05

#define ELEMENT_SIZE(self) ((self)->typenum == NPY_FLOAT32 ? 4 : 8)

/* Takes the network's lock without holding the GIL while waiting. */
void
core_net_lock(NetObject *self)
{
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

int
core_net_ready(NetObject *self)
{
    if (!self->handle || !self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "Net is not initialised");
        return 0;
    }
    return 1;
}

static void
Net_dealloc(NetObject *self)
{
    sp_network_destroy(self->handle);
    if (self->lock) PyThread_free_lock(self->lock);
    PyMem_Free(self->sizes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Net(sizes, activations, loss, dtype): the core checks the architecture and writes the message. */
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
    Py_ssize_t n = PySequence_Fast_GET_SIZE(sizes_seq), n_acts = PySequence_Fast_GET_SIZE(acts_seq);
    int ok = 0;
    intptr_t *sizes = PyMem_Malloc((n ? n : 1) * sizeof(intptr_t));
    int32_t *acts = PyMem_Malloc((n_acts ? n_acts : 1) * sizeof(int32_t));
    if (!sizes || !acts) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t v = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(sizes_seq, i), PyExc_OverflowError);
        if (v == -1 && PyErr_Occurred()) goto done;
        sizes[i] = (intptr_t)v;
    }
    for (Py_ssize_t i = 0; i < n_acts; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(acts_seq, i));
        if (v == -1 && PyErr_Occurred()) goto done;
        if (v < INT32_MIN || v > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "activations[%zd] = %ld does not fit a 32-bit code", i, v);
            goto done;
        }
        acts[i] = (int32_t)v;
    }
    int32_t status;
    void *handle = NULL;
    Py_BEGIN_ALLOW_THREADS
    status = sp_network_create(&handle, core_dtype(typenum), sizes, n, acts, n_acts, (int32_t)loss);
    Py_END_ALLOW_THREADS
    if (status != SP_OK) { core_raise(status, ""); goto done; }
    self->handle = handle;
    self->typenum = typenum;
    self->n_layers = n - 1;  /* the core accepted n >= 2 sizes, each >= 1 */
    self->sizes = PyMem_Malloc(n * sizeof(npy_intp));
    self->lock = PyThread_allocate_lock();
    if (!self->sizes || !self->lock) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) self->sizes[i] = (npy_intp)sizes[i];
    ok = 1;
done:
    PyMem_Free(sizes);
    PyMem_Free(acts);
    Py_DECREF(sizes_seq);
    Py_DECREF(acts_seq);
    return ok ? 0 : -1;
}

/* A 1-D ndarray viewing the network's parameter or gradient buffer; it keeps the network alive. */
static PyObject *
buffer_view(NetObject *self, int grads)
{
    if (!core_net_ready(self)) return NULL;
    intptr_t count = 0;
    void *data = grads ? sp_network_grads(self->handle, &count) : sp_network_params(self->handle, &count);
    return core_view((PyObject *)self, data, count, self->typenum);
}

static PyObject *Net_get_params(NetObject *self, void *c) { return buffer_view(self, 0); }
static PyObject *Net_get_grads(NetObject *self, void *c) { return buffer_view(self, 1); }

static PyObject *
Net_get_offsets(NetObject *self, void *c)
{
    if (!core_net_ready(self)) return NULL;
    Py_ssize_t n = 2 * self->n_layers;
    intptr_t *off = PyMem_Malloc(n * sizeof(intptr_t));
    if (!off) return PyErr_NoMemory();
    int32_t status = sp_network_offsets(self->handle, off, n);
    if (status != SP_OK) { PyMem_Free(off); return core_raise(status, ""); }
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
    if (!core_net_ready(self)) return NULL;
    return (PyObject *)PyArray_DescrFromType(core_typenum(sp_network_dtype(self->handle)));
}

/* The network's parameter and gradient buffers, as byte ranges of the same length. */
typedef struct { const void *params, *grads; size_t nbytes; } NetBuffers;

static NetBuffers
net_buffers(NetObject *self)
{
    intptr_t count = 0;
    NetBuffers b;
    b.params = sp_network_params(self->handle, &count);
    b.grads = sp_network_grads(self->handle, &count);
    b.nbytes = (size_t)count * ELEMENT_SIZE(self);
    return b;
}

/* True if the array shares a byte with the network's parameter or gradient buffer. */
static int
overlaps_buffers(NetObject *self, PyArrayObject *a)
{
    NetBuffers b = net_buffers(self);
    return core_overlaps_bytes(a, b.params, b.nbytes) || core_overlaps_bytes(a, b.grads, b.nbytes);
}

/* The one message of the two checks below; returns 0. */
static int
refuse_network_view(const char *name)
{
    PyErr_Format(PyExc_ValueError, "%s must not share memory with the network's parameters or gradients "
                 "(pass a copy)", name);
    return 0;
}

/* Inputs of calls that write the gradient (and, in training, the parameter) buffer must not view
 * them: they would change while being read. 1 if a is separate; else sets ValueError naming it. */
static int
check_not_network(NetObject *self, PyArrayObject *a, const char *name)
{
    return overlaps_buffers(self, a) ? refuse_network_view(name) : 1;
}

/* check_not_network for each array of an input (dense, or CSR's data, indices and indptr). */
static int
check_input_not_network(NetObject *self, const CoreInput *in, const char *name)
{
    NetBuffers b = net_buffers(self);
    int overlaps = core_input_overlaps(in, b.params, b.nbytes) || core_input_overlaps(in, b.grads, b.nbytes);
    return overlaps ? refuse_network_view(name) : 1;
}

static int check_sparse_structure(NetObject *self, const CoreInput *x, const char *x_name);

/* forward(X, out=None) -> out: X (n, sizes[0]) of the network's dtype; out (n, sizes[-1]) if given. */
static PyObject *
Net_forward(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "out", "check_finite", NULL};
    PyObject *x_obj, *out_obj = Py_None;
    int finite = 1;
    if (!core_net_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Op", kwlist, &x_obj, &out_obj, &finite)) return NULL;
    npy_intp n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    CoreInput x;
    if (!core_check_input(x_obj, "X", self->typenum, n_in, &x) || (finite && !core_input_finite(&x, "X")))
        return NULL;
    npy_intp batch = x.rows;
    sp_batch input = core_input_batch(&x);
    if (!check_sparse_structure(self, &x, "X")) return NULL;  /* before `out` is allocated from its rows */
    PyArrayObject *out;
    if (out_obj == Py_None) {
        npy_intp dims[2] = {batch, n_out};
        out = (PyArrayObject *)PyArray_SimpleNew(2, dims, self->typenum);
        if (!out) return NULL;
    } else {
        out = core_check_array(out_obj, "out", self->typenum, 2, batch, n_out, 1);
        if (!out) return NULL;
        if (core_input_overlaps(&x, PyArray_BYTES(out), (size_t)PyArray_NBYTES(out))) {
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
    core_net_lock(self);
    Py_BEGIN_ALLOW_THREADS
    status = sp_forward(self->handle, PyArray_DATA(out), &input);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    if (status != SP_OK) { Py_DECREF(out); return core_raise(status, ""); }
    return (PyObject *)out;
}

/* A CSR X: the core checks its structure (rows against indptr, columns, indices) before Y is compared
 * with its row count or anything is allocated from it. The core names it "X (sparse)"; another name
 * (X_val) is put in front. 1 if dense or sound, else 0 with the exception set. */
static int
check_sparse_structure(NetObject *self, const CoreInput *x, const char *x_name)
{
    if (x->x) return 1;
    sp_batch input = core_input_batch(x);
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = sp_check(self->handle, &input);
    Py_END_ALLOW_THREADS
    if (status == SP_OK) return 1;
    char prefix[72] = "";
    if (strcmp(x_name, "X") != 0) PyOS_snprintf(prefix, sizeof prefix, "%s: ", x_name);
    core_raise(status, prefix);
    return 0;
}

/* Validates X and Y for a loss call. Y is (n, sizes[-1]) of the network's dtype, or int64 labels (n,).
 * Returns 1 when Y is labels, 0 when dense, -1 with an exception. */
static int
check_xy(NetObject *self, PyObject *x_obj, PyObject *y_obj, int finite, CoreInput *x, PyArrayObject **y,
         const char *x_name, const char *y_name)
{
    npy_intp n_in = self->sizes[0], n_out = self->sizes[self->n_layers];
    if (!core_check_input(x_obj, x_name, self->typenum, n_in, x) || (finite && !core_input_finite(x, x_name))
            || !check_input_not_network(self, x, x_name) || !check_sparse_structure(self, x, x_name))
        return -1;
    npy_intp batch = x->rows;
    if (PyArray_Check(y_obj) && PyArray_NDIM((PyArrayObject *)y_obj) == 1) {
        char label_name[64];
        PyOS_snprintf(label_name, sizeof label_name, "%s (labels)", y_name);
        *y = core_check_array(y_obj, label_name, NPY_INT64, 1, batch, -1, 0);
        return (*y && check_not_network(self, *y, y_name)) ? 1 : -1;
    }
    *y = core_check_array(y_obj, y_name, self->typenum, 2, batch, n_out, 0);
    if (!*y || (finite && !core_check_finite(*y, y_name)) || !check_not_network(self, *y, y_name)) return -1;
    return 0;
}

/* Validates optional per-sample weights: (n,) of the network's dtype, finite (the core checks >= 0
 * and a positive sum). NULL when w_obj is None. */
static int
check_weights(NetObject *self, PyObject *w_obj, npy_intp n, PyArrayObject **w)
{
    *w = NULL;
    if (w_obj == Py_None) return 1;
    *w = core_check_array(w_obj, "sample_weight", self->typenum, 1, n, -1, 0);
    if (!*w || !check_not_network(self, *w, "sample_weight")) return 0;
    if (!sp_all_finite(core_dtype(self->typenum), PyArray_DATA(*w), PyArray_SIZE(*w))) {
        PyErr_SetString(PyExc_ValueError, "sample_weight must be finite, >= 0, with a positive sum");
        return 0;
    }
    return 1;
}

static sp_batch
make_batch(const CoreInput *x, PyArrayObject *y, int labels, PyArrayObject *w)
{
    sp_batch b = core_input_batch(x);
    b.y = labels ? NULL : PyArray_DATA(y);
    b.labels = labels ? PyArray_DATA(y) : NULL;
    b.weights = w ? PyArray_DATA(w) : NULL;
    return b;
}

/* The exception for a failed call on a batch: a label message is about Y, so it is prefixed with the
 * name of the array checked ("Y contains label 5; ..."). */
static PyObject *
raise_batch(int32_t status, const char *y_name)
{
    char prefix[72];
    PyOS_snprintf(prefix, sizeof prefix, status == SP_ERR_LABEL ? "%s " : status == SP_ERR_TARGET ? "%s: " : "",
                  y_name);
    return core_raise(status, prefix);
}

/* check(X, Y, x_name="X", y_name="Y", check_finite=True): validate a data pair as backward would,
 * computing nothing. */
static PyObject *
Net_check(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "Y", "x_name", "y_name", "check_finite", "sample_weight", NULL};
    PyObject *x_obj, *y_obj, *w_obj = Py_None;
    const char *x_name = "X", *y_name = "Y";
    int finite = 1;
    CoreInput x;
    PyArrayObject *y, *w;
    if (!core_net_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|sspO", kwlist, &x_obj, &y_obj, &x_name, &y_name, &finite,
                                     &w_obj))
        return NULL;
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y, x_name, y_name);
    if (labels < 0 || !check_weights(self, w_obj, x.rows, &w)) return NULL;
    sp_batch batch = make_batch(&x, y, labels, w);
    int32_t status;
    Py_BEGIN_ALLOW_THREADS  /* reads only what never changes (sizes, loss): no lock */
    status = sp_check(self->handle, &batch);
    Py_END_ALLOW_THREADS
    if (status != SP_OK) return raise_batch(status, y_name);
    Py_RETURN_NONE;
}

/* Runs a pass (sp_pass) on validated arrays, with the GIL released; the caller holds the lock. */
static int32_t
run_pass(NetObject *self, int32_t pass, const CoreInput *x, PyArrayObject *y, int labels, PyArrayObject *w,
         double *cost)
{
    sp_batch batch = make_batch(x, y, labels, w);
    int32_t status;
    Py_BEGIN_ALLOW_THREADS
    status = sp_backward(self->handle, cost, &batch, pass);
    Py_END_ALLOW_THREADS
    return status;
}

static PyObject *
loss_call(NetObject *self, PyObject *args, PyObject *kwds, int32_t pass)
{
    static char *cost_kwlist[] = {"X", "Y", "check_finite", "sample_weight", NULL};
    static char *backward_kwlist[] = {"X", "Y", "check_finite", "sample_weight", "accumulate", NULL};
    PyObject *x_obj, *y_obj, *w_obj = Py_None;
    CoreInput x;
    PyArrayObject *y, *w;
    int finite = 1, accumulate = 0;
    if (!core_net_ready(self)) return NULL;
    if (pass == SP_PASS_COST) {
        if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO", cost_kwlist, &x_obj, &y_obj, &finite, &w_obj)) return NULL;
    } else if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pOp", backward_kwlist, &x_obj, &y_obj, &finite, &w_obj,
                                            &accumulate)) {
        return NULL;
    }
    if (accumulate) pass = SP_PASS_ACCUMULATE;
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y, "X", "Y");
    if (labels < 0 || !check_weights(self, w_obj, x.rows, &w)) return NULL;
    double cost = 0.0;
    core_net_lock(self);
    int32_t status = run_pass(self, pass, &x, y, labels, w, &cost);
    PyThread_release_lock(self->lock);
    if (status != SP_OK) return raise_batch(status, "Y");
    return PyFloat_FromDouble(cost);
}

/* backward(X, Y, check_finite=True, sample_weight=None, accumulate=False) -> float: fills the gradient
 * buffer (accumulate: adds to it), returns the mean cost. */
static PyObject *
Net_backward(NetObject *self, PyObject *args, PyObject *kwds) { return loss_call(self, args, kwds, SP_PASS_BACKWARD); }

/* cost(X, Y) -> float: the mean cost, gradients untouched. */
static PyObject *
Net_cost(NetObject *self, PyObject *args, PyObject *kwds) { return loss_call(self, args, kwds, SP_PASS_COST); }

/* trace(X, Y) -> (cost, S_in, S_out, deltas, grads): a whole-batch backward, then copies of every
 * layer's S_in, S_out and delta (lists of (n, sizes[i+1]) arrays) and of the gradient buffer. */
static PyObject *
Net_trace(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"X", "Y", "check_finite", "sample_weight", NULL};
    PyObject *x_obj, *y_obj, *w_obj = Py_None;
    CoreInput x;
    PyArrayObject *y, *w;
    int finite = 1;
    if (!core_net_ready(self)) return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO", kwlist, &x_obj, &y_obj, &finite, &w_obj)) return NULL;
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y, "X", "Y");
    if (labels < 0 || !check_weights(self, w_obj, x.rows, &w)) return NULL;
    npy_intp batch = x.rows;  /* a CSR X's structure was checked by check_xy */
    PyObject *lists[3] = {PyList_New(self->n_layers), PyList_New(self->n_layers), PyList_New(self->n_layers)};
    PyObject *result = NULL, *grads = NULL;
    if (!lists[0] || !lists[1] || !lists[2]) goto done;
    intptr_t n_params = 0;
    void *grad_src = sp_network_grads(self->handle, &n_params);
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
    core_net_lock(self);
    int32_t status = run_pass(self, SP_PASS_TRACE, &x, y, labels, w, &cost);
    int copied = status == SP_OK;
    Py_BEGIN_ALLOW_THREADS
    for (int q = 0; status == SP_OK && q < 3; q++) {
        for (Py_ssize_t i = 0; status == SP_OK && i < self->n_layers; i++) {
            void *dst = PyArray_DATA((PyArrayObject *)PyList_GET_ITEM(lists[q], i));
            status = sp_workspace_copy(self->handle, dst, q, i, batch);
        }
    }
    if (status == SP_OK)  /* dW, dB of this call, copied before another call can overwrite them */
        memcpy(PyArray_DATA((PyArrayObject *)grads), grad_src, (size_t)PyArray_NBYTES((PyArrayObject *)grads));
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->lock);
    if (status != SP_OK) { copied ? core_raise(status, "") : raise_batch(status, "Y"); goto done; }
    result = Py_BuildValue("(dOOOO)", cost, lists[0], lists[1], lists[2], grads);
done:
    Py_XDECREF(grads);
    Py_XDECREF(lists[0]);
    Py_XDECREF(lists[1]);
    Py_XDECREF(lists[2]);
    return result;
}

/* train(opt, X, Y, sample_weight=None, order=None, batch_size=32, alpha=0.0, check_finite=True, seed=None)
 *   -> (loss_sum, batches, penalty_sum)
 * One epoch of mini-batches in Swift, in calls of about TRAIN_SLICE_SECONDS with a signal check
 * between them. A NaN/Inf loss raises FloatingPointError with args (message, batch index); no step is
 * taken for that batch. */
static PyObject *
Net_train(NetObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"opt", "X", "Y", "sample_weight", "order", "batch_size", "alpha", "check_finite", "seed", NULL};
    OptObject *opt;
    PyObject *x_obj, *y_obj, *w_obj = Py_None, *order_obj = Py_None;
    Py_ssize_t batch_size = 32;
    double alpha = 0.0;
    int finite = 1;
    CoreInput x;
    PyArrayObject *y, *w = NULL, *order = NULL;
    if (!core_net_ready(self)) return NULL;
    unsigned long long seed = 0;
    PyObject *seed_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OO|OOndpO", kwlist, &OptType, &opt, &x_obj, &y_obj, &w_obj,
                                     &order_obj, &batch_size, &alpha, &finite, &seed_obj))
        return NULL;
    if (seed_obj != Py_None) {
        seed = PyLong_AsUnsignedLongLongMask(seed_obj);
        if (PyErr_Occurred()) return NULL;
    }
    if (!core_opt_ready(opt)) return NULL;
    if (opt->net != self) {
        PyErr_SetString(PyExc_ValueError, "opt belongs to another network");
        return NULL;
    }
    int labels = check_xy(self, x_obj, y_obj, finite, &x, &y, "X", "Y");
    if (labels < 0) return NULL;
    intptr_t n_state = 0;
    const void *state = sp_optimizer_state(opt->handle, &n_state);
    if (core_input_overlaps(&x, state, (size_t)n_state * ELEMENT_SIZE(self)) || core_overlaps_state(opt, y)) {  /* the steps would rewrite the data */
        PyErr_SetString(PyExc_ValueError, "X and Y must not share memory with the optimizer's state (pass a copy)");
        return NULL;
    }
    npy_intp n = x.rows;
    if (!check_weights(self, w_obj, n, &w)) return NULL;
    if (w && core_overlaps_state(opt, w)) {
        PyErr_SetString(PyExc_ValueError, "sample_weight must not share memory with the optimizer's state");
        return NULL;
    }
    if (order_obj != Py_None) {
        order = core_check_array(order_obj, "order", NPY_INT64, 1, n, -1, 0);
        if (!order || !check_not_network(self, order, "order")) return NULL;
    }
    if (seed_obj != Py_None) {  /* the dropout masks of this call: reproducible from the seed */
        core_net_lock(self);
        sp_network_seed(self->handle, seed);
        PyThread_release_lock(self->lock);
    }
    sp_batch batch = make_batch(&x, y, labels, w);
    sp_epoch epoch = {order ? PyArray_DATA(order) : NULL, batch_size, 0, alpha, TRAIN_SLICE_SECONDS};
    sp_progress progress = {0.0, 0.0, 0, 0};
    for (;;) {
        int32_t status;
        core_net_lock(self);
        Py_BEGIN_ALLOW_THREADS
        status = sp_train(self->handle, opt->handle, &batch, &epoch, &progress);
        Py_END_ALLOW_THREADS
        PyThread_release_lock(self->lock);
        if (status == SP_ERR_NONFINITE) {
            PyObject *exc_args = Py_BuildValue("(sn)", sp_last_error(), (Py_ssize_t)progress.next);
            if (exc_args) { PyErr_SetObject(PyExc_FloatingPointError, exc_args); Py_DECREF(exc_args); }
            return NULL;
        }
        if (status != SP_OK) return raise_batch(status, "Y");
        if (PyErr_CheckSignals() < 0) return NULL;
        if (progress.next >= progress.batches) break;
        epoch.first = progress.next;
    }
    return Py_BuildValue("(dnd)", progress.loss_sum, (Py_ssize_t)progress.next, progress.penalty_sum);
}

/* set_dropout(rates): dropout rate of each hidden layer during training. */
static PyObject *
Net_set_dropout(NetObject *self, PyObject *rates_obj)
{
    if (!core_net_ready(self)) return NULL;
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
    core_net_lock(self);
    int32_t status = sp_network_set_dropout(self->handle, rates, n);
    PyThread_release_lock(self->lock);
    PyMem_Free(rates);
    if (status != SP_OK) return core_raise(status, "");
    Py_RETURN_NONE;
}

/* add_l2(alpha, norm) -> float: adds alpha·W/norm to the weight gradients, returns ½·alpha·Σ‖W‖²/norm. */
static PyObject *
Net_add_l2(NetObject *self, PyObject *args)
{
    double alpha, norm, penalty = 0.0;
    if (!core_net_ready(self) || !PyArg_ParseTuple(args, "dd", &alpha, &norm)) return NULL;
    core_net_lock(self);
    int32_t status = sp_add_l2(self->handle, &penalty, alpha, norm);
    PyThread_release_lock(self->lock);
    if (status != SP_OK) return core_raise(status, "");
    return PyFloat_FromDouble(penalty);
}

static PyMethodDef Net_methods[] = {
    {"set_dropout", (PyCFunction)Net_set_dropout, METH_O,
     "set_dropout(rates)\n\nDropout rate of each hidden layer's output during train()."},
    {"add_l2", (PyCFunction)Net_add_l2, METH_VARARGS,
     "add_l2(alpha, norm) -> float\n\nAdd the L2 penalty's gradient to the weight gradients; return the penalty."},
    {"check", (PyCFunction)(void (*)(void))Net_check, METH_VARARGS | METH_KEYWORDS,
     "check(X, Y, x_name='X', y_name='Y', check_finite=True, sample_weight=None)\n\nValidate a data set as backward would, computing nothing."},
    {"train", (PyCFunction)(void (*)(void))Net_train, METH_VARARGS | METH_KEYWORDS,
     "train(opt, X, Y, sample_weight=None, order=None, batch_size=32, alpha=0.0) -> (loss_sum, batches, penalty_sum)"},
    {"forward", (PyCFunction)(void (*)(void))Net_forward, METH_VARARGS | METH_KEYWORDS,
     "forward(X, out=None) -> ndarray\n\nS_out of the last layer for X (n, sizes[0])."},
    {"backward", (PyCFunction)(void (*)(void))Net_backward, METH_VARARGS | METH_KEYWORDS,
     "backward(X, Y, check_finite=True, sample_weight=None, accumulate=False) -> float\n\n"
     "Fill the gradient buffer (accumulate: add to it); return the mean cost."},
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

PyTypeObject NetType = {
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
