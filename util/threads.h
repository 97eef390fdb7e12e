/*
 * threads.h - the OpenMP thread queries libingot's parallel loops use,
 * with their one-thread answers when the build has no OpenMP.
 */
#ifndef INGOT_THREADS_H
#define INGOT_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif

/** @return this thread's number in the current parallel region (0 outside one). */
static inline int ingot_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/** @return the number of threads in the current parallel region (1 outside one). */
static inline int ingot_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

#endif /* INGOT_THREADS_H */
