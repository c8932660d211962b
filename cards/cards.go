// Package cards turns a lab's state into access cards: one per attendee
// cluster, with the login, password, node addresses and URLs the attendee
// needs. It renders them as a printable HTML sheet, a PDF (through
// Chromium), a CSV claim sheet, JSON for scripts and text for a chat.
package cards

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/labctl/labctl/lab"
)

// spareOrder is above any lab's cluster count (it orders the spares after
// the attendees).
const spareOrder = 1 << 20

// ErrNotReady means the state does not yet know what a card needs (the
// addresses and the login of every cluster): provisioning has not run.
var ErrNotReady = errors.New("cards need each cluster's addresses and login")

// Deck is every card of a lab, with what is common to all of them.
type Deck struct {
	Event string `json:"event"`
	URL   string `json:"url"`
	Paper string `json:"-"`
	QR    string `json:"-"`
	Back  bool   `json:"-"`
	// Logo is the logo file's content as a data URI ("" without a logo).
	Logo  string `json:"-"`
	Text  Text   `json:"-"`
	Cards []Card `json:"clusters"`
	// Seated says the lab has spares (or had): each card names its
	// attendee and the cluster behind, and the spares' cards say so.
	// Without, attendee N is cluster N and the cards say "Cluster N".
	Seated bool `json:"-"`
	// HideSecrets leaves the passwords out of the JSON format (the one for
	// scripts); the printed formats are for attendees and keep them.
	HideSecrets bool `json:"-"`
	// template is the lab's own HTML template path ("" for the embedded one).
	template string
	// kubeconfigs are the attendees' kubeconfig files by name, written
	// next to the cards (kind labs: see UseKubeconfigs).
	kubeconfigs map[string][]byte
}

// Card is what one attendee receives.
type Card struct {
	// Attendee is who the card is for (0 on a spare's card).
	Attendee int  `json:"attendee,omitempty"`
	Cluster  int  `json:"cluster"`
	Spare    bool `json:"spare,omitempty"`
	// NeedsReset says why a spare must be reset before it is handed out.
	NeedsReset string `json:"needsReset,omitempty"`
	User       string `json:"login"`
	Password   string `json:"password,omitempty"`
	// Node1 is the address attendees connect to.
	Node1 string     `json:"node1"`
	SSH   string     `json:"ssh"`
	Nodes []NodeAddr `json:"nodes"`
	URL   string     `json:"url"`
	// Terminal is the attendee's web terminal on node1 ("" when the lab
	// has none).
	Terminal string `json:"terminal,omitempty"`
	// QRURL is what the card's QR code encodes ("" without one).
	QRURL string `json:"qr,omitempty"`
	// Kubeconfig is the file (next to the cards) the attendee connects
	// with, and Server its API server, when the cluster has no SSH login
	// (kind): SSH then shows the kubectl command instead.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Server     string `json:"server,omitempty"`
}

// NodeAddr is one node's public address.
type NodeAddr struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Number is the cluster number as printed: "03".
func (c Card) Number() string { return fmt.Sprintf("%02d", c.Cluster) }

// Seat is the attendee number as printed: "01" ("" on a spare's card).
func (c Card) Seat() string {
	if c.Attendee == 0 {
		return ""
	}
	return fmt.Sprintf("%02d", c.Attendee)
}

// Headline is the card's title in the deck's words: "Cluster 03" in a
// lab without spares, "Attendee 01 · cluster 03" or "Spare · cluster 02"
// in one with.
func (d *Deck) Headline(c Card) string {
	switch {
	case !d.Seated:
		return d.Text["cluster"] + " " + c.Number()
	case c.Spare:
		return d.Text["spare"] + " · " + strings.ToLower(d.Text["cluster"]) + " " + c.Number()
	}
	return d.Text["attendee"] + " " + c.Seat() + " · " + strings.ToLower(d.Text["cluster"]) + " " + c.Number()
}

// Check finds what would stop `labctl cards` in the lab file's cards
// section (an unknown text key, a missing or unreadable logo or template),
// so that `labctl up` can refuse it before the class is built.
func Check(l *lab.Lab, baseDir string) error {
	d, _, err := newDeck(l, baseDir)
	if err != nil {
		return err
	}
	_, err = d.loadTemplate()
	return err
}

// Build makes the deck from the lab and its state. baseDir resolves the
// lab file's relative paths (logo, template): the lab file's directory.
func Build(l *lab.Lab, s *lab.State, baseDir string) (*Deck, error) {
	d, qrTmpl, err := newDeck(l, baseDir)
	if err != nil {
		return nil, err
	}
	if len(s.Clusters) == 0 {
		return nil, fmt.Errorf("%w: the state has no clusters yet (run `labctl up`)", ErrNotReady)
	}
	// The attendees' cards in attendee order, then the spares'.
	d.Seated = s.Seated()
	clusters := append([]lab.Cluster(nil), s.Clusters...)
	key := func(c lab.Cluster) int {
		if a := s.AttendeeOf(c.Index); a > 0 {
			return a
		}
		return spareOrder + c.Index
	}
	sort.Slice(clusters, func(i, j int) bool { return key(clusters[i]) < key(clusters[j]) })
	for _, c := range clusters {
		card, err := newCard(c, d.URL)
		if err != nil {
			return nil, err
		}
		card.Attendee = s.AttendeeOf(c.Index)
		card.Spare = card.Attendee == 0
		if card.Spare {
			card.NeedsReset = c.NeedsReset
		}
		if l.WebTermEnabled() {
			card.Terminal = fmt.Sprintf("%s://%s/", l.WebTermScheme(), net.JoinHostPort(card.Node1, strconv.Itoa(l.WebTerm.Port)))
		}
		switch l.Cards.QR {
		case "":
			card.QRURL = card.Terminal // the attendee's own: one tap to a shell
		case "slides":
			card.QRURL = d.URL
		case "attendee":
			if card.Spare {
				break // its attendee, and their page, are not known yet
			}
			var b bytes.Buffer
			if err := qrTmpl.Execute(&b, struct{ Cluster string }{card.Seat()}); err != nil {
				return nil, fmt.Errorf("cards.qrURL: %w", err)
			}
			card.QRURL = b.String()
		}
		d.Cards = append(d.Cards, card)
	}
	return d, nil
}

// newDeck is the part of a deck that comes from the lab file alone, and
// the per-attendee QR URL template.
func newDeck(l *lab.Lab, baseDir string) (*Deck, *template.Template, error) {
	text, err := NewText(l.Cards.Text)
	if err != nil {
		return nil, nil, err
	}
	d := &Deck{
		Event: l.Cards.Event,
		URL:   l.Cards.URL,
		Paper: l.Cards.Paper,
		QR:    l.Cards.QR,
		Back:  l.Cards.Back,
		Text:  text,
	}
	if d.Event == "" {
		d.Event = l.Name
	}
	if d.QR == "" && l.WebTermEnabled() {
		d.QR = "terminal"
	}
	if l.Cards.Logo != "" {
		if d.Logo, err = logoURI(resolve(baseDir, l.Cards.Logo)); err != nil {
			return nil, nil, err
		}
	}
	if l.Cards.Template != "" {
		d.template = resolve(baseDir, l.Cards.Template)
	}
	var qrTmpl *template.Template
	if l.Cards.QR == "attendee" {
		if qrTmpl, err = template.New("qrURL").Option("missingkey=error").Parse(l.Cards.QRURL); err != nil {
			return nil, nil, fmt.Errorf("cards.qrURL: %w", err)
		}
	}
	return d, qrTmpl, nil
}

func newCard(c lab.Cluster, url string) (Card, error) {
	if c.Login.User == "" || c.Login.Password == "" {
		return Card{}, fmt.Errorf("%w: cluster %d has no login yet (run `labctl up`)", ErrNotReady, c.Index)
	}
	if len(c.Nodes) == 0 {
		return Card{}, fmt.Errorf("%w: cluster %d has no nodes yet (run `labctl up --only provision`)", ErrNotReady, c.Index)
	}
	card := Card{Cluster: c.Index, User: c.Login.User, Password: c.Login.Password, URL: url}
	for _, n := range c.Nodes {
		if n.PublicAddress == "" {
			return Card{}, fmt.Errorf("%w: %s has no address yet (run `labctl up --only provision`)", ErrNotReady, lab.Label(c.Index, n.Name))
		}
		card.Nodes = append(card.Nodes, NodeAddr{Name: n.Name, Address: n.PublicAddress})
	}
	first := c.Node("node1")
	if first == nil {
		first = &c.Nodes[0]
	}
	card.Node1 = first.PublicAddress
	card.SSH = sshCommand(c.Login.User, first.PublicAddress, first.Port)
	return card, nil
}

// sshCommand is what the attendee types. Only a non-standard port shows.
func sshCommand(user, addr string, port int) string {
	if port != 0 && port != 22 {
		return "ssh -p " + strconv.Itoa(port) + " " + user + "@" + addr
	}
	return "ssh " + user + "@" + addr
}

func resolve(base, p string) string {
	if home, err := os.UserHomeDir(); err == nil && strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// serverRE finds a kubeconfig's API server address.
var serverRE = regexp.MustCompile(`(?m)^\s*server:\s*(\S+)\s*$`)

// UseKubeconfigs gives each card the kubeconfig that path(cluster) holds,
// instead of SSH: the file is written next to the cards, and the card's
// connect line is the kubectl command that uses it.
func (d *Deck) UseKubeconfigs(path func(cluster int) string) error {
	d.kubeconfigs = map[string][]byte{}
	for i := range d.Cards {
		c := &d.Cards[i]
		data, err := os.ReadFile(path(c.Cluster))
		if err != nil {
			return fmt.Errorf("%w: cluster %d has no kubeconfig yet (run `labctl up`): %w", ErrNotReady, c.Cluster, err)
		}
		m := serverRE.FindSubmatch(data)
		if m == nil {
			return fmt.Errorf("cluster %d: %s names no server", c.Cluster, path(c.Cluster))
		}
		c.Kubeconfig = fmt.Sprintf("cluster-%s.kubeconfig", c.Number())
		c.Server = string(m[1])
		c.SSH = "kubectl --kubeconfig " + c.Kubeconfig + " get nodes"
		d.kubeconfigs[c.Kubeconfig] = data
	}
	return nil
}
