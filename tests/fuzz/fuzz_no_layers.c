/* fuzz_no_layers.c — the fuzz harnesses reach the loaders (hyper-parameters and the families'
 * tensor tables, engine/arch/), never the recording of a layer. The families' descriptors point
 * to their layer recordings, which record Vulkan work through the layer toolkit
 * (engine/arch/layers.c -> backend/); the fuzz build has no Vulkan, so these stand in for the
 * toolkit and fail if ever reached. */
#include "arch/layers.h"
#include "mvk_status.h"

static moevk_status unreached(const char *what) {
    return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: the fuzz build records no layers", what);
}

moevk_status mvk_attn_qk_norm(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_attn_qk_norm"); }
moevk_status mvk_ffn_moe(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_ffn_moe"); }
moevk_status mvk_ffn_dense(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_ffn_dense"); }
moevk_status mvk_deepstack_add(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_deepstack_add"); }
moevk_status mvk_attn_gated(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_attn_gated"); }
moevk_status mvk_gated_delta_net(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_gated_delta_net"); }
moevk_status mvk_attn_gemma4(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_attn_gemma4"); }
moevk_status mvk_ffn_gemma4(const mvk_lm_rec *r, int il) { (void)r, (void)il; return unreached("mvk_ffn_gemma4"); }
