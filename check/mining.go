package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/labctl/labctl/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxJSON bounds what mining reads from webui (the attendee runs it).
const maxJSON = 64 << 10

// Hashes is what DockerCoins' webui answers on /json.
type Hashes struct {
	Hashes float64 `json:"hashes"`
	Now    float64 `json:"now"`
}

// ReadHashes asks the webui service in ns for its counters through the
// API server's service proxy.
func ReadHashes(ctx context.Context, c kube.Typed, ns string) (Hashes, error) {
	var h Hashes
	rc, err := c.CoreV1().Services(ns).ProxyGet("http", "webui", "80", "json", nil).Stream(ctx)
	if err != nil {
		return h, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, maxJSON)).Decode(&h); err != nil {
		return h, fmt.Errorf("webui /json: %v", err)
	}
	return h, nil
}

func mining(ctx context.Context, env Env, k Check) (bool, string, error) {
	if _, err := env.Typed.CoreV1().Services(k.Namespace).Get(ctx, "webui", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return false, "service webui: not found", nil
	}
	h, err := ReadHashes(ctx, env.Typed, k.Namespace)
	if err != nil {
		return false, "", fmt.Errorf("webui: %w", err)
	}
	if h.Hashes <= 0 {
		return false, "webui: 0 hashes mined", nil
	}
	return true, fmt.Sprintf("webui: %.0f hashes mined", h.Hashes), nil
}
