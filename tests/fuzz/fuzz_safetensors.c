/*
 * fuzz_safetensors.c - the safetensors header and layout checks
 * (convert/st_reader.c) on a fuzzed file.  When a file is accepted, every
 * promise of st_reader.h is checked: each tensor's size is its shape times
 * its element size, its bytes lie inside the file, lookup by name finds it;
 * then every byte of every tensor is read.
 */
#include "config.h"

#include "convert/st_reader.h"
#include "tests/fuzz/fuzz.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    ingot_error err = {0};
    ingot_st_file *f = ingot_st_open(path, &err);
    if (!f) {
        fuzz_check_error(&err);
        close(fd);
        return 0;
    }
    int n = ingot_st_file_count(f);
    FUZZ_CHECK(n >= 0);
    const ingot_st_tensor *first = NULL;
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        const ingot_st_tensor *t = ingot_st_file_at(f, i);
        FUZZ_CHECK(t && t->name);
        FUZZ_CHECK(ingot_st_file_find(f, t->name) == t);
        FUZZ_CHECK(t->ndim >= 0 && t->ndim <= INGOT_ST_MAX_NDIM);
        uint64_t elems = 1;
        for (int d = 0; d < t->ndim; d++) {
            FUZZ_CHECK(t->shape[d] >= 0);
            FUZZ_CHECK(!__builtin_mul_overflow(elems, (uint64_t)t->shape[d], &elems));
        }
        uint64_t bytes;
        FUZZ_CHECK(!__builtin_mul_overflow(elems, (uint64_t)ingot_dtype_size(t->dtype), &bytes));
        FUZZ_CHECK(bytes == t->size);
        FUZZ_CHECK(t->file_offset <= size && t->size <= size - t->file_offset);
        FUZZ_CHECK((t->data == NULL) == (t->size == 0));
        if (!t->data)
            continue;
        if (!first)
            first = t;
        /* all tensors point into one mapping, at their file offsets */
        FUZZ_CHECK(t->data - first->data == (ptrdiff_t)(t->file_offset - first->file_offset));
        for (uint64_t k = 0; k < t->size; k++)
            sum += t->data[k];
        ingot_st_file_release(f, t);
    }
    (void)ingot_st_file_metadata(f, "format");
    /* a tensor name that no file has */
    FUZZ_CHECK(ingot_st_file_find(f, "\x01 no such tensor") == NULL || n > 0);
    ingot_st_close(f);
    close(fd);
    return (int)(sum & 0);
}
