package cards

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	stdhtml "html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/internal/testpki"
	"github.com/labctl/labctl/lab"
)

// goldenDeck is a small class with everything that shows in the text
// formats: a non-standard SSH port, per-attendee QR URLs, reworded labels.
func goldenDeck(t *testing.T) *Deck {
	t.Helper()
	s := testState(3, 3)
	s.Clusters[1].Nodes[0].Port = 2222
	// The state's order is not the cards' order.
	s.Clusters[0], s.Clusters[2] = s.Clusters[2], s.Clusters[0]
	l := testLab(t, labYAML(`cards:
  event: "K8s 101"
  url: https://slides.example/k8s/
  qr: attendee
  qrURL: "https://lab.example/c/{{.Cluster}}"
  text: {Password: "Mot de passe", connect: "SSH"}
`))
	d, err := Build(l, s, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGolden(t *testing.T) {
	d := goldenDeck(t)
	for _, tc := range []struct {
		file   string
		render func() ([]byte, error)
	}{
		{"cards.csv.golden", d.CSV},
		{"cards.json.golden", d.JSON},
		{"cards.txt.golden", func() ([]byte, error) { return d.PlainText(), nil }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.render()
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.file, string(got))
		})
	}
}

func TestCSVInitialsFirst(t *testing.T) {
	out, err := goldenDeck(t).CSV()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3 rows", len(lines))
	}
	if !strings.HasPrefix(lines[0], "initials,cluster,") {
		t.Errorf("header %q does not start with initials", lines[0])
	}
	if !strings.HasPrefix(lines[1], ",1,k8s,"+testPassword(1)+",") {
		t.Errorf("first row %q is not cluster 1 with an empty initials column", lines[1])
	}
}

func TestBuildCard(t *testing.T) {
	d := goldenDeck(t)
	if len(d.Cards) != 3 || d.Cards[0].Cluster != 1 || d.Cards[2].Cluster != 3 {
		t.Fatalf("cards not one per cluster in order: %+v", d.Cards)
	}
	c := d.Cards[1]
	if c.SSH != "ssh -p 2222 k8s@203.0.113.104" {
		t.Errorf("ssh command %q", c.SSH)
	}
	if c.QRURL != "https://lab.example/c/02" {
		t.Errorf("QR URL %q", c.QRURL)
	}
	if d.Cards[0].SSH != "ssh k8s@203.0.113.101" {
		t.Errorf("ssh command %q", d.Cards[0].SSH)
	}
	if d.Text["password"] != "Mot de passe" || d.Text["connect"] != "SSH" || d.Text["login"] != "Login" {
		t.Errorf("text overrides not applied case-insensitively: %v", d.Text)
	}
	if d.Event != "K8s 101" {
		t.Errorf("event %q", d.Event)
	}
}

func TestEventDefaultsToLabName(t *testing.T) {
	d, err := Build(testLab(t, labYAML("")), testState(1, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Event != "k8s-101" || d.Cards[0].QRURL != "http://203.0.113.101:1080/" || d.Cards[0].QRURL != d.Cards[0].Terminal {
		t.Errorf("event %q, QR %q, terminal %q; want the web terminal's QR by default", d.Event, d.Cards[0].QRURL, d.Cards[0].Terminal)
	}
}

// TestWebTermURL: https with a certificate, another port, and nothing
// when the lab has no web terminal.
func TestWebTermURL(t *testing.T) {
	dir := t.TempDir()
	cert, key := testCert(t, dir)
	d, err := Build(testLab(t, labYAML(fmt.Sprintf("webterm: {port: 8443, tls: {cert: %s, key: %s}}", cert, key))), testState(2, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Cards[1].Terminal; got != "https://203.0.113.102:8443/" || d.Cards[1].QRURL != got {
		t.Errorf("terminal %q, QR %q", got, d.Cards[1].QRURL)
	}
	d, err = Build(testLab(t, labYAML("webterm: {enabled: false}")), testState(1, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Cards[0].Terminal != "" || d.Cards[0].QRURL != "" || strings.Contains(string(d.PlainText()), ":1080") {
		t.Errorf("web terminal off, yet the card has %q / %q", d.Cards[0].Terminal, d.Cards[0].QRURL)
	}
}

func testCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	leaf := testpki.SelfSigned(t, &x509.Certificate{Subject: pkix.Name{CommonName: "*.class.example"}, DNSNames: []string{"*.class.example"}})
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cert, leaf.CertPEM, 0o644)
	os.WriteFile(key, leaf.KeyPEM, 0o600)
	return cert, key
}

func TestUnknownTextKey(t *testing.T) {
	_, err := Build(testLab(t, labYAML("cards: {text: {pasword: x}}")), testState(1, 1), "")
	if err == nil || !strings.Contains(err.Error(), `"pasword"`) {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestNotReady(t *testing.T) {
	l := testLab(t, labYAML(""))
	for name, s := range map[string]*lab.State{
		"no clusters": {Version: lab.StateVersion},
		"no password": func() *lab.State { s := testState(2, 2); s.Clusters[1].Login.Password = ""; return s }(),
		"no address":  func() *lab.State { s := testState(2, 2); s.Clusters[0].Nodes[1].PublicAddress = ""; return s }(),
		"no nodes":    func() *lab.State { s := testState(2, 2); s.Clusters[0].Nodes = nil; return s }(),
	} {
		if _, err := Build(l, s, ""); !errors.Is(err, ErrNotReady) {
			t.Errorf("%s: want ErrNotReady, got %v", name, err)
		}
	}
}

func TestHTMLContent(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Build(testLab(t, labYAML("cards: {logo: logo.svg, qr: slides}")), testState(12, 2), dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	s := stdhtml.UnescapeString(string(html)) // html/template writes "+" as &#43;
	if n := strings.Count(s, `src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCI`); n != 12 {
		t.Errorf("logo data URI appears %d times, want once per card (12)", n)
	}
	want, err := qrURI("https://container.training/")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(s, `src="`+want+`"`); n != 12 {
		t.Errorf("slides QR code appears %d times, want 12", n)
	}
	if n := strings.Count(s, `<section class="sheet`); n != 2 {
		t.Errorf("%d sheets for 12 cards, want 2", n)
	}
	if !strings.Contains(s, "@page { size: letter portrait; margin: 0; }") {
		t.Error("no @page rule for Letter")
	}
	if strings.Contains(s, "ZgotmplZ") {
		t.Error("html/template rejected a value (ZgotmplZ in output)")
	}
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.tmpl"), []byte(`{{range .Pages}}{{range .Slots}}{{if .}}[{{.Number}} {{.Password}}]{{end}}{{end}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Build(testLab(t, labYAML("cards: {template: mine.tmpl}")), testState(2, 1), dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if want := "[01 " + testPassword(1) + "][02 " + testPassword(2) + "]"; string(html) != want {
		t.Errorf("override template gave %q, want %q", html, want)
	}
}

func TestLogoRejectsNonImage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), []byte("not an image at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(testLab(t, labYAML("cards: {logo: logo.png}")), testState(1, 1), dir)
	if err == nil || !strings.Contains(err.Error(), "cards.logo") {
		t.Fatalf("want a cards.logo error, got %v", err)
	}
}

func TestMirror(t *testing.T) {
	front := make([]*cardView, PerPage)
	for i := 0; i < 3; i++ {
		front[i] = &cardView{Card: Card{Cluster: i + 1}}
	}
	back := mirror(front)
	got := make([]int, len(back))
	for i, c := range back {
		if c != nil {
			got[i] = c.Cluster
		}
	}
	want := []int{2, 1, 0, 3, 0, 0, 0, 0, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("back slots %v, want %v", got, want)
		}
	}
}

func TestQRSVGMatchesBitmap(t *testing.T) {
	svg, err := qrSVG("https://lab.example/c/07")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 25 25"`) {
		t.Errorf("a version-2 QR code should be 25 modules wide: %.80s", svg)
	}
	other, _ := qrSVG("https://lab.example/c/08")
	if other == svg {
		t.Error("two URLs gave the same QR code")
	}
}

func TestWriteStdout(t *testing.T) {
	d := goldenDeck(t)
	var out bytes.Buffer
	paths, err := d.Write(context.Background(), []string{"text"}, "-", &out)
	if err != nil || len(paths) != 0 {
		t.Fatalf("paths %v, err %v", paths, err)
	}
	if !bytes.Equal(out.Bytes(), d.PlainText()) {
		t.Error("stdout is not the text format")
	}
	if _, err := d.Write(context.Background(), []string{"pdf"}, "-", &out); err == nil {
		t.Error("a PDF on stdout should be refused")
	}
	if _, err := ParseFormats("html,docx"); err == nil || !strings.Contains(err.Error(), "docx") {
		t.Errorf("want an error naming docx, got %v", err)
	}
}

func TestFindChromiumMissing(t *testing.T) {
	saved := chromiumPaths
	t.Cleanup(func() { chromiumPaths = saved })
	chromiumPaths = nil
	t.Setenv("PATH", t.TempDir())
	t.Setenv("LABCTL_CHROMIUM", "")
	_, err := FindChromium()
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("want ErrNoChromium naming the package, got %v", err)
	}
	t.Setenv("LABCTL_CHROMIUM", filepath.Join(t.TempDir(), "nope"))
	if _, err := FindChromium(); err == nil || !strings.Contains(err.Error(), "LABCTL_CHROMIUM") {
		t.Errorf("a wrong LABCTL_CHROMIUM should be named, got %v", err)
	}
}
