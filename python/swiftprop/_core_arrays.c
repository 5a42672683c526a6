/* swiftprop._core: array checks, aliasing, and status → exception with the core's message. */
#include "_core.h"

#include <string.h>

PyObject *
core_raise(int32_t status, const char *prefix)
{
    const char *message = sp_last_error();
    PyObject *type;
    switch (status) {
    case SP_ERR_SIZE: case SP_ERR_ARG: case SP_ERR_LABEL: case SP_ERR_ARCH: case SP_ERR_TARGET:
        type = PyExc_ValueError;
        break;
    case SP_ERR_MEMORY:
        type = PyExc_MemoryError;
        break;
    case SP_ERR_NONFINITE:
        type = PyExc_FloatingPointError;
        break;
    default:
        PyErr_Format(PyExc_RuntimeError, "unexpected status %d from the Swift core: %s", (int)status, message);
        return NULL;
    }
    PyErr_Format(type, "%s%s", prefix, message);
    return NULL;
}

int
core_typenum(int32_t dtype)
{
    return dtype == SP_FLOAT32 ? NPY_FLOAT32 : NPY_FLOAT64;
}

int32_t
core_dtype(int typenum)
{
    return typenum == NPY_FLOAT32 ? SP_FLOAT32 : SP_FLOAT64;
}

static const char *
dtype_name(int typenum)
{
    return typenum == NPY_FLOAT32 ? "float32" : typenum == NPY_FLOAT64 ? "float64" : typenum == NPY_INT64 ? "int64" : "?";
}

PyArrayObject *
core_check_array(PyObject *obj, const char *name, int typenum, int ndim, npy_intp d0, npy_intp d1, int writeable)
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

int
core_overlaps_bytes(PyArrayObject *a, const void *b, size_t n)
{
    const char *a0 = PyArray_BYTES(a), *b0 = b;
    return a0 < b0 + n && b0 < a0 + PyArray_NBYTES(a);
}

int
core_overlap(PyArrayObject *a, PyArrayObject *b)
{
    return core_overlaps_bytes(a, PyArray_BYTES(b), (size_t)PyArray_NBYTES(b));
}

/* Values below which the finiteness scan keeps the GIL: the scan of 16 384 floats takes about a
   microsecond, releasing and retaking the GIL some 0.1-0.2 us (a fifth of a 1x4-8-2 forward call). */
#define CORE_FINITE_GIL_MIN 16384

int
core_check_finite(PyArrayObject *a, const char *name)
{
    npy_intp n = PyArray_SIZE(a);
    int32_t dtype = core_dtype(PyArray_TYPE(a)), ok;
    if (n < CORE_FINITE_GIL_MIN) {  /* a short scan costs less than releasing and retaking the GIL */
        ok = sp_all_finite(dtype, PyArray_DATA(a), n);
    } else {
        Py_BEGIN_ALLOW_THREADS
        ok = sp_all_finite(dtype, PyArray_DATA(a), n);
        Py_END_ALLOW_THREADS
    }
    if (!ok) PyErr_Format(PyExc_ValueError, "%s contains NaN or infinity", name);
    return ok;
}

PyObject *
core_view(PyObject *owner, void *data, intptr_t count, int typenum)
{
    npy_intp dims[1] = {(npy_intp)count};
    PyObject *arr = PyArray_SimpleNewFromData(1, dims, typenum, data);
    if (!arr) return NULL;
    Py_INCREF(owner);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, owner) < 0) { Py_DECREF(arr); return NULL; }
    return arr;
}

/* A 1-D array of the CSR tuple, of `typenum` (or, typenum < 0, int32/int64), possibly empty. */
static PyArrayObject *
csr_array(PyObject *obj, const char *name, const char *part, int typenum)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s.%s must be a numpy.ndarray, got %.100s", name, part, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    int t = PyArray_TYPE(a);
    if (typenum >= 0 ? t != typenum : (t != NPY_INT32 && t != NPY_INT64)) {
        PyErr_Format(PyExc_TypeError, "%s.%s must have dtype %s, got %S", name, part,
                     typenum >= 0 ? dtype_name(typenum) : "int32 or int64", (PyObject *)PyArray_DESCR(a));
        return NULL;
    }
    if (!PyArray_ISNBO(PyArray_DESCR(a)->byteorder) || PyArray_NDIM(a) != 1 || !PyArray_IS_C_CONTIGUOUS(a)
            || !PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "%s.%s must be a 1-D, C-contiguous, aligned array in native byte order",
                     name, part);
        return NULL;
    }
    return a;
}

int
core_check_input(PyObject *obj, const char *name, int typenum, npy_intp n_cols, CoreInput *in)
{
    memset(in, 0, sizeof *in);
    if (!PyTuple_Check(obj)) {
        in->x = core_check_array(obj, name, typenum, 2, -1, n_cols, 0);
        if (!in->x) return 0;
        in->rows = PyArray_DIM(in->x, 0);
        return 1;
    }
    Py_ssize_t n_rows, cols;
    PyObject *data, *indices, *indptr;
    if (!PyArg_ParseTuple(obj, "OOOnn;a sparse X is (data, indices, indptr, n_rows, n_cols)", &data, &indices,
                          &indptr, &n_rows, &cols))
        return 0;
    if (!(in->data = csr_array(data, name, "data", typenum)) || !(in->indices = csr_array(indices, name, "indices", -1))
            || !(in->indptr = csr_array(indptr, name, "indptr", -1)))
        return 0;
    if (PyArray_TYPE(in->indptr) != PyArray_TYPE(in->indices)) {
        PyErr_Format(PyExc_TypeError, "%s.indptr must have the dtype of %s.indices (%S), got %S", name, name,
                     (PyObject *)PyArray_DESCR(in->indices), (PyObject *)PyArray_DESCR(in->indptr));
        return 0;
    }
    if (PyArray_DIM(in->data, 0) != PyArray_DIM(in->indices, 0)) {
        PyErr_Format(PyExc_ValueError, "%s.data and %s.indices must have the same length, got %zd and %zd", name,
                     name, (Py_ssize_t)PyArray_DIM(in->data, 0), (Py_ssize_t)PyArray_DIM(in->indices, 0));
        return 0;
    }
    in->csr.data = PyArray_DATA(in->data);
    in->csr.indices = PyArray_DATA(in->indices);
    in->csr.indptr = PyArray_DATA(in->indptr);
    in->csr.index_type = PyArray_TYPE(in->indices) == NPY_INT32 ? SP_INDEX_INT32 : SP_INDEX_INT64;
    in->csr.nnz = PyArray_DIM(in->data, 0);
    in->csr.n_indptr = PyArray_DIM(in->indptr, 0);
    in->csr.n_cols = cols;
    in->rows = n_rows;
    return 1;
}

int
core_input_overlaps(const CoreInput *in, const void *b, size_t n)
{
    if (in->x) return core_overlaps_bytes(in->x, b, n);
    return core_overlaps_bytes(in->data, b, n) || core_overlaps_bytes(in->indices, b, n)
           || core_overlaps_bytes(in->indptr, b, n);
}

int
core_input_finite(const CoreInput *in, const char *name)
{
    return core_check_finite(in->x ? in->x : in->data, name);
}

sp_batch
core_input_batch(const CoreInput *in)
{
    sp_batch b = {in->x ? PyArray_DATA(in->x) : NULL, NULL, NULL, NULL, in->rows, in->x ? NULL : &in->csr};
    return b;
}
