#include <cblas.h>
#include <stddef.h>

/* LAPACK's general eigenvalue solver, which OpenBLAS ships (the Fortran symbol; the two hidden
   trailing arguments are the lengths of the character arguments, as gfortran passes them). */
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
            double *wr, double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr,
            double *work, const int *lwork, int *info, size_t jobvl_length, size_t jobvr_length);
