#!/usr/bin/env bash
# make lint: every metric the chart's Grafana dashboard and alert rules
# name is one the code registers, so that a renamed metric cannot leave an
# empty panel or an alert that never fires; and no metric has a label that
# the scrape sets itself.
#
# The Prometheus Operator's ServiceMonitor and PodMonitor give every series
# the target labels namespace, pod, service, container, endpoint, job and
# instance; a series' own label of that name is renamed exported_<name>
# (no honorLabels). So the DatabaseCluster's namespace is db_namespace:
# labelled namespace, alerts' $labels.namespace and the dashboard's
# "by (namespace, name)" read batond's own namespace and merged the
# databases of every namespace. honorLabels would keep ours but lose the
# pod's namespace on the same series, and a Prometheus that enforces a
# namespace label (enforcedNamespaceLabel) overrides it anyway. Nor
# cluster: multi-cluster setups (Thanos, Mimir, federation) name each
# Prometheus's cluster by an external label cluster, which a series' own
# label of that name silently overrides (the API servers' region is
# api_region).
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

# "FILE METRIC LABEL..." per registration with labels (their array, by its
# name, in the same file); "?" when the array is not found
labelled=$(git ls-files 'operator/*.c' | xargs perl -0777 -ne '
    my %arr;
    while (/static\s+const\s+char\s*\*\s*(?:const\s+)?(\w+)\[\]\s*=\s*\{([^}]*)\}/g) { $arr{$1} = $2; }
    while (/baton_metrics_add\s*\(\s*[^,]+,\s*BATON_METRIC_\w+\s*,\s*"([^"]+)"\s*,\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*(\w+)/g) {
        my ($m, $l) = ($1, $2);
        next if $l eq "NULL";
        my @n = exists $arr{$l} ? ($arr{$l} =~ /"([^"]+)"/g) : ("?");
        print "$ARGV $m @n\n";
    }')
[ -n "$labelled" ] || { echo "lint-metric-names: found no labelled metric in operator/" >&2; exit 1; }
bad=0
while read -r file metric labels; do
    for l in $labels; do
        case $l in
        '?') echo "lint-metric-names: $file: cannot find the label array of $metric" >&2; bad=1 ;;
        namespace | pod | service | container | endpoint | job | instance)
            echo "lint-metric-names: $file: $metric has the label '$l', which a ServiceMonitor or PodMonitor sets itself (ours would become exported_$l): name it otherwise, e.g. db_$l" >&2
            bad=1 ;;
        cluster)
            echo "lint-metric-names: $file: $metric has the label 'cluster', the external label multi-cluster Prometheus setups name their clusters by (ours would override it): name it otherwise, e.g. api_region" >&2
            bad=1 ;;
        esac
    done
done <<<"$labelled"
[ "$bad" = 0 ] || exit 1

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
while read -r name where; do
    if ! grep -qxF "$name" <<<"$registered"; then
        echo "lint-metric-names: $where uses $name, which no baton_metrics_add() in operator/ registers" >&2
        bad=1
    fi
done <<<"$used"
exit "$bad"
