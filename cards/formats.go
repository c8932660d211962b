package cards

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// CSV is the claim sheet: one row per card, an empty initials column
// first so the instructor can note who took which card; the last column
// is the attendee the card is for ("spare" on a spare's card).
func (d *Deck) CSV() ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	rows := [][]string{{"initials", "cluster", "login", "password", "node1", "nodes", "terminal", "attendee"}}
	for _, c := range d.Cards {
		attendee := strconv.Itoa(c.Attendee)
		if c.Spare {
			attendee = "spare"
		}
		rows = append(rows, []string{"", strconv.Itoa(c.Cluster), c.User, c.Password, c.Node1, nodeList(c, "; "), c.Terminal, attendee})
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("cards csv: %w", err)
	}
	return b.Bytes(), nil
}

// JSON is the deck for scripts; without the passwords if HideSecrets.
func (d *Deck) JSON() ([]byte, error) {
	out := *d
	if d.HideSecrets {
		out.Cards = make([]Card, len(d.Cards))
		for i, c := range d.Cards {
			c.Password = ""
			out.Cards[i] = c
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cards json: %w", err)
	}
	return append(data, '\n'), nil
}

// PlainText is one block per cluster, to paste into a chat message.
func (d *Deck) PlainText() []byte {
	var b bytes.Buffer
	for i, c := range d.Cards {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s — %s\n", d.Headline(c), d.Event)
		if c.NeedsReset != "" {
			fmt.Fprintf(&b, "(needs a reset before use: %s)\n", c.NeedsReset)
		}
		fmt.Fprintf(&b, "%s: %s\n", d.Text["login"], c.User)
		fmt.Fprintf(&b, "%s: %s\n", d.Text["password"], c.Password)
		fmt.Fprintf(&b, "%s: %s\n", d.Text["connect"], c.SSH)
		if c.Terminal != "" {
			fmt.Fprintf(&b, "%s: %s\n", d.Text["qrTerminal"], c.Terminal)
		}
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "%s: %s\n", n.Name, n.Address)
		}
		if c.URL != "" {
			fmt.Fprintf(&b, "%s: %s\n", d.Text["slides"], c.URL)
		}
	}
	return b.Bytes()
}

func nodeList(c Card, sep string) string {
	parts := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		parts[i] = n.Name + ": " + n.Address
	}
	return strings.Join(parts, sep)
}
