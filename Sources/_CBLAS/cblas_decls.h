// The handful of CBLAS entry points swiftprop calls, as exported by the PyPI package
// scipy-openblas32 (symbols carry the `scipy_` prefix; 32-bit integers).
#ifndef SWIFTPROP_CBLAS_DECLS_H
#define SWIFTPROP_CBLAS_DECLS_H

enum SPCblasOrder { SPCblasRowMajor = 101, SPCblasColMajor = 102 };
enum SPCblasTranspose { SPCblasNoTrans = 111, SPCblasTrans = 112 };

void scipy_cblas_sgemm(enum SPCblasOrder order, enum SPCblasTranspose transA, enum SPCblasTranspose transB,
                       int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc);
void scipy_cblas_dgemm(enum SPCblasOrder order, enum SPCblasTranspose transA, enum SPCblasTranspose transB,
                       int m, int n, int k, double alpha, const double *a, int lda,
                       const double *b, int ldb, double beta, double *c, int ldc);
void scipy_openblas_set_num_threads(int num_threads);
int scipy_openblas_get_num_threads(void);
char *scipy_openblas_get_corename(void);

#endif
