package cointest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Get sends GET url and returns the response, its body read and closed; a
// request that fails fails the test.
func Get(t testing.TB, url string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, url, "")
}

// Post sends body to url as POST (application/octet-stream), like Get.
func Post(t testing.TB, url, body string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodPost, url, body)
}

func do(t testing.TB, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Banner checks what rng and hasher answer on GET /: "NAME running on
// <hostname>", the line the course shows to tell replicas apart.
func Banner(t testing.TB, base, name string) {
	t.Helper()
	hostname, _ := os.Hostname()
	if _, body := Get(t, base+"/"); body != name+" running on "+hostname+"\n" {
		t.Errorf("GET /: %q, want %q", body, name+" running on "+hostname+"\n")
	}
}
