package agent

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Logins that are never used again (a second browser, a lost cookie, the
// bench's 30 terminals an hour) must not pile up as sshd connections on
// the node: above MaxLogins the least recently used idle ones end.
func TestLoginsAboveTheCapEnd(t *testing.T) {
	sshd := startSSHD(t, user, password)
	ts, srv := newAgent(t, []ssh.PublicKey{sshd.hostKey}, sshd)
	srv.cfg.MaxLogins = 3
	grace := loginGrace
	loginGrace = 0
	t.Cleanup(func() { loginGrace = grace })
	var clients []*http.Client
	for i := 0; i < 5; i++ {
		c := client(t)
		if r, body := postLogin(c, ts.URL, user, password); r == nil || r.StatusCode != http.StatusOK {
			t.Fatalf("login %d: %v %q", i, r, body)
		}
		clients = append(clients, c)
	}
	if logins, _ := srv.Terminals(); logins != 3 {
		t.Errorf("logins held after 5 logins with a cap of 3: %d", logins)
	}
	waitFor(t, "sshd connections down to 3", func() bool { return sshd.connections() == 3 })
	for i, c := range clients {
		r, err := c.Get(ts.URL + "/whoami")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		want := http.StatusOK
		if i < 2 {
			want = http.StatusUnauthorized // the two oldest were ended
		}
		if r.StatusCode != want {
			t.Errorf("login %d: whoami %d, want %d", i, r.StatusCode, want)
		}
	}
	// Within the grace, a burst of logins is kept whole: the page of a
	// login made a moment ago may not have opened its terminal yet.
	loginGrace = time.Hour
	if r, _ := postLogin(client(t), ts.URL, user, password); r == nil || r.StatusCode != http.StatusOK {
		t.Fatalf("6th login: %v", r)
	}
	if logins, _ := srv.Terminals(); logins != 4 {
		t.Errorf("logins held after a 6th login within the grace: %d, want 4", logins)
	}
}

// A login idle past Idle with no terminal ends at the next login, even
// if its own cookie never comes back.
func TestIdleLoginsEndAtTheNextLogin(t *testing.T) {
	sshd := startSSHD(t, user, password)
	ts, srv := newAgent(t, []ssh.PublicKey{sshd.hostKey}, sshd)
	srv.cfg.Idle = 200 * time.Millisecond
	if r, _ := postLogin(client(t), ts.URL, user, password); r == nil || r.StatusCode != http.StatusOK {
		t.Fatalf("first login: %v", r)
	}
	time.Sleep(300 * time.Millisecond)
	if r, _ := postLogin(client(t), ts.URL, user, password); r == nil || r.StatusCode != http.StatusOK {
		t.Fatalf("second login: %v", r)
	}
	if logins, _ := srv.Terminals(); logins != 1 {
		t.Errorf("logins held: %d, want 1 (the idle one ended)", logins)
	}
	waitFor(t, "the idle login's sshd connection closed", func() bool { return sshd.connections() == 1 })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("not within 5s: %s", what)
}
