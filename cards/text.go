package cards

import (
	"fmt"
	"sort"
	"strings"
)

// Text is the wording of the cards, by key. The keys are documented in
// DefaultText; the lab file's cards.text overrides any of them.
type Text map[string]string

// DefaultText is the English wording. Keys are camelCase here, but the lab
// file may spell them in any case and with or without "_" or "-": viper
// lowercases map keys, so "backTitle", "backtitle" and "back_title" are one key.
var DefaultText = Text{
	"cluster":       "Cluster",
	"attendee":      "Attendee",
	"spare":         "Spare",
	"login":         "Login",
	"password":      "Password",
	"connect":       "Connect",
	"nodes":         "Nodes",
	"slides":        "Slides",
	"qrSlides":      "Slides",
	"qrAttendee":    "Your page",
	"terminal":      "Browser",
	"qrTerminal":    "Web terminal",
	"backTitle":     "Your Kubernetes cluster",
	"backBody":      "Connect to node1 with the command on the front and type your password when asked. From node1, the other nodes answer by name: ssh node2.",
	"backNote":      "This cluster is yours for the class and is deleted afterwards. Keep the password to yourself.",
	"documentTitle": "Access cards",
}

// normKey folds the spellings of a key together.
func normKey(k string) string {
	k = strings.ToLower(k)
	k = strings.ReplaceAll(k, "_", "")
	return strings.ReplaceAll(k, "-", "")
}

// NewText returns the defaults with overrides applied. An unknown key is an
// error naming it, so a typo in the lab file does not silently do nothing.
func NewText(overrides map[string]string) (Text, error) {
	byNorm := make(map[string]string, len(DefaultText))
	t := make(Text, len(DefaultText))
	for k, v := range DefaultText {
		byNorm[normKey(k)] = k
		t[k] = v
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		canon, ok := byNorm[normKey(k)]
		if !ok {
			return nil, fmt.Errorf("cards.text: unknown key %q (known: %s)", k, strings.Join(textKeys(), ", "))
		}
		t[canon] = overrides[k]
	}
	return t, nil
}

func textKeys() []string {
	keys := make([]string, 0, len(DefaultText))
	for k := range DefaultText {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
