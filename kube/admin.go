package kube

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// MaxAdminConf bounds what labctl reads of a kubeconfig: kubeadm's
// admin.conf is about 6 KiB.
const MaxAdminConf = 64 << 10

// Admin is all labctl takes from a kubeconfig that came from a node: the
// API server's URL and the client certificate and key. Nothing in it can
// name a program, a file or a proxy.
type Admin struct {
	Server string
	CA     []byte // PEM, as the file had it (checked against the recorded CA)
	Cert   []byte // PEM
	Key    []byte // PEM
}

// The fields a kubeconfig may hold, and why labctl refuses the others.
var (
	topFields     = []string{"apiVersion", "kind", "clusters", "users", "contexts", "current-context", "preferences"}
	clusterFields = []string{"server", "certificate-authority-data"}
	userFields    = []string{"client-certificate-data", "client-key-data"}
	contextFields = []string{"cluster", "user", "namespace"}
	refusedWhy    = map[string]string{
		"exec":                     "a credential plugin (a program to run)",
		"auth-provider":            "an auth provider plugin",
		"token":                    "a bearer token instead of the client certificate",
		"tokenFile":                "a token file (a path)",
		"username":                 "a username/password login",
		"password":                 "a username/password login",
		"client-certificate":       "a path (only client-certificate-data is read)",
		"client-key":               "a path (only client-key-data is read)",
		"certificate-authority":    "a path (the CA labctl recorded is used)",
		"proxy-url":                "a proxy",
		"insecure-skip-tls-verify": "TLS verification turned off",
		"tls-server-name":          "another name to verify the server as",
		"as":                       "impersonation",
		"as-uid":                   "impersonation",
		"as-groups":                "impersonation",
		"as-user-extra":            "impersonation",
		"extensions":               "extensions",
	}
)

// ParseAdmin reads a kubeconfig as labctl's own strict reader, never
// through client-go's loaders (which run credential plugins and read the
// files a kubeconfig names). It takes one cluster's server and one user's
// client certificate and key, and refuses every other way to authenticate,
// reach or trust the server, naming the field it refused.
func ParseAdmin(data []byte) (*Admin, error) {
	if len(data) > MaxAdminConf {
		return nil, fmt.Errorf("%d bytes, more than a kubeconfig (at most %d)", len(data), MaxAdminConf)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %s", firstLine(err.Error()))
	}
	if doc == nil {
		return nil, fmt.Errorf("empty kubeconfig")
	}
	if err := onlyFields("", doc, topFields); err != nil {
		return nil, err
	}
	if p, ok := doc["preferences"]; ok {
		if m, isMap := p.(map[string]any); p != nil && (!isMap || len(m) > 0) {
			return nil, fmt.Errorf("preferences: refused (not empty)")
		}
	}
	cluster, err := single(doc, "clusters", "cluster", clusterFields)
	if err != nil {
		return nil, err
	}
	user, err := single(doc, "users", "user", userFields)
	if err != nil {
		return nil, err
	}
	if ctxs, ok := doc["contexts"].([]any); ok {
		for i, c := range ctxs {
			m, _ := c.(map[string]any)
			if inner, ok := m["context"].(map[string]any); ok {
				if err := onlyFields(fmt.Sprintf("contexts[%d].context.", i), inner, contextFields); err != nil {
					return nil, err
				}
			}
		}
	}
	a := &Admin{}
	server, _ := cluster["server"].(string)
	if a.Server, err = checkServer(server); err != nil {
		return nil, err
	}
	if a.CA, err = pemField(cluster, "clusters[0].cluster.certificate-authority-data", false); err != nil {
		return nil, err
	}
	if a.Cert, err = pemField(user, "users[0].user.client-certificate-data", true); err != nil {
		return nil, err
	}
	if a.Key, err = pemField(user, "users[0].user.client-key-data", true); err != nil {
		return nil, err
	}
	if _, err := tls.X509KeyPair(a.Cert, a.Key); err != nil {
		return nil, fmt.Errorf("users[0].user: client certificate and key: %s", firstLine(err.Error()))
	}
	return a, nil
}

// single is the one entry of a kubeconfig list (clusters, users), its
// inner map checked against the allowed fields: two would leave which one
// counts to the file.
func single(doc map[string]any, list, inner string, allowed []string) (map[string]any, error) {
	items, _ := doc[list].([]any)
	if len(items) != 1 {
		return nil, fmt.Errorf("%s: %d entries, want exactly one", list, len(items))
	}
	item, _ := items[0].(map[string]any)
	m, _ := item[inner].(map[string]any)
	if m == nil {
		return nil, fmt.Errorf("%s[0].%s: missing", list, inner)
	}
	if err := onlyFields(fmt.Sprintf("%s[0].%s.", list, inner), m, allowed); err != nil {
		return nil, err
	}
	return m, nil
}

// onlyFields refuses any field of m that is not allowed, saying what the
// refused field would have done.
func onlyFields(at string, m map[string]any, allowed []string) error {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(allowed, k) {
			continue
		}
		if why, ok := refusedWhy[k]; ok {
			return fmt.Errorf("%s%s refused (%s)", at, k, why)
		}
		return fmt.Errorf("%s%q refused (not a field labctl reads)", at, k)
	}
	return nil
}

// checkServer accepts https://HOST:PORT and nothing more (no user, path,
// query or fragment).
func checkServer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("clusters[0].cluster.server %q refused (want https://HOST:PORT)", s)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("clusters[0].cluster.server %q refused (want https://HOST:PORT)", s)
	}
	return "https://" + u.Host, nil
}

// pemField decodes a base64 *-data field (sigs.k8s.io/yaml leaves it a
// string) into PEM bytes.
func pemField(m map[string]any, name string, required bool) ([]byte, error) {
	v, ok := m[name[strings.LastIndexByte(name, '.')+1:]]
	if !ok {
		if required {
			return nil, fmt.Errorf("%s: missing", name)
		}
		return nil, nil
	}
	s, _ := v.(string)
	b, err := decodeBase64(s)
	if err != nil || !bytes.Contains(b, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%s: not base64 PEM", name)
	}
	return b, nil
}

// ParseCA checks that pemData is exactly one CA certificate and returns
// it re-encoded: what labctl records of a cluster's CA.
func ParseCA(pemData []byte) ([]byte, *x509.Certificate, error) {
	block, rest := pem.Decode(pemData)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, fmt.Errorf("not one PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate: %s", firstLine(err.Error()))
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("certificate %q is not a CA", cert.Subject.CommonName)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), cert, nil
}

// Kubeconfig renders a as the kubeconfig labctl keeps: its own file, with
// the recorded CA, never the bytes a node sent.
func (a *Admin) Kubeconfig(ca []byte) []byte {
	doc := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "kubernetes", "cluster": map[string]any{"server": a.Server, "certificate-authority-data": ca}}},
		"users":           []any{map[string]any{"name": "kubernetes-admin", "user": map[string]any{"client-certificate-data": a.Cert, "client-key-data": a.Key}}},
		"contexts":        []any{map[string]any{"name": "kubernetes-admin@kubernetes", "context": map[string]any{"cluster": "kubernetes", "user": "kubernetes-admin"}}},
		"current-context": "kubernetes-admin@kubernetes",
	}
	out, _ := yaml.Marshal(doc) // []byte fields become base64, as kubeconfigs have them
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
