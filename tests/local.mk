# tests/: command-line test scripts (the Check suites live with their modules)
check_SCRIPTS += tests/cli_convert.sh tests/cli_runtime.sh
TESTS += tests/cli_convert.sh tests/cli_runtime.sh
EXTRA_DIST += tests/cli_lib.sh tests/cli_convert.sh tests/cli_runtime.sh
