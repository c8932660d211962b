package lab

import (
	"crypto/tls"
	"fmt"
)

// DefaultWebTermPort is where the attendees' browser terminal listens on
// node1 (container.training's webssh uses the same).
const DefaultWebTermPort = 1080

// WebTermSpec is the attendees' browser terminal on node1 of every cluster.
type WebTermSpec struct {
	// Enabled (default true; refused on kind, whose nodes attendees do
	// not reach over the network).
	Enabled *bool `yaml:"enabled"`
	// Port on node1 (default 1080).
	Port int        `yaml:"port"`
	TLS  WebTermTLS `yaml:"tls"`
}

// WebTermTLS is a certificate (e.g. a wildcard for the class's domain)
// and its key, PEM files; without them the terminal is plain HTTP.
type WebTermTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// WebTermEnabled says whether up installs the web terminal.
func (l *Lab) WebTermEnabled() bool {
	if l.WebTerm.Enabled != nil {
		return *l.WebTerm.Enabled
	}
	return l.Provider.Type != "kind"
}

// WebTermScheme is https with a certificate, http without.
func (l *Lab) WebTermScheme() string {
	if l.WebTerm.TLS.Cert != "" {
		return "https"
	}
	return "http"
}

func (l *Lab) defaultWebTerm() {
	if l.WebTerm.Port == 0 {
		l.WebTerm.Port = DefaultWebTermPort
	}
}

func (l *Lab) validateWebTerm() error {
	w := l.WebTerm
	if l.Provider.Type == "kind" && l.WebTermEnabled() {
		return fmt.Errorf("webterm.enabled: the kind provider's nodes are not reachable by attendees; set it to false")
	}
	if w.Port < 1 || w.Port > 65535 {
		return fmt.Errorf("webterm.port: %d is out of range (1 to 65535)", w.Port)
	}
	if w.Port == 22 || w.Port == 6443 || w.Port == 10250 || (w.Port >= 30000 && w.Port <= 32767) {
		return fmt.Errorf("webterm.port: %d is used by SSH, Kubernetes or its NodePorts on node1", w.Port)
	}
	if (w.TLS.Cert == "") != (w.TLS.Key == "") {
		return fmt.Errorf("webterm.tls: give both cert and key, or neither")
	}
	if w.TLS.Cert != "" {
		cert, err := ReadSmallFile(ExpandHome(w.TLS.Cert), 1<<20)
		if err != nil {
			return fmt.Errorf("webterm.tls.cert: %v", err)
		}
		key, err := ReadSmallFile(ExpandHome(w.TLS.Key), 1<<20)
		if err != nil {
			return fmt.Errorf("webterm.tls.key: %v", err)
		}
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			return fmt.Errorf("webterm.tls: %s and %s are not a certificate and its key: %v", w.TLS.Cert, w.TLS.Key, err)
		}
	}
	return nil
}
