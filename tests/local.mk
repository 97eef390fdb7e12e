# tests/: the Check unit suites (one program per module) and the command-line
# test scripts.  Fixtures come from $(srcdir)/tests/data and $INGOT_MODELS.
CHECK_SUITES = tests/test_util tests/test_safetensors tests/test_hf_config tests/test_convert \
	tests/test_artifact tests/test_tokenizer tests/test_chat_template tests/test_runtime \
	tests/test_kernels tests/test_quant tests/test_quantize tests/test_export tests/test_export_gguf tests/test_convert_quant \
	tests/test_cuda tests/test_threads
if HAVE_CHECK
check_PROGRAMS += $(CHECK_SUITES)
TESTS += $(CHECK_SUITES)
endif
tests_test_util_CFLAGS = $(TEST_CFLAGS)
tests_test_util_LDADD = $(TEST_LDADD)
tests_test_safetensors_CFLAGS = $(TEST_CFLAGS)
tests_test_safetensors_LDADD = $(TEST_LDADD)
tests_test_hf_config_CFLAGS = $(TEST_CFLAGS)
tests_test_hf_config_LDADD = $(TEST_LDADD)
tests_test_convert_CFLAGS = $(TEST_CFLAGS)
tests_test_convert_LDADD = $(TEST_LDADD)
tests_test_artifact_CFLAGS = $(TEST_CFLAGS)
tests_test_artifact_LDADD = $(TEST_LDADD)
tests_test_tokenizer_CFLAGS = $(TEST_CFLAGS)
tests_test_tokenizer_LDADD = $(TEST_LDADD)
tests_test_chat_template_CFLAGS = $(TEST_CFLAGS)
tests_test_chat_template_LDADD = $(TEST_LDADD)
tests_test_runtime_CFLAGS = $(TEST_CFLAGS)
tests_test_runtime_LDADD = $(TEST_LDADD)
tests_test_kernels_CFLAGS = $(TEST_CFLAGS)
tests_test_kernels_LDADD = $(TEST_LDADD)
tests_test_quant_CFLAGS = $(TEST_CFLAGS)
tests_test_quant_LDADD = $(TEST_LDADD)
tests_test_quantize_CFLAGS = $(TEST_CFLAGS)
tests_test_quantize_LDADD = $(TEST_LDADD)
tests_test_export_CFLAGS = $(TEST_CFLAGS)
tests_test_export_LDADD = $(TEST_LDADD)
tests_test_export_gguf_CFLAGS = $(TEST_CFLAGS)
tests_test_export_gguf_LDADD = $(TEST_LDADD)
tests_test_convert_quant_CFLAGS = $(TEST_CFLAGS)
tests_test_convert_quant_LDADD = $(TEST_LDADD)
tests_test_threads_CFLAGS = $(TEST_CFLAGS)
tests_test_threads_LDADD = $(TEST_LDADD)
tests_test_cuda_CFLAGS = $(TEST_CFLAGS)
tests_test_cuda_LDADD = $(TEST_LDADD)

check_SCRIPTS += tests/check_layers.sh tests/cli_convert.sh tests/cli_runtime.sh tests/cli_quantize.sh \
	tests/cli_export.sh tests/cli_faults.sh tests/cli_peer_layouts.sh
TESTS += tests/check_layers.sh tests/cli_convert.sh tests/cli_runtime.sh tests/cli_quantize.sh \
	tests/cli_export.sh tests/cli_faults.sh tests/cli_peer_layouts.sh
EXTRA_DIST += tests/test_files.h tests/layers.txt tests/cli_lib.sh tests/cli_convert.sh tests/cli_runtime.sh tests/cli_quantize.sh \
	tests/cli_export.sh tests/cli_faults.sh tests/cli_peer_layouts.sh tests/peer_layouts.py \
	tests/data/configs
