#!/bin/sh
# What the LTTng clock plugin's build and end-to-end test need (Debian 12):
# liblttng-ust-dev (headers, lttng-ust.pc, liblttng-ust-common), lttng-tools
# (lttng, lttng-sessiond, lttng-consumerd) and babeltrace2 (reads the trace).
# Called by .ci/run; without them the plugin is not built and the test skips.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends liblttng-ust-dev lttng-tools babeltrace2
