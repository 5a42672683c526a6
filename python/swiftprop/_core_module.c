/* swiftprop._core: the module (types, the name → code tables from the core, threads).
 * The CPython / NumPy C-API layer over the Swift core's C ABI (swiftprop.h); see _core.h. */
#define SWIFTPROP_CORE_MODULE
#include "_core.h"

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

/* Adds {name: code} in code order, as the core names its codes (no table of our own). */
static int
add_names(PyObject *m, const char *attr, const char *(*name_of)(int32_t))
{
    PyObject *d = PyDict_New();
    if (!d) return -1;
    for (int32_t code = 0; name_of(code); code++) {
        PyObject *v = PyLong_FromLong(code);
        if (!v || PyDict_SetItemString(d, name_of(code), v) < 0) { Py_XDECREF(v); Py_DECREF(d); return -1; }
        Py_DECREF(v);
    }
    if (PyModule_AddObject(m, attr, d) < 0) { Py_DECREF(d); return -1; }
    return 0;
}

static int
add_type(PyObject *m, const char *name, PyTypeObject *type)
{
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) { Py_DECREF(type); return -1; }
    return 0;
}

PyMODINIT_FUNC
PyInit__core(void)
{
    import_array();
    if (PyType_Ready(&NetType) < 0 || PyType_Ready(&OptType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    if (add_type(m, "Net", &NetType) < 0 || add_type(m, "Optimizer", &OptType) < 0
        || add_names(m, "ACTIVATIONS", sp_activation_name) < 0 || add_names(m, "LOSSES", sp_loss_name) < 0
        || add_names(m, "OPTIMIZERS", sp_optimizer_name) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
