#!/usr/bin/env bash
# Chart tests: helm lint, helm template with default and non-default values, a committed snapshot of
# the default rendering, structural checks (security context, RBAC least privilege, namespace-scoped
# mode, HA, ServiceMonitor, NetworkPolicy, workload identity) and values that must be rejected.
#
#   charts/reprotect-controller/tests/render.sh                    run
#   UPDATE_SNAPSHOT=1 charts/reprotect-controller/tests/render.sh  rewrite snapshot-default.yaml
#
# helm (and kubeconform) come from $REPROTECT_TOOLS_BIN, else `tests/tools/build.sh --print-dir`;
# this script never builds them (run tests/tools/build.sh first).
#
# Schema validation (kubeconform): kubeconform needs Kubernetes JSON schemas, which it downloads by
# default. Offline, set KUBECONFORM_SCHEMA_LOCATION to a local schema tree
# (e.g. '/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json');
# without it the check runs only when the default location answers, otherwise it is skipped with a
# note (the rendered manifests are still checked structurally below). With KUBECONFIG pointing at a
# reachable cluster, `kubectl apply --dry-run=server` additionally validates every object server-side.
#
# Last line: "N passed, M failed"; exit status 1 on any failure.
# No pipefail: checks pipe into `grep -q`, which may close the pipe early (SIGPIPE upstream).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart=$(cd "$here/.." && pwd)
root=$(cd "$chart/../.." && pwd)
snapshot="$here/snapshot-default.yaml"
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
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"

# template NAME [helm args...]: render into $tmp/NAME.yaml (stderr in $tmp/NAME.err); returns helm's status.
template() {
  local name=$1
  shift
  "$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" "$@" >"$tmp/$name.yaml" 2>"$tmp/$name.err"
}
# doc FILE KIND [NAME]: print the documents of that kind (and name) from a rendered file.
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
# expect LABEL FILE PATTERN: grep -E must match.
expect() { if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1 (no match for /$3/)"; fi; }
expect_not() { if grep -Eq -- "$3" "$2"; then fail "$1 (unexpected match for /$3/)"; else pass "$1"; fi; }

# --- lint -------------------------------------------------------------------------------------
if "$helm" lint "$chart" --kube-version "$kube_version" >"$tmp/lint.out" 2>&1; then pass "helm lint (defaults)"; else fail "helm lint (defaults)"; cat "$tmp/lint.out"; fi
if "$helm" lint "$chart" --strict --kube-version "$kube_version" --set replicaCount=2 --set 'watchNamespaces={dr,dr-test}' \
  --set serviceMonitor.enabled=true --set networkPolicy.enabled=true >"$tmp/lint2.out" 2>&1; then
  pass "helm lint --strict (namespace-scoped, 2 replicas, ServiceMonitor, NetworkPolicy)"
else
  fail "helm lint --strict (non-default values)"
  cat "$tmp/lint2.out"
fi

# --- default rendering + snapshot ---------------------------------------------------------------
if template default; then pass "helm template with defaults"; else fail "helm template with defaults: $(cat "$tmp/default.err")"; finish; fi
if [[ "${UPDATE_SNAPSHOT:-}" == 1 ]]; then
  cp "$tmp/default.yaml" "$snapshot"
  pass "snapshot rewritten: ${snapshot#"$root"/}"
elif [[ ! -f "$snapshot" ]]; then
  fail "no snapshot ${snapshot#"$root"/}; create it with UPDATE_SNAPSHOT=1 $0"
elif diff -u "$snapshot" "$tmp/default.yaml" >"$tmp/snapshot.diff"; then
  pass "default rendering matches snapshot-default.yaml"
else
  fail "default rendering differs from snapshot-default.yaml (review, then UPDATE_SNAPSHOT=1 $0):"
  head -n 60 "$tmp/snapshot.diff"
fi

d="$tmp/default.yaml"
for kind in ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding Service Deployment; do
  if [[ $(count_kind "$d" "$kind") -ge 1 ]]; then pass "default renders a $kind"; else fail "default renders no $kind"; fi
done
for kind in PodDisruptionBudget ServiceMonitor NetworkPolicy; do
  if [[ $(count_kind "$d" "$kind") -eq 0 ]]; then pass "default renders no $kind"; else fail "default renders a $kind"; fi
done

doc "$d" Deployment >"$tmp/deploy.yaml"
dep="$tmp/deploy.yaml"
expect "pod runAsNonRoot" "$dep" '^        runAsNonRoot: true$'
expect "container runAsNonRoot" "$dep" '^            runAsNonRoot: true$'
expect "runAsUser 65532" "$dep" '^            runAsUser: 65532$'
expect "readOnlyRootFilesystem" "$dep" 'readOnlyRootFilesystem: true'
expect "allowPrivilegeEscalation false" "$dep" 'allowPrivilegeEscalation: false'
if grep -A2 '^            capabilities:' "$dep" | grep -q -- '- ALL'; then pass "capabilities drop ALL"; else fail "capabilities drop ALL"; fi
expect "seccompProfile RuntimeDefault" "$dep" 'type: RuntimeDefault'
expect "resources requests" "$dep" '^            requests:'
expect "resources limits" "$dep" '^            limits:'
expect "args run" "$dep" 'args: \["run"\]'
if grep -A6 'livenessProbe:' "$dep" | grep -q 'path: /healthz' && grep -A6 'livenessProbe:' "$dep" | grep -q 'port: http'; then pass "liveness /healthz on http"; else fail "liveness /healthz on http"; fi
if grep -A6 'readinessProbe:' "$dep" | grep -q 'path: /readyz' && grep -A6 'readinessProbe:' "$dep" | grep -q 'port: http'; then pass "readiness /readyz on http"; else fail "readiness /readyz on http"; fi
expect "http port 8080" "$dep" 'containerPort: 8080'
expect "REPROTECT_HTTP_ADDR" "$dep" 'value: "0.0.0.0:8080"'
if grep -A1 'name: REPROTECT_LOG_FORMAT' "$dep" | grep -q 'value: "json"'; then pass "log format env json"; else fail "log format env json"; fi
if grep -A1 'name: REPROTECT_LOG_LEVEL' "$dep" | grep -q 'value: "info"'; then pass "log level env info"; else fail "log level env info"; fi
if grep -A1 'name: REPROTECT_LEASE_NAMESPACE' "$dep" | grep -q "value: \"$namespace\""; then pass "lease namespace = release namespace"; else fail "lease namespace = release namespace"; fi
if grep -A3 'name: POD_NAME' "$dep" | grep -q 'fieldPath: metadata.name'; then pass "POD_NAME from the downward API"; else fail "POD_NAME from the downward API"; fi
expect_not "no REPROTECT_NAMESPACES in cluster mode" "$dep" 'REPROTECT_NAMESPACES'
expect "image defaults to appVersion" "$dep" 'image: ".*:0\.1\.0"'

# RBAC least privilege (cluster mode)
doc "$d" ClusterRole "reprotect-reprotect-controller" >"$tmp/cr.yaml"  # the controller's own role (the aggregated view/edit roles: observability.sh)
cr="$tmp/cr.yaml"
expect_not "no wildcard verbs/resources" "$cr" '"\*"'
if grep -A2 'resources: \["reprotectpolicies", "mastertargets", "protectedmachines"\]' "$cr" | grep -q 'verbs: \["get", "list", "watch"\]'; then pass "kinds: get/list/watch only"; else fail "kinds: get/list/watch only"; fi
if grep -A2 'resources: \[.*/status' "$cr" | grep -q 'verbs: \["get", "patch", "update"\]'; then pass "status: get/patch/update"; else fail "status: get/patch/update"; fi
# secrets.watch (default): the named Secrets and CA ConfigMaps are watched, so read, never written.
if grep -A1 'resources: \["secrets", "configmaps"\]' "$cr" | grep -q 'verbs: \["get", "list", "watch"\]'; then pass "secrets, configmaps: get/list/watch only"; else fail "secrets, configmaps: get/list/watch only"; fi
if grep -A1 'name: REPROTECT_WATCH_REFERENCED_OBJECTS' "$d" | grep -q 'value: "true"'; then pass "secrets.watch on: env true"; else fail "secrets.watch on: env true"; fi
if template get-only --set secrets.watch=false; then
  g="$tmp/get-only.yaml"
  if grep -A1 'resources: \["secrets", "configmaps"\]' "$g" | grep -q 'verbs: \["get"\]' &&
    grep -A1 'name: REPROTECT_WATCH_REFERENCED_OBJECTS' "$g" | grep -q 'value: "false"'; then
    pass "secrets.watch=false: secrets and configmaps get only, watch off"
  else
    fail "secrets.watch=false: secrets and configmaps get only, watch off"
  fi
else
  fail "helm template secrets.watch=false: $(cat "$tmp/get-only.err")"
fi
if grep -B1 'resources: \["events"\]' "$cr" | grep -q 'events.k8s.io' && grep -A1 'resources: \["events"\]' "$cr" | grep -q 'verbs: \["create", "patch"\]'; then pass "events.k8s.io events: create/patch"; else fail "events.k8s.io events: create/patch"; fi
expect_not "no create/delete on the kinds" "$cr" '"delete"|"deletecollection"|"escalate"|"bind"|"impersonate"'
expect_not "no leases cluster-wide" "$cr" 'leases'
# every rule of every (Cluster)Role is preceded by a comment saying why
awk '/^kind: (Cluster)?Role$/ { r = 1 } /^---/ { r = 0 } r && /^  - apiGroups:/ { if (prev !~ /^  #/) bad++ } { prev = $0 } END { exit bad > 0 }' "$d" \
  && pass "every RBAC rule has a comment" || fail "an RBAC rule has no comment"
doc "$d" Role >"$tmp/role.yaml"
expect "leases Role in the release namespace" "$tmp/role.yaml" "^  namespace: $namespace\$"
expect "leases get/update/patch on the named Lease" "$tmp/role.yaml" 'resourceNames: \["reprotect-reprotect-controller"\]'
expect "leases create" "$tmp/role.yaml" 'verbs: \["create"\]'

# --- namespace-scoped mode -----------------------------------------------------------------------
if template nsmode --set 'watchNamespaces={dr,dr-test}'; then
  n="$tmp/nsmode.yaml"
  pass "helm template namespace-scoped"
  if [[ $(count_kind "$n" ClusterRole) -eq 0 && $(count_kind "$n" ClusterRoleBinding) -eq 0 ]]; then pass "namespace-scoped: no ClusterRole/ClusterRoleBinding"; else fail "namespace-scoped: renders cluster-wide RBAC"; fi
  for ns in dr dr-test; do
    if doc "$n" Role | grep -q "^  namespace: $ns\$" && doc "$n" RoleBinding | grep -q "^  namespace: $ns\$"; then pass "namespace-scoped: Role+RoleBinding in $ns"; else fail "namespace-scoped: Role+RoleBinding in $ns"; fi
  done
  if grep -A1 'name: REPROTECT_NAMESPACES' "$n" | grep -q 'value: "dr,dr-test"'; then pass "namespace-scoped: REPROTECT_NAMESPACES=dr,dr-test"; else fail "namespace-scoped: REPROTECT_NAMESPACES"; fi
else
  fail "helm template namespace-scoped: $(cat "$tmp/nsmode.err")"
fi

# --- HA: two replicas ----------------------------------------------------------------------------
if template ha --set replicaCount=2; then
  h="$tmp/ha.yaml"
  pass "helm template replicaCount=2"
  expect "replicaCount=2: replicas 2" "$h" '^  replicas: 2$'
  if [[ $(count_kind "$h" PodDisruptionBudget) -eq 1 ]]; then pass "replicaCount=2: PodDisruptionBudget"; else fail "replicaCount=2: no PodDisruptionBudget"; fi
  if grep -A1 'name: REPROTECT_LEADER_ELECTION' "$h" | grep -q 'value: "true"'; then pass "replicaCount=2: leader election on"; else fail "replicaCount=2: leader election on"; fi
else
  fail "helm template replicaCount=2: $(cat "$tmp/ha.err")"
fi
if template ha-noleader --set replicaCount=2 --set leaderElection.enabled=false; then
  fail "replicaCount=2 with leaderElection.enabled=false must fail"
elif grep -q "needs leaderElection.enabled=true" "$tmp/ha-noleader.err"; then
  pass "replicaCount=2 without leader election fails: $(grep -o 'replicaCount > 1 needs[^:]*' "$tmp/ha-noleader.err")"
else
  fail "replicaCount=2 without leader election: unclear error: $(cat "$tmp/ha-noleader.err")"
fi
if template single-noleader --set leaderElection.enabled=false; then
  s1="$tmp/single-noleader.yaml"
  if grep -A1 'name: REPROTECT_LEADER_ELECTION' "$s1" | grep -q 'value: "false"' && ! grep -q leases "$s1"; then pass "leader election off: env false and no Lease RBAC"; else fail "leader election off: env false and no Lease RBAC"; fi
else
  fail "helm template leaderElection.enabled=false: $(cat "$tmp/single-noleader.err")"
fi

# --- ServiceMonitor, NetworkPolicy -------------------------------------------------------------------
if template sm --set serviceMonitor.enabled=true --set serviceMonitor.labels.release=prometheus; then
  sm=$(doc "$tmp/sm.yaml" ServiceMonitor)
  if grep -q 'port: http' <<<"$sm" && grep -q 'path: /metrics' <<<"$sm" && grep -q 'release: prometheus' <<<"$sm"; then pass "ServiceMonitor scrapes http /metrics with extra labels"; else fail "ServiceMonitor content"; fi
else
  fail "helm template serviceMonitor.enabled: $(cat "$tmp/sm.err")"
fi
if template np --set networkPolicy.enabled=true --set 'networkPolicy.vcenter.cidrs={10.20.0.10/32}' --set 'networkPolicy.apiServer.cidrs={10.96.0.1/32}'; then
  doc "$tmp/np.yaml" NetworkPolicy >"$tmp/np1.yaml"
  np="$tmp/np1.yaml"
  expect "NetworkPolicy: Ingress and Egress" "$np" 'policyTypes: \["Ingress", "Egress"\]'
  expect "NetworkPolicy: DNS 53" "$np" 'port: 53'
  expect "NetworkPolicy: API server CIDR" "$np" 'cidr: 10.96.0.1/32'
  expect "NetworkPolicy: vCenter CIDR" "$np" 'cidr: 10.20.0.10/32'
  expect "NetworkPolicy: Azure 443" "$np" 'cidr: 0.0.0.0/0'
  expect "NetworkPolicy: metrics ingress on http" "$np" 'port: http'
else
  fail "helm template networkPolicy.enabled: $(cat "$tmp/np.err")"
fi

# --- workload identity, CA bundle, image digest ----------------------------------------------------
cat >"$tmp/wi.yaml.values" <<'VALUES'
serviceAccount:
  annotations:
    azure.workload.identity/client-id: 00000000-0000-0000-0000-0000000000bb
podLabels:
  azure.workload.identity/use: "true"
extraEnv:
  - name: SSL_CERT_FILE
    value: /etc/reprotect/ca/ca.crt
extraVolumes:
  - name: ca
    configMap:
      name: corp-ca
extraVolumeMounts:
  - name: ca
    mountPath: /etc/reprotect/ca
    readOnly: true
image:
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
logFormat: text
VALUES
if template wi -f "$tmp/wi.yaml.values"; then
  w="$tmp/wi.yaml"
  expect "workload identity: SA client-id annotation" "$w" 'azure.workload.identity/client-id: 00000000-0000-0000-0000-0000000000bb'
  expect "workload identity: pod label" "$w" 'azure.workload.identity/use: "true"'
  expect "extraEnv rendered" "$w" 'name: SSL_CERT_FILE'
  expect "extraVolumes rendered" "$w" 'name: corp-ca'
  expect "extraVolumeMounts rendered" "$w" 'mountPath: /etc/reprotect/ca'
  expect "image digest pins the image" "$w" 'image: "ghcr.io/reprotect/reprotect-controller@sha256:0123456789abcdef'
  if grep -A1 'name: REPROTECT_LOG_FORMAT' "$w" | grep -q 'value: "text"'; then pass "logFormat text"; else fail "logFormat text"; fi
else
  fail "helm template workload identity values: $(cat "$tmp/wi.err")"
fi

# --- values that must be rejected, with a clear message ----------------------------------------------
# reject LABEL PATTERN helm-args...: helm template must fail and stderr must match PATTERN.
reject() {
  local label=$1 pattern=$2
  shift 2
  if template reject "$@"; then
    fail "$label: accepted, must be rejected"
  elif grep -Eq -- "$pattern" "$tmp/reject.err"; then
    pass "$label rejected: $(grep -E -- "$pattern" "$tmp/reject.err" | head -n1 | sed 's/^ *//')"
  else
    fail "$label rejected without a clear message: $(cat "$tmp/reject.err")"
  fi
}
reject "replicaCount: 0" "replicaCount.*minimum" --set replicaCount=0
reject "replicaCount: 1.5" "replicaCount.*(integer|number)" --set replicaCount=1.5
reject "logFormat: xml" "logFormat.*json.*text" --set logFormat=xml
printf 'image:\n  tag: 1.2\n' >"$tmp/tag.values"
reject "image.tag: 1.2 (a number)" "image/tag.*string" -f "$tmp/tag.values"
reject "image.digest: latest" "image/digest" --set image.digest=latest
reject "unknown top-level key (typo)" "additional properties|replicas" --set replicas=2
reject "watchNamespaces: Not_A_Namespace" "watchNamespaces" --set 'watchNamespaces={Not_A_Namespace}'
reject "networkPolicy.vcenter.cidrs: not-a-cidr" "vcenter/cidrs" --set networkPolicy.enabled=true --set 'networkPolicy.vcenter.cidrs={vcenter.corp}'
reject "serviceMonitor without the metrics Service" "serviceMonitor.enabled needs service.enabled" --set serviceMonitor.enabled=true --set service.enabled=false

# --- kubeconform (schema validation) -------------------------------------------------------------------
kubeconform="$bin/kubeconform"
all="$tmp/all.yaml"
cat "$tmp/default.yaml" "$tmp/nsmode.yaml" "$tmp/ha.yaml" "$tmp/np.yaml" "$tmp/wi.yaml" >"$all" 2>/dev/null
if [[ ! -x "$kubeconform" ]]; then
  echo "note: kubeconform not found in $bin; schema validation skipped"
else
  kc_args=(-strict -summary -kubernetes-version "$kube_version" -ignore-missing-schemas)
  if [[ -n "${KUBECONFORM_SCHEMA_LOCATION:-}" ]]; then
    kc_args+=(-schema-location "$KUBECONFORM_SCHEMA_LOCATION")
  fi
  if "$kubeconform" "${kc_args[@]}" "$all" >"$tmp/kc.out" 2>&1; then
    if grep -q "Valid: [1-9]" "$tmp/kc.out"; then
      pass "kubeconform -strict ($(tail -n1 "$tmp/kc.out"))"
    else
      echo "note: kubeconform validated nothing (no schemas reachable): $(tail -n1 "$tmp/kc.out"); set KUBECONFORM_SCHEMA_LOCATION to a local schema tree"
    fi
  elif grep -Eq "could not find schema|failed downloading|dial tcp|no such host|i/o timeout|connection refused|lookup " "$tmp/kc.out"; then
    echo "note: kubeconform skipped: Kubernetes JSON schemas are not reachable offline; set KUBECONFORM_SCHEMA_LOCATION to a local schema tree"
  else
    fail "kubeconform -strict"
    grep -v "^Summary" "$tmp/kc.out" | head -n 20
  fi
fi

# --- optional: server-side dry run against a real cluster --------------------------------------------------
if [[ -n "${KUBECONFIG:-}" && -x "$bin/kubectl" ]] && "$bin/kubectl" version --request-timeout=5s >/dev/null 2>&1; then
  if "$bin/kubectl" create namespace "$namespace" --dry-run=server >/dev/null 2>&1 || true; then :; fi
  if "$bin/kubectl" apply --dry-run=server -f "$tmp/default.yaml" >"$tmp/dry.out" 2>&1; then
    pass "kubectl apply --dry-run=server (default rendering)"
  else
    fail "kubectl apply --dry-run=server: $(tail -n 5 "$tmp/dry.out")"
  fi
else
  echo "note: no reachable cluster in KUBECONFIG; server-side dry run skipped"
fi

finish
