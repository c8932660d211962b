// Package hostile is labctl against a node played by an attendee with
// root on it: a real SSH server on loopback answers labctl's commands
// with what the attendee likes (a hostile admin.conf, control characters,
// output without end). labctl must run nothing of it, read no file and
// contact no host it names, keep its memory bounded, and say which node
// sent what.
package hostile

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// node is a fake node1: a real SSH server whose admin.conf (and any other
// command) the test chooses.
type node struct {
	srv *testenv.SSHServer
	x   remote.Executor
	dir string
}

func newNode(t *testing.T) *node {
	key := testenv.NewSigner(t)
	srv := testenv.StartSSHServer(t, "127.0.0.1:0", key.PublicKey())
	e := remote.NewEngine(remote.Config{User: "root", Signers: []ssh.Signer{key}, DialTimeout: 2 * time.Second,
		Pin: func(remote.Host, string) error { return nil }, LogDir: t.TempDir()})
	t.Cleanup(func() { e.Close() })
	host, _, _ := net.SplitHostPort(srv.Addr)
	x := e.Host(remote.Host{Name: "01/node1", Address: host, Port: srv.Port(), HostKey: srv.HostKey})
	return &node{srv: srv, x: x, dir: t.TempDir()}
}

// serve makes the node answer `cat admin.conf` with script's output, and
// run other commands as they are.
func (n *node) serve(script string) {
	n.srv.Rewrite(func(cmd string) string {
		if strings.Contains(cmd, "cat "+kube.AdminConf) {
			return script
		}
		return cmd
	})
}

func (n *node) serveFile(t *testing.T, content string) {
	p := filepath.Join(n.dir, "admin.conf")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	n.serve("cat " + p)
}

// fifo is a path on the instructor's disk that blocks whoever opens it
// for reading: a test that reads it never ends.
func fifo(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proxy is a listener the test owns; it counts connections.
func proxy(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String(), &n
}

// connect runs kube.Connect within a bound: a read of a FIFO the file
// named would block for ever.
func connect(t *testing.T, x remote.Executor, rec kube.Recorded, save func(kc, ca []byte)) (*kube.Client, error) {
	t.Helper()
	type out struct {
		cl  *kube.Client
		err error
	}
	done := make(chan out, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		cl, err := kube.Connect(ctx, x, rec, save)
		done <- out{cl, err}
	}()
	select {
	case o := <-done:
		return o.cl, o.err
	case <-time.After(25 * time.Second):
		t.Fatal("kube.Connect did not return: it opened a file the node's admin.conf named")
		return nil, nil
	}
}

func TestHostileAdminConf(t *testing.T) {
	p := newPKI(t)
	api, hits := apiServer(t, p)
	proxyURL, proxied := proxy(t)
	// An environment proxy must not apply either.
	t.Setenv("HTTPS_PROXY", proxyURL)
	t.Setenv("https_proxy", proxyURL)
	t.Setenv("NO_PROXY", "")
	marker := filepath.Join(t.TempDir(), "PWNED")
	secret := fifo(t)
	other := newPKI(t)
	rec := kube.Recorded{CA: p.caPEM, Hosts: []string{"localhost", "127.0.0.1", "::1"}}

	for _, tc := range []struct {
		name, cluster, user, server string
		pk                          *pki
		want                        string
	}{
		{name: "exec plugin", user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [-c, 'id > " + marker + "']", want: "users[0].user.exec refused (a credential plugin"},
		{name: "auth provider", user: "    auth-provider: {name: oidc, config: {cmd-path: /bin/sh}}", want: "users[0].user.auth-provider refused"},
		{name: "token file", user: "    tokenFile: " + secret, want: "users[0].user.tokenFile refused (a token file"},
		{name: "token", user: "    token: abc", want: "users[0].user.token refused"},
		{name: "password", user: "    username: admin\n    password: x", want: "users[0].user.password refused"},
		{name: "client key path", user: "    client-key: " + secret, want: "users[0].user.client-key refused (a path"},
		{name: "client cert path", user: "    client-certificate: " + secret, want: "users[0].user.client-certificate refused (a path"},
		{name: "CA path", cluster: "    certificate-authority: " + secret, want: "clusters[0].cluster.certificate-authority refused (a path"},
		{name: "proxy", cluster: "    proxy-url: " + proxyURL, want: "clusters[0].cluster.proxy-url refused (a proxy)"},
		{name: "insecure", cluster: "    insecure-skip-tls-verify: true", want: "clusters[0].cluster.insecure-skip-tls-verify refused"},
		{name: "another CA", pk: other, want: "certificate-authority-data: not the cluster CA labctl recorded"},
		{name: "server elsewhere", server: "https://192.0.2.1:6443", want: "clusters[0].cluster.server https://192.0.2.1:6443: not node1"},
		{name: "server with a path", server: api.URL + "/x?y", want: "want https://HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			server, pk := api.URL, p
			if tc.server != "" {
				server = tc.server
			}
			if tc.pk != nil {
				pk = tc.pk
			}
			n.serveFile(t, kubeconfig(server, pk, tc.cluster, tc.user))
			saved := false
			_, err := connect(t, n.x, rec, func(_, _ []byte) { saved = true })
			if err == nil || !strings.Contains(err.Error(), "01/node1: "+kube.AdminConf+" refused: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want 01/node1: %s refused: ...%s", err, kube.AdminConf, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if saved {
				t.Error("the refused file was handed to the state")
			}
		})
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the exec plugin ran on this machine: %s exists (%v)", marker, err)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("the proxy the test owns got %d connections", n)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the API server was asked %d times with a refused file", n)
	}

	// Two users: which one counts would be the file's choice.
	t.Run("two users", func(t *testing.T) {
		n := newNode(t)
		kc := kubeconfig(api.URL, p, "", "")
		kc = strings.Replace(kc, "users:\n", "users:\n- name: other\n  user: {client-certificate-data: eA==}\n", 1)
		n.serveFile(t, kc)
		if _, err := connect(t, n.x, rec, nil); err == nil || !strings.Contains(err.Error(), "users: 2 entries") {
			t.Fatalf("err = %v", err)
		}
	})
}

// The same file with nothing hostile in it works through the SSH tunnel,
// verified against the recorded CA, with HTTPS_PROXY set to a listener
// that must see nothing; what is kept is labctl's own kubeconfig. A
// hostile kubeconfig left in the state by an earlier labctl is not used.
func TestAdminConfAccepted(t *testing.T) {
	p := newPKI(t)
	api, hits := apiServer(t, p)
	proxyURL, proxied := proxy(t)
	t.Setenv("HTTPS_PROXY", proxyURL)
	t.Setenv("https_proxy", proxyURL)
	marker := filepath.Join(t.TempDir(), "PWNED")
	n := newNode(t)
	n.serveFile(t, kubeconfig(api.URL, p, "", ""))
	hostileCached := kubeconfig(api.URL, p, "", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: [-c, 'id > "+marker+"']}")
	rec := kube.Recorded{CA: p.caPEM, Kubeconfig: []byte(hostileCached), Hosts: []string{"localhost", "127.0.0.1", "::1"}}
	var kept []byte
	cl, err := connect(t, n.x, rec, func(kc, ca []byte) { kept = kc })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Typed.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if hits.Load() == 0 || proxied.Load() != 0 {
		t.Errorf("API server hits %d, proxy connections %d", hits.Load(), proxied.Load())
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the cached kubeconfig's exec plugin ran: %v", err)
	}
	a, err := kube.ParseAdmin(kept)
	if err != nil || a.Server != api.URL || string(a.CA) != string(p.caPEM) || strings.Contains(string(kept), "exec") {
		t.Fatalf("kept %s (%v)", kept, err)
	}
	// The key stays a secret the logs redact.
	st := &lab.State{Clusters: []lab.Cluster{{Index: 1, Kubeconfig: string(kept)}}}
	if !slices.Contains(st.Secrets(), base64.StdEncoding.EncodeToString(p.keyPEM)) {
		t.Error("the kept client key is not among the state's secrets")
	}

	// An API server with a certificate of another CA (the node's file
	// still names the recorded one): the TLS handshake fails.
	other := newPKI(t)
	api2, hits2 := apiServer(t, other)
	n.serveFile(t, kubeconfig(api2.URL, p, "", ""))
	cl, err = connect(t, n.x, kube.Recorded{CA: p.caPEM, Hosts: rec.Hosts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Typed.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") || hits2.Load() != 0 {
		t.Fatalf("an API server of another CA was trusted: %v (hits %d)", err, hits2.Load())
	}
}

// Without a recorded CA, labctl does not take the node's word for it.
func TestNoRecordedCA(t *testing.T) {
	p := newPKI(t)
	api, _ := apiServer(t, p)
	n := newNode(t)
	n.serveFile(t, kubeconfig(api.URL, p, "", ""))
	_, err := connect(t, n.x, kube.Recorded{Hosts: []string{"127.0.0.1"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "01/node1: labctl recorded no cluster CA") {
		t.Fatalf("err = %v", err)
	}
}
