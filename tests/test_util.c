/* test_util.c - float formats, atomic output files, errors. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

START_TEST(bf16_round_trip_is_exact)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = ingot_bf16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        ck_assert_uint_eq(ingot_f32_to_bf16(f), h);
    }
}
END_TEST

START_TEST(bf16_rounds_to_nearest_even)
{
    /* 1 + 2^-8 is halfway between bf16 1.0 and 1+2^-7: ties go to even (1.0). */
    ck_assert_uint_eq(ingot_f32_to_bf16(from_bits(0x3f808000)), 0x3f80);
    /* halfway above an odd mantissa rounds up */
    ck_assert_uint_eq(ingot_f32_to_bf16(from_bits(0x3f818000)), 0x3f82);
    ck_assert_uint_eq(ingot_f32_to_bf16(from_bits(0x3f808001)), 0x3f81);
    ck_assert(isnan(ingot_bf16_to_f32(ingot_f32_to_bf16(NAN))));
}
END_TEST

START_TEST(f16_round_trip_is_exact)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = ingot_f16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        ck_assert_uint_eq(ingot_f32_to_f16(f), h);
    }
}
END_TEST

/* f32 -> f16 against a slow, obviously correct reference: nearest by search. */
START_TEST(f16_is_correctly_rounded)
{
    uint32_t seed = 12345;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1664525u + 1013904223u;
        float f = from_bits((seed & 0x807fffffu) | ((0x67u + (seed >> 24) % 0x30u) << 23));
        uint16_t h = ingot_f32_to_f16(f);
        double x = f, got = ingot_f16_to_f32(h);
        double lo = ingot_f16_to_f32((uint16_t)(h - 1)), hi = ingot_f16_to_f32((uint16_t)(h + 1));
        if (isinf(got))
            ck_assert(fabs(x) >= 65520.0);
        else {
            ck_assert(fabs(x - got) <= fabs(x - lo));
            ck_assert(fabs(x - got) <= fabs(x - hi));
        }
    }
    ck_assert(isinf(ingot_f16_to_f32(ingot_f32_to_f16(65520.0f))));
    ck_assert_float_eq(ingot_f16_to_f32(ingot_f32_to_f16(65519.0f)), 65504.0f);
    ck_assert_uint_eq(ingot_f32_to_f16(from_bits(0x33000000)), 0); /* 2^-25: tie to even 0 */
    ck_assert_uint_eq(ingot_f32_to_f16(from_bits(0x33000001)), 1);
}
END_TEST

START_TEST(f8_values)
{
    ck_assert_float_eq(ingot_f8e4m3_to_f32(0x38), 1.0f);
    ck_assert_float_eq(ingot_f8e4m3_to_f32(0x7e), 448.0f);
    ck_assert(isnan(ingot_f8e4m3_to_f32(0x7f)));
    ck_assert_float_eq(ingot_f8e4m3_to_f32(0x01), ldexpf(1.0f, -9));
    ck_assert_float_eq(ingot_f8e5m2_to_f32(0x3c), 1.0f);
    ck_assert(isinf(ingot_f8e5m2_to_f32(0x7c)));
}
END_TEST

static char *tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *t = malloc(strlen(base) + 32);
    sprintf(t, "%s/ingot-util-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static int count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 0", dir);
    return system(cmd) == 0 ? 0 : 1;
}

START_TEST(outfile_abort_leaves_nothing_and_keeps_old)
{
    char *d = tmpdir();
    char *path = ingot_path_join(d, "out.bin");
    ingot_outfile o;
    ingot_error err;
    ck_assert_int_eq(ingot_outfile_open(&o, path, NULL, &err), 0);
    ck_assert_int_eq(write(o.fd, "abc", 3), 3);
    ingot_outfile_abort(&o);
    ck_assert_int_eq(count_entries(d), 0);
    /* commit, then a failed rewrite keeps the first version */
    ck_assert_int_eq(ingot_outfile_open(&o, path, NULL, &err), 0);
    ck_assert_int_eq(write(o.fd, "v1", 2), 2);
    ck_assert_int_eq(ingot_outfile_commit(&o, &err), 0);
    ck_assert_int_eq(ingot_outfile_open(&o, path, NULL, &err), 0);
    ck_assert_int_eq(write(o.fd, "v2-partial", 10), 10);
    ingot_outfile_abort(&o);
    char *buf;
    size_t len;
    ck_assert_int_eq(ingot_read_file(path, 100, &buf, &len, &err), 0);
    ck_assert_str_eq(buf, "v1");
    free(buf);
    /* refuses to overwrite an input */
    const char *inputs[] = {path, NULL};
    ck_assert_int_eq(ingot_outfile_open(&o, path, inputs, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "out.bin"));
    unlink(path);
    rmdir(d);
    free(path);
    free(d);
}
END_TEST

START_TEST(errors_are_one_line)
{
    ingot_error err;
    ck_assert_int_eq(ingot_fail(&err, INGOT_ERR_FORMAT, "a\nb: %d", 3), -1);
    ck_assert_str_eq(err.message, "a b: 3");
    ingot_error_prefix(&err, "file.json");
    ck_assert_str_eq(err.message, "file.json: a b: 3");
    ck_assert_int_eq(ingot_read_file("/nonexistent/x.json", 10, &(char *){NULL}, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/x.json"));
    ck_assert_str_eq(ingot_status_name(INGOT_ERR_SHAPE), "shape");
}
END_TEST

START_TEST(fail_in_names_where)
{
    ingot_error err;
    ck_assert_int_eq(ingot_fail_in(&err, INGOT_ERR_SHAPE, "x.ingot", "blk.0.w", "%d parts", 2), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_SHAPE);
    ck_assert_str_eq(err.message, "x.ingot: blk.0.w: 2 parts");
    ingot_fail_in(&err, INGOT_ERR_FORMAT, "tokenizer.json", NULL, "bad");
    ck_assert_str_eq(err.message, "tokenizer.json: bad");
    ingot_fail_in(&err, INGOT_ERR_FORMAT, "x.ingot", "", "empty name");
    ck_assert_str_eq(err.message, "x.ingot: : empty name");
    /* a long why is cut at INGOT_WHY_MAX bytes, after the place */
    char why[1000];
    memset(why, 'w', sizeof why - 1);
    why[sizeof why - 1] = '\0';
    ingot_fail_in(&err, INGOT_ERR_FORMAT, "f", "g", "%s", why);
    ck_assert_uint_eq(strlen(err.message), strlen("f: g: ") + INGOT_WHY_MAX);
    ck_assert_int_eq(ingot_fail_in(NULL, INGOT_ERR_IO, "f", NULL, "x"), -1);
}
END_TEST

START_TEST(dtype_names)
{
    for (int i = 0; i < INGOT_DT_COUNT; i++)
        ck_assert_int_eq(ingot_dtype_from_name(ingot_dtype_name((ingot_dtype)i)), i);
    ck_assert_int_eq(ingot_dtype_from_st_name("BF16"), INGOT_DT_BF16);
    ck_assert_int_eq(ingot_dtype_from_st_name("bf16"), -1);
    ck_assert_uint_eq(ingot_dtype_size(INGOT_DT_F8_E5M2), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bf16_round_trip_is_exact);
    tcase_add_test(tc, bf16_rounds_to_nearest_even);
    tcase_add_test(tc, f16_round_trip_is_exact);
    tcase_add_test(tc, f16_is_correctly_rounded);
    tcase_add_test(tc, f8_values);
    tcase_add_test(tc, outfile_abort_leaves_nothing_and_keeps_old);
    tcase_add_test(tc, errors_are_one_line);
    tcase_add_test(tc, fail_in_names_where);
    tcase_add_test(tc, dtype_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
