package outbox_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// publishRun writes a published run (round 1, confirm_by as given) that
// placed the application with code, as the placement code does.
func (b *bundle) publishRun(t *testing.T, code string, confirmBy time.Time) int64 {
	return b.publishRound(t, 1, code, confirmBy)
}

// publishRound is publishRun for a round.
func (b *bundle) publishRound(t *testing.T, round int, code string, confirmBy time.Time) int64 {
	t.Helper()
	ctx := t.Context()
	var id int64
	if _, err := b.db.ExecContext(ctx, `INSERT INTO placement_seeds (level, school_year, seed, commitment, created_by, revealed_at)
VALUES ('lop1', 2027, 's', 'c', 'admin', now()) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	if err := b.db.QueryRowContext(ctx, `INSERT INTO placement_runs (level, school_year, round, mechanism, include, status, seed_commitment,
    instance, result, confirm_by, created_by, published_by, published_at)
VALUES ('lop1', 2027, $2, 'da', 'accepted', 'published', 'c', '{}', '{}', $1, 'admin', 'admin', now()) RETURNING id`, confirmBy, round).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.ExecContext(ctx, `INSERT INTO placement_assignments (run_id, application_id, pseudonym, school_code, via, lottery)
SELECT $1, id, 'p', 'TH-BADINH-01', 'choice', 'l' FROM applications WHERE tracking_code = $2`, id, code); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.ExecContext(ctx, `UPDATE applications SET status = 'placed', placed_run_id = $1 WHERE tracking_code = $2`, id, code); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestEnqueueOwed: a published result, a return for correction and a
// deadline within a day each owe one message, however often one looks.
func TestEnqueueOwed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	placed, returned, received, later := b.application(t, 11), b.application(t, 12), b.application(t, 13), b.application(t, 14)
	b.save(t, placed)
	b.save(t, returned)
	b.save(t, received)
	b.save(t, later)
	now := time.Now()
	b.publishRun(t, placed.TrackingCode, now.Add(12*time.Hour))
	b.publishRound(t, 2, later.TrackingCode, now.Add(72*time.Hour))
	if _, err := b.db.ExecContext(ctx, `UPDATE applications SET status = 'returned' WHERE tracking_code = $1`, returned.TrackingCode); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.ExecContext(ctx, `INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
SELECT id, 'returned', 'school-TH-BADINH-01', 'school', 'received', 'returned', 'Thiếu giấy khai sinh' FROM applications WHERE tracking_code = $1`, returned.TrackingCode); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{4, 0} {
		n, err := b.box.EnqueueOwed(ctx, now)
		if err != nil || n != want {
			t.Errorf("EnqueueOwed #%d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	want := map[string]string{
		placed.TrackingCode:   "confirm_deadline,result_published",
		returned.TrackingCode: "returned",
		later.TrackingCode:    "result_published",
	}
	rows, err := b.db.QueryContext(ctx, `SELECT tracking_code, string_agg(kind, ',' ORDER BY kind) FROM outbox GROUP BY tracking_code`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var c, k string
		rows.Scan(&c, &k)
		got[c] = k
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages = %v, want %v", got, want)
	}
	// A day later the second run's deadline is within a day too.
	if n, err := b.box.EnqueueOwed(ctx, now.Add(50*time.Hour)); err != nil || n != 1 {
		t.Errorf("EnqueueOwed two days on = %d, %v; want 1", n, err)
	}
	// The texts are composed, with the code and the result page.
	rec := &recorder{}
	d := outbox.NewDrainer(b.box, rec, outbox.DrainerConfig{ResultURL: "https://tuyensinh.example/ket-qua.html"})
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 5 || !strings.Contains(rec.last.Text, "?code=") || rec.last.Subject == "" {
		t.Errorf("sent %d, last %+v", len(rec.sent), rec.last)
	}
}

// smtpServer is a small SMTP server: it takes every message, and runs
// afterData (when set) once a message's data is in, before answering it;
// an afterData that returns false closes the connection unanswered, as a
// server that went away mid-transaction.
type smtpServer struct {
	ln        net.Listener
	mu        sync.Mutex
	accepted  []string // raw messages answered 250
	afterData func(n int) bool
	seen      int
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			fmt.Fprintf(c, "250-test\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), strings.HasPrefix(cmd, "RSET"), strings.HasPrefix(cmd, "NOOP"):
			fmt.Fprintf(c, "250 ok\r\n")
		case cmd == "DATA":
			fmt.Fprintf(c, "354 go on\r\n")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.seen++
			n, hook := s.seen, s.afterData
			s.mu.Unlock()
			if hook != nil && !hook(n) {
				return // gone without an answer: the message is not taken
			}
			s.mu.Lock()
			s.accepted = append(s.accepted, msg.String())
			s.mu.Unlock()
			fmt.Fprintf(c, "250 queued\r\n")
		case cmd == "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "502 not here\r\n")
		}
	}
}

// mailbox is what a mail store keeps of the accepted messages: one per
// Message-ID.
func (s *smtpServer) mailbox(t *testing.T) (accepted int, byID map[string]*mail.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byID = map[string]*mail.Message{}
	for _, raw := range s.accepted {
		m, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatalf("accepted message unreadable: %v\n%s", err, raw)
		}
		byID[m.Header.Get("Message-ID")] = m
	}
	return len(s.accepted), byID
}

// proxiedStore returns an outbox store on b's database through a proxy
// that the test can take down: the drainer using it "crashes" as far as
// the outbox can tell.
func proxiedStore(t *testing.T, b *bundle) (*outbox.Store, *testenv.Proxy) {
	t.Helper()
	var name string
	if err := b.db.GetContext(t.Context(), &name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testenv.WithDatabase(testenv.DatabaseURL(), name))
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr()
	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return outbox.NewStore(db), p
}

// TestSMTPOneMailAcrossCrash: one mail per message when the drainer
// "crashes" (its database goes away) in the middle of a send, and when it
// crashes after the server took the mail but before recording it: the
// second attempt carries the same Message-ID, so the mailbox holds one.
func TestSMTPOneMailAcrossCrash(t *testing.T) {
	t.Parallel()
	for _, afterTaken := range []bool{false, true} {
		t.Run(fmt.Sprintf("after taken %v", afterTaken), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := t.Context()
			a := b.application(t, 21)
			a.Guardian.Email = "hoa.tran@example.vn"
			b.save(t, a)
			b.publishRun(t, a.TrackingCode, time.Now().Add(48*time.Hour))
			if n, err := b.box.EnqueueOwed(ctx, time.Now()); err != nil || n != 1 {
				t.Fatalf("EnqueueOwed = %d, %v", n, err)
			}
			srv := newSMTPServer(t)
			crashed, proxy := proxiedStore(t, b)
			srv.afterData = func(n int) bool {
				if n == 1 {
					proxy.Down() // the first drainer loses its database mid-send
					return afterTaken
				}
				return true
			}
			sender := &outbox.SMTPSender{Addr: srv.ln.Addr().String(), From: "Tuyển sinh <tuyensinh@example.vn>"}
			cfg := outbox.DrainerConfig{SendTimeout: 300 * time.Millisecond, Lease: time.Second}
			d1 := outbox.NewDrainer(crashed, sender, cfg)
			if _, err := d1.Drain(ctx); err == nil {
				t.Fatal("the crashed drainer recorded its outcome")
			}
			// The lease runs out; another drainer takes the message.
			d2 := outbox.NewDrainer(b.box, sender, cfg)
			deadline := time.Now().Add(10 * time.Second)
			for b.count(t, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL`) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the message was never sent")
				}
				if _, err := d2.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			accepted, box := srv.mailbox(t)
			wantAccepted := map[bool]int{false: 1, true: 2}[afterTaken]
			if accepted != wantAccepted || len(box) != 1 {
				t.Fatalf("accepted %d, mailbox %d; want %d and 1", accepted, len(box), wantAccepted)
			}
			for id, m := range box {
				subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
				body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
				if !strings.HasPrefix(id, "<outbox-") || subject != "Đã có kết quả tuyển sinh" || m.Header.Get("To") != "<hoa.tran@example.vn>" ||
					!strings.Contains(string(body), a.TrackingCode) || !strings.Contains(string(body), "Đã có kết quả") {
					t.Errorf("mail %s: subject %q, to %q, body %q", id, subject, m.Header.Get("To"), body)
				}
			}
		})
	}
}

// TestSMTPWithoutEmail: a parent who gave no e-mail address is given up
// at once by the SMTP sender, not retried for hours.
func TestSMTPWithoutEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.application(t, 31)
	b.save(t, a)
	if err := b.box.ResendCode(t.Context(), a.TrackingCode); err != nil {
		t.Fatal(err)
	}
	srv := newSMTPServer(t)
	d := outbox.NewDrainer(b.box, &outbox.SMTPSender{Addr: srv.ln.Addr().String(), From: "tuyensinh@example.vn"}, outbox.DrainerConfig{})
	if _, err := d.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE next_attempt_at = 'infinity' AND sent_at IS NULL`); n != 1 {
		t.Errorf("given up = %d, want 1", n)
	}
}

func TestSMTPFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SMTP_ADDR": "mail.example.vn:587", "SMTP_FROM": "Tuyển sinh <ts@example.vn>"}
	if _, err := outbox.SMTPFromEnv(func(k string) string { return env[k] }); err != nil {
		t.Errorf("good config: %v", err)
	}
	_, err := outbox.SMTPFromEnv(func(k string) string { return map[string]string{"SMTP_ADDR": "mail", "SMTP_USERNAME": "u"}[k] })
	for _, want := range []string{"SMTP_ADDR", "SMTP_FROM", "SMTP_PASSWORD"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad config: error %v does not name %s", err, want)
		}
	}
}
