// Package kube is labctl's one way to talk to a cluster: client-go through
// an SSH tunnel to node1's API server, with node1's admin credentials.
// Typed objects in, typed objects out; no kubectl text to parse.
package kube

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// AdminConf is where kubeadm writes the cluster admin's kubeconfig on node1.
const AdminConf = "/etc/kubernetes/admin.conf"

// ReadAdminConf is the command that prints it; its output is a secret,
// and no more than a kubeconfig's size of it is read.
var ReadAdminConf = remote.Command{Line: "cat " + AdminConf, SecretOutput: true, MaxOutput: MaxAdminConf}

// Client is one cluster's API, reached through node1.
type Client struct {
	// Name is node1's label ("03/node1"), for errors.
	Name    string
	Typed   Typed
	Dynamic dynamic.Interface
	Config  *rest.Config
}

// Recorded is what labctl itself knows of a cluster, as opposed to what
// its node says: the CA recorded when labctl ran kubeadm init, the admin
// kubeconfig labctl keeps, and the names node1's API server may have.
type Recorded struct {
	CA         []byte // PEM
	Kubeconfig []byte
	Hosts      []string
}

// RecordedOf is cluster c's Recorded, from the state. A lab made before
// labctl kept the CA apart pins the CA of the kubeconfig it kept.
func RecordedOf(c *lab.Cluster) Recorded {
	r := Recorded{CA: []byte(c.CA), Kubeconfig: []byte(c.Kubeconfig), Hosts: []string{"localhost", "127.0.0.1", "::1"}}
	if len(r.CA) == 0 && len(r.Kubeconfig) > 0 {
		if a, err := ParseAdmin(r.Kubeconfig); err == nil {
			r.CA = a.CA
		}
	}
	if n1 := c.Node("node1"); n1 != nil {
		for _, h := range []string{n1.PrivateAddress, n1.PublicAddress, n1.Name, n1.ID} {
			if h != "" {
				r.Hosts = append(r.Hosts, h)
			}
		}
	}
	return r
}

// Node1 is what Connect needs of a cluster's node1: its name (for
// errors), one command (to read admin.conf) and tunnels to the API
// server. A remote.Executor is one.
type Node1 interface {
	Name() string
	Run(ctx context.Context, cmd remote.Command) (remote.Result, error)
	Tunnel(ctx context.Context, network, addr string) (net.Conn, error)
}

// Connect is the one way labctl makes a cluster's client. Its connections
// are SSH tunnels from node1 (x) to the API server. It uses the kubeconfig
// labctl keeps when the API server accepts it, else reads node1's
// admin.conf, takes only its server, client certificate and key (ParseAdmin),
// checks them against what labctl recorded, and hands save (when set) a
// kubeconfig of labctl's own making with them and the recorded CA: node
// bytes are never kept, nor given to client-go's loaders.
func Connect(ctx context.Context, x Node1, rec Recorded, save func(kubeconfig, ca []byte)) (*Client, error) {
	if len(rec.CA) == 0 {
		return nil, fmt.Errorf("%s: labctl recorded no cluster CA for this cluster (it records it at kubeadm init): `labctl reset --level hard` rebuilds the cluster", x.Name())
	}
	ca, caCert, err := ParseCA(rec.CA)
	if err != nil {
		return nil, fmt.Errorf("%s: the cluster CA labctl recorded: %w", x.Name(), err)
	}
	if len(rec.Kubeconfig) > 0 {
		if a, err := ParseAdmin(rec.Kubeconfig); err == nil && a.check(caCert, rec.Hosts) == nil {
			if c, err := a.client(x.Name(), ca, x.Tunnel); err == nil {
				if _, err := c.Typed.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err == nil {
					return c, nil
				}
			}
		}
	}
	res, err := x.Run(ctx, ReadAdminConf)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", x.Name(), AdminConf, err)
	}
	a, err := ParseAdmin(res.Stdout)
	if err == nil {
		err = a.check(caCert, rec.Hosts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s refused: %s", x.Name(), AdminConf, remote.EscapeLine(err.Error()))
	}
	c, err := a.client(x.Name(), ca, x.Tunnel)
	if err == nil && save != nil {
		save(a.Kubeconfig(ca), ca)
	}
	return c, err
}

// check refuses an admin config that does not fit what labctl recorded:
// another CA, a server that is not node1, a client certificate the
// cluster CA did not sign.
func (a *Admin) check(ca *x509.Certificate, hosts []string) error {
	if len(a.CA) > 0 {
		_, cert, err := ParseCA(a.CA)
		if err != nil {
			return fmt.Errorf("clusters[0].cluster.certificate-authority-data: %w", err)
		}
		if !cert.Equal(ca) {
			return fmt.Errorf("clusters[0].cluster.certificate-authority-data: not the cluster CA labctl recorded at kubeadm init")
		}
	}
	u, _ := url.Parse(a.Server)
	if !slices.Contains(hosts, u.Hostname()) {
		return fmt.Errorf("clusters[0].cluster.server %s: not node1 (%s)", a.Server, strings.Join(hosts, ", "))
	}
	block, _ := pem.Decode(a.Cert)
	if block == nil {
		return fmt.Errorf("users[0].user.client-certificate-data: not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("users[0].user.client-certificate-data: %s", firstLine(err.Error()))
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("users[0].user.client-certificate-data: not signed by the cluster CA labctl recorded")
	}
	return nil
}

// client builds the rest.Config from checked data only: the recorded CA,
// the client certificate and key, no credential plugin, no proxy (not
// even HTTPS_PROXY from the environment), every connection dialled by
// dial (labctl's SSH tunnel; nil: directly).
func (a *Admin) client(name string, ca []byte, dial Dialer) (*Client, error) {
	cfg := &rest.Config{
		Host:            a.Server,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca, CertData: a.Cert, KeyData: a.Key},
		Proxy:           func(*http.Request) (*url.URL, error) { return nil, nil },
		// labctl is the only client on this path and waits for results; the
		// default 5 QPS would make an add-on's apply crawl.
		QPS: 50, Burst: 100,
		Timeout:   30 * time.Second,
		UserAgent: "labctl",
	}
	if dial != nil {
		cfg.Dial = dial
	}
	return ForConfig(name, cfg)
}

// ForConfig is the client of cfg's cluster, named name in errors.
func ForConfig(name string, cfg *rest.Config) (*Client, error) {
	typed, err := newTyped(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Client{Name: name, Typed: typed, Dynamic: dyn, Config: cfg}, nil
}

// Dialer opens a connection to addr from somewhere that reaches it.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// FromKubeconfig builds a client from a kubeconfig labctl trusts (its own
// file, or one a test made) with the same strict reader as Connect: the
// file's own CA is the one verified against.
func FromKubeconfig(name string, kubeconfig []byte, dial Dialer) (*Client, error) {
	a, err := ParseAdmin(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: kubeconfig refused: %s", name, remote.EscapeLine(err.Error()))
	}
	if len(a.CA) == 0 {
		return nil, fmt.Errorf("%s: kubeconfig has no certificate-authority-data", name)
	}
	ca, _, err := ParseCA(a.CA)
	if err != nil {
		return nil, fmt.Errorf("%s: kubeconfig CA: %w", name, err)
	}
	return a.client(name, ca, dial)
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}
