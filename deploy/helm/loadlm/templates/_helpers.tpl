{{/* RELEASE-operator unless fullnameOverride; names the ServiceAccount, roles, Deployment and Lease. */}}
{{- define "loadlm.fullname" -}}
{{- default (printf "%s-operator" .Release.Name) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "loadlm.selectorLabels" -}}
app.kubernetes.io/name: loadlm
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "loadlm.labels" -}}
{{ include "loadlm.selectorLabels" . }}
app.kubernetes.io/part-of: loadlm
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "loadlm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "loadlm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "loadlm.leaseName" -}}
{{- default (include "loadlm.fullname" .) .Values.leaderElection.leaseName -}}
{{- end }}

{{- define "loadlm.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end }}

{{- define "loadlm.runnerImage" -}}
{{ .Values.runnerImage.repository }}:{{ default .Chart.AppVersion .Values.runnerImage.tag }}
{{- end }}

{{- define "loadlm.subject" -}}
- kind: ServiceAccount
  name: {{ include "loadlm.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}
