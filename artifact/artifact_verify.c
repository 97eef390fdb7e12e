/*
 * artifact_verify.c - recomputes the XXH3-64 checksums of an open artifact.
 *
 * Hashing is memory-bound and the tensors are independent, so they are
 * hashed in parallel.  Results land in a per-tensor slot and are reported
 * afterwards, in manifest order, from the calling thread: the output is the
 * same on every run and the callback need not be thread-safe.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "artifact/artifact.h"

/* Outcome for one tensor: the first part whose bytes do not match. */
typedef struct verify_result {
    int bad_part;      /* -1 when every part matches */
    uint64_t computed;
} verify_result;

static void hash_tensor(const ingot_tensor *t, verify_result *r)
{
    r->bad_part = -1;
    for (int p = 0; p < t->n_parts; p++) {
        uint64_t h = XXH3_64bits(t->parts[p].data, (size_t)t->parts[p].size);
        if (h != t->parts[p].xxh3) {
            r->bad_part = p;
            r->computed = h;
            return;
        }
    }
}

static void report_tensor(const ingot_tensor *t, const verify_result *r, ingot_bad_tensor_fn bad,
                          void *user)
{
    const ingot_part *p = &t->parts[r->bad_part];
    char want[17], got[17], why[160];
    ingot_xxh3_hex(p->xxh3, want);
    ingot_xxh3_hex(r->computed, got);
    /* Plain tensors have one part; name the part only when there is a choice. */
    if (t->n_parts == 1)
        snprintf(why, sizeof why, "checksum mismatch (stored %s, computed %s)", want, got);
    else
        snprintf(why, sizeof why, "checksum mismatch in part %s (stored %s, computed %s)",
                 p->role, want, got);
    bad(user, t->name, why);
}

/* Original HF files whose manifest entry carries a checksum (object form). */
static int verify_files(const ingot_artifact *a, ingot_bad_tensor_fn bad, void *user)
{
    json_t *files = json_object_get(a->manifest, "files");
    const char *name;
    json_t *v;
    int nbad = 0;
    json_object_foreach(files, name, v) {
        const char *member, *hex;
        size_t size;
        if (ingot_artifact_file_entry(v, &member, &hex) != 0 || !hex)
            continue; /* checked at open; no checksum stored */
        const uint8_t *data = ingot_artifact_member(a, member, &size);
        char got[17];
        ingot_xxh3_hex(XXH3_64bits(data, size), got);
        if (strcasecmp(hex, got) == 0)
            continue;
        nbad++;
        if (bad) {
            char why[160];
            snprintf(why, sizeof why, "checksum mismatch (stored %s, computed %s)", hex, got);
            bad(user, member, why);
        }
    }
    return nbad;
}

int ingot_artifact_verify(const ingot_artifact *a, ingot_bad_tensor_fn bad, void *user,
                          ingot_error *err)
{
    if (!a)
        return ingot_fail(err, INGOT_ERR_ARG, "ingot_artifact_verify: NULL artifact");
    verify_result *res = calloc((size_t)a->n_tensors + 1, sizeof *res);
    if (!res)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    /* dynamic: tensor sizes range from a few bytes (norms) to gigabytes (embeddings). */
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < a->n_tensors; i++)
        hash_tensor(&a->tensors[i], &res[i]);
    int nbad = 0;
    for (int i = 0; i < a->n_tensors; i++) {
        if (res[i].bad_part < 0)
            continue;
        nbad++;
        if (bad)
            report_tensor(&a->tensors[i], &res[i], bad, user);
    }
    free(res);
    return nbad + verify_files(a, bad, user);
}
