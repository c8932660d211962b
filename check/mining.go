package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/labctl/labctl/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxJSON bounds what mining reads from webui (the attendee runs it).
const maxJSON = 64 << 10

// Hashes is what DockerCoins' webui answers on /json: the counter as
// Redis returns it (a string, or null before anything was mined) and the
// time.
type Hashes struct {
	Hashes float64
	Now    float64
}

// ReadHashes asks the webui service in ns for its counters through the
// API server's service proxy.
func ReadHashes(ctx context.Context, c kube.Typed, ns string) (Hashes, error) {
	rc, err := c.CoreV1().Services(ns).ProxyGet("http", "webui", "80", "json", nil).Stream(ctx)
	if err != nil {
		return Hashes{}, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxJSON))
	if err != nil {
		return Hashes{}, fmt.Errorf("webui /json: %v", err)
	}
	return ParseHashes(body)
}

// ParseHashes reads webui's /json. The counter is a string (Redis's GET)
// or null; a number is taken too (a rewrite may send one).
func ParseHashes(body []byte) (Hashes, error) {
	var raw struct {
		Hashes json.RawMessage `json:"hashes"`
		Now    float64         `json:"now"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Hashes{}, fmt.Errorf("webui /json: %v", err)
	}
	h := Hashes{Now: raw.Now}
	v := strings.TrimSpace(string(raw.Hashes))
	if v == "" || v == "null" {
		return h, nil
	}
	if s, err := strconv.Unquote(v); err == nil {
		v = strings.TrimSpace(s)
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return h, fmt.Errorf("webui /json: hashes %.40q is not a count", v)
	}
	h.Hashes = n
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
