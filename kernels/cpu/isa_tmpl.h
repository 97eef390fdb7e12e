/*
 * isa_tmpl.h - the entry points of one SIMD build of the kernels, included
 * by each ISA file (matmul_avx2.c, matmul_avx512.c) after matmul_tmpl.h
 * and ops_tmpl.h, with ISA defined to its name: ingot_kernels_fill_<ISA>
 * and the machine-measurement loops ingot_read_sum_<ISA> and
 * ingot_fma_loop_<ISA> (declared in kernels.h).
 */
#define ISA_CAT2(a, b) a##b
#define ISA_CAT(a, b) ISA_CAT2(a, b)
#define ISA_STR2(x) #x
#define ISA_STR(x) ISA_STR2(x)

void ISA_CAT(ingot_kernels_fill_, ISA)(ingot_cpu_kernels *k)
{
    k->isa = ISA_STR(ISA);
    k->matmul[INGOT_DT_F32] = matmul_f32;
    k->matmul[INGOT_DT_F16] = matmul_f16;
    k->matmul[INGOT_DT_BF16] = matmul_bf16;
    k->dot_f32 = dot_f32;
    k->axpy_f32 = axpy_f32;
    k->rmsnorm = rmsnorm;
    k->softmax = softmax;
    k->swiglu = swiglu;
}

float ISA_CAT(ingot_read_sum_, ISA)(const void *p, size_t n, int streams)
{
    return read_sum(p, n, streams);
}

double ISA_CAT(ingot_fma_loop_, ISA)(long iters, float *sink)
{
    return fma_loop(iters, sink);
}
