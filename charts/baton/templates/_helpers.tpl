{{- define "baton.name" -}}baton{{- end -}}

{{- define "baton.fullname" -}}
{{- if contains "baton" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-baton" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "baton.labels" -}}
app.kubernetes.io/name: baton
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: baton
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
baton.dev/region: {{ include "baton.region" . | quote }}
{{- end -}}

{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: baton
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: batond
{{- end -}}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "baton.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "baton.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- /* This region's name; every object carries it, so a missing region stops
the render with this message (the schema lets "" through for it). */ -}}
{{- define "baton.region" -}}
{{ required "values: region is required: this region's name, as in every DatabaseCluster's spec.regions (e.g. --set region=eu-west)" .Values.region }}
{{- end -}}

{{/* The Secret holding this region's agent CA (certificate and key). */}}
{{- define "baton.agentCASecret" -}}
{{- default (printf "%s-agent-ca" (include "baton.fullname" .)) .Values.agentTls.caSecretName -}}
{{- end -}}
