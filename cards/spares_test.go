package cards

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/golden"
)

// sparesDeck is a class of 2 attendees and 1 spare after `labctl swap 1`:
// attendee 1 is on cluster 3, cluster 1 is a spare that needs a reset.
func sparesDeck(t *testing.T) *Deck {
	t.Helper()
	s := testState(3, 2)
	s.Seat(2, 1)
	if _, err := s.Swap(1, 3, "attendee 01's until labctl swap at 2026-12-08T10:00:00Z"); err != nil {
		t.Fatal(err)
	}
	l := testLab(t, labYAML(`spares: 1
cards:
  event: "K8s 101"
  url: https://slides.example/k8s/
  qr: attendee
  qrURL: "https://lab.example/c/{{.Cluster}}"
`))
	d, err := Build(l, s, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// After a swap the attendee's card, in every format, is the spare's
// cluster with its node1 and password; the spare's card says it is one.
func TestSparesCards(t *testing.T) {
	d := sparesDeck(t)
	if len(d.Cards) != 3 {
		t.Fatalf("%d cards, want 3", len(d.Cards))
	}
	first, second, spare := d.Cards[0], d.Cards[1], d.Cards[2]
	if first.Attendee != 1 || first.Cluster != 3 || first.Node1 != "203.0.113.105" || first.Password != testPassword(3) || first.Spare {
		t.Errorf("attendee 1's card: %+v; want cluster 3's node1 and password", first)
	}
	if first.QRURL != "https://lab.example/c/01" {
		t.Errorf("attendee 1's page is %q, want the attendee's, not the cluster's", first.QRURL)
	}
	if second.Attendee != 2 || second.Cluster != 2 {
		t.Errorf("attendee 2's card: %+v", second)
	}
	if !spare.Spare || spare.Attendee != 0 || spare.Cluster != 1 || spare.NeedsReset == "" || spare.QRURL != "" {
		t.Errorf("spare card: %+v", spare)
	}

	text := string(d.PlainText())
	for _, want := range []string{
		"Attendee 01 · cluster 03 — K8s 101\nLogin: k8s\nPassword: " + testPassword(3) + "\nConnect: ssh k8s@203.0.113.105\n",
		"Spare · cluster 01 — K8s 101\n(needs a reset before use: attendee 01's until labctl swap",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text cards lack %q:\n%s", want, text)
		}
	}

	csv, err := d.CSV()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if !strings.HasPrefix(lines[1], ",3,k8s,"+testPassword(3)+",203.0.113.105,") || !strings.HasSuffix(lines[1], ",1") || !strings.HasSuffix(lines[3], ",spare") {
		t.Errorf("csv:\n%s", csv)
	}

	d.HideSecrets = false
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Clusters []Card `json:"clusters"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if c := back.Clusters[0]; c.Attendee != 1 || c.Cluster != 3 || c.Node1 != "203.0.113.105" || c.Password != testPassword(3) {
		t.Errorf("json card of attendee 1: %+v", c)
	}
	if c := back.Clusters[2]; !c.Spare || c.Attendee != 0 {
		t.Errorf("json spare card: %+v", c)
	}

	html, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`class="card front spare" data-cluster="1" data-side="front"`,
		`data-cluster="3" data-attendee="1" data-side="front"`,
		`<small>Attendee</small><b>01</b><small class="behind">Cluster 03</small>`,
		`<small>Spare · Cluster</small><b>01</b>`,
		testPassword(3),
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	// The card of attendee 1 comes first on the sheet, the spare last.
	h := string(html)
	if strings.Index(h, `data-attendee="1"`) > strings.Index(h, `data-attendee="2"`) || strings.Index(h, `data-attendee="2"`) > strings.Index(h, `front spare`) {
		t.Error("html cards not in attendee order, spares last")
	}
}

func TestGoldenSpares(t *testing.T) {
	d := sparesDeck(t)
	for _, tc := range []struct {
		file   string
		render func() ([]byte, error)
	}{
		{"spares.csv.golden", d.CSV},
		{"spares.txt.golden", func() ([]byte, error) { return d.PlainText(), nil }},
	} {
		got, err := tc.render()
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, tc.file, string(got))
	}
}
