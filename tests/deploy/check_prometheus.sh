#!/usr/bin/env bash
# Checks the Prometheus files in deploy/prometheus with promtool: the scrape configuration, the
# alert rules, and the rules' unit tests (every alert fires where it should and not before).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool is missing (Debian package prometheus)" >&2; exit 1; }
promtool check config prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts_test.yml
