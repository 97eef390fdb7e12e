/* machine.c - the public face of the machine measurements ingot bench reports against. */
#include "config.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ingot.h"
#include "kernels/cpu/kernels.h"

static int threads(int n)
{
#ifdef _OPENMP
    return n > 0 ? n : omp_get_max_threads();
#else
    return n > 0 ? n : 1;
#endif
}

double ingot_machine_read_bandwidth(int n_threads)
{
    return ingot_measure_read_bandwidth(threads(n_threads));
}

double ingot_machine_read_pass(const void *buf, size_t bytes, int n_threads)
{
    return ingot_read_pass(buf, bytes, threads(n_threads));
}

double ingot_machine_fma_peak(int n_threads)
{
    return ingot_measure_fma_peak(threads(n_threads));
}

const char *ingot_cpu_isa(void)
{
    return ingot_cpu_kernels_get()->isa;
}

int ingot_default_threads(void)
{
    return threads(0);
}
