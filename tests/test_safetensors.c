/*
 * test_safetensors.c - the safetensors reader, sharded sets and writer.
 *
 * Every validation rule gets one crafted file that breaks only that rule;
 * the test checks the code and that the message names the file and the
 * tensor or field.  The real checkpoints beside the repository (INGOT_MODELS)
 * are read when present.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/st_reader.h"
#include "convert/st_set.h"
#include "convert/st_writer.h"
#include "util/util.h"

static char tmp_root[PATH_MAX];

/* INGOT_TEST_SHOW_ERRORS=1 prints every expected error message, to review
 * their wording. */
static void show(const ingot_error *err)
{
    if (getenv("INGOT_TEST_SHOW_ERRORS"))
        printf("  [%s] %s\n", ingot_status_name(err->code), err->message);
}

/* ------------------------------------------------------------------ helpers */

/* @return a static "<tmp_root>/<rel>" (four buffers used in turn, so a
 * caller's result survives the helpers' own calls). */
static const char *tpath(const char *rel)
{
    static char buf[4][2 * PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, rel);
    return buf[k];
}

static void make_dir(const char *rel)
{
    ck_assert_int_eq(mkdir(tpath(rel), 0755), 0);
}

static void write_bytes(const char *rel, const void *p, size_t n)
{
    FILE *fp = fopen(tpath(rel), "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

static void write_text(const char *rel, const char *text)
{
    write_bytes(rel, text, strlen(text));
}

/* Writes a safetensors file: the declared header length, the header text
 * and data_len bytes of data (a counting pattern). */
static void write_st_len(const char *rel, uint64_t declared, const char *header, size_t data_len)
{
    size_t hl = strlen(header);
    size_t total = 8 + hl + data_len;
    uint8_t *b = malloc(total);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(declared >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < data_len; i++)
        b[8 + hl + i] = (uint8_t)(i * 7 + 1);
    write_bytes(rel, b, total);
    free(b);
}

static void write_st(const char *rel, const char *header, size_t data_len)
{
    write_st_len(rel, strlen(header), header, data_len);
}

/* The file must fail to open with code and a message naming it and
 * containing every non-NULL fragment. */
static void expect_open_fails(const char *rel, ingot_status code, const char *frag1,
                              const char *frag2)
{
    ingot_error err = {0};
    ingot_st_file *f = ingot_st_open(tpath(rel), &err);
    ck_assert_msg(f == NULL, "%s: opened but should have failed", rel);
    show(&err);
    ck_assert_msg(err.code == code, "%s: code %s, want %s: %s", rel, ingot_status_name(err.code),
                  ingot_status_name(code), err.message);
    ck_assert_msg(strstr(err.message, tpath(rel)), "%s: message lacks the path: %s", rel,
                  err.message);
    ck_assert_msg(!frag1 || strstr(err.message, frag1), "%s: no \"%s\" in: %s", rel, frag1,
                  err.message);
    ck_assert_msg(!frag2 || strstr(err.message, frag2), "%s: no \"%s\" in: %s", rel, frag2,
                  err.message);
    ck_assert_ptr_null(strchr(err.message, '\n'));
}

static ingot_st_file *open_ok(const char *rel)
{
    ingot_error err = {0};
    ingot_st_file *f = ingot_st_open(tpath(rel), &err);
    ck_assert_msg(f != NULL, "%s: %s", rel, err.message);
    return f;
}

static void expect_set_fails(const char *dir, ingot_status code, const char *frag1,
                             const char *frag2)
{
    ingot_error err = {0};
    ingot_st_set *s = ingot_st_set_open(tpath(dir), &err);
    ck_assert_msg(s == NULL, "%s: opened but should have failed", dir);
    show(&err);
    ck_assert_msg(err.code == code, "%s: code %s, want %s: %s", dir, ingot_status_name(err.code),
                  ingot_status_name(code), err.message);
    ck_assert_msg(!frag1 || strstr(err.message, frag1), "%s: no \"%s\" in: %s", dir, frag1,
                  err.message);
    ck_assert_msg(!frag2 || strstr(err.message, frag2), "%s: no \"%s\" in: %s", dir, frag2,
                  err.message);
}

/* A tensor with a byte pattern; the caller frees t->data. */
static ingot_st_tensor make_tensor(const char *name, ingot_dtype dt, int ndim, const int64_t *shape)
{
    ingot_st_tensor t = {.name = name, .dtype = dt, .ndim = ndim};
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        t.shape[i] = shape[i];
        n *= (uint64_t)shape[i];
    }
    t.size = n * ingot_dtype_size(dt);
    uint8_t *d = t.size ? malloc(t.size) : NULL;
    for (uint64_t i = 0; i < t.size; i++)
        d[i] = (uint8_t)(i * 31 + (uint64_t)dt * 7 + strlen(name));
    t.data = d;
    return t;
}

static void write_tensors(const char *rel, const ingot_st_tensor *t, int n, const char *meta)
{
    ingot_error err = {0};
    ck_assert_msg(ingot_st_write(tpath(rel), t, n, meta, &err) == 0, "%s", err.message);
}

static const ingot_dtype all_dtypes[] = {
    INGOT_DT_F64, INGOT_DT_F32, INGOT_DT_F16, INGOT_DT_BF16, INGOT_DT_I64, INGOT_DT_I32,
    INGOT_DT_I16, INGOT_DT_I8, INGOT_DT_U8, INGOT_DT_BOOL, INGOT_DT_F8_E4M3, INGOT_DT_F8_E5M2,
};
#define N_DTYPES ((int)INGOT_ARRAY_LEN(all_dtypes))

/* ------------------------------------------------------------------ valid files */

/* A hand-made file of every dtype: the reader does not depend on the writer. */
START_TEST(valid_every_dtype_raw)
{
    for (int i = 0; i < N_DTYPES; i++) {
        const char *st = ingot_dtype_st_name(all_dtypes[i]);
        size_t sz = ingot_dtype_size(all_dtypes[i]);
        char rel[64], hdr[256];
        snprintf(rel, sizeof rel, "raw_%s.safetensors", st);
        snprintf(hdr, sizeof hdr,
                 "{\"w\":{\"dtype\":\"%s\",\"shape\":[2,3],\"data_offsets\":[0,%zu]}}", st, 6 * sz);
        write_st(rel, hdr, 6 * sz);
        ingot_st_file *f = open_ok(rel);
        ck_assert_int_eq(ingot_st_file_count(f), 1);
        const ingot_st_tensor *t = ingot_st_file_find(f, "w");
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->dtype, all_dtypes[i]);
        ck_assert_int_eq(t->ndim, 2);
        ck_assert_int_eq(t->shape[0], 2);
        ck_assert_int_eq(t->shape[1], 3);
        ck_assert_uint_eq(t->size, 6 * sz);
        ck_assert_uint_eq(t->file_offset, 8 + strlen(hdr));
        ck_assert_uint_eq(t->data[0], 1);
        ck_assert_uint_eq(t->data[1], 8);
        ingot_st_close(f);
    }
}
END_TEST

/* Writer round trip: every dtype plus a scalar and an empty tensor. */
START_TEST(writer_roundtrip)
{
    ingot_st_tensor t[N_DTYPES + 2];
    char names[N_DTYPES][32];
    int64_t shape[2] = {3, 5}, empty[2] = {0, 4};
    for (int i = 0; i < N_DTYPES; i++) {
        /* names in reverse dtype-size order, so layout order != name order */
        snprintf(names[i], sizeof names[i], "t%02d.%s", N_DTYPES - i,
                 ingot_dtype_name(all_dtypes[i]));
        t[i] = make_tensor(names[i], all_dtypes[i], 2, shape);
    }
    t[N_DTYPES] = make_tensor("scalar", INGOT_DT_F32, 0, NULL);
    t[N_DTYPES + 1] = make_tensor("empty", INGOT_DT_BF16, 2, empty);
    write_tensors("roundtrip.safetensors", t, N_DTYPES + 2, "{\"format\":\"pt\",\"k\":\"v\"}");

    ingot_st_file *f = open_ok("roundtrip.safetensors");
    ck_assert_int_eq(ingot_st_file_count(f), N_DTYPES + 2);
    ck_assert_str_eq(ingot_st_file_metadata(f, "format"), "pt");
    ck_assert_str_eq(ingot_st_file_metadata(f, "k"), "v");
    ck_assert_ptr_null(ingot_st_file_metadata(f, "missing"));
    for (int i = 0; i < N_DTYPES + 2; i++) {
        const ingot_st_tensor *r = ingot_st_file_find(f, t[i].name);
        ck_assert_msg(r != NULL, "%s missing", t[i].name);
        ck_assert_int_eq(r->dtype, t[i].dtype);
        ck_assert_int_eq(r->ndim, t[i].ndim);
        for (int d = 0; d < r->ndim; d++)
            ck_assert_int_eq(r->shape[d], t[i].shape[d]);
        ck_assert_uint_eq(r->size, t[i].size);
        if (r->size) {
            ck_assert_int_eq(memcmp(r->data, t[i].data, r->size), 0);
            /* the writer lays data out so each tensor is element-aligned */
            ck_assert_uint_eq((uintptr_t)r->data % ingot_dtype_size(r->dtype), 0);
        } else {
            ck_assert_ptr_null(r->data);
        }
    }
    for (int i = 1; i < ingot_st_file_count(f); i++)
        ck_assert_int_lt(strcmp(ingot_st_file_at(f, i - 1)->name, ingot_st_file_at(f, i)->name), 0);
    ck_assert_ptr_null(ingot_st_file_at(f, N_DTYPES + 2));
    ck_assert_ptr_null(ingot_st_file_find(f, "nope"));
    ingot_st_file_release(f, ingot_st_file_find(f, t[0].name));
    ck_assert_int_eq(memcmp(ingot_st_file_find(f, t[0].name)->data, t[0].data, t[0].size), 0);
    ingot_st_close(f);

    /* header padded with spaces to a multiple of 8 */
    struct stat st;
    ck_assert_int_eq(stat(tpath("roundtrip.safetensors"), &st), 0);
    FILE *fp = fopen(tpath("roundtrip.safetensors"), "rb");
    uint8_t len[8];
    ck_assert_uint_eq(fread(len, 1, 8, fp), 8);
    fclose(fp);
    ck_assert_uint_eq(len[0] % 8, 0);
    for (int i = 0; i < N_DTYPES + 2; i++)
        free((void *)t[i].data);
}
END_TEST

START_TEST(writer_rejects_bad_input)
{
    int64_t shape[1] = {4};
    ingot_st_tensor t[2] = {make_tensor("a", INGOT_DT_F32, 1, shape),
                            make_tensor("a", INGOT_DT_F32, 1, shape)};
    ingot_error err = {0};
    ck_assert_int_eq(ingot_st_write(tpath("w_dup.safetensors"), t, 2, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "duplicate"));
    t[1].name = "b";
    t[1].size = 15;
    ck_assert_int_eq(ingot_st_write(tpath("w_size.safetensors"), t, 2, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "b: size 15"));
    t[1].size = 16;
    ck_assert_int_eq(ingot_st_write(tpath("w_meta.safetensors"), t, 2, "{\"a\":1}", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "__metadata__"));
    t[1].dtype = INGOT_DT_NF4;
    ck_assert_int_eq(ingot_st_write(tpath("w_q.safetensors"), t, 2, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "nf4"));
    ck_assert(!ingot_file_exists(tpath("w_dup.safetensors")));
    ck_assert(!ingot_file_exists(tpath("w_meta.safetensors")));
    free((void *)t[0].data);
    free((void *)t[1].data);
}
END_TEST

/* Accepted by the reference, so accepted here. */
START_TEST(valid_variants)
{
    /* keys not in offset order (writers order keys by name, data by dtype),
     * leading whitespace, trailing padding, null metadata, unknown field */
    write_st("v_order.safetensors",
             "  {\"__metadata__\":null,"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12],\"x\":1},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}      ",
             12);
    ingot_st_file *f = open_ok("v_order.safetensors");
    ck_assert_int_eq(ingot_st_file_count(f), 2);
    ck_assert_str_eq(ingot_st_file_at(f, 0)->name, "a");
    ck_assert_uint_eq(ingot_st_file_find(f, "b")->file_offset,
                      ingot_st_file_find(f, "a")->file_offset + 8);
    ck_assert_ptr_null(ingot_st_file_metadata(f, "format"));
    ingot_st_close(f);

    /* no tensors at all */
    write_st("v_empty.safetensors", "{}      ", 0);
    f = open_ok("v_empty.safetensors");
    ck_assert_int_eq(ingot_st_file_count(f), 0);
    ck_assert_ptr_null(ingot_st_file_find(f, "a"));
    ingot_st_close(f);

    /* zero-size tensors share offsets with their neighbours */
    write_st("v_zero.safetensors",
             "{\"z1\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[0,0]},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
             "\"z2\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[3,3]}}",
             3);
    f = open_ok("v_zero.safetensors");
    ck_assert_int_eq(ingot_st_file_count(f), 3);
    ck_assert_uint_eq(ingot_st_file_find(f, "z2")->size, 0);
    ingot_st_close(f);
}
END_TEST

/* ------------------------------------------------------------------ one file per rule */

START_TEST(rule_file_too_short)
{
    write_bytes("short.safetensors", "\x05\0\0\0\0", 5);
    expect_open_fails("short.safetensors", INGOT_ERR_FORMAT, "header length", "5 bytes");
    write_bytes("zero.safetensors", "", 0);
    expect_open_fails("zero.safetensors", INGOT_ERR_FORMAT, "header length", "too short");
}
END_TEST

START_TEST(rule_header_too_large)
{
    write_st_len("huge_hdr.safetensors", 100000001, "{}", 0);
    expect_open_fails("huge_hdr.safetensors", INGOT_ERR_FORMAT, "header length", "100000001");
    write_st_len("maxu64_hdr.safetensors", UINT64_MAX, "{}", 0);
    expect_open_fails("maxu64_hdr.safetensors", INGOT_ERR_FORMAT, "header length", "limit");
}
END_TEST

START_TEST(rule_header_beyond_eof)
{
    write_st_len("eof_hdr.safetensors", 100, "{}", 0);
    expect_open_fails("eof_hdr.safetensors", INGOT_ERR_FORMAT, "header length",
                      "past the end of the file");
    /* exactly at the limit: not too large, but still beyond EOF */
    write_st_len("limit_hdr.safetensors", 100000000, "{}", 0);
    expect_open_fails("limit_hdr.safetensors", INGOT_ERR_FORMAT, "header length",
                      "past the end");
}
END_TEST

START_TEST(rule_invalid_utf8)
{
    write_st("utf8.safetensors",
             "{\"w\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    expect_open_fails("utf8.safetensors", INGOT_ERR_FORMAT, "header", "UTF-8 at byte 3");
    /* an encoded surrogate (ED A0 80) is not UTF-8 either */
    write_st("utf8_sur.safetensors",
             "{\"w\xed\xa0\x80\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    expect_open_fails("utf8_sur.safetensors", INGOT_ERR_FORMAT, "UTF-8", NULL);
    /* overlong encoding of '/' */
    write_st("utf8_over.safetensors",
             "{\"w\xc0\xaf\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    expect_open_fails("utf8_over.safetensors", INGOT_ERR_FORMAT, "UTF-8", NULL);
}
END_TEST

START_TEST(rule_invalid_json)
{
    write_st("json.safetensors", "{\"w\":{\"dtype\":\"U8\",}}", 0);
    expect_open_fails("json.safetensors", INGOT_ERR_FORMAT, "header", "invalid JSON");
    write_st("json_trail.safetensors", "{} x", 0);
    expect_open_fails("json_trail.safetensors", INGOT_ERR_FORMAT, "invalid JSON", NULL);
    write_st("json_arr.safetensors", "[1, 2]  ", 0);
    expect_open_fails("json_arr.safetensors", INGOT_ERR_FORMAT, "not a JSON object", NULL);
    /* padding must be spaces: a NUL after the object is not JSON whitespace */
    write_st_len("json_nulpad.safetensors", 8, "{}", 6);
    expect_open_fails("json_nulpad.safetensors", INGOT_ERR_FORMAT, "invalid JSON", NULL);
}
END_TEST

START_TEST(rule_duplicate_name)
{
    write_st("dup.safetensors",
             "{\"dup.weight\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
             "\"dup.weight\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
             2);
    expect_open_fails("dup.safetensors", INGOT_ERR_FORMAT, "duplicate", "dup.weight");
}
END_TEST

START_TEST(rule_dtype)
{
    write_st("dtype.safetensors",
             "{\"w.bad\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    expect_open_fails("dtype.safetensors", INGOT_ERR_FORMAT, "w.bad: unknown dtype \"F7\"", NULL);
    write_st("dtype_u16.safetensors",
             "{\"w\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("dtype_u16.safetensors", INGOT_ERR_UNSUPPORTED, "w: dtype U16", NULL);
    write_st("dtype_lc.safetensors",
             "{\"w\":{\"dtype\":\"bf16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("dtype_lc.safetensors", INGOT_ERR_FORMAT, "unknown dtype \"bf16\"", NULL);
    write_st("dtype_missing.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("dtype_missing.safetensors", INGOT_ERR_FORMAT, "w: dtype: missing", NULL);
    write_st("dtype_num.safetensors",
             "{\"w\":{\"dtype\":2,\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("dtype_num.safetensors", INGOT_ERR_FORMAT, "w: dtype: not a string", NULL);
}
END_TEST

START_TEST(rule_shape)
{
    write_st("shape_neg.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("shape_neg.safetensors", INGOT_ERR_FORMAT, "w: shape[1]", "non-negative");
    write_st("shape_real.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("shape_real.safetensors", INGOT_ERR_FORMAT, "w: shape[0]", NULL);
    write_st("shape_str.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("shape_str.safetensors", INGOT_ERR_FORMAT, "w: shape[0]", NULL);
    write_st("shape_obj.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("shape_obj.safetensors", INGOT_ERR_FORMAT, "w: shape: not an array", NULL);
    write_st("shape_missing.safetensors", "{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,2]}}", 2);
    expect_open_fails("shape_missing.safetensors", INGOT_ERR_FORMAT, "w: shape: missing", NULL);
    write_st("shape_9d.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
             1);
    expect_open_fails("shape_9d.safetensors", INGOT_ERR_UNSUPPORTED, "w: shape has 9", NULL);
    write_st("shape_big.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[18446744073709551615],\"data_offsets\":[0,1]}}",
             1);
    expect_open_fails("shape_big.safetensors", INGOT_ERR_FORMAT, "invalid JSON", NULL);
    write_st("entry_num.safetensors", "{\"w\":3}", 0);
    expect_open_fails("entry_num.safetensors", INGOT_ERR_FORMAT, "w: not an object", NULL);
}
END_TEST

START_TEST(rule_offsets_form)
{
    write_st("off_missing.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1);
    expect_open_fails("off_missing.safetensors", INGOT_ERR_FORMAT, "w: data_offsets: missing",
                      NULL);
    write_st("off_one.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", 1);
    expect_open_fails("off_one.safetensors", INGOT_ERR_FORMAT, "w: data_offsets", "pair");
    write_st("off_neg.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1);
    expect_open_fails("off_neg.safetensors", INGOT_ERR_FORMAT, "w: data_offsets", NULL);
}
END_TEST

/* begin after end: the pair itself is unsorted */
START_TEST(rule_offsets_unsorted)
{
    write_st("off_rev.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4);
    expect_open_fails("off_rev.safetensors", INGOT_ERR_FORMAT, "w: data_offsets [4, 0]",
                      "begin is after end");
}
END_TEST

START_TEST(rule_gap)
{
    write_st("gap.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
             12);
    expect_open_fails("gap.safetensors", INGOT_ERR_FORMAT, "b: data_offsets [8, 12]", "gap of 4");
    write_st("gap_start.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    expect_open_fails("gap_start.safetensors", INGOT_ERR_FORMAT, "a: data_offsets", "start");
}
END_TEST

START_TEST(rule_overlap)
{
    write_st("overlap.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
             8);
    expect_open_fails("overlap.safetensors", INGOT_ERR_FORMAT, "b: data_offsets [4, 8]",
                      "overlap a");
    /* identical spans: two names for one buffer */
    write_st("alias.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             4);
    expect_open_fails("alias.safetensors", INGOT_ERR_FORMAT, "b: data_offsets [0, 4]", "overlap");
}
END_TEST

START_TEST(rule_size_mismatch)
{
    write_st("size.safetensors",
             "{\"model.layers.0.mlp.up_proj.weight\":"
             "{\"dtype\":\"BF16\",\"shape\":[10,10],\"data_offsets\":[0,100]}}",
             100);
    expect_open_fails("size.safetensors", INGOT_ERR_FORMAT,
                      "size.safetensors: model.layers.0.mlp.up_proj.weight: data_offsets [0, 100] "
                      "but shape [10, 10] of BF16 needs 200 bytes",
                      NULL);
}
END_TEST

START_TEST(rule_size_overflow)
{
    write_st("ovf_shape.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
             "\"data_offsets\":[0,0]}}",
             0);
    expect_open_fails("ovf_shape.safetensors", INGOT_ERR_FORMAT, "w: shape [4294967296, 4294967296]",
                      "overflows");
    write_st("ovf_bytes.safetensors",
             "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}",
             0);
    expect_open_fails("ovf_bytes.safetensors", INGOT_ERR_FORMAT, "of F64", "overflows");
    /* a zero before the big dimensions: the reference's left fold gives 0 */
    write_st("ovf_zero.safetensors",
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[0,4294967296,4294967296],"
             "\"data_offsets\":[0,0]}}",
             0);
    ingot_st_close(open_ok("ovf_zero.safetensors"));
}
END_TEST

START_TEST(rule_buffer_coverage)
{
    const char *h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    write_st("cover_long.safetensors", h, 12); /* 4 bytes nobody owns */
    expect_open_fails("cover_long.safetensors", INGOT_ERR_FORMAT, "data: tensors cover 8 bytes",
                      "holds 12");
    write_st("cover_short.safetensors", h, 6); /* last tensor runs past EOF */
    expect_open_fails("cover_short.safetensors", INGOT_ERR_FORMAT, "w: data_offsets [0, 8]",
                      "truncated");
    write_st("cover_none.safetensors", "{}", 3);
    expect_open_fails("cover_none.safetensors", INGOT_ERR_FORMAT, "data: tensors cover 0 bytes",
                      NULL);
}
END_TEST

START_TEST(rule_metadata)
{
    write_st("meta_num.safetensors", "{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0);
    expect_open_fails("meta_num.safetensors", INGOT_ERR_FORMAT, "__metadata__",
                      "value of \"n\" is not a string");
    write_st("meta_arr.safetensors", "{\"__metadata__\":[\"a\"]}", 0);
    expect_open_fails("meta_arr.safetensors", INGOT_ERR_FORMAT, "__metadata__", "not an object");
    write_st("meta_nested.safetensors", "{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0);
    expect_open_fails("meta_nested.safetensors", INGOT_ERR_FORMAT, "__metadata__", "\"a\"");
}
END_TEST

START_TEST(missing_file)
{
    ingot_error err = {0};
    ck_assert_ptr_null(ingot_st_open(tpath("does-not-exist.safetensors"), &err));
    ck_assert_int_eq(err.code, INGOT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "does-not-exist.safetensors"));
    ck_assert_ptr_null(ingot_st_open(tpath("does-not-exist.safetensors"), NULL));
}
END_TEST

/* ------------------------------------------------------------------ sets */

static const int64_t shape4[1] = {4};

/* dir/<shard> holding F32 [4] tensors with the given names. */
static void write_shard(const char *dir, const char *shard, const char *const *names, int n)
{
    ingot_st_tensor t[8];
    for (int i = 0; i < n; i++)
        t[i] = make_tensor(names[i], INGOT_DT_F32, 1, shape4);
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", dir, shard);
    write_tensors(rel, t, n, "{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++)
        free((void *)t[i].data);
}

static void write_index(const char *dir, const char *weight_map)
{
    char rel[256], text[2048];
    snprintf(rel, sizeof rel, "%s/" INGOT_ST_INDEX_NAME, dir);
    snprintf(text, sizeof text, "{\"metadata\":{\"total_size\":48},\"weight_map\":{%s}}",
             weight_map);
    write_text(rel, text);
}

#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"

/* A good two-shard checkpoint: a, c in shard 1; b in shard 2. */
static void write_good_sharded(const char *dir)
{
    make_dir(dir);
    write_shard(dir, SHARD1, (const char *[]){"c", "a"}, 2);
    write_shard(dir, SHARD2, (const char *[]){"b"}, 1);
    write_index(dir, "\"a\":\"" SHARD1 "\",\"b\":\"" SHARD2 "\",\"c\":\"" SHARD1 "\"");
}

START_TEST(set_single)
{
    make_dir("single");
    write_shard("single", INGOT_ST_SINGLE_NAME, (const char *[]){"y", "x"}, 2);
    ingot_error err = {0};
    ingot_st_set *s = ingot_st_set_open(tpath("single"), &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    ck_assert_int_eq(ingot_st_set_count(s), 2);
    ck_assert_int_eq(ingot_st_set_n_files(s), 1);
    ck_assert_ptr_null(ingot_st_set_index_path(s));
    ck_assert_str_eq(ingot_st_set_file(s, 0), tpath("single/model.safetensors"));
    ck_assert_str_eq(ingot_st_set_at(s, 0)->name, "x");
    ck_assert_str_eq(ingot_st_set_at(s, 1)->name, "y");
    ck_assert_uint_eq(ingot_st_set_total_bytes(s), 32);
    ck_assert_str_eq(ingot_st_file_metadata(ingot_st_set_st_file(s, 0), "format"), "pt");
    ingot_st_set_free(s);
    ingot_st_set_free(NULL);
}
END_TEST

START_TEST(set_sharded)
{
    write_good_sharded("sharded");
    ingot_error err = {0};
    ingot_st_set *s = ingot_st_set_open(tpath("sharded"), &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    ck_assert_int_eq(ingot_st_set_count(s), 3);
    ck_assert_int_eq(ingot_st_set_n_files(s), 2);
    ck_assert_str_eq(ingot_st_set_file(s, 0), tpath("sharded/" SHARD1));
    ck_assert_str_eq(ingot_st_set_file(s, 1), tpath("sharded/" SHARD2));
    ck_assert_ptr_null(ingot_st_set_file(s, 2));
    ck_assert_str_eq(ingot_st_set_index_path(s), tpath("sharded/" INGOT_ST_INDEX_NAME));
    const char *want[] = {"a", "b", "c"};
    const int want_file[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        const ingot_st_tensor *t = ingot_st_set_at(s, i);
        ck_assert_str_eq(t->name, want[i]);
        ck_assert_int_eq(t->file_index, want_file[i]);
        ck_assert_ptr_eq(ingot_st_set_find(s, want[i]), t);
        /* data is what the writer got: the pattern of make_tensor */
        ingot_st_tensor ref = make_tensor(want[i], INGOT_DT_F32, 1, shape4);
        ck_assert_int_eq(memcmp(t->data, ref.data, 16), 0);
        ingot_st_set_release(s, t);
        ck_assert_int_eq(memcmp(t->data, ref.data, 16), 0); /* re-read after release */
        free((void *)ref.data);
    }
    ck_assert_ptr_null(ingot_st_set_find(s, "d"));
    ck_assert_uint_eq(ingot_st_set_total_bytes(s), 48);
    ingot_st_set_free(s);
}
END_TEST

START_TEST(set_index_wins)
{
    /* a stray model.safetensors beside the index is ignored, as transformers does */
    write_good_sharded("both");
    write_shard("both", INGOT_ST_SINGLE_NAME, (const char *[]){"zzz"}, 1);
    ingot_error err = {0};
    ingot_st_set *s = ingot_st_set_open(tpath("both"), &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    ck_assert_int_eq(ingot_st_set_count(s), 3);
    ck_assert_ptr_null(ingot_st_set_find(s, "zzz"));
    ingot_st_set_free(s);
}
END_TEST

START_TEST(set_no_checkpoint)
{
    make_dir("nothing");
    expect_set_fails("nothing", INGOT_ERR_IO, tpath("nothing"),
                     "no model.safetensors or model.safetensors.index.json");
}
END_TEST

START_TEST(set_truncated_shard)
{
    write_good_sharded("trunc");
    const char *p = tpath("trunc/" SHARD2);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(truncate(p, st.st_size - 3), 0);
    expect_set_fails("trunc", INGOT_ERR_FORMAT, tpath("trunc/" SHARD2), "truncated");
}
END_TEST

START_TEST(set_missing_shard)
{
    write_good_sharded("missing");
    ck_assert_int_eq(unlink(tpath("missing/" SHARD2)), 0);
    expect_set_fails("missing", INGOT_ERR_IO,
                     tpath("missing/" SHARD2 ": missing shard (named by "
                           "model.safetensors.index.json)"),
                     NULL);
}
END_TEST

START_TEST(set_tensor_not_in_shard)
{
    write_good_sharded("notinshard");
    write_index("notinshard", "\"a\":\"" SHARD1 "\",\"b\":\"" SHARD2 "\",\"c\":\"" SHARD1
                              "\",\"d\":\"" SHARD2 "\"");
    expect_set_fails("notinshard", INGOT_ERR_FORMAT,
                     "model.safetensors.index.json: tensor d: not found in shard " SHARD2, NULL);
    /* named for the wrong shard */
    write_index("notinshard", "\"a\":\"" SHARD2 "\",\"b\":\"" SHARD2 "\",\"c\":\"" SHARD1 "\"");
    expect_set_fails("notinshard", INGOT_ERR_FORMAT, "tensor a: not found in shard " SHARD2,
                     NULL);
}
END_TEST

START_TEST(set_tensor_not_in_index)
{
    write_good_sharded("notinindex");
    write_index("notinindex", "\"a\":\"" SHARD1 "\",\"b\":\"" SHARD2 "\"");
    expect_set_fails("notinindex", INGOT_ERR_FORMAT, tpath("notinindex/" SHARD1 ": c: not listed"),
                     NULL);
}
END_TEST

START_TEST(set_tensor_in_two_shards)
{
    make_dir("twice");
    write_shard("twice", SHARD1, (const char *[]){"a", "c"}, 2);
    write_shard("twice", SHARD2, (const char *[]){"a", "b"}, 2);
    write_index("twice", "\"a\":\"" SHARD1 "\",\"b\":\"" SHARD2 "\",\"c\":\"" SHARD1 "\"");
    expect_set_fails("twice", INGOT_ERR_FORMAT, tpath("twice/" SHARD2 ": a: in two shards"),
                     SHARD1);
}
END_TEST

START_TEST(set_path_traversal)
{
    write_good_sharded("traversal");
    write_shard("traversal", "../evil.safetensors", (const char *[]){"b"}, 1);
    write_index("traversal", "\"a\":\"" SHARD1 "\",\"b\":\"../evil.safetensors\",\"c\":\"" SHARD1
                             "\"");
    expect_set_fails("traversal", INGOT_ERR_FORMAT, "tensor b: shard \"../evil.safetensors\"",
                     "not a plain file name");
    write_index("traversal", "\"a\":\"" SHARD1 "\",\"b\":\"..\",\"c\":\"" SHARD1 "\"");
    expect_set_fails("traversal", INGOT_ERR_FORMAT, "not a plain file name", NULL);
    write_index("traversal", "\"a\":\"" SHARD1 "\",\"b\":\"/etc/passwd\",\"c\":\"" SHARD1 "\"");
    expect_set_fails("traversal", INGOT_ERR_FORMAT, "not a plain file name", NULL);
}
END_TEST

START_TEST(set_bad_index)
{
    write_good_sharded("badindex");
    const char *p = "badindex/" INGOT_ST_INDEX_NAME;
    write_text(p, "{\"weight_map\":");
    expect_set_fails("badindex", INGOT_ERR_FORMAT, tpath(p), "invalid JSON");
    write_text(p, "{\"metadata\":{}}");
    expect_set_fails("badindex", INGOT_ERR_FORMAT, "weight_map: missing", NULL);
    write_text(p, "{\"weight_map\":{}}");
    expect_set_fails("badindex", INGOT_ERR_FORMAT, "weight_map: empty", NULL);
    write_text(p, "{\"weight_map\":{\"a\":1}}");
    expect_set_fails("badindex", INGOT_ERR_FORMAT, "tensor a: shard is not a string", NULL);
    write_index("badindex", "\"a\":\"" SHARD1 "\",\"a\":\"" SHARD1 "\"");
    expect_set_fails("badindex", INGOT_ERR_FORMAT, "duplicate", NULL);
}
END_TEST

/* ------------------------------------------------------------------ real checkpoints */

static int models_dir(char *out, size_t cap)
{
    const char *m = getenv("INGOT_MODELS");
    const char *top = getenv("top_srcdir");
    if (m && *m)
        snprintf(out, cap, "%s", m);
    else
        snprintf(out, cap, "%s/../shared/models", top ? top : ".");
    return 0;
}

/* Opens a real checkpoint, or prints SKIP and returns NULL. */
static ingot_st_set *open_real(const char *model)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    models_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, model);
    if (!ingot_file_exists(path)) {
        printf("SKIP: %s not found (set INGOT_MODELS)\n", path);
        return NULL;
    }
    ingot_error err = {0};
    ingot_st_set *s = ingot_st_set_open(path, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    return s;
}

/* data must be the file's bytes at file_offset. */
static void check_bytes_in_file(const ingot_st_set *s, const ingot_st_tensor *t)
{
    int fd = open(ingot_st_set_file(s, t->file_index), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    size_t n = t->size < 4096 ? t->size : 4096;
    uint8_t buf[4096];
    ck_assert_int_eq(pread(fd, buf, n, (off_t)t->file_offset), (ssize_t)n);
    close(fd);
    ck_assert_int_eq(memcmp(buf, t->data, n), 0);
}

static void check_shape(const ingot_st_set *s, const char *name, int ndim, int64_t d0, int64_t d1)
{
    const ingot_st_tensor *t = ingot_st_set_find(s, name);
    ck_assert_msg(t != NULL, "%s missing", name);
    ck_assert_int_eq(t->ndim, ndim);
    ck_assert_int_eq(t->shape[0], d0);
    if (ndim > 1)
        ck_assert_int_eq(t->shape[1], d1);
    check_bytes_in_file(s, t);
}

static void check_all_bf16(const ingot_st_set *s)
{
    for (int i = 0; i < ingot_st_set_count(s); i++) {
        const ingot_st_tensor *t = ingot_st_set_at(s, i);
        ck_assert_msg(t->dtype == INGOT_DT_BF16, "%s is not bf16", t->name);
        if (i > 0)
            ck_assert_int_lt(strcmp(ingot_st_set_at(s, i - 1)->name, t->name), 0);
    }
}

START_TEST(real_tiny_llama)
{
    ingot_st_set *s = open_real("tiny-llama");
    if (!s)
        return;
    ck_assert_int_eq(ingot_st_set_count(s), 6 * 9 + 3);
    ck_assert_int_eq(ingot_st_set_n_files(s), 2);
    ck_assert_uint_eq(ingot_st_set_total_bytes(s), 6229248ull * 2); /* index total_size */
    check_all_bf16(s);
    check_shape(s, "model.embed_tokens.weight", 2, 4096, 256);
    check_shape(s, "lm_head.weight", 2, 4096, 256);
    check_shape(s, "model.layers.0.self_attn.q_proj.weight", 2, 256, 256);
    check_shape(s, "model.layers.5.self_attn.k_proj.weight", 2, 128, 256);
    check_shape(s, "model.layers.3.mlp.gate_proj.weight", 2, 640, 256);
    check_shape(s, "model.layers.3.mlp.down_proj.weight", 2, 256, 640);
    check_shape(s, "model.norm.weight", 1, 256, 0);
    for (int i = 0; i < ingot_st_set_count(s); i++)
        ingot_st_set_release(s, ingot_st_set_at(s, i));
    ingot_st_set_free(s);
}
END_TEST

START_TEST(real_small_qwen2)
{
    ingot_st_set *s = open_real("small-qwen2");
    if (!s)
        return;
    /* 9 weights + 3 q/k/v biases per layer, embeddings, final norm; lm_head tied */
    ck_assert_int_eq(ingot_st_set_count(s), 6 * 12 + 2);
    ck_assert_int_eq(ingot_st_set_n_files(s), 3);
    ck_assert_uint_eq(ingot_st_set_total_bytes(s), 12591744ull * 2);
    check_all_bf16(s);
    ck_assert_ptr_null(ingot_st_set_find(s, "lm_head.weight"));
    check_shape(s, "model.embed_tokens.weight", 2, 8192, 384);
    check_shape(s, "model.layers.0.self_attn.q_proj.bias", 1, 384, 0);
    check_shape(s, "model.layers.0.self_attn.k_proj.bias", 1, 128, 0);
    check_shape(s, "model.layers.5.mlp.up_proj.weight", 2, 1024, 384);
    ingot_st_set_free(s);
}
END_TEST

/* ------------------------------------------------------------------ main */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, valid_every_dtype_raw);
    tcase_add_test(tc, writer_roundtrip);
    tcase_add_test(tc, writer_rejects_bad_input);
    tcase_add_test(tc, valid_variants);
    tcase_add_test(tc, rule_file_too_short);
    tcase_add_test(tc, rule_header_too_large);
    tcase_add_test(tc, rule_header_beyond_eof);
    tcase_add_test(tc, rule_invalid_utf8);
    tcase_add_test(tc, rule_invalid_json);
    tcase_add_test(tc, rule_duplicate_name);
    tcase_add_test(tc, rule_dtype);
    tcase_add_test(tc, rule_shape);
    tcase_add_test(tc, rule_offsets_form);
    tcase_add_test(tc, rule_offsets_unsorted);
    tcase_add_test(tc, rule_gap);
    tcase_add_test(tc, rule_overlap);
    tcase_add_test(tc, rule_size_mismatch);
    tcase_add_test(tc, rule_size_overflow);
    tcase_add_test(tc, rule_buffer_coverage);
    tcase_add_test(tc, rule_metadata);
    tcase_add_test(tc, missing_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("set");
    tcase_add_test(tc, set_single);
    tcase_add_test(tc, set_sharded);
    tcase_add_test(tc, set_index_wins);
    tcase_add_test(tc, set_no_checkpoint);
    tcase_add_test(tc, set_truncated_shard);
    tcase_add_test(tc, set_missing_shard);
    tcase_add_test(tc, set_tensor_not_in_shard);
    tcase_add_test(tc, set_tensor_not_in_index);
    tcase_add_test(tc, set_tensor_in_two_shards);
    tcase_add_test(tc, set_path_traversal);
    tcase_add_test(tc, set_bad_index);
    suite_add_tcase(s, tc);

    tc = tcase_create("real");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, real_tiny_llama);
    tcase_add_test(tc, real_small_qwen2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/ingot-st-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists each test */
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
