/*
 * rope.c - rotary embeddings, following transformers' rope_init functions
 * (modeling_rope_utils.py) type by type.  Frequencies are computed in f32
 * like torch does, so angles match the reference to the last bit or two.
 */
#include "config.h"

#include <math.h>

#include "runtime/rope.h"

static void default_freqs(double theta, int hd, float *inv)
{
    for (int i = 0; i < hd / 2; i++)
        inv[i] = 1.0f / powf((float)theta, (float)(2 * i) / (float)hd);
}

/* llama3: long wavelengths divided by factor, short kept, a smooth ramp between. */
static void llama3_freqs(const ingot_rope *r, int hd, float *inv)
{
    default_freqs(r->theta, hd, inv);
    double orig = r->original_max_pos;
    double low_wl = orig / r->low_freq_factor, high_wl = orig / r->high_freq_factor;
    for (int i = 0; i < hd / 2; i++) {
        double wl = 2 * M_PI / inv[i];
        if (wl < high_wl)
            continue;
        if (wl > low_wl) {
            inv[i] = (float)(inv[i] / r->factor);
            continue;
        }
        double smooth = (orig / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
        inv[i] = (float)((1 - smooth) * inv[i] / r->factor + smooth * inv[i]);
    }
}

static double yarn_dim(double n_rot, int hd, double base, double max_pos)
{
    return (hd * log(max_pos / (n_rot * 2 * M_PI))) / (2 * log(base));
}

/* yarn: interpolate low frequencies, extrapolate high ones, linear ramp between. */
static float yarn_freqs(const ingot_rope *r, int hd, float *inv)
{
    double orig = r->original_max_pos;
    double lo = floor(yarn_dim(r->beta_fast, hd, r->theta, orig));
    double hi = ceil(yarn_dim(r->beta_slow, hd, r->theta, orig));
    lo = fmax(lo, 0);
    hi = fmin(hi, hd - 1);
    if (lo == hi)
        hi += 0.001;
    for (int i = 0; i < hd / 2; i++) {
        float extra = 1.0f / powf((float)r->theta, (float)(2 * i) / (float)hd);
        float inter = (float)(extra / r->factor);
        double ramp = fmin(fmax((i - lo) / (hi - lo), 0), 1);
        double extra_w = 1 - ramp;
        inv[i] = (float)(inter * (1 - extra_w) + extra * extra_w);
    }
    if (r->attention_factor > 0)
        return (float)r->attention_factor;
    return r->factor <= 1 ? 1.0f : (float)(0.1 * log(r->factor) + 1.0);
}

float ingot_rope_freqs(const ingot_rope *r, int hd, int max_pos, int seq_len, float *inv)
{
    switch (r->type) {
    case INGOT_ROPE_LINEAR:
        default_freqs(r->theta, hd, inv);
        for (int i = 0; i < hd / 2; i++)
            inv[i] = (float)(inv[i] / r->factor);
        return 1.0f;
    case INGOT_ROPE_DYNAMIC: {
        int orig = r->original_max_pos > 0 ? r->original_max_pos : max_pos;
        double base = r->theta;
        if (seq_len > orig)
            base *= pow(r->factor * seq_len / orig - (r->factor - 1), (double)hd / (hd - 2));
        default_freqs(base, hd, inv);
        return 1.0f;
    }
    case INGOT_ROPE_LLAMA3:
        llama3_freqs(r, hd, inv);
        return 1.0f;
    case INGOT_ROPE_YARN:
        return yarn_freqs(r, hd, inv);
    default:
        default_freqs(r->theta, hd, inv);
        return 1.0f;
    }
}

void ingot_rope_apply(float *x, int n_heads, int hd, const float *cos_t, const float *sin_t)
{
    int half = hd / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * hd;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cos_t[i] - b * sin_t[i];
            v[i + half] = b * cos_t[i] + a * sin_t[i];
        }
    }
}
