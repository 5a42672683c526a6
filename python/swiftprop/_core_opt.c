/* swiftprop._core: the Optimizer type, a Swift optimizer bound to one Net. */
#include "_core.h"

#include <math.h>

int
core_opt_ready(OptObject *self)
{
    if (!self->handle) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer is not initialised");
        return 0;
    }
    return 1;
}

int
core_overlaps_state(OptObject *opt, PyArrayObject *a)
{
    intptr_t count = 0;
    const void *s = sp_optimizer_state(opt->handle, &count);
    return core_overlaps_bytes(a, s, (size_t)count * (opt->net->typenum == NPY_FLOAT32 ? 4 : 8));
}

/* Parses the hyper-parameter keywords into *h, keeping the values of those not given. */
static int
parse_hyper(PyObject *kwds, sp_hyper *h)
{
    static char *kwlist[] = {"lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps", "alpha",
                             "clip_norm", NULL};
    PyObject *empty = PyTuple_New(0);
    if (!empty) return 0;
    int nesterov = h->nesterov != 0;
    int ok = PyArg_ParseTupleAndKeywords(empty, kwds, "|$ddpdddddd", kwlist, &h->lr, &h->momentum, &nesterov,
                                         &h->weight_decay, &h->beta1, &h->beta2, &h->eps, &h->alpha,
                                         &h->clip_norm);
    Py_DECREF(empty);
    h->nesterov = nesterov;
    return ok;
}

/* Optimizer(net, kind, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0, beta1=0.9, beta2=0.999,
 * eps=1e-8): the core checks the kind; the values' ranges are swiftprop.optim's. */
static int
Opt_init(OptObject *self, PyObject *args, PyObject *kwds)
{
    NetObject *net;
    int kind;
    if (self->handle) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer is already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!i:Optimizer", &NetType, &net, &kind)) return -1;
    sp_hyper h = {NAN, 0.0, 0, 0.0, 0.9, 0.999, 1e-8, 0.99, 0.0};
    if (!core_net_ready(net) || !parse_hyper(kwds, &h)) return -1;
    if (isnan(h.lr) && !(kwds && PyDict_GetItemString(kwds, "lr"))) {
        PyErr_SetString(PyExc_TypeError, "Optimizer() missing required keyword argument 'lr'");
        return -1;
    }
    void *handle = NULL;
    int32_t status = sp_optimizer_create(&handle, net->handle, kind, &h);
    if (status != SP_OK) { core_raise(status, ""); return -1; }
    self->handle = handle;
    self->hyper = h;
    Py_INCREF(net);
    self->net = net;
    return 0;
}

static void
Opt_dealloc(OptObject *self)
{
    sp_optimizer_destroy(self->handle);
    Py_XDECREF(self->net);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* set(**hyper): update the hyper-parameters given (same keywords as the constructor). */
static PyObject *
Opt_set(OptObject *self, PyObject *args, PyObject *kwds)
{
    if (!core_opt_ready(self)) return NULL;
    if (PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "Optimizer.set() takes keyword arguments only");
        return NULL;
    }
    sp_hyper h = self->hyper;
    if (!parse_hyper(kwds, &h)) return NULL;
    core_net_lock(self->net);
    int32_t status = sp_optimizer_set(self->handle, &h);
    PyThread_release_lock(self->net->lock);
    if (status != SP_OK) return core_raise(status, "");
    self->hyper = h;
    Py_RETURN_NONE;
}

/* step(): one update of the network's parameters from its gradient buffer. */
static PyObject *
Opt_step(OptObject *self, PyObject *unused)
{
    if (!core_opt_ready(self)) return NULL;
    int32_t status;
    core_net_lock(self->net);
    Py_BEGIN_ALLOW_THREADS
    status = sp_optimizer_step(self->handle, self->net->handle);
    Py_END_ALLOW_THREADS
    PyThread_release_lock(self->net->lock);
    if (status != SP_OK) return core_raise(status, "");
    Py_RETURN_NONE;
}

static PyObject *
Opt_get_state(OptObject *self, void *c)
{
    if (!core_opt_ready(self)) return NULL;
    intptr_t count = 0;
    void *data = sp_optimizer_state(self->handle, &count);
    return core_view((PyObject *)self, data, count, self->net->typenum);
}

static PyObject *
Opt_get_t(OptObject *self, void *c)
{
    if (!core_opt_ready(self)) return NULL;
    return PyLong_FromLongLong(sp_optimizer_steps(self->handle));
}

static int
Opt_set_t(OptObject *self, PyObject *value, void *c)
{
    if (!core_opt_ready(self)) return -1;
    if (!value) { PyErr_SetString(PyExc_TypeError, "t cannot be deleted"); return -1; }
    long long t = PyLong_AsLongLong(value);
    if (t == -1 && PyErr_Occurred()) return -1;
    core_net_lock(self->net);
    int32_t status = sp_optimizer_set_steps(self->handle, t);
    PyThread_release_lock(self->net->lock);
    if (status != SP_OK) { core_raise(status, ""); return -1; }
    return 0;
}

static PyMethodDef Opt_methods[] = {
    {"set", (PyCFunction)(void (*)(void))Opt_set, METH_VARARGS | METH_KEYWORDS,
     "set(*, lr, momentum, nesterov, weight_decay, beta1, beta2, eps, alpha, clip_norm): update the hyper-parameters given."},
    {"step", (PyCFunction)Opt_step, METH_NOARGS, "step(): update the network's parameters from its gradients."},
    {NULL}
};

static PyGetSetDef Opt_getset[] = {
    {"state", (getter)Opt_get_state, NULL, "1-D view of the optimizer state (zero-copy).", NULL},
    {"t", (getter)Opt_get_t, (setter)Opt_set_t, "Number of steps taken.", NULL},
    {NULL}
};

PyTypeObject OptType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "swiftprop._core.Optimizer",
    .tp_basicsize = sizeof(OptObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Optimizer(net, kind, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0, beta1=0.9, "
              "beta2=0.999, eps=1e-8, alpha=0.99, clip_norm=0.0)\n\nLow-level optimizer state in Swift (use swiftprop.optim).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Opt_init,
    .tp_dealloc = (destructor)Opt_dealloc,
    .tp_methods = Opt_methods,
    .tp_getset = Opt_getset,
};
