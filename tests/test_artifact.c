/*
 * test_artifact.c - the .ingot container: writer, reader, verify.
 *
 * A small model (three tensors, two HF files) is written with the artifact
 * writer and read back.  The malformed cases are written with libarchive
 * directly, since the artifact writer refuses to produce most of them.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "artifact/artifact.h"

#define MTIME 1700000000

static char tmpdir[256];

/* ------------------------------------------------------------ test model */

enum kind { REG, DIR_, SYMLINK, HARDLINK };

typedef struct member {
    char name[300];
    enum kind kind;
    uint8_t *data;
    size_t len;
} member;

typedef struct model {
    json_t *manifest;
    const char *manifest_text; /* overrides manifest when set (invalid JSON) */
    int manifest_pos;          /* index among members where ingot.json goes */
    int n;
    member m[16];
} model;

static const char long_name[] =
    "blk.0.a_tensor_name_long_enough_that_tensors_slash_name_exceeds_the_100_"
    "characters_of_a_ustar_name_field.weight";

static char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static member *add_member(model *md, const char *name, enum kind kind, const void *data,
                          size_t len)
{
    ck_assert_int_lt(md->n, 16);
    member *m = &md->m[md->n++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->kind = kind;
    m->len = len;
    m->data = malloc(len + 1);
    ck_assert_ptr_nonnull(m->data);
    if (len)
        memcpy(m->data, data, len);
    return m;
}

static json_t *config_json(void)
{
    ingot_config c;
    memset(&c, 0, sizeof c);
    c.arch = INGOT_ARCH_LLAMA;
    strcpy(c.model_type, "llama");
    c.hidden_size = 4;
    c.n_layers = 1;
    c.n_heads = 1;
    c.n_kv_heads = 1;
    c.head_dim = 4;
    c.ffn_size = 8;
    c.vocab_size = 8;
    c.max_pos = 16;
    c.rms_eps = 1e-5;
    c.rope.type = INGOT_ROPE_DEFAULT;
    c.rope.theta = 10000;
    c.rope.factor = 1;
    c.rope.partial_rotary_factor = 1;
    c.bos_id = 1;
    c.n_eos = 1;
    c.eos_ids[0] = 2;
    c.dtype = INGOT_DT_BF16;
    json_t *j = ingot_config_to_json(&c);
    ck_assert_ptr_nonnull(j);
    return j;
}

static json_t *part_json(const char *role, const char *member_name, const char *dtype,
                         const uint8_t *data, size_t len)
{
    char hex[17];
    ingot_xxh3_hex(XXH3_64bits(data, len), hex);
    return json_pack("{s:s, s:s, s:s, s:I, s:s}", "role", role, "member", member_name,
                     "dtype", dtype, "bytes", (json_int_t)len, "xxh3", hex);
}

/* A tensor whose parts are members "tensors/<name>" or "tensors/<name>.<role>". */
static void add_tensor(model *md, const char *name, const char *type, json_t *shape,
                       int n_parts, const char *const *roles, const char *const *dtypes,
                       const size_t *lens)
{
    json_t *parts = json_array();
    for (int p = 0; p < n_parts; p++) {
        uint8_t buf[256];
        for (size_t i = 0; i < lens[p]; i++)
            buf[i] = (uint8_t)(i * 31 + (size_t)md->n * 7 + 1);
        char mname[256];
        if (n_parts == 1)
            snprintf(mname, sizeof mname, "tensors/%s", name);
        else
            snprintf(mname, sizeof mname, "tensors/%s.%s", name, roles[p]);
        add_member(md, mname, REG, buf, lens[p]);
        json_array_append_new(parts, part_json(roles[p], mname, dtypes[p], buf, lens[p]));
    }
    json_array_append_new(json_object_get(md->manifest, "tensors"),
                          json_pack("{s:s, s:s, s:o, s:i, s:o}", "name", name, "type", type,
                                    "shape", shape, "group_size", n_parts > 1 ? 4 : 0,
                                    "parts", parts));
}

static void model_init(model *md, bool with_long_name)
{
    memset(md, 0, sizeof *md);
    md->manifest = json_pack("{s:s, s:[i,i], s:o, s:{}, s:[], s:{s:s}}", "format", "ingot",
                             "format_version", 1, 0, "config", config_json(), "files",
                             "tensors", "provenance", "source", "test");
    ck_assert_ptr_nonnull(md->manifest);
    const char cfg[] = "{\"model_type\": \"llama\"}\n", tok[] = "{\"version\": \"1.0\"}\n";
    add_member(md, "hf/config.json", REG, cfg, sizeof cfg - 1);
    add_member(md, "hf/tokenizer.json", REG, tok, sizeof tok - 1);
    json_t *files = json_object_get(md->manifest, "files");
    json_object_set_new(files, "config.json", json_string("hf/config.json"));
    /* The object form, with a checksum that verify checks. */
    char hex[17];
    ingot_xxh3_hex(XXH3_64bits(tok, sizeof tok - 1), hex);
    json_object_set_new(files, "tokenizer.json",
                        json_pack("{s:s, s:s}", "member", "hf/tokenizer.json", "xxh3", hex));

    const char *data_role[] = {"data"};
    add_tensor(md, "tok_embeddings.weight", "bf16", json_pack("[i,i]", 8, 4), 1, data_role,
               (const char *[]){"bf16"}, (size_t[]){64});
    add_tensor(md, "blk.0.attn_norm.weight", "f32", json_pack("[i]", 4), 1, data_role,
               (const char *[]){"f32"}, (size_t[]){16});
    add_tensor(md, "blk.0.attn_q.weight", "int8", json_pack("[i,i]", 4, 4), 2,
               (const char *[]){"qs", "scales"}, (const char *[]){"i8", "f32"},
               (size_t[]){16, 16});
    if (with_long_name)
        add_tensor(md, long_name, "f32", json_pack("[i]", 3), 1, data_role,
                   (const char *[]){"f32"}, (size_t[]){12});
}

static void model_free(model *md)
{
    for (int i = 0; i < md->n; i++)
        free(md->m[i].data);
    json_decref(md->manifest);
}

static json_t *tensor_json(model *md, int i)
{
    return json_array_get(json_object_get(md->manifest, "tensors"), (size_t)i);
}

static json_t *part0_json(model *md, int i)
{
    return json_array_get(json_object_get(tensor_json(md, i), "parts"), 0);
}

static char *manifest_text(const model *md)
{
    char *s = md->manifest_text ? strdup(md->manifest_text)
                                : json_dumps(md->manifest, JSON_INDENT(1) | JSON_SORT_KEYS);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* ------------------------------------------------------------ writing */

static void write_with_ingot(const model *md, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ingot_error err = {0};
    ingot_archive_writer *w = ingot_aw_open(fd, MTIME, &err);
    ck_assert_msg(w != NULL, "%s", err.message);
    char *text = manifest_text(md);
    ck_assert_msg(ingot_aw_add(w, INGOT_MANIFEST_MEMBER, text, strlen(text), &err) == 0, "%s",
                  err.message);
    free(text);
    for (int i = 0; i < md->n; i++) {
        const member *m = &md->m[i];
        /* Stream in two pieces, as the converter does for big tensors. */
        size_t half = m->len / 2;
        ck_assert_msg(ingot_aw_begin(w, m->name, m->len, &err) == 0, "%s", err.message);
        ck_assert_msg(ingot_aw_write(w, m->data, half, &err) == 0, "%s", err.message);
        ck_assert_msg(ingot_aw_write(w, m->data + half, m->len - half, &err) == 0, "%s",
                      err.message);
        ck_assert_msg(ingot_aw_end(w, &err) == 0, "%s", err.message);
    }
    ck_assert_msg(ingot_aw_close(w, &err) == 0, "%s", err.message);
    ingot_aw_free(w);
    close(fd);
}

static void raw_entry(struct archive *ar, const char *name, enum kind kind, const void *data,
                      size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mtime(e, MTIME, 0);
    archive_entry_set_perm(e, 0644);
    switch (kind) {
    case REG:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)len);
        break;
    case DIR_:
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        break;
    case SYMLINK:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, "../../etc/passwd");
        break;
    case HARDLINK:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, INGOT_MANIFEST_MEMBER);
        break;
    }
    ck_assert_int_eq(archive_write_header(ar, e), ARCHIVE_OK);
    if (kind == REG && len)
        ck_assert_int_eq(archive_write_data(ar, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

/* Writes md with libarchive directly: any member kind, manifest anywhere. */
static void write_raw(const model *md, const char *path, bool gzip)
{
    struct archive *ar = archive_write_new();
    archive_write_set_format_pax_restricted(ar);
    if (gzip)
        archive_write_add_filter_gzip(ar);
    ck_assert_int_eq(archive_write_open_filename(ar, path), ARCHIVE_OK);
    char *text = manifest_text(md);
    for (int i = 0; i <= md->n; i++) {
        if (i == md->manifest_pos)
            raw_entry(ar, INGOT_MANIFEST_MEMBER, REG, text, strlen(text));
        if (i < md->n)
            raw_entry(ar, md->m[i].name, md->m[i].kind, md->m[i].data, md->m[i].len);
    }
    free(text);
    ck_assert_int_eq(archive_write_close(ar), ARCHIVE_OK);
    archive_write_free(ar);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Opening must fail with code, and the message must name the file and `who`. */
static void expect_open_fail(const char *path, ingot_status code, const char *who)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a == NULL, "%s opened but should not have", path);
    ck_assert_msg(err.code == code, "code %s, want %s: %s", ingot_status_name(err.code),
                  ingot_status_name(code), err.message);
    ck_assert_msg(strstr(err.message, path), "message lacks the file: %s", err.message);
    ck_assert_msg(strstr(err.message, who), "message lacks '%s': %s", who, err.message);
    ck_assert_msg(!strchr(err.message, '\n'), "multi-line message");
}

/* ------------------------------------------------------------ round trip */

START_TEST(test_roundtrip)
{
    model md;
    model_init(&md, true);
    const char *path = tmp_path("rt.ingot");
    write_with_ingot(&md, path);

    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ck_assert_int_eq(a->n_tensors, 4);
    ck_assert_int_eq(a->n_members, md.n + 1);
    ck_assert_str_eq(a->members[0].name, INGOT_MANIFEST_MEMBER);
    ck_assert_int_eq(a->config.hidden_size, 4);

    /* Every member: 512-aligned in the file, bytes as written. */
    for (int i = 0; i < md.n; i++) {
        size_t size;
        const uint8_t *p = ingot_artifact_member(a, md.m[i].name, &size);
        ck_assert_msg(p != NULL, "member %s not found", md.m[i].name);
        ck_assert_uint_eq(size, md.m[i].len);
        ck_assert_uint_eq((size_t)(p - a->map.data) % 512, 0);
        ck_assert_int_eq(memcmp(p, md.m[i].data, size), 0);
    }
    ck_assert_ptr_null(ingot_artifact_member(a, "hf/nope.json", NULL));

    const ingot_tensor *t = ingot_artifact_find(a, "tok_embeddings.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->type, INGOT_DT_BF16);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 8);
    ck_assert_int_eq(t->shape[1], 4);
    const ingot_part *p = ingot_tensor_part(t, "data");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->size, 64);
    ck_assert_uint_eq((uintptr_t)p->data % 512, 0);
    ck_assert_int_eq(memcmp(p->data, md.m[2].data, 64), 0);
    ck_assert_ptr_null(ingot_tensor_part(t, "scales"));

    t = ingot_artifact_find(a, "blk.0.attn_q.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->type, INGOT_DT_Q8);
    ck_assert_int_eq(t->n_parts, 2);
    ck_assert_int_eq(t->group_size, 4);
    ck_assert_int_eq(ingot_tensor_part(t, "scales")->dtype, INGOT_DT_F32);
    ck_assert_ptr_nonnull(ingot_artifact_find(a, long_name));
    ck_assert_ptr_null(ingot_artifact_find(a, "blk.9.nope"));

    /* The manifest text is exactly what was written. */
    char *text = manifest_text(&md);
    ck_assert_str_eq(ingot_artifact_manifest(a), text);
    free(text);

    ck_assert_int_eq(ingot_artifact_verify(a, NULL, NULL, &err), 0);
    ingot_artifact_free(a);
    ingot_artifact_free(NULL);
    model_free(&md);
}
END_TEST

START_TEST(test_deterministic)
{
    model md;
    model_init(&md, true);
    const char *p1 = tmp_path("det1.ingot"), *p2 = tmp_path("det2.ingot");
    write_with_ingot(&md, p1);
    sleep(1); /* a leaked wall-clock time or pid-like value would differ */
    write_with_ingot(&md, p2);
    size_t n1, n2;
    uint8_t *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(b1, b2, n1) == 0, "two writes differ");
    /* Whole records, ending in the two zero blocks and no further padding. */
    ck_assert_uint_eq(n1 % 512, 0);
    for (size_t i = n1 - 1024; i < n1; i++)
        ck_assert_int_eq(b1[i], 0);
    ck_assert_msg(n1 < 10240 * 3, "unexpected padding: %zu bytes", n1);
    free(b1);
    free(b2);
    model_free(&md);
}
END_TEST

/* Header fields as read back by libarchive: fixed owner, mode and time. */
START_TEST(test_header_fields)
{
    model md;
    model_init(&md, true);
    const char *path = tmp_path("hdr.ingot");
    write_with_ingot(&md, path);
    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    ck_assert_int_eq(archive_read_open_filename(ar, path, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    int n = 0;
    while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
        ck_assert_int_eq(archive_entry_filetype(e), AE_IFREG);
        ck_assert_int_eq(archive_entry_perm(e), 0644);
        ck_assert_int_eq(archive_entry_uid(e), 0);
        ck_assert_int_eq(archive_entry_gid(e), 0);
        /* Empty in the header: libarchive reads that back as NULL or "". */
        ck_assert(!archive_entry_uname(e) || !*archive_entry_uname(e));
        ck_assert(!archive_entry_gname(e) || !*archive_entry_gname(e));
        ck_assert_int_eq(archive_entry_mtime(e), MTIME);
        ck_assert_int_eq(archive_entry_atime_is_set(e), 0);
        ck_assert_int_eq(archive_entry_ctime_is_set(e), 0);
        n++;
    }
    ck_assert_int_eq(n, md.n + 1);
    archive_read_free(ar);
    model_free(&md);
}
END_TEST

START_TEST(test_tar_lists)
{
    if (access("/usr/bin/tar", X_OK) != 0) {
        fprintf(stderr, "test_tar_lists: /usr/bin/tar not found, skipped\n");
        return;
    }
    model md;
    model_init(&md, true);
    const char *path = tmp_path("tar.ingot"), *list = tmp_path("tar.list");
    const char *out = tmp_path("tar.out");
    write_with_ingot(&md, path);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/tar tvf '%s' > '%s' 2>&1", path, list);
    ck_assert_msg(system(cmd) == 0, "tar tvf failed");
    size_t n;
    char *text = (char *)slurp(list, &n);
    text[n] = '\0';
    char *eol = strchr(text, '\n');
    ck_assert_msg(eol && eol - text > 11 && strncmp(eol - 11, " ingot.json", 11) == 0,
                  "ingot.json is not listed first:\n%s", text);
    ck_assert_msg(strstr(text, long_name), "long name missing:\n%s", text);
    ck_assert_msg(!strstr(text, "PaxHeader"), "pax header listed as a file:\n%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "/usr/bin/tar xOf '%s' hf/tokenizer.json > '%s'", path, out);
    ck_assert_msg(system(cmd) == 0, "tar xOf failed");
    uint8_t *got = slurp(out, &n);
    ck_assert_uint_eq(n, md.m[1].len);
    ck_assert_int_eq(memcmp(got, md.m[1].data, n), 0);
    free(got);
    model_free(&md);
}
END_TEST

/* ------------------------------------------------------------ bad layouts */

static void bad_layout(const char *file, void (*mutate)(model *), bool gzip, ingot_status code,
                       const char *who)
{
    model md;
    model_init(&md, false);
    mutate(&md);
    const char *path = tmp_path(file);
    write_raw(&md, path, gzip);
    expect_open_fail(path, code, who);
    model_free(&md);
}

static void m_none(model *md) { (void)md; }
static void m_dotdot(model *md) { add_member(md, "hf/../../evil", REG, "x", 1); }
static void m_absolute(model *md) { add_member(md, "/etc/evil", REG, "x", 1); }
static void m_symlink(model *md) { add_member(md, "hf/link.json", SYMLINK, NULL, 0); }
static void m_hardlink(model *md) { add_member(md, "hf/hard.json", HARDLINK, NULL, 0); }
static void m_dir(model *md) { add_member(md, "hf/sub", DIR_, NULL, 0); }
static void m_dup_member(model *md) { add_member(md, "tensors/tok_embeddings.weight", REG, "x", 1); }
static void m_not_first(model *md) { md->manifest_pos = 1; }
static void m_bad_json(model *md) { md->manifest_text = "{\"format\": \"ingot\", oops"; }

START_TEST(test_bad_dotdot) { bad_layout("dotdot.ingot", m_dotdot, false, INGOT_ERR_FORMAT, "hf/../../evil: '..'"); }
END_TEST
START_TEST(test_bad_absolute) { bad_layout("abs.ingot", m_absolute, false, INGOT_ERR_FORMAT, "/etc/evil: absolute"); }
END_TEST
START_TEST(test_bad_symlink) { bad_layout("sym.ingot", m_symlink, false, INGOT_ERR_FORMAT, "hf/link.json: symbolic link"); }
END_TEST
START_TEST(test_bad_hardlink) { bad_layout("hard.ingot", m_hardlink, false, INGOT_ERR_FORMAT, "hf/hard.json: hard link"); }
END_TEST
START_TEST(test_bad_dir) { bad_layout("dir.ingot", m_dir, false, INGOT_ERR_FORMAT, "hf/sub/: not a regular file (a directory)"); }
END_TEST
START_TEST(test_bad_dup_member)
{
    bad_layout("dupm.ingot", m_dup_member, false, INGOT_ERR_FORMAT, "tensors/tok_embeddings.weight: duplicate member");
}
END_TEST
START_TEST(test_bad_not_first)
{
    bad_layout("first.ingot", m_not_first, false, INGOT_ERR_FORMAT, "hf/config.json: first member must be ingot.json");
}
END_TEST
START_TEST(test_bad_json) { bad_layout("json.ingot", m_bad_json, false, INGOT_ERR_FORMAT, "ingot.json: invalid JSON"); }
END_TEST
START_TEST(test_bad_gzip) { bad_layout("gz.ingot", m_none, true, INGOT_ERR_FORMAT, "not an ingot artifact"); }
END_TEST

START_TEST(test_raw_ok)
{
    /* The raw writer itself produces readable artifacts: the bad cases fail for their own reason. */
    model md;
    model_init(&md, false);
    const char *path = tmp_path("raw.ingot");
    write_raw(&md, path, false);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ingot_artifact_free(a);
    model_free(&md);
}
END_TEST

START_TEST(test_bad_version)
{
    model md;
    model_init(&md, false);
    json_object_set_new(md.manifest, "format_version", json_pack("[i,i]", 2, 0));
    const char *path = tmp_path("v2.ingot");
    write_raw(&md, path, false);
    ingot_error err = {0};
    ck_assert_ptr_null(ingot_artifact_open(path, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_VERSION);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: format version 2.0 is newer than this ingot supports (1.x); upgrade ingot", path);
    ck_assert_str_eq(err.message, want);
    model_free(&md);
}
END_TEST

/* Manifest mutations: each must be refused, naming the tensor or member. */
static void m_format(model *md) { json_object_set_new(md->manifest, "format", json_string("gguf")); }
static void m_part_size(model *md) { json_object_set_new(part0_json(md, 0), "bytes", json_integer(62)); }
static void m_shape(model *md) { json_object_set_new(tensor_json(md, 0), "shape", json_pack("[i,i]", 8, 5)); }
static void m_no_shape(model *md) { json_object_del(tensor_json(md, 1), "shape"); }
static void m_type(model *md) { json_object_set_new(tensor_json(md, 1), "type", json_string("bf17")); }
static void m_bytes_type(model *md) { json_object_set_new(part0_json(md, 1), "bytes", json_string("16")); }
static void m_xxh3(model *md) { json_object_set_new(part0_json(md, 1), "xxh3", json_string("xyz")); }
static void m_missing_part(model *md)
{
    json_object_set_new(part0_json(md, 1), "member", json_string("tensors/gone"));
}
static void m_dup_tensor(model *md)
{
    json_array_append(json_object_get(md->manifest, "tensors"), tensor_json(md, 1));
}
static void m_missing_file(model *md)
{
    json_object_set_new(json_object_get(md->manifest, "files"), "generation_config.json",
                        json_string("hf/generation_config.json"));
}
static void m_no_config(model *md) { json_object_del(md->manifest, "config"); }

START_TEST(test_bad_format) { bad_layout("fmt.ingot", m_format, false, INGOT_ERR_FORMAT, "ingot.json: \"format\""); }
END_TEST
START_TEST(test_bad_part_size)
{
    bad_layout("psize.ingot", m_part_size, false, INGOT_ERR_FORMAT,
               "tok_embeddings.weight: part data: manifest says 62 bytes but member tensors/tok_embeddings.weight has 64");
}
END_TEST
START_TEST(test_bad_shape)
{
    bad_layout("shape.ingot", m_shape, false, INGOT_ERR_FORMAT, "tok_embeddings.weight: 64 bytes stored but the bf16 shape needs 80");
}
END_TEST
START_TEST(test_bad_no_shape) { bad_layout("noshape.ingot", m_no_shape, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: \"shape\""); }
END_TEST
START_TEST(test_bad_type) { bad_layout("type.ingot", m_type, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: unknown type \"bf17\""); }
END_TEST
START_TEST(test_bad_bytes_type) { bad_layout("btype.ingot", m_bytes_type, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: part data: \"bytes\""); }
END_TEST
START_TEST(test_bad_xxh3) { bad_layout("xxh.ingot", m_xxh3, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: part data: \"xxh3\""); }
END_TEST
START_TEST(test_bad_missing_part)
{
    bad_layout("mpart.ingot", m_missing_part, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: part data: member tensors/gone missing");
}
END_TEST
START_TEST(test_bad_dup_tensor) { bad_layout("dupt.ingot", m_dup_tensor, false, INGOT_ERR_FORMAT, "blk.0.attn_norm.weight: duplicate tensor name"); }
END_TEST
START_TEST(test_bad_missing_file) { bad_layout("mfile.ingot", m_missing_file, false, INGOT_ERR_FORMAT, "hf/generation_config.json: listed in \"files\""); }
END_TEST
START_TEST(test_bad_no_config) { bad_layout("nocfg.ingot", m_no_config, false, INGOT_ERR_FORMAT, "ingot.json: \"config\""); }
END_TEST

START_TEST(test_bad_truncated)
{
    model md;
    model_init(&md, false);
    const char *path = tmp_path("full.ingot"), *cut = tmp_path("cut.ingot");
    write_with_ingot(&md, path);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    const struct ingot_member *last = &a->members[a->n_members - 1];
    size_t cut_at = (size_t)last->offset + (size_t)last->size / 2;
    char who[300];
    snprintf(who, sizeof who, "%s: truncated", last->name);
    ingot_artifact_free(a);
    size_t n;
    uint8_t *b = slurp(path, &n);
    spit(cut, b, cut_at);
    expect_open_fail(cut, INGOT_ERR_FORMAT, who);
    /* Cut inside the manifest's header: not even a tar. */
    spit(cut, b, 100);
    expect_open_fail(cut, INGOT_ERR_FORMAT, "not an ingot artifact");
    spit(cut, b, 0);
    expect_open_fail(cut, INGOT_ERR_FORMAT, "empty file");
    spit(cut, "hello, world\n", 13);
    expect_open_fail(cut, INGOT_ERR_FORMAT, "not an ingot artifact");
    free(b);
    model_free(&md);
}
END_TEST

START_TEST(test_open_missing)
{
    expect_open_fail(tmp_path("does-not-exist.ingot"), INGOT_ERR_IO, "does-not-exist.ingot");
}
END_TEST

START_TEST(test_member_names)
{
    ck_assert_ptr_null(ingot_member_name_problem("tensors/blk.0.attn_q.weight"));
    ck_assert_ptr_null(ingot_member_name_problem("hf/..foo"));
    ck_assert_ptr_nonnull(ingot_member_name_problem(""));
    ck_assert_ptr_nonnull(ingot_member_name_problem(NULL));
    ck_assert_ptr_nonnull(ingot_member_name_problem("/x"));
    ck_assert_ptr_nonnull(ingot_member_name_problem(".."));
    ck_assert_ptr_nonnull(ingot_member_name_problem("a/../b"));
    ck_assert_ptr_nonnull(ingot_member_name_problem("a/.."));
    ck_assert_ptr_nonnull(ingot_member_name_problem("./a"));
    ck_assert_ptr_nonnull(ingot_member_name_problem("a//b"));
    ck_assert_ptr_nonnull(ingot_member_name_problem("a/"));
    ck_assert_ptr_nonnull(ingot_member_name_problem("a\nb"));
}
END_TEST

/* ------------------------------------------------------------ verify */

typedef struct bad_log {
    int n;
    char names[4][300];
    char whys[4][300];
} bad_log;

static void on_bad(void *user, const char *tensor, const char *why)
{
    bad_log *l = user;
    if (l->n < 4) {
        snprintf(l->names[l->n], sizeof l->names[0], "%s", tensor);
        snprintf(l->whys[l->n], sizeof l->whys[0], "%s", why);
    }
    l->n++;
}

/* Flips one byte of member `name` in a copy of path; @return the copy's path. */
static const char *corrupt_copy(const char *path, const char *name, const char *copy)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    size_t size;
    const uint8_t *p = ingot_artifact_member(a, name, &size);
    ck_assert_ptr_nonnull(p);
    size_t off = (size_t)(p - a->map.data) + size / 2;
    ingot_artifact_free(a);
    size_t n;
    uint8_t *b = slurp(path, &n);
    b[off] ^= 0x40;
    spit(copy, b, n);
    free(b);
    return copy;
}

static int verify_file(const char *path, bad_log *log)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    memset(log, 0, sizeof *log);
    int n = ingot_artifact_verify(a, on_bad, log, &err);
    ingot_artifact_free(a);
    return n;
}

START_TEST(test_verify)
{
    model md;
    model_init(&md, false);
    const char *path = tmp_path("ver.ingot");
    write_with_ingot(&md, path);
    bad_log log;
    ck_assert_int_eq(verify_file(path, &log), 0);
    ck_assert_int_eq(log.n, 0);

    const char *c = corrupt_copy(path, "tensors/blk.0.attn_norm.weight", tmp_path("ver1.ingot"));
    ck_assert_int_eq(verify_file(c, &log), 1);
    ck_assert_int_eq(log.n, 1);
    ck_assert_str_eq(log.names[0], "blk.0.attn_norm.weight");
    ck_assert_msg(strstr(log.whys[0], "checksum mismatch (stored "), "%s", log.whys[0]);

    c = corrupt_copy(path, "tensors/blk.0.attn_q.weight.scales", tmp_path("ver2.ingot"));
    ck_assert_int_eq(verify_file(c, &log), 1);
    ck_assert_str_eq(log.names[0], "blk.0.attn_q.weight");
    ck_assert_msg(strstr(log.whys[0], "part scales"), "%s", log.whys[0]);

    /* hf files are checked when their "files" entry carries a checksum. */
    c = corrupt_copy(path, "hf/tokenizer.json", tmp_path("ver3.ingot"));
    ck_assert_int_eq(verify_file(c, &log), 1);
    ck_assert_str_eq(log.names[0], "hf/tokenizer.json");
    c = corrupt_copy(path, "hf/config.json", tmp_path("ver4.ingot"));
    ck_assert_int_eq(verify_file(c, &log), 0);

    ingot_error err = {0};
    ck_assert_int_eq(ingot_artifact_verify(NULL, NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    model_free(&md);
}
END_TEST

/* ------------------------------------------------------------ writer errors */

START_TEST(test_writer_misuse)
{
    const char *path = tmp_path("misuse.ingot");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ingot_error err = {0};
    ingot_archive_writer *w = ingot_aw_open(fd, 0, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ingot_aw_add(w, "../x", "a", 1, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "../x"));
    ck_assert_int_eq(ingot_aw_begin(w, "tensors/short", 10, &err), 0);
    ck_assert_int_eq(ingot_aw_write(w, "abcde", 5, &err), 0);
    ck_assert_int_eq(ingot_aw_end(w, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "tensors/short: 5 bytes written, 10 declared"));
    /* After an error the writer refuses everything. */
    ck_assert_int_eq(ingot_aw_close(w, &err), -1);
    ingot_aw_free(w);

    ck_assert_int_eq(ftruncate(fd, 0), 0);
    w = ingot_aw_open(fd, 0, &err);
    ck_assert_int_eq(ingot_aw_begin(w, "tensors/long", 4, &err), 0);
    ck_assert_int_eq(ingot_aw_write(w, "abcde", 5, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "tensors/long: 5 bytes written, more than the declared 4"));
    ingot_aw_free(w);
    /* Abandoned writers add nothing: the buffered header never reaches the file. */
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    close(fd);
    ingot_aw_free(NULL);
}
END_TEST

START_TEST(test_writer_enospc)
{
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) {
        fprintf(stderr, "test_writer_enospc: no /dev/full, skipped\n");
        return;
    }
    ingot_error err = {0};
    ingot_archive_writer *w = ingot_aw_open(fd, 0, &err);
    ck_assert_msg(w != NULL, "%s", err.message);
    size_t len = 1 << 20;
    uint8_t *buf = calloc(1, len);
    int r = ingot_aw_add(w, "tensors/big", buf, len, &err);
    if (r == 0)
        r = ingot_aw_close(w, &err);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(err.code, INGOT_ERR_IO);
    ck_assert_msg(strstr(err.message, "No space left on device"), "%s", err.message);
    ingot_aw_free(w);
    free(buf);
    close(fd);
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *artifact_suite(void)
{
    Suite *s = suite_create("artifact");
    TCase *tc = tcase_create("write-read");
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_header_fields);
    tcase_add_test(tc, test_tar_lists);
    tcase_add_test(tc, test_verify);
    tcase_add_test(tc, test_writer_misuse);
    tcase_add_test(tc, test_writer_enospc);
    tcase_add_test(tc, test_member_names);
    tcase_add_test(tc, test_raw_ok);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject");
    tcase_add_test(tc, test_bad_dotdot);
    tcase_add_test(tc, test_bad_absolute);
    tcase_add_test(tc, test_bad_symlink);
    tcase_add_test(tc, test_bad_hardlink);
    tcase_add_test(tc, test_bad_dir);
    tcase_add_test(tc, test_bad_dup_member);
    tcase_add_test(tc, test_bad_not_first);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_bad_gzip);
    tcase_add_test(tc, test_bad_version);
    tcase_add_test(tc, test_bad_format);
    tcase_add_test(tc, test_bad_part_size);
    tcase_add_test(tc, test_bad_shape);
    tcase_add_test(tc, test_bad_no_shape);
    tcase_add_test(tc, test_bad_type);
    tcase_add_test(tc, test_bad_bytes_type);
    tcase_add_test(tc, test_bad_xxh3);
    tcase_add_test(tc, test_bad_missing_part);
    tcase_add_test(tc, test_bad_dup_tensor);
    tcase_add_test(tc, test_bad_missing_file);
    tcase_add_test(tc, test_bad_no_config);
    tcase_add_test(tc, test_bad_truncated);
    tcase_add_test(tc, test_open_missing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/test_artifact.XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *sr = srunner_create(artifact_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
