#!/usr/bin/env bash
# make lint: every metric the chart's Grafana dashboard and alert rules
# name is one the code registers, so that a renamed metric cannot leave an
# empty panel or an alert that never fires.
#
# Registered: the names given to baton_metrics_add() in operator/ (a
# histogram also as NAME_bucket, NAME_sum and NAME_count). Used: every
# baton_* and process_* word in the dashboard's expressions and in the
# PrometheusRule template's expr lines. Fails when either list is empty
# (a parse that found nothing proves nothing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dashboard=charts/baton/dashboards/baton.json
rules=charts/baton/templates/prometheusrule.yaml

registered=$(git ls-files 'operator/*.c' | xargs perl -0777 -ne '
    while (/baton_metrics_add\s*\(\s*[^,]+,\s*BATON_METRIC_(\w+)\s*,\s*"([^"]+)"/g) {
        print "$2\n";
        print "$2_bucket\n$2_sum\n$2_count\n" if $1 eq "HISTOGRAM";
    }' | sort -u)
[ -n "$registered" ] || { echo "lint-metric-names: found no baton_metrics_add() in operator/" >&2; exit 1; }

# NAME WHERE per use
uses() {
    jq -r '.. | objects | select(has("expr")) | .expr' "$dashboard" |
        grep -oE '\b(baton|process)_[a-z0-9_]+' | sed "s|\$| $dashboard|"
    sed -n 's/^ *expr: //p' "$rules" |
        grep -oE '\b(baton|process)_[a-z0-9_]+' | sed "s|\$| $rules|"
}
used=$(uses | sort -u)
for f in "$dashboard" "$rules"; do
    grep -q " $f\$" <<<"$used" || { echo "lint-metric-names: no metric found in $f" >&2; exit 1; }
done
bad=0
while read -r name where; do
    if ! grep -qxF "$name" <<<"$registered"; then
        echo "lint-metric-names: $where uses $name, which no baton_metrics_add() in operator/ registers" >&2
        bad=1
    fi
done <<<"$used"
exit "$bad"
