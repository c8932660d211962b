package e2e

import (
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/labctl/labctl/internal/browsertest"
)

// webtermChapter is the attendee's path without an SSH client: the card's
// URL (and its QR code), a browser, the card's password, a shell on node1
// that survives a reload; run on TestCourse's lab.
func webtermChapter(t *testing.T, l *testLab) {
	dir := t.TempDir()
	r := labctl(t, l, "", "cards", "--format", "json,pdf,text,csv", "--show-secrets", "-o", dir)
	if r.code != 0 {
		t.Fatalf("cards: exit %d: %s", r.code, r.stderr)
	}
	var deck struct {
		Clusters []struct{ Login, Password, Node1, Terminal string } `json:"clusters"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "cards.json"))
	if err != nil || json.Unmarshal(data, &deck) != nil || len(deck.Clusters) != 1 {
		t.Fatalf("cards.json: %v %s", err, data)
	}
	card := deck.Clusters[0]
	if card.Terminal != "http://"+card.Node1+":1080/" {
		t.Fatalf("the card's web terminal is %q (node1 %s)", card.Terminal, card.Node1)
	}
	for _, f := range []string{"cards.txt", "cards.csv"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !strings.Contains(string(b), card.Terminal) {
			t.Errorf("%s does not show %s", f, card.Terminal)
		}
	}
	if got := qrOfPDF(t, filepath.Join(dir, "cards.pdf")); got != card.Terminal {
		t.Errorf("the PDF card's QR code says %q, want %q", got, card.Terminal)
	}

	t.Run("the agent runs as its unprivileged user, without capabilities", func(t *testing.T) {
		out, code := onNode1(t, l, `pid=$(systemctl show -p MainPID --value labctl-webterm); `+
			`echo user=$(stat -c %U /proc/$pid) uid=$(id -u labctl-webterm) $(grep CapEff /proc/$pid/status | tr -d '\t')`)
		if code != 0 || !regexp.MustCompile(`user=labctl-webterm uid=[1-9][0-9]* CapEff:0+\b`).MatchString(out) {
			t.Errorf("agent process: exit %d %q", code, out)
		}
	})

	ctx, stop := browsertest.Chromium(t, 1200, 800, 5*time.Minute)
	defer stop()
	rows := func(n int) string {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#term-`+itoa(n)+` .xterm-rows")||{}).innerText||""`))
		return text
	}
	waitRows := func(n int, re string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !regexp.MustCompile(re).MatchString(rows(n)) {
			if time.Now().After(deadline) {
				t.Fatalf("terminal %d never showed %s; it shows:\n%s", n, re, rows(n))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	typeIn := func(n int, keys string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#term-"+itoa(n)+" .xterm-rows"))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, browsertest.TypeText(keys)); err != nil {
			t.Fatalf("typing in terminal %d: %v", n, err)
		}
	}
	login := func(password string) string {
		t.Helper()
		for _, a := range []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SetValue(chromedp.CSS("#user"), card.Login), chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#go"))} {
			if _, err := chromedp.Run(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		// The answer comes once sshd has decided (a wrong password costs
		// PAM's failure delay): wait for the button to come back.
		deadline := time.Now().Add(20 * time.Second)
		for {
			busy, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("go").disabled`))
			if !busy || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("error").textContent`))
		return msg
	}
	if _, err := chromedp.Run(ctx, chromedp.Navigate(card.Terminal)); err != nil {
		t.Fatalf("open %s: %v", card.Terminal, err)
	}
	if msg := login(card.Password + "x"); msg != "login or password incorrect" {
		t.Errorf("a wrong password: the page says %q", msg)
	}
	if msg := login(card.Password); msg != "" {
		t.Fatalf("the card's password: the page says %q", msg)
	}
	waitRows(1, `\$ $|\$\s*$|k8s@node1`, 30*time.Second)
	typeIn(1, "kubectl get nodes\r")
	waitRows(1, `node1\s+Ready`, 30*time.Second)
	typeIn(1, "kubectl get pods -w\r")

	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS("#add"))); err != nil {
		t.Fatal(err)
	}
	waitRows(2, `k8s@node1|\$\s*$`, 30*time.Second)
	typeIn(2, "echo second-$((40+2))\r")
	waitRows(2, `second-42`, 20*time.Second)
	if out, _ := statusJSON(t, l); !strings.Contains(out, `"web": 2`) {
		t.Errorf("status --json does not count the two web terminals: %s", out)
	}

	if _, err := chromedp.Run(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitRows(1, `kubectl get pods -w`, 30*time.Second)
	if out, code := onNode1(t, l, `pgrep -u k8s -f "kubectl get pods -w" >/dev/null && echo still-watching`); code != 0 || !strings.Contains(out, "still-watching") {
		t.Errorf("after the reload, kubectl get pods -w is not running: %q", out)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		art := filepath.Join("..", ".artifacts")
		os.MkdirAll(art, 0o755)
		os.WriteFile(filepath.Join(art, "webterm.png"), shot, 0o644)
		t.Logf("screenshot: %s", filepath.Join(art, "webterm.png"))
	}

	t.Run("repeated wrong passwords are slowed down", func(t *testing.T) {
		var codes []int
		for i := 0; i < 5; i++ {
			resp, err := http.PostForm(card.Terminal+"login", url.Values{"user": {card.Login}, "password": {"wrong-" + itoa(i)}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		if codes[0] != 401 || codes[4] != 429 {
			t.Errorf("five wrong passwords answered %v; want 401 first, 429 by the fifth", codes)
		}
	})
}

func onNode1(t *testing.T, l *testLab, script string) (string, int) {
	t.Helper()
	r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--", script)
	return strings.ReplaceAll(r.stdout, "[01/node1] ", ""), r.code
}

func statusJSON(t *testing.T, l *testLab) (string, int) {
	r := labctl(t, l, "", "status", "--json")
	return r.stdout, r.code
}

func itoa(n int) string { return strconv.Itoa(n) }

// qrOfPDF renders the PDF's first page (poppler's pdftoppm) and decodes
// the QR code on it.
func qrOfPDF(t *testing.T, pdf string) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command("pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code found on %s: %v", pdf, err)
	}
	return res.GetText()
}

// webtermPortTaken: another program on the port asked for refuses the
// step, naming the host, before anything is changed; the terminal keeps
// serving on its old port.
func webtermPortTaken(t *testing.T, l *testLab) {
	if out, code := onNode1(t, l, "systemd-run --quiet --unit labctl-e2e-squat nc -lk 1081 && sleep 1 && echo squatting"); code != 0 || !strings.Contains(out, "squatting") {
		t.Fatalf("could not take port 1081 on node1: %q", out)
	}
	defer onNode1(t, l, "systemctl stop labctl-e2e-squat")
	orig, err := os.ReadFile(l.file)
	if err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(l.file, orig, 0o600)
	if err := os.WriteFile(l.file, append(append([]byte{}, orig...), "webterm: {port: 1081}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := labctl(t, l, "", "up", "--only", "nodeprep")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "port 1081 is already taken on node1") {
		t.Errorf("up with the port taken: exit %d, want 1 and the host named", r.code)
	}
	out, _ := onNode1(t, l, "systemctl is-active labctl-webterm; grep -o -- '-listen :[0-9]* ' /etc/systemd/system/labctl-webterm.service")
	if !strings.Contains(out, "active") || !strings.Contains(out, "-listen :1080 ") {
		t.Errorf("after the refused change, the terminal is not on 1080 any more: %q", out)
	}
}

// TestWebTermBadInput: lab files the web terminal refuses, before any
// node is touched: a wrong type, a port out of range, a certificate that
// is not its key's.
func TestWebTermBadInput(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	certA, keyA := writeCert(t, dir, "a")
	certB, _ := writeCert(t, dir, "b")
	_ = keyA
	for _, c := range []struct{ body, want string }{
		{"webterm: {enabled: sure}\n", "webterm.enabled"},
		{"webterm: {port: 70000}\n", "webterm.port: 70000 is out of range"},
		{"webterm: {port: http}\n", "webterm.port"},
		{"webterm: {tls: {cert: " + certB + ", key: " + keyA + "}}\n", "webterm.tls:"},
		{"webterm: {tls: {cert: " + certA + "}}\n", "webterm.tls: give both"},
	} {
		l := &testLab{name: "e2e-webterm-bad", file: filepath.Join(dir, "lab.yaml"), state: filepath.Join(dir, "state")}
		os.WriteFile(l.file, []byte("name: e2e-webterm-bad\n"+c.body), 0o600)
		r := labctl(t, l, "", "up", "--dry-run")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line naming %s", strings.TrimSpace(c.body), r.code, r.stderr, c.want)
		}
	}
}

func writeCert(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	cert, key := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
		"-subj", "/CN="+name+".class.example", "-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v: %s", err, out)
	}
	return cert, key
}
