package metricsserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// KubeletPort is where kubelets serve (the node status port by default).
const KubeletPort = 10250

// ServingCerts approves the kubelet-serving CSRs of cluster's nodes that
// Match, and waits (at most wait) until every node's kubelet serves a
// certificate that the cluster CA signed for the node's address: what
// metrics-server checks on every scrape. A kubelet that was just
// (re)started asks a little later; new nodes ask on their first start.
// CSRs that do not match are left pending and named in the error.
func ServingCerts(ctx context.Context, cl *kube.Client, cluster int, nodes []lab.Node, wait time.Duration, logf func(string, ...any)) error {
	roots, err := clusterCA(cl)
	if err != nil {
		return err
	}
	dial := cl.Config.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	deadline := time.Now().Add(wait)
	refused := map[string]string{} // CSR name -> reason, logged once
	for {
		if err := approve(ctx, cl, fmt.Sprintf("cluster %02d", cluster), nodes, refused, logf); err != nil {
			return err
		}
		bad := map[string]error{}
		for _, n := range nodes {
			if err := checkKubelet(ctx, dial, roots, n); err != nil {
				bad[lab.Label(cluster, n.Name)] = err
			}
		}
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return waitError(cl.Name, bad, refused, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// approve approves the pending kubelet-serving CSRs that match a node.
func approve(ctx context.Context, cl *kube.Client, label string, nodes []lab.Node, refused map[string]string, logf func(string, ...any)) error {
	api := cl.Typed.CertificatesV1().CertificateSigningRequests()
	list, err := api.List(ctx, metav1.ListOptions{FieldSelector: "spec.signerName=" + certificatesv1.KubeletServingSignerName})
	if err != nil {
		return fmt.Errorf("%s: list kubelet-serving CSRs: %w", cl.Name, err)
	}
	for i := range list.Items {
		csr := &list.Items[i]
		if decided(csr) {
			continue
		}
		node, err := Match(csr, nodes)
		if err != nil {
			if _, seen := refused[csr.Name]; !seen {
				refused[csr.Name] = err.Error()
				logf("%s: %v (left pending)", label, err)
			}
			continue
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type:           certificatesv1.CertificateApproved,
			Status:         corev1.ConditionTrue,
			Reason:         "LabctlNodeMatch",
			Message:        "labctl: kubelet serving certificate for " + node + ", its name and addresses as labctl knows them",
			LastUpdateTime: metav1.Now(),
		})
		if _, err := api.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil {
			return fmt.Errorf("%s: approve CSR %s of %s: %w", cl.Name, csr.Name, node, err)
		}
		logf("%s: approved kubelet serving certificate %s for %s", label, csr.Name, node)
	}
	return nil
}

// checkKubelet verifies, from node1, the certificate n's kubelet serves
// on its private address: signed by the cluster CA, valid for the address.
func checkKubelet(ctx context.Context, dial kube.Dialer, roots *x509.CertPool, n lab.Node) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addr := net.JoinHostPort(n.PrivateAddress, strconv.Itoa(KubeletPort))
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{RootCAs: roots, ServerName: n.PrivateAddress, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("kubelet at %s: %w", addr, err)
	}
	return nil
}

// clusterCA is the CA in node1's admin.conf: the one kubeadm's controller
// manager signs kubelet serving certificates with.
func clusterCA(cl *kube.Client) (*x509.CertPool, error) {
	data := cl.Config.TLSClientConfig.CAData // the CA labctl recorded (kube.Connect)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: %s has no cluster CA certificate", cl.Name, kube.AdminConf)
	}
	return pool, nil
}

func waitError(cluster string, bad map[string]error, refused map[string]string, wait time.Duration) error {
	var names []string
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		errs = append(errs, fmt.Errorf("%s: no verified kubelet serving certificate after %s: %w", n, wait, bad[n]))
	}
	var reasons []string
	for _, r := range refused {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		errs = append(errs, errors.New("pending: "+strings.Join(reasons, "; ")))
	} else {
		// Kubelets ask only once the kubeadm phase set serverTLSBootstrap.
		errs = append(errs, errors.New("no kubelet-serving CSR is waiting: did `labctl up` run its kubeadm phase since metrics-server was added?"))
	}
	return fmt.Errorf("%s: %w", cluster, errors.Join(errs...))
}
