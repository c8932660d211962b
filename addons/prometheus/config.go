package prometheus

// Config is prometheus.yml.
//
// The cAdvisor job discovers nodes through the API and scrapes each
// kubelet's /metrics/cadvisor through the API server's node proxy:
// kubernetes.default.svc is named in the API server's certificate, which
// the cluster CA (in every pod's service account mount) verifies; the
// token authorizes nodes/proxy. The node role sets `instance` to the
// node's name, which is what the deck's `sum by (instance)` groups by.
//
// The two annotation jobs are what the deck's metrics chapter teaches
// ("Services or pods can be annotated with prometheus.io/scrape: true,
// prometheus.io/port, prometheus.io/path") and what the Helm chart it
// installs does: a Service (through its EndpointSlices: every ready or
// not-ready endpoint behind it) or a running pod with
// prometheus.io/scrape "true" is scraped at prometheus.io/scheme (http),
// prometheus.io/path (/metrics) and prometheus.io/port (else the
// endpoint's or the declared container's port), labelled with its
// namespace, service, pod and node. Discovery watches the API:
// annotating or removing an annotation changes the targets with no
// restart and no reload.
var Config = `global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
  - job_name: kubernetes-cadvisor
    scheme: https
    tls_config:
      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    authorization:
      credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
    kubernetes_sd_configs:
      - role: node
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_node_label_(.+)
      - target_label: __address__
        replacement: kubernetes.default.svc:443
      - source_labels: [__meta_kubernetes_node_name]
        regex: (.+)
        target_label: __metrics_path__
        replacement: /api/v1/nodes/${1}/proxy/metrics/cadvisor
  - job_name: kubernetes-service-endpoints
    honor_labels: true
    kubernetes_sd_configs:
      - role: endpointslice
    relabel_configs:
` + annotated("service") + `      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        target_label: service
      - source_labels: [__meta_kubernetes_pod_name]
        regex: (.+)
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_node_name]
        regex: (.+)
        target_label: node
  - job_name: kubernetes-pods
    honor_labels: true
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_phase]
        regex: Pending|Succeeded|Failed|Unknown
        action: drop
` + annotated("pod") + `      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_node_name]
        regex: (.+)
        target_label: node
`

// annotated are the relabelling rules a job of the given kind ("service"
// or "pod") shares: keep what carries prometheus.io/scrape "true", then
// take the scheme, path, port and URL parameters from the other
// annotations. The port replaces the one in the discovered address; a pod
// is reached at its IP (bracketed when it is IPv6).
func annotated(kind string) string {
	a := "__meta_kubernetes_" + kind + "_annotation_prometheus_io_"
	port := `      - source_labels: [__address__, ` + a + `port]
        regex: (.+?)(?::\d+)?;(\d+)
        target_label: __address__
        replacement: $1:$2
`
	if kind == "pod" {
		port = `      - source_labels: [__meta_kubernetes_pod_ip, ` + a + `port]
        regex: ([^:;]+);(\d+)
        target_label: __address__
        replacement: $1:$2
      - source_labels: [__meta_kubernetes_pod_ip, ` + a + `port]
        regex: ([^;]*:[^;]*);(\d+)
        target_label: __address__
        replacement: '[$1]:$2'
`
	}
	return `      - source_labels: [` + a + `scrape]
        regex: "true"
        action: keep
      - source_labels: [` + a + `scheme]
        regex: (https?)
        target_label: __scheme__
      - source_labels: [` + a + `path]
        regex: (.+)
        target_label: __metrics_path__
` + port + `      - action: labelmap
        regex: ` + a + `param_(.+)
        replacement: __param_$1
`
}
