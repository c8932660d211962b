package board

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/labctl/labctl/cards"
)

func needChromium(t *testing.T) string {
	t.Helper()
	path, err := cards.FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs Chromium for the board's page test: %v", err)
		}
		t.Skipf("no Chromium: %v", err)
	}
	return path
}

type cellView struct {
	Cluster string
	Cells   []string
	Done    string
	Error   string
}

// gridJS reads the grid as the instructor sees it.
const gridJS = `Array.from(document.querySelectorAll("#grid tbody tr[data-cluster]")).map(tr => ({
  Cluster: tr.dataset.cluster,
  Cells: Array.from(tr.querySelectorAll("td.check")).map(td => td.className.replace("check ", "") + ":" + td.textContent),
  Done: tr.querySelector('[data-col="done"]').textContent,
  Error: document.querySelector('tr[data-note="' + tr.dataset.cluster + '"] td').textContent,
}))`

// The page in headless Chromium: the grid the checks saw, a change on a
// cluster shown without a reload, a hanging cluster marked while the
// other keeps updating, hostile text kept as text under the CSP.
func TestBoardInBrowser(t *testing.T) {
	path := needChromium(t)
	f := newFakeLab(2, map[int][]runtime.Object{1: {deploy("pingpong", 8)}, 2: {deploy("pingpong", 1)}})
	b := f.board(course(t), Options{Interval: 500 * time.Millisecond, Timeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go b.Run(ctx)
	srv := httptest.NewServer(b.Handler(f.state.Secrets()))
	defer srv.Close()
	waitFor(t, "first refresh", 5*time.Second, func() bool { v, _, _ := b.Snapshot(); return v[0].Error == "" && v[1].Error == "" })

	tab, stop, err := cards.Browser(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	read := func() []cellView {
		t.Helper()
		grid, err := chromedp.Run(tab, chromedp.Evaluate[[]cellView](gridJS))
		if err != nil {
			t.Fatal(err)
		}
		return grid
	}
	js := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1300, 500), chromedp.Navigate(srv.URL+"/?chapter=scaling"),
		chromedp.WaitVisible(chromedp.CSS(`#conn.live`))); err != nil {
		t.Fatal(err)
	}
	g := read()
	if len(g) != 2 || g[0].Cells[0] != "ok:ok" || g[0].Done != "yes" || g[1].Cells[0] != "fail:FAIL" || g[1].Done != "no" {
		t.Fatalf("grid %+v", g)
	}
	if title := js(`document.querySelector('tr[data-cluster="2"] td.check a').title`); title != "deployment pingpong: 1 ready replica, want 8" {
		t.Errorf("cell title %q", title)
	}
	shot(t, tab, "board.png")

	// Attendee 2 scales pingpong: the open page shows it without a reload.
	js(`window.notReloaded = "yes"`)
	d, _ := f.typed[2].AppsV1().Deployments("default").Get(ctx, "pingpong", metav1.GetOptions{})
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 8}
	f.typed[2].AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	start := time.Now()
	waitFor(t, "cluster 2's scaling on the page", 15*time.Second, func() bool { g := read(); return g[1].Cells[0] == "ok:ok" && g[1].Done == "yes" })
	t.Logf("attendee 2's change on the page after %s", time.Since(start).Round(time.Millisecond))
	if js(`String(window.notReloaded)`) != "yes" {
		t.Error("the page was reloaded")
	}
	if finished := js(`document.getElementById("finished").textContent`); finished != "2" {
		t.Errorf("finished %q", finished)
	}

	// Cluster 2 hangs (its sshd stopped): its row says so within the
	// timeout; cluster 1's keeps updating.
	f.hang[2].Store(true)
	waitFor(t, "cluster 2 marked", 6*time.Second, func() bool { return strings.HasPrefix(read()[1].Error, "timed out after 2s") })
	d, _ = f.typed[1].AppsV1().Deployments("default").Get(ctx, "pingpong", metav1.GetOptions{})
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 2}
	f.typed[1].AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	waitFor(t, "cluster 1 still updating", 5*time.Second, func() bool { return read()[0].Cells[0] == "fail:FAIL" })
	shot(t, tab, "board-cluster2-down.png")

	// The kubeconfig's hostile context name is text, not markup.
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/?chapter=namespaces"), chromedp.WaitVisible(chromedp.CSS(`#conn.live`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cluster 1's context cell", 5*time.Second, func() bool { return read()[0].Cells[0] == "fail:FAIL" })
	title, imgs, cell := js(`document.title`), js(`String(document.querySelectorAll("img").length)`),
		js(`document.querySelector('tr[data-cluster="1"] td.check a').title`)
	if title == "pwned" || imgs != "0" || !strings.Contains(cell, hostile) {
		t.Errorf("title %q, %s img elements, cell title %q", title, imgs, cell)
	}
}

func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("LABCTL_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
