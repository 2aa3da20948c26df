{{/* The Orderly processes: Deployment name, values key, entry point. */}}
{{- define "orderly.processes" -}}
- { name: ingest, key: ingest, script: src/bin/ingest.ts }
- { name: workflow-worker, key: workflowWorker, script: src/bin/workflow-worker.ts }
- { name: email-worker, key: emailWorker, script: src/bin/email-worker.ts }
- { name: webhook-worker, key: webhookWorker, script: src/bin/webhook-worker.ts }
- { name: api, key: api, script: src/bin/api.ts }
- { name: bounces, key: bounces, script: src/bin/bounces.ts }
{{- end -}}

{{/* Environment variables that hold secrets: only ever in the Secret. */}}
{{- define "orderly.secretKeys" -}}
- MYSQL_PASSWORD
- SMTP_PASSWORD
- SECRETS_ENCRYPTION_KEYS
- PAYLOAD_ENCRYPTION_KEYS
- ERASURE_HASH_KEY
- LINK_SIGNING_KEYS
- TWILIO_AUTH_TOKEN
- VONAGE_API_SECRET
- VAPID_PRIVATE_KEY
- FCM_SERVICE_ACCOUNT_JSON
{{- end -}}

{{- define "orderly.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orderly.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one process; call with (dict "root" $ "name" "<process>"). */}}
{{- define "orderly.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "orderly.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "orderly.fullname" .) -}}
{{- end -}}

{{/* Refuses values that cannot work; rendered once, by the ConfigMap. */}}
{{- define "orderly.validate" -}}
{{- $partitions := int .Values.kafka.partitions -}}
{{- if lt $partitions 1 -}}
{{- fail "kafka.partitions must be the events topic's partition count (at least 1)" -}}
{{- end -}}
{{- if gt (int .Values.ingest.replicas) $partitions -}}
{{- fail (printf "ingest.replicas (%d) exceeds kafka.partitions (%d): an ingest replica without a partition sits idle" (int .Values.ingest.replicas) $partitions) -}}
{{- end -}}
{{- if and .Values.ingest.autoscaling.enabled (gt (int .Values.ingest.autoscaling.maxReplicas) $partitions) -}}
{{- fail (printf "ingest.autoscaling.maxReplicas (%d) exceeds kafka.partitions (%d): an ingest replica without a partition sits idle" (int .Values.ingest.autoscaling.maxReplicas) $partitions) -}}
{{- end -}}
{{- range $key := include "orderly.secretKeys" . | fromYamlArray -}}
{{- if hasKey $.Values.config $key -}}
{{- fail (printf "config.%s is a secret: set secrets.%s or put it in secrets.existingSecret, never in the ConfigMap" $key $key) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.SECRETS_ENCRYPTION_KEYS -}}
{{- fail "secrets.SECRETS_ENCRYPTION_KEYS is required (or secrets.existingSecret): ORDERLY_ENV=production refuses to start without it" -}}
{{- end -}}
{{- if not .Values.secrets.PAYLOAD_ENCRYPTION_KEYS -}}
{{- fail "secrets.PAYLOAD_ENCRYPTION_KEYS is required (or secrets.existingSecret): ORDERLY_ENV=production refuses to start without it" -}}
{{- end -}}
{{- if not .Values.secrets.ERASURE_HASH_KEY -}}
{{- fail "secrets.ERASURE_HASH_KEY is required (or secrets.existingSecret): ORDERLY_ENV=production refuses to start without it" -}}
{{- end -}}
{{- if not .Values.secrets.LINK_SIGNING_KEYS -}}
{{- fail "secrets.LINK_SIGNING_KEYS is required (or secrets.existingSecret): ORDERLY_ENV=production refuses to start without it" -}}
{{- end -}}
{{- if not .Values.secrets.MYSQL_PASSWORD -}}
{{- fail "secrets.MYSQL_PASSWORD is required (or secrets.existingSecret)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
