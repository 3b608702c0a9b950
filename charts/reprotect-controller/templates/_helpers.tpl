{{/* Chart name, truncated to the 63-character label limit. */}}
{{- define "reprotect-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "reprotect-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "reprotect-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reprotect-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reprotect-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "reprotect-controller.labels" -}}
helm.sh/chart: {{ include "reprotect-controller.chart" . }}
{{ include "reprotect-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: reprotect-controller
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "reprotect-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reprotect-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag or repository@digest (digest wins). */}}
{{- define "reprotect-controller.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "reprotect-controller.leaseName" -}}
{{- default (include "reprotect-controller.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
Rules the controller needs wherever it watches objects (ClusterRole in cluster mode, one Role per
watched namespace in namespace-scoped mode). Least privilege: every rule says why it exists.
*/}}
{{- define "reprotect-controller.watchRules" -}}
# The three kinds: the controller only reads specs (reflector list/watch, CRD presence check
# with a list); it never creates, updates or deletes them - people and GitOps own the specs.
- apiGroups: ["reprotect.io"]
  resources: ["reprotectpolicies", "mastertargets", "protectedmachines"]
  verbs: ["get", "list", "watch"]
# Status subresources: written with server-side apply (PATCH) by the controller's field manager;
# get/update kept for kubectl-style status reads and non-apply fallbacks.
- apiGroups: ["reprotect.io"]
  resources: ["reprotectpolicies/status", "mastertargets/status", "protectedmachines/status"]
  verbs: ["get", "patch", "update"]
# Events on the three kinds (kube-rs Recorder, events.k8s.io/v1): create a new event, patch
# its count/series when it repeats. No read access to other components' events.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# Credentials named by ReprotectPolicy.spec (Azure service principal tenantId/clientId/clientSecret,
# vCenter username/password), Secret-held CA bundles and ConfigMap-held CA bundles (caBundleRef.configMapName).
# secrets.watch (default): each named object is watched by a field selector on its name and read once per change;
# RBAC cannot restrict list/watch to names only known from policies, so list/watch is granted here.
# secrets.watch=false: get only, one named object at a time, so Secrets cannot be enumerated.
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: {{ if $.Values.secrets.watch }}["get", "list", "watch"]{{ else }}["get"]{{ end }}
{{- end }}
