#!/usr/bin/env bash
# Chart tests for what operators add around the controller: aggregated view/edit ClusterRoles,
# extraArgs, commonLabels, rollout/PDB settings for leader handover, the PrometheusRule and the
# Grafana dashboard ConfigMap (off by default; JSON/YAML validated at render time and here, every
# metric they use registered in controller/src/metrics.rs), kubeconform on all of it, and the Flux
# HelmRelease / Argo CD Application examples in deploy/.
#
# helm/kubeconform/kubectl come from $REPROTECT_TOOLS_BIN, else `tests/tools/build.sh --print-dir`.
# Last line: "N passed, M failed"; exit status 1 on any failure.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart=$(cd "$here/.." && pwd)
root=$(cd "$chart/../.." && pwd)
kube_version=1.37.2
release=reprotect
namespace=reprotect-system

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

bin="${REPROTECT_TOOLS_BIN:-$(bash "$root/tests/tools/build.sh" --print-dir)}"
helm="$bin/helm"
if [[ ! -x "$helm" ]]; then
  fail "helm not found at $helm: build the test tools first (tests/tools/build.sh) or set REPROTECT_TOOLS_BIN"
  finish
fi
tmp=$(mktemp -d)
trap '[[ -n "${KEEP_TMP:-}" ]] || rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"

template() {
  local name=$1
  shift
  "$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" "$@" >"$tmp/$name.yaml" 2>"$tmp/$name.err"
}
# doc FILE KIND [NAME]: the documents of that kind (and name) from a rendered file.
doc() {
  awk -v kind="$2" -v name="${3:-}" '
    /^---/ { if (buf != "" && k == kind && (name == "" || n == name)) printf "%s", buf; buf = ""; k = ""; n = ""; inmeta = 0; next }
    { buf = buf $0 "\n" }
    /^kind: / { k = $2 }
    /^metadata:/ { inmeta = 1; next }
    inmeta && /^  name: / && n == "" { n = $2 }
    /^[a-z]/ && !/^metadata:/ { inmeta = 0 }
    END { if (buf != "" && k == kind && (name == "" || n == name)) printf "%s", buf }
  ' "$1"
}
count_kind() { grep -c "^kind: $2\$" "$1"; }
expect() { if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1 (no match for /$3/)"; fi; }
expect_not() { if grep -Eq -- "$3" "$2"; then fail "$1 (unexpected match for /$3/)"; else pass "$1"; fi; }
full=reprotect-reprotect-controller

# --- defaults: aggregated roles on, monitoring objects off, rollout for leader handover -------------
if template default; then pass "helm template (defaults)"; else fail "helm template (defaults): $(cat "$tmp/default.err")"; finish; fi
d="$tmp/default.yaml"
[[ $(count_kind "$d" PrometheusRule) -eq 0 ]] && pass "default: no PrometheusRule" || fail "default renders a PrometheusRule"
expect_not "default: no dashboard ConfigMap" "$d" 'grafana_dashboard'
doc "$d" ClusterRole "$full-view" >"$tmp/view.yaml"
doc "$d" ClusterRole "$full-edit" >"$tmp/edit.yaml"
expect "view ClusterRole aggregates to view" "$tmp/view.yaml" 'rbac.authorization.k8s.io/aggregate-to-view: "true"'
expect "view ClusterRole aggregates to edit and admin" "$tmp/view.yaml" 'rbac.authorization.k8s.io/aggregate-to-admin: "true"'
expect "view ClusterRole covers the three kinds and their status" "$tmp/view.yaml" 'resources: \["reprotectpolicies", "mastertargets", "protectedmachines", "reprotectpolicies/status"'
expect "view ClusterRole: read verbs" "$tmp/view.yaml" 'verbs: \["get", "list", "watch"\]$'
expect_not "view ClusterRole: no write verb" "$tmp/view.yaml" '"(create|update|patch|delete)"'
expect "edit ClusterRole aggregates to edit" "$tmp/edit.yaml" 'rbac.authorization.k8s.io/aggregate-to-edit: "true"'
expect_not "edit ClusterRole does not aggregate to view" "$tmp/edit.yaml" 'aggregate-to-view'
expect "edit ClusterRole: write verbs on the kinds" "$tmp/edit.yaml" 'verbs: \["create", "update", "patch", "delete", "deletecollection"\]'
expect_not "edit ClusterRole: status stays the controller's" "$tmp/edit.yaml" '/status'
[[ $(grep -c '^kind: ClusterRoleBinding$' "$tmp/view.yaml" "$tmp/edit.yaml" | awk -F: '{s+=$2} END {print s}') -eq 0 ]] && pass "aggregated roles: no binding" || fail "aggregated roles come with a binding"
doc "$d" Deployment >"$tmp/deploy.yaml"
expect "rollout: maxSurge 1" "$tmp/deploy.yaml" '^      maxSurge: 1$'
expect "rollout: maxUnavailable 0 (a standby is Ready, so the surge pod becomes Ready while the leader holds the Lease)" "$tmp/deploy.yaml" '^      maxUnavailable: 0$'
expect "readiness probe is /readyz (standby answers 200)" "$tmp/deploy.yaml" 'path: /readyz'
expect "args: run only" "$tmp/deploy.yaml" 'args: \["run"\]$'

if template nsmode --set 'watchNamespaces={dr}'; then
  expect_not "namespace-scoped: no aggregated ClusterRole" "$tmp/nsmode.yaml" 'aggregate-to-'
else
  fail "helm template namespace-scoped: $(cat "$tmp/nsmode.err")"
fi
if template noagg --set aggregatedClusterRoles.enabled=false; then
  expect_not "aggregatedClusterRoles.enabled=false: none" "$tmp/noagg.yaml" 'aggregate-to-'
else
  fail "helm template aggregatedClusterRoles.enabled=false: $(cat "$tmp/noagg.err")"
fi

# --- leader election off: never two controllers at once; HA: PDB lets a drain evict one pod ---------
if template noleader --set leaderElection.enabled=false; then
  expect "leader election off: Recreate strategy" "$tmp/noleader.yaml" '^    type: Recreate$'
  expect_not "leader election off: no surge" "$tmp/noleader.yaml" 'maxSurge'
else
  fail "helm template leaderElection.enabled=false: $(cat "$tmp/noleader.err")"
fi
if template ha --set replicaCount=2; then
  doc "$tmp/ha.yaml" PodDisruptionBudget >"$tmp/pdb.yaml"
  expect "replicaCount=2: PDB keeps one pod (a drain can evict the leader; the standby takes the Lease)" "$tmp/pdb.yaml" '^  minAvailable: 1$'
else
  fail "helm template replicaCount=2: $(cat "$tmp/ha.err")"
fi
[[ $(count_kind "$d" PodDisruptionBudget) -eq 0 ]] && pass "one replica: no PDB (a drain is never blocked)" || fail "one replica renders a PDB that would block a drain"

# --- extraArgs, commonLabels -------------------------------------------------------------------------
if template extra --set 'extraArgs={--concurrency=4,--watchdog-interval=10m}' --set commonLabels.team=dr-ops --set-string commonLabels.cost-center=42; then
  e="$tmp/extra.yaml"
  expect "extraArgs follow run" "$e" 'args: \["run","--concurrency=4","--watchdog-interval=10m"\]'
  objects=$(grep -c '^kind: ' "$e")
  labelled=$(grep -c '^    team: dr-ops$' "$e")
  [[ $objects -ge 8 && $labelled -eq $objects ]] && pass "commonLabels on every object ($labelled/$objects)" || fail "commonLabels on $labelled of $objects objects"
  expect "commonLabels on the pods" "$e" '^        team: dr-ops$'
  doc "$e" Deployment | awk '/matchLabels:/ {m = 1; next} m && /^    [a-z]/ {m = 0} m' | grep -q team && fail "commonLabels leak into the immutable selector" || pass "commonLabels stay out of the selector"
else
  fail "helm template extraArgs/commonLabels: $(cat "$tmp/extra.err")"
fi
printf 'extraArgs: --concurrency=4\n' >"$tmp/bad.values"
template bad -f "$tmp/bad.values" && fail "extraArgs as a string accepted" || pass "extraArgs must be a list: $(grep -o 'extraArgs[^:]*: [^ ]* [^ ]*' "$tmp/bad.err" | head -n1)"

# --- PrometheusRule and Grafana dashboard --------------------------------------------------------------
if template mon --set prometheusRule.enabled=true --set prometheusRule.labels.release=prom --set grafanaDashboard.enabled=true \
  --set grafanaDashboard.namespace=monitoring --set grafanaDashboard.annotations.grafana_folder=DR; then
  m="$tmp/mon.yaml"
  pass "helm template with the PrometheusRule and the dashboard"
  doc "$m" PrometheusRule >"$tmp/rule.yaml"
  expect "PrometheusRule: monitoring.coreos.com/v1" "$tmp/rule.yaml" '^apiVersion: monitoring.coreos.com/v1$'
  expect "PrometheusRule: selector label" "$tmp/rule.yaml" '^    release: prom$'
  for alert in ReprotectMachineBlocked ReprotectAgentWindowClosing ReprotectFailbackAtRisk ReprotectMachineDegraded ReprotectReconcileErrors ReprotectNoLeader; do
    expect "alert $alert" "$tmp/rule.yaml" "^        - alert: $alert\$"
  done
  expect "Blocked alert waits 30 minutes" "$tmp/rule.yaml" '^          for: 30m$'
  expect "Prometheus templates kept verbatim" "$tmp/rule.yaml" '\{\{ \$labels.namespace \}\}'
  doc "$m" ConfigMap >"$tmp/dash.yaml"
  expect "dashboard ConfigMap: sidecar label" "$tmp/dash.yaml" '^    grafana_dashboard: "1"$'
  expect "dashboard ConfigMap: in the sidecar's namespace" "$tmp/dash.yaml" '^  namespace: monitoring$'
  expect "dashboard ConfigMap: folder annotation" "$tmp/dash.yaml" '^    grafana_folder: DR$'
  # The embedded JSON is the file, line for line (4-space indent under the key; `|-` drops trailing blank lines).
  awk '$0 == "  reprotect-controller.json: |-" {on = 1; next} on && /^    / {sub(/^    /, ""); print; next} on && /^$/ {print; next} on {exit}' "$tmp/dash.yaml" >"$tmp/dash.json"
  if diff -q <(grep -v '^ *$' "$chart/files/grafana-dashboard.json") <(grep -v '^ *$' "$tmp/dash.json") >/dev/null && [[ -s "$tmp/dash.json" ]]; then pass "dashboard ConfigMap carries files/grafana-dashboard.json unchanged"; else fail "dashboard JSON in the ConfigMap differs from the file"; fi
else
  fail "helm template with the PrometheusRule and the dashboard: $(cat "$tmp/mon.err")"
fi

# Every metric the alerts and the dashboard query is registered in controller/src/metrics.rs
# (the controller/src/metrics_tests.rs unit test also checks them against a real exposition).
metrics_rs="$root/controller/src/metrics.rs"
names=$(cat "$chart/files/prometheus-rules.yaml" "$chart/files/grafana-dashboard.json" | grep -o 'reprotect_[a-z_]*' | sort -u)
count=0
for n in $names; do
  base=${n#reprotect_}
  base=$(sed -E 's/_(total|bucket|sum|count|info)$//' <<<"$base")
  count=$((count + 1))
  grep -q "register(\"$base\"" "$metrics_rs" || grep -q "register(\"${n#reprotect_}\"" "$metrics_rs" || grep -Eq "^ *\"$base\",$" "$metrics_rs" || fail "metric $n used by the chart is not registered in controller/src/metrics.rs"
done
[[ $count -ge 8 ]] && pass "$count metric names in the alerts and dashboard checked against metrics.rs" || fail "only $count metric names found"

# promtool (Prometheus' own checker) accepts the alert rules, as shipped and as rendered in the PrometheusRule,
# and refuses a broken rule (so this check can fail).
promtool="${REPROTECT_PROMTOOL:-$(bash "$root/tests/promtool/build.sh" | tail -n1)}"
if [[ ! -x "$promtool" ]]; then
  fail "promtool not found at $promtool (tests/promtool/build.sh builds it)"
else
  if "$promtool" check rules "$chart/files/prometheus-rules.yaml" >"$tmp/promtool.out" 2>&1; then
    pass "promtool check rules files/prometheus-rules.yaml ($(grep -o '[0-9]* rules found' "$tmp/promtool.out"))"
  else
    fail "promtool check rules files/prometheus-rules.yaml: $(tail -n 5 "$tmp/promtool.out")"
  fi
  yq '.spec' "$tmp/rule.yaml" >"$tmp/rendered-rules.yaml"
  if [[ -s "$tmp/rendered-rules.yaml" ]] && "$promtool" check rules "$tmp/rendered-rules.yaml" >"$tmp/promtool2.out" 2>&1; then
    pass "promtool check rules on the rendered PrometheusRule spec"
  else
    fail "promtool check rules on the rendered PrometheusRule: $(tail -n 5 "$tmp/promtool2.out")"
  fi
  sed 's/sum by (namespace, policy) (reprotect_machines{phase="Blocked"}) > 0/sum by (namespace (reprotect_machines > 0/' \
    "$chart/files/prometheus-rules.yaml" >"$tmp/broken-rules.yaml"
  if "$promtool" check rules "$tmp/broken-rules.yaml" >/dev/null 2>&1; then
    fail "promtool accepted a broken rule expression"
  else
    pass "promtool refuses a broken rule expression"
  fi
fi

# Broken files fail the rendering with a clear message (validated at render time).
cp -r "$chart" "$tmp/chart"
echo '{"panels": [' >"$tmp/chart/files/grafana-dashboard.json"
if "$helm" template r "$tmp/chart" --set grafanaDashboard.enabled=true >/dev/null 2>"$tmp/badjson.err"; then
  fail "invalid dashboard JSON rendered"
else
  expect "invalid dashboard JSON is refused" "$tmp/badjson.err" 'not valid JSON'
fi

# --- helm lint --strict with everything on ------------------------------------------------------------
if "$helm" lint "$chart" --strict --kube-version "$kube_version" --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
  --set 'extraArgs={--concurrency=4}' --set commonLabels.team=dr >"$tmp/lint.out" 2>&1; then
  pass "helm lint --strict (PrometheusRule, dashboard, extraArgs, commonLabels)"
else
  fail "helm lint --strict: $(tail -n 5 "$tmp/lint.out")"
fi

# --- kubeconform ----------------------------------------------------------------------------------------
kubeconform="$bin/kubeconform"
if [[ -x "$kubeconform" ]]; then
  kc_args=(-strict -summary -kubernetes-version "$kube_version" -ignore-missing-schemas)
  [[ -n "${KUBECONFORM_SCHEMA_LOCATION:-}" ]] && kc_args+=(-schema-location "$KUBECONFORM_SCHEMA_LOCATION")
  if "$kubeconform" "${kc_args[@]}" "$tmp/mon.yaml" "$tmp/extra.yaml" "$tmp/noleader.yaml" >"$tmp/kc.out" 2>&1; then
    if grep -q "Valid: [1-9]" "$tmp/kc.out"; then pass "kubeconform -strict ($(tail -n1 "$tmp/kc.out"))"; else echo "note: kubeconform validated nothing (no schemas reachable): $(tail -n1 "$tmp/kc.out")"; fi
  elif grep -Eq "could not find schema|failed downloading|dial tcp|no such host|i/o timeout|connection refused|lookup " "$tmp/kc.out"; then
    echo "note: kubeconform skipped: Kubernetes JSON schemas are not reachable offline; set KUBECONFORM_SCHEMA_LOCATION"
  else
    fail "kubeconform -strict: $(grep -v '^Summary' "$tmp/kc.out" | head -n 10)"
  fi
fi

# --- deploy/: Flux HelmRelease and Argo CD Application for this chart ------------------------------------
kubectl="$bin/kubectl"
if [[ -x "$kubectl" ]]; then
  mkdir -p "$tmp/deploy"
  cp "$root/deploy/flux/helmrelease.yaml" "$root/deploy/argocd/application.yaml" "$tmp/deploy/"
  printf 'resources:\n  - helmrelease.yaml\n  - application.yaml\n' >"$tmp/deploy/kustomization.yaml"
  if "$kubectl" kustomize "$tmp/deploy" >"$tmp/deploy.out" 2>&1; then
    pass "deploy/ examples parse (kubectl kustomize)"
    expect "Flux HelmRelease (helm.toolkit.fluxcd.io/v2)" "$tmp/deploy.out" '^apiVersion: helm.toolkit.fluxcd.io/v2$'
    expect "Flux HelmRelease installs the CRDs and upgrades them" "$tmp/deploy.out" 'crds: CreateReplace'
    expect "Argo CD Application (argoproj.io/v1alpha1)" "$tmp/deploy.out" '^kind: Application$'
    expect "Argo CD Application points at the chart" "$tmp/deploy.out" 'path: charts/reprotect-controller'
    expect "Argo CD Application syncs with server-side apply (large CRDs)" "$tmp/deploy.out" 'ServerSideApply=true'
    expect "Argo CD creates the release namespace first" "$tmp/deploy.out" 'CreateNamespace=true'
    expect "Flux creates the release namespace first" "$tmp/deploy.out" 'createNamespace: true'
  else
    fail "deploy/ examples do not parse: $(head -n 5 "$tmp/deploy.out")"
  fi
fi

finish
