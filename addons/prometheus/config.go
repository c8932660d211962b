package prometheus

// Config is prometheus.yml. The cAdvisor job discovers nodes through the
// API and scrapes each kubelet's /metrics/cadvisor through the API
// server's node proxy: kubernetes.default.svc is named in the API
// server's certificate, which the cluster CA (in every pod's service
// account mount) verifies; the token authorizes nodes/proxy. The node
// role sets `instance` to the node's name, which is what the deck's
// `sum by (instance)` groups by.
const Config = `global:
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
`
