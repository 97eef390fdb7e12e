/*
 * fuzz_hf_config.c - config.json normalization (convert/hf_config.c) on
 * fuzzed JSON.  An accepted config must validate, survive the round trip
 * through the manifest's JSON form unchanged, and give a tensor list whose
 * element counts fit in 64 bits.
 */
#include "config.h"

#include <jansson.h>

#include "convert/hf_config.h"
#include "model/model_config.h"
#include "model/tensor_map.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* not NUL-terminated, as the API allows */
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    ingot_config c;
    ingot_error err = {0};
    if (ingot_hf_config_parse(text, size, "config.json", &c, &err) != 0) {
        fuzz_check_error(&err);
        free(text);
        return 0;
    }
    free(text);
    if (ingot_config_validate(&c, "config.json", &err) != 0) {
        fprintf(stderr, "accepted config does not validate: %s\n", err.message);
        abort();
    }
    json_t *j = ingot_config_to_json(&c);
    FUZZ_CHECK(j);
    ingot_config back;
    if (ingot_config_from_json(j, &back, "manifest", &err) != 0) {
        fprintf(stderr, "accepted config does not read back: %s\n", err.message);
        abort();
    }
    json_t *j2 = ingot_config_to_json(&back);
    FUZZ_CHECK(j2 && json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    ingot_tensor_spec *specs = NULL;
    int n = 0;
    if (ingot_tensor_specs(&c, &specs, &n, &err) == 0) {
        for (int i = 0; i < n; i++)
            FUZZ_CHECK(ingot_tensor_spec_numel(&specs[i]) > 0);
        free(specs);
    } else {
        fuzz_check_error(&err);
        FUZZ_CHECK(specs == NULL);
    }
    return 0;
}
