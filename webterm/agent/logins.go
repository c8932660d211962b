package agent

import (
	"sort"
	"time"
)

// DefaultMaxLogins is how many logins the agent holds at once when the
// config does not say. Each login keeps an SSH connection (an sshd
// process on the node): an attendee who logs in from a second browser,
// or whose browser lost its cookie, leaves the old one behind, and a page
// that never comes back never asks for it again.
const DefaultMaxLogins = 16

// loginGrace keeps a new login from being ended for being over the cap
// before its page had time to open a terminal (many logins at once, as
// when the whole room opens the card's link): the cap can be exceeded
// that long.
var loginGrace = time.Minute

// remember keeps a new login, then ends what a login's own requests would
// never end: logins idle past cfg.Idle with no terminal attached, and,
// above cfg.MaxLogins, the least recently used logins with no terminal
// attached that are older than loginGrace. A login with an open terminal is never ended here.
func (s *Server) remember(id string, l *login, now time.Time) {
	s.mu.Lock()
	s.logins[id] = l
	var idle []string
	for k, v := range s.logins {
		if v.open == 0 && k != id {
			idle = append(idle, k)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return s.logins[idle[i]].lastUse.Before(s.logins[idle[j]].lastUse) })
	var ended []*login
	for _, k := range idle {
		v := s.logins[k]
		age := now.Sub(v.lastUse)
		if age <= s.cfg.Idle && (len(s.logins) <= s.cfg.MaxLogins || age < loginGrace) {
			break
		}
		delete(s.logins, k)
		ended = append(ended, v)
	}
	s.mu.Unlock()
	for _, v := range ended {
		v.client.Close()
	}
}
